//! C spellings of BTF types: `struct file *`, `char (*)[16]`,
//! `int (*)(void *, long)`, `const char *const`, and whole declarations
//! (`struct file *file`) and signatures. Pure string work over [`Btf`].
//!
//! The declarator is built inside out, as C's grammar requires: a pointer
//! to an array or a function needs parentheses (`char (*p)[16]`), and a
//! qualifier on a pointer goes after the star (`char *const p`) while a
//! qualifier on the pointee goes before the base type (`const char *p`).
//! BTF type tags (`__user` and friends, as `btf_type_tag`) are skipped, as
//! bpftool's C dump skips them unless asked.

use super::btf::{Btf, Kind, TypeId};

/// Type graphs from a hostile file may loop; real kernel types nest a few
/// levels deep.
const MAX_DEPTH: usize = 64;

/// The type's C name, as in a cast: `struct file *`, `char (*)[16]`.
pub fn type_name(btf: &Btf<'_>, id: TypeId) -> String {
    declaration(btf, id, "")
}

/// `name` declared with type `id`: `struct file *file`, `int (*cb)(void *)`.
pub fn declaration(btf: &Btf<'_>, id: TypeId, name: &str) -> String {
    declarator(btf, id, name.to_string(), 0)
}

fn join(base: &str, inner: &str) -> String {
    if inner.is_empty() {
        base.to_string()
    } else if inner.starts_with('[') {
        format!("{base}{inner}")
    } else {
        format!("{base} {inner}")
    }
}

fn declarator(btf: &Btf<'_>, id: TypeId, inner: String, depth: usize) -> String {
    if depth > MAX_DEPTH {
        return join("<type nests too deep>", &inner);
    }
    let Some(t) = btf.get(id) else {
        return join(&format!("<bad type id {id}>"), &inner);
    };
    let named = |prefix: &str| {
        let name = t.name().unwrap_or("");
        match (prefix.is_empty(), name.is_empty()) {
            (true, true) => "<anon>".to_string(),
            (true, false) => name.to_string(),
            (false, true) => format!("{prefix} {{...}}"),
            (false, false) => format!("{prefix} {name}"),
        }
    };
    let next = |target: TypeId, inner: String| declarator(btf, target, inner, depth + 1);
    match t.kind {
        Kind::Void => join("void", &inner),
        Kind::Int | Kind::Float | Kind::Typedef => join(&named(""), &inner),
        Kind::Struct => join(&named("struct"), &inner),
        Kind::Union => join(&named("union"), &inner),
        Kind::Enum | Kind::Enum64 => join(&named("enum"), &inner),
        Kind::Fwd => join(
            &named(if t.fwd_is_union() { "union" } else { "struct" }),
            &inner,
        ),
        Kind::Ptr => {
            let target = t.referenced().unwrap_or(0);
            let needs_parens = btf
                .get(skip_tags(btf, target))
                .is_some_and(|p| matches!(p.kind, Kind::Array | Kind::FuncProto));
            if needs_parens {
                next(target, format!("(*{inner})"))
            } else {
                next(target, format!("*{inner}"))
            }
        }
        Kind::Const | Kind::Volatile | Kind::Restrict => {
            let qualifier = match t.kind {
                Kind::Const => "const",
                Kind::Volatile => "volatile",
                _ => "restrict",
            };
            let target = t.referenced().unwrap_or(0);
            let target_kind = btf.get(skip_tags(btf, target)).map(|p| p.kind);
            if target_kind == Some(Kind::Ptr) {
                // The pointer itself is qualified: `char *const p`.
                next(target, join(qualifier, &inner))
            } else {
                // The pointee is: `const char *p`.
                format!("{qualifier} {}", next(target, inner))
            }
        }
        Kind::Array => {
            let Some(array) = t.array() else {
                return join("<bad array>", &inner);
            };
            next(array.element, format!("{inner}[{}]", array.len))
        }
        Kind::FuncProto => {
            let params = parameter_list(btf, id, depth);
            let ret = t.referenced().unwrap_or(0);
            next(ret, format!("{inner}({params})"))
        }
        Kind::Func => {
            let own = if inner.is_empty() {
                t.name().unwrap_or("<anon>").to_string()
            } else {
                inner
            };
            next(t.referenced().unwrap_or(0), own)
        }
        Kind::TypeTag => next(t.referenced().unwrap_or(0), inner),
        Kind::Var | Kind::DeclTag | Kind::Datasec => join(&named(""), &inner),
    }
}

