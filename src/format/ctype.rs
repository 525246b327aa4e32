//! What a C type string from a format file means: its size when it is a
//! known scalar, whether it is a pointer, and whether a BPF program can spell
//! it without the kernel's headers. Pure string work.
//!
//! Sizes are those of the LP64 ABIs BPF programs run against (x86-64,
//! aarch64, and BPF itself): `long` and pointers are 8 bytes.

/// Pointers on the LP64 ABIs BPF programs see.
pub const POINTER_SIZE: u64 = 8;

/// A scalar type whose size we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownScalar {
    pub size: u64,
    pub signed: bool,
    /// Spelled with only C keywords or `<linux/types.h>` names, so a struct
    /// using it compiles with `<linux/types.h>` alone as well as with vmlinux.h.
    pub portable: bool,
}

const fn scalar(size: u64, signed: bool, portable: bool) -> KnownScalar {
    KnownScalar {
        size,
        signed,
        portable,
    }
}

/// Looks up a scalar type by its (whitespace-normalised) name, ignoring
/// `const`/`volatile` qualifiers.
pub fn known_scalar(c_type: &str) -> Option<KnownScalar> {
    let words: Vec<&str> = c_type
        .split_whitespace()
        .filter(|w| !matches!(*w, "const" | "volatile"))
        .collect();
    let name = words.join(" ");
    Some(match name.as_str() {
        // C's own types. `char` is signed on x86-64 and unsigned on aarch64;
        // the format file's `signed:` says which the record holds.
        "char" => scalar(1, true, true),
        "signed char" => scalar(1, true, true),
        "unsigned char" => scalar(1, false, true),
        "short" | "short int" | "signed short" | "signed short int" => scalar(2, true, true),
        "unsigned short" | "unsigned short int" | "short unsigned int" => scalar(2, false, true),
        "int" | "signed" | "signed int" => scalar(4, true, true),
        "unsigned" | "unsigned int" => scalar(4, false, true),
        "long" | "long int" | "signed long" | "signed long int" => scalar(8, true, true),
        "unsigned long" | "unsigned long int" | "long unsigned int" => scalar(8, false, true),
        "long long" | "long long int" | "signed long long" | "signed long long int" => {
            scalar(8, true, true)
        }
        "unsigned long long" | "unsigned long long int" | "long long unsigned int" => {
            scalar(8, false, true)
        }
        "_Bool" => scalar(1, false, true),
        // <linux/types.h>, also in vmlinux.h.
        "__u8" => scalar(1, false, true),
        "__s8" => scalar(1, true, true),
        "__u16" | "__le16" | "__be16" => scalar(2, false, true),
        "__s16" => scalar(2, true, true),
        "__u32" | "__le32" | "__be32" | "__wsum" => scalar(4, false, true),
        "__s32" => scalar(4, true, true),
        "__u64" | "__le64" | "__be64" => scalar(8, false, true),
        "__s64" => scalar(8, true, true),
        // Kernel-internal and libc names: known sizes, but a program needs
        // vmlinux.h (or libc headers) to spell them.
        "bool" => scalar(1, false, false),
        "u8" | "uint8_t" => scalar(1, false, false),
        "s8" | "int8_t" => scalar(1, true, false),
        "u16" | "uint16_t" | "umode_t" => scalar(2, false, false),
        "s16" | "int16_t" => scalar(2, true, false),
        "u32" | "uint32_t" | "uint" | "dev_t" | "uid_t" | "gid_t" | "qid_t" | "gfp_t"
        | "fmode_t" | "blk_opf_t" | "errseq_t" | "tid_t" => scalar(4, false, false),
        "s32" | "int32_t" | "pid_t" | "key_t" | "mqd_t" | "clockid_t" | "timer_t" | "rwf_t"
        | "key_serial_t" => scalar(4, true, false),
        "u64" | "uint64_t" | "size_t" | "ino_t" | "sector_t" | "dma_addr_t" | "gfn_t" | "gpa_t"
        | "gva_t" | "resource_size_t" | "aio_context_t" | "vm_flags_t" => scalar(8, false, false),
        "s64" | "int64_t" | "ssize_t" | "loff_t" | "off_t" | "time64_t" | "blkcnt_t" => {
            scalar(8, true, false)
        }
        _ => return None,
    })
}

/// The `<linux/types.h>` name of an integer of `size` bytes, if there is one.
pub fn fixed_width_name(size: u64, signed: bool) -> Option<&'static str> {
    Some(match (size, signed) {
        (1, false) => "__u8",
        (1, true) => "__s8",
        (2, false) => "__u16",
        (2, true) => "__s16",
        (4, false) => "__u32",
        (4, true) => "__s32",
        (8, false) => "__u64",
        (8, true) => "__s64",
        _ => return None,
    })
}

pub fn is_pointer(c_type: &str) -> bool {
    c_type.contains('*')
}

/// Whether a pointer type can be written as-is in a BPF program that has only
/// `<linux/types.h>`: every word is a qualifier, a portable scalar, `void`,
/// or a `struct`/`union`/`enum` tag (a pointer to an incomplete tag is fine).
/// `void __seg_gs *` (a GCC address space) and typedefs such as `sigset_t *`
/// are not.
pub fn pointer_is_portable(c_type: &str) -> bool {
    let spaced = c_type.replace('*', " * ");
    let mut words = spaced.split_whitespace().peekable();
    let mut base = Vec::new();
    while let Some(word) = words.next() {
        match word {
            "*" | "const" | "volatile" | "restrict" => {}
            "struct" | "union" | "enum" => {
                // The tag that follows makes the base type complete enough.
                let is_tag = |w: &str| {
                    w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                        && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                };
                if !words.next().is_some_and(is_tag) {
                    return false;
                }
                base.push("void");
            }
            other => base.push(other),
        }
    }
    let base = base.join(" ");
    base == "void" || known_scalar(&base).is_some_and(|s| s.portable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars() {
        assert_eq!(known_scalar("int"), Some(scalar(4, true, true)));
        assert_eq!(
            known_scalar("const  unsigned   long"),
            Some(scalar(8, false, true))
        );
        assert_eq!(
            known_scalar("pid_t").map(|s| (s.size, s.portable)),
            Some((4, false))
        );
        assert_eq!(known_scalar("umode_t").map(|s| s.size), Some(2));
        assert_eq!(known_scalar("struct file"), None);
        assert_eq!(known_scalar("xfs_ino_t"), None);
    }

    #[test]
    fn pointers() {
        for yes in [
            "const char *",
            "void *",
            "const void*",
            "struct file *",
            "const struct landlock_ruleset_attr *const",
            "unsigned long *",
            "struct iocb * *",
            "const char *const *",
        ] {
            assert!(is_pointer(yes) && pointer_is_portable(yes), "{yes}");
        }
        for no in ["void __seg_gs *", "sigset_t *", "u32 *", "struct *"] {
            assert!(!pointer_is_portable(no), "{no}");
        }
    }

    #[test]
    fn fixed_widths() {
        assert_eq!(fixed_width_name(8, false), Some("__u64"));
        assert_eq!(fixed_width_name(2, true), Some("__s16"));
        assert_eq!(fixed_width_name(3, true), None);
    }
}