/// `struct file *file, char *buf`; `void` for none; `...` for varargs.
fn parameter_list(btf: &Btf<'_>, proto: TypeId, depth: usize) -> String {
    let Some(t) = btf.get(proto) else {
        return String::new();
    };
    let params: Vec<String> = t
        .params()
        .map(|p| {
            if p.type_id == 0 {
                "...".to_string()
            } else {
                declarator(btf, p.type_id, p.name.unwrap_or("").to_string(), depth + 1)
            }
        })
        .collect();
    if params.is_empty() {
        "void".to_string()
    } else {
        params.join(", ")
    }
}

fn skip_tags(btf: &Btf<'_>, mut id: TypeId) -> TypeId {
    for _ in 0..MAX_DEPTH {
        match btf.get(id) {
            Some(t) if t.kind == Kind::TypeTag => id = t.referenced().unwrap_or(0),
            _ => break,
        }
    }
    id
}

/// Follows typedefs, qualifiers and tags to the type that has a layout.
pub fn resolve(btf: &Btf<'_>, mut id: TypeId) -> TypeId {
    for _ in 0..MAX_DEPTH {
        match btf.get(id) {
            Some(t)
                if matches!(
                    t.kind,
                    Kind::Typedef | Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag
                ) =>
            {
                id = t.referenced().unwrap_or(0)
            }
            _ => break,
        }
    }
    id
}

/// Size in bytes of a value of this type (pointers are 8: BPF is LP64).
pub fn size_of(btf: &Btf<'_>, id: TypeId) -> Option<u64> {
    size_of_at(btf, id, 0)
}

fn size_of_at(btf: &Btf<'_>, id: TypeId, depth: usize) -> Option<u64> {
    if depth > MAX_DEPTH {
        return None;
    }
    let t = btf.get(resolve(btf, id))?;
    match t.kind {
        Kind::Ptr => Some(8),
        Kind::Array => {
            let array = t.array()?;
            size_of_at(btf, array.element, depth + 1)?.checked_mul(u64::from(array.len))
        }
        _ => t.size().map(u64::from),
    }
}

/// A function's signature from its FUNC (or FUNC_PROTO) type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// C type of the return value; `void` when none.
    pub return_type: String,
    pub return_type_id: TypeId,
    pub return_size: Option<u64>,
    pub params: Vec<Arg>,
    pub varargs: bool,
}

/// One argument of a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    /// The parameter's name; `argN` when BTF has none.
    pub name: String,
    pub type_name: String,
    /// The whole C declaration: `struct file *file`, `int (*threadfn)(void *)`.
    pub declaration: String,
    pub type_id: TypeId,
    /// Bytes; None for types without a size (a function type, say).
    pub size: Option<u64>,
}

impl Signature {
    pub fn of(btf: &Btf<'_>, func_or_proto: TypeId) -> Option<Signature> {
        let t = btf.get(func_or_proto)?;
        let proto = match t.kind {
            Kind::Func => btf.get(t.referenced()?)?,
            Kind::FuncProto => t,
            _ => return None,
        };
        if proto.kind != Kind::FuncProto {
            return None;
        }
        let mut params = Vec::with_capacity(proto.vlen());
        let mut varargs = false;
        for (index, param) in proto.params().enumerate() {
            if param.type_id == 0 {
                varargs = true;
                continue;
            }
            let name = param
                .name
                .map_or_else(|| format!("arg{index}"), str::to_string);
            let type_text = type_name(btf, param.type_id);
            // The name goes inside the declarator only for function
            // pointers and arrays (`int (*cb)(void *)`); everywhere else it
            // follows the type, and a second walk of the type would cost
            // listings of 56,000 signatures ~10 ms.
            let declaration = if type_text.contains(['(', '[']) {
                declaration(btf, param.type_id, &name)
            } else if type_text.ends_with('*') {
                format!("{type_text}{name}")
            } else {
                format!("{type_text} {name}")
            };
            params.push(Arg {
                declaration,
                name,
                type_name: type_text,
                type_id: param.type_id,
                size: size_of(btf, param.type_id),
            });
        }
        let ret = proto.referenced().unwrap_or(0);
        Some(Signature {
            return_type: type_name(btf, ret),
            return_type_id: ret,
            return_size: size_of(btf, ret),
            params,
            varargs,
        })
    }

    /// `ssize_t vfs_read(struct file *file, char *buf)` with `name`.
    pub fn c_prototype(&self, name: &str) -> String {
        let mut params: Vec<String> = self.params.iter().map(|a| a.declaration.clone()).collect();
        if self.varargs {
            params.push("...".into());
        }
        if params.is_empty() {
            params.push("void".into());
        }
        let space = if self.return_type.ends_with('*') {
            ""
        } else {
            " "
        };
        format!("{}{space}{name}({})", self.return_type, params.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::btf::tests::{small_kernel, Builder};

    /// 1 char, 2 array char[16] (index 3), 3 int, 4 ptr->2, 5 const->1,
    /// 6 ptr->5, 7 const->6, 8 proto int(char*, ...), 9 ptr->8,
    /// 10 typedef size_t->11, 11 unsigned long, 12 struct task_struct fwd.
    fn types() -> Vec<u8> {
        let mut b = Builder::new();
        b.add(1, "char", 0, false, 1, &[(2 << 24) | 8]);
        b.add(3, "", 0, false, 0, &[1, 3, 16]);
        b.add(1, "int", 0, false, 4, &[(1 << 24) | 32]);
        b.add(2, "", 0, false, 2, &[]);
        b.add(10, "", 0, false, 1, &[]);
        b.add(2, "", 0, false, 5, &[]);
        b.add(10, "", 0, false, 6, &[]);
        let p = b.string("s");
        b.add(13, "", 2, false, 3, &[p, 6, 0, 0]);
        b.add(2, "", 0, false, 8, &[]);
        b.add(8, "size_t", 0, false, 11, &[]);
        b.add(1, "unsigned long", 0, false, 8, &[64]);
        b.add(7, "task_struct", 0, false, 0, &[]);
        b.build()
    }

    #[test]
    fn declarators() {
        let data = types();
        let btf = Btf::parse(&data, None).unwrap();
        assert_eq!(type_name(&btf, 2), "char[16]");
        assert_eq!(type_name(&btf, 4), "char (*)[16]");
        assert_eq!(declaration(&btf, 4, "p"), "char (*p)[16]");
        assert_eq!(type_name(&btf, 6), "const char *");
        assert_eq!(declaration(&btf, 7, "s"), "const char *const s");
        assert_eq!(type_name(&btf, 9), "int (*)(const char *s, ...)");
        assert_eq!(declaration(&btf, 9, "cb"), "int (*cb)(const char *s, ...)");
        assert_eq!(type_name(&btf, 10), "size_t");
        assert_eq!(type_name(&btf, 12), "struct task_struct");
        assert_eq!(type_name(&btf, 0), "void");
        assert_eq!(type_name(&btf, 99), "<bad type id 99>");
        assert_eq!(size_of(&btf, 2), Some(16));
        assert_eq!(size_of(&btf, 10), Some(8));
        assert_eq!(size_of(&btf, 4), Some(8));
        assert_eq!(resolve(&btf, 10), 11);
    }

    #[test]
    fn signatures() {
        let data = small_kernel();
        let btf = Btf::parse(&data, None).unwrap();
        let sig = Signature::of(&btf, 7).unwrap();
        assert_eq!(sig.return_type, "ssize_t");
        let args: Vec<(&str, &str, Option<u64>)> = sig
            .params
            .iter()
            .map(|a| (a.name.as_str(), a.type_name.as_str(), a.size))
            .collect();
        assert_eq!(
            args,
            [
                ("file", "struct file *", Some(8)),
                ("count", "int", Some(4))
            ]
        );
        assert_eq!(sig.return_size, Some(4));
        assert_eq!(
            sig.c_prototype("vfs_read"),
            "ssize_t vfs_read(struct file *file, int count)"
        );
        let data = types();
        let btf = Btf::parse(&data, None).unwrap();
        let sig = Signature::of(&btf, 8).unwrap();
        assert!(sig.varargs);
        assert_eq!(sig.c_prototype("f"), "int f(const char *s, ...)");
    }

    #[test]
    fn self_referencing_types_terminate() {
        let mut b = Builder::new();
        b.add(2, "", 0, false, 2, &[]);
        b.add(10, "", 0, false, 1, &[]);
        let data = b.build();
        let btf = Btf::parse(&data, None).unwrap();
        assert!(type_name(&btf, 1).contains("too deep"));
        assert_eq!(size_of(&btf, 2), Some(8));
    }
}
