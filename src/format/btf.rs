//! BTF, the BPF Type Format: the kernel's own description of its types and
//! functions (`/sys/kernel/btf/vmlinux`), and each module's split BTF
//! (`/sys/kernel/btf/<module>`) that continues the vmlinux type ids and
//! string offsets. Pure and zero-copy: a [`Btf`] borrows the raw bytes.
//!
//! We read BTF ourselves rather than through libbpf-rs because libbpf-rs
//! (0.27) cannot open split BTF, which every kernel module's types are, and
//! because listing ~60,000 function signatures wants a borrowed, allocation-
//! free walk. The layout is `include/uapi/linux/btf.h`; every offset and
//! count is checked when the blob is parsed, so the accessors below cannot
//! read out of bounds and never panic, whatever the input.
//!
//! # Minimum kernel version
//! `/sys/kernel/btf/vmlinux` exists since Linux 5.4 (CONFIG_DEBUG_INFO_BTF);
//! module BTF since 5.11. ENUM64 is from 6.0, DECL_TAG 5.16, TYPE_TAG 5.17.

use std::fmt;

pub const MAGIC: u16 = 0xeb9f;
const HEADER_LEN: usize = 24;
const TYPE_LEN: usize = 12;

/// A type id; 0 is `void`.
pub type TypeId = u32;

/// `BTF_KIND_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Void,
    Int,
    Ptr,
    Array,
    Struct,
    Union,
    Enum,
    Fwd,
    Typedef,
    Volatile,
    Const,
    Restrict,
    Func,
    FuncProto,
    Var,
    Datasec,
    Float,
    DeclTag,
    TypeTag,
    Enum64,
}

impl Kind {
    fn from_raw(raw: u32) -> Option<Kind> {
        Some(match raw {
            1 => Kind::Int,
            2 => Kind::Ptr,
            3 => Kind::Array,
            4 => Kind::Struct,
            5 => Kind::Union,
            6 => Kind::Enum,
            7 => Kind::Fwd,
            8 => Kind::Typedef,
            9 => Kind::Volatile,
            10 => Kind::Const,
            11 => Kind::Restrict,
            12 => Kind::Func,
            13 => Kind::FuncProto,
            14 => Kind::Var,
            15 => Kind::Datasec,
            16 => Kind::Float,
            17 => Kind::DeclTag,
            18 => Kind::TypeTag,
            19 => Kind::Enum64,
            _ => return None,
        })
    }

    /// Bytes of kind-specific data after the 12-byte common part.
    fn extra_len(self, vlen: usize) -> usize {
        match self {
            Kind::Int | Kind::Var | Kind::DeclTag => 4,
            Kind::Array => 12,
            Kind::Struct | Kind::Union | Kind::Datasec | Kind::Enum64 => 12 * vlen,
            Kind::Enum | Kind::FuncProto => 8 * vlen,
            _ => 0,
        }
    }

    /// The lower-case name bpftool and the kernel docs use.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Void => "void",
            Kind::Int => "int",
            Kind::Ptr => "ptr",
            Kind::Array => "array",
            Kind::Struct => "struct",
            Kind::Union => "union",
            Kind::Enum => "enum",
            Kind::Fwd => "fwd",
            Kind::Typedef => "typedef",
            Kind::Volatile => "volatile",
            Kind::Const => "const",
            Kind::Restrict => "restrict",
            Kind::Func => "func",
            Kind::FuncProto => "func_proto",
            Kind::Var => "var",
            Kind::Datasec => "datasec",
            Kind::Float => "float",
            Kind::DeclTag => "decl_tag",
            Kind::TypeTag => "type_tag",
            Kind::Enum64 => "enum64",
        }
    }
}

/// Why a blob is not valid BTF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BtfError {
    pub reason: String,
}

impl fmt::Display for BtfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for BtfError {}

fn error(reason: impl Into<String>) -> BtfError {
    BtfError {
        reason: reason.into(),
    }
}

/// A parsed BTF blob; for split BTF, with the base it continues.
#[derive(Debug)]
pub struct Btf<'a> {
    big_endian: bool,
    types: &'a [u8],
    strings: &'a [u8],
    /// The string section as text, when all of it is UTF-8 (checked once:
    /// checking each name as it is read was a tenth of a `diff`).
    strings_text: Option<&'a str>,
    /// Offset in `types` of each of this blob's types, in id order.
    offsets: Vec<u32>,
    /// The id of this blob's first type: 1, or one past the base's last.
    first_id: TypeId,
    /// The string offset this blob's string section starts at (split BTF
    /// continues the base's string offsets).
    first_str: u32,
    base: Option<&'a Btf<'a>>,
}

impl<'a> Btf<'a> {
    /// Parses a raw BTF blob (what `/sys/kernel/btf/*` holds). `base` is
    /// vmlinux's BTF when `data` is a module's split BTF.
    pub fn parse(data: &'a [u8], base: Option<&'a Btf<'a>>) -> Result<Btf<'a>, BtfError> {
        if data.len() < HEADER_LEN {
            return Err(error(format!(
                "{} bytes is too short for a BTF header",
                data.len()
            )));
        }
        let big_endian = match u16::from_le_bytes([data[0], data[1]]) {
            MAGIC => false,
            m if m.swap_bytes() == MAGIC => true,
            m => return Err(error(format!("bad magic {m:#06x}, not BTF (0xeb9f)"))),
        };
        if data[2] != 1 {
            return Err(error(format!("unsupported BTF version {}", data[2])));
        }
        let word = |at: usize| read_u32(data, at, big_endian);
        let header_len = word(4) as usize;
        if header_len < HEADER_LEN || header_len > data.len() {
            return Err(error(format!("bad header length {header_len}")));
        }
        let section = |off: u32, len: u32, what: &str| -> Result<&'a [u8], BtfError> {
            let start = header_len.checked_add(off as usize);
            let end = start.and_then(|s| s.checked_add(len as usize));
            match (start, end) {
                (Some(s), Some(e)) if e <= data.len() => Ok(&data[s..e]),
                _ => Err(error(format!(
                    "{what} section ({off}+{len}) runs past the end of the data ({} bytes)",
                    data.len()
                ))),
            }
        };
        let types = section(word(8), word(12), "type")?;
        let strings = section(word(16), word(20), "string")?;
        let (first_id, first_str) = match base {
            Some(b) => (b.last_id() + 1, b.first_str + b.strings.len() as u32),
            None => {
                if strings.first().is_some_and(|&b| b != 0) {
                    return Err(error("string section does not start with an empty string"));
                }
                (1, 0)
            }
        };

        let mut offsets = Vec::with_capacity(types.len() / 20);
        let mut at = 0usize;
        while at < types.len() {
            if types.len() - at < TYPE_LEN {
                return Err(error(format!(
                    "type section ends inside a type at byte {at}"
                )));
            }
            let info = read_u32(types, at + 4, big_endian);
            let raw_kind = (info >> 24) & 0x1f;
            let kind = Kind::from_raw(raw_kind).ok_or_else(|| {
                error(format!(
                    "type {} has unknown kind {raw_kind} (BTF newer than this probedex?)",
                    first_id as usize + offsets.len()
                ))
            })?;
            let end = at + TYPE_LEN + kind.extra_len((info & 0xffff) as usize);
            if end > types.len() {
                return Err(error(format!(
                    "type {} runs past the end of the type section",
                    first_id as usize + offsets.len()
                )));
            }
            offsets.push(at as u32);
            at = end;
        }
        if (first_id as u64) + (offsets.len() as u64) > u32::MAX as u64 {
            return Err(error("too many types"));
        }
        Ok(Btf {
            big_endian,
            types,
            strings,
            strings_text: std::str::from_utf8(strings).ok(),
            offsets,
            first_id,
            first_str,
            base,
        })
    }

    /// The highest type id, this blob's and its base's.
    pub fn last_id(&self) -> TypeId {
        self.first_id + self.offsets.len() as u32 - 1
    }

    /// The first id of this blob's own types (1 for vmlinux).
    pub fn first_id(&self) -> TypeId {
        self.first_id
    }

    pub fn is_split(&self) -> bool {
        self.base.is_some()
    }

    /// The type with `id`, looking into the base for its ids. Id 0 is void.
    pub fn get(&self, id: TypeId) -> Option<Type<'_>> {
        if id == 0 {
            return Some(Type {
                btf: self,
                id: 0,
                kind: Kind::Void,
                name_off: 0,
                info: 0,
                size_or_type: 0,
                extra: &[],
            });
        }
        if id < self.first_id {
            return self.base?.get(id).map(|t| t.rebase(self));
        }
        let at = *self.offsets.get((id - self.first_id) as usize)? as usize;
        let info = self.u32_at(at + 4);
        let kind = Kind::from_raw((info >> 24) & 0x1f)?;
        let extra_len = kind.extra_len((info & 0xffff) as usize);
        Some(Type {
            btf: self,
            id,
            kind,
            name_off: self.u32_at(at),
            info,
            size_or_type: self.u32_at(at + 8),
            extra: &self.types[at + TYPE_LEN..at + TYPE_LEN + extra_len],
        })
    }

    /// This blob's own types, in id order (not the base's).
    pub fn own_types(&self) -> impl Iterator<Item = Type<'_>> + '_ {
        (self.first_id..=self.last_id()).filter_map(move |id| self.get(id))
    }

    /// The string at `offset`, from the base when the offset is below this
    /// blob's string section. None for an invalid offset or non-UTF-8 text.
    pub fn string(&self, offset: u32) -> Option<&str> {
        if offset < self.first_str {
            return self.base?.string(offset);
        }
        let at = (offset - self.first_str) as usize;
        if let Some(text) = self.strings_text {
            // `get` refuses an offset inside a character, as from_utf8 would.
            let rest = text.get(at..)?;
            // A byte search: NUL is ASCII, so it ends a character, and
            // `str::find` with a char pattern costs more to set up than
            // most names (~15 bytes) take to scan.
            let len = rest.bytes().position(|b| b == 0)?;
            return Some(&rest[..len]);
        }
        let rest = self.strings.get(at..)?;
        let len = rest.iter().position(|&b| b == 0)?;
        std::str::from_utf8(&rest[..len]).ok()
    }

    fn u32_at(&self, at: usize) -> u32 {
        read_u32(self.types, at, self.big_endian)
    }
}

fn read_u32(bytes: &[u8], at: usize, big_endian: bool) -> u32 {
    let raw = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
    if big_endian {
        u32::from_be_bytes(raw)
    } else {
        u32::from_le_bytes(raw)
    }
}

/// One type: the common part and its kind-specific data.
#[derive(Debug, Clone, Copy)]
pub struct Type<'b> {
    btf: &'b Btf<'b>,
    pub id: TypeId,
    pub kind: Kind,
    name_off: u32,
    info: u32,
    size_or_type: u32,
    extra: &'b [u8],
}

/// A struct or union member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member<'b> {
    pub name: Option<&'b str>,
    pub type_id: TypeId,
    pub bit_offset: u32,
    /// Non-zero for bitfields.
    pub bitfield_size: u32,
}

/// A function prototype's parameter. The last parameter of a varargs
/// function has type 0 and no name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'b> {
    pub name: Option<&'b str>,
    pub type_id: TypeId,
}

/// `BTF_KIND_INT`'s encoding word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntEncoding {
    pub signed: bool,
    pub char: bool,
    pub bool: bool,
    pub bits: u32,
    pub bit_offset: u32,
}

/// `BTF_KIND_ARRAY`'s data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrayInfo {
    pub element: TypeId,
    pub index: TypeId,
    pub len: u32,
}

/// `BTF_FUNC_*`: a FUNC's linkage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linkage {
    Static,
    Global,
    Extern,
    Unknown(u16),
}

impl<'b> Type<'b> {
    /// Re-anchors a base type under a split blob, so that names and ids
    /// resolve through the split blob (which reaches the base too).
    fn rebase(self, btf: &'b Btf<'b>) -> Type<'b> {
        Type { btf, ..self }
    }

    pub fn btf(&self) -> &'b Btf<'b> {
        self.btf
    }

    /// The name; None when anonymous (or the offset is invalid).
    pub fn name(&self) -> Option<&'b str> {
        if self.name_off == 0 {
            return None;
        }
        self.btf.string(self.name_off).filter(|s| !s.is_empty())
    }

    pub fn vlen(&self) -> usize {
        (self.info & 0xffff) as usize
    }

    pub fn kind_flag(&self) -> bool {
        self.info >> 31 == 1
    }

    /// Size in bytes, for kinds that carry one (int, struct, union, enum, float, datasec).
    pub fn size(&self) -> Option<u32> {
        matches!(
            self.kind,
            Kind::Int
                | Kind::Struct
                | Kind::Union
                | Kind::Enum
                | Kind::Enum64
                | Kind::Float
                | Kind::Datasec
        )
        .then_some(self.size_or_type)
    }

    /// The type this one refers to (ptr, typedef, qualifiers, func, var,
    /// func_proto's return type, tags).
    pub fn referenced(&self) -> Option<TypeId> {
        matches!(
            self.kind,
            Kind::Ptr
                | Kind::Typedef
                | Kind::Volatile
                | Kind::Const
                | Kind::Restrict
                | Kind::Func
                | Kind::FuncProto
                | Kind::Var
                | Kind::DeclTag
                | Kind::TypeTag
        )
        .then_some(self.size_or_type)
    }

    fn extra_u32(&self, at: usize) -> u32 {
        read_u32(self.extra, at, self.btf.big_endian)
    }

    pub fn int_encoding(&self) -> Option<IntEncoding> {
        (self.kind == Kind::Int).then(|| {
            let word = self.extra_u32(0);
            let encoding = (word >> 24) & 0x0f;
            IntEncoding {
                signed: encoding & 1 != 0,
                char: encoding & 2 != 0,
                bool: encoding & 4 != 0,
                bits: word & 0xff,
                bit_offset: (word >> 16) & 0xff,
            }
        })
    }

    pub fn array(&self) -> Option<ArrayInfo> {
        (self.kind == Kind::Array).then(|| ArrayInfo {
            element: self.extra_u32(0),
            index: self.extra_u32(4),
            len: self.extra_u32(8),
        })
    }

    /// Members of a struct or union (empty for other kinds).
    pub fn members(&self) -> impl Iterator<Item = Member<'b>> + '_ {
        let count = if matches!(self.kind, Kind::Struct | Kind::Union) {
            self.vlen()
        } else {
            0
        };
        let bitfields = self.kind_flag();
        (0..count).map(move |i| {
            let at = i * 12;
            let raw_offset = self.extra_u32(at + 8);
            let (bit_offset, bitfield_size) = if bitfields {
                (raw_offset & 0x00ff_ffff, raw_offset >> 24)
            } else {
                (raw_offset, 0)
            };
            let name_off = self.extra_u32(at);
            Member {
                name: (name_off != 0)
                    .then(|| self.btf.string(name_off))
                    .flatten()
                    .filter(|s| !s.is_empty()),
                type_id: self.extra_u32(at + 4),
                bit_offset,
                bitfield_size,
            }
        })
    }

    /// Parameters of a func_proto (empty for other kinds).
    pub fn params(&self) -> impl Iterator<Item = Param<'b>> + '_ {
        let count = if self.kind == Kind::FuncProto {
            self.vlen()
        } else {
            0
        };
        (0..count).map(move |i| {
            let name_off = self.extra_u32(i * 8);
            Param {
                name: (name_off != 0)
                    .then(|| self.btf.string(name_off))
                    .flatten()
                    .filter(|s| !s.is_empty()),
                type_id: self.extra_u32(i * 8 + 4),
            }
        })
    }

    /// Enumerators of an enum or enum64, as (name, value).
    pub fn enumerators(&self) -> impl Iterator<Item = (Option<&'b str>, i128)> + '_ {
        let (count, stride) = match self.kind {
            Kind::Enum => (self.vlen(), 8),
            Kind::Enum64 => (self.vlen(), 12),
            _ => (0, 8),
        };
        let signed = self.kind_flag();
        (0..count).map(move |i| {
            let at = i * stride;
            let name = self.btf.string(self.extra_u32(at));
            let value = if self.kind == Kind::Enum64 {
                let raw =
                    u64::from(self.extra_u32(at + 4)) | (u64::from(self.extra_u32(at + 8)) << 32);
                if signed {
                    i128::from(raw as i64)
                } else {
                    i128::from(raw)
                }
            } else {
                let raw = self.extra_u32(at + 4);
                if signed {
                    i128::from(raw as i32)
                } else {
                    i128::from(raw)
                }
            };
            (name, value)
        })
    }

    /// A FUNC's linkage (vlen carries it).
    pub fn linkage(&self) -> Option<Linkage> {
        (self.kind == Kind::Func).then(|| match self.vlen() {
            0 => Linkage::Static,
            1 => Linkage::Global,
            2 => Linkage::Extern,
            n => Linkage::Unknown(n as u16),
        })
    }

    /// A FWD declares a union (else a struct).
    pub fn fwd_is_union(&self) -> bool {
        self.kind == Kind::Fwd && self.kind_flag()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds raw BTF from (kind, name, vlen, kind_flag, size_or_type, extra
    /// words) tuples; for tests of the reader and of what consumes it.
    pub(crate) struct Builder {
        types: Vec<u8>,
        strings: Vec<u8>,
        string_base: u32,
    }

    impl Builder {
        pub(crate) fn new() -> Self {
            Builder {
                types: Vec::new(),
                strings: vec![0],
                string_base: 0,
            }
        }

        /// A builder for split BTF on top of `base_string_len` bytes of strings.
        pub(crate) fn split(base_string_len: u32) -> Self {
            Builder {
                types: Vec::new(),
                strings: Vec::new(),
                string_base: base_string_len,
            }
        }

        pub(crate) fn string(&mut self, s: &str) -> u32 {
            if s.is_empty() {
                return 0;
            }
            let off = self.string_base + self.strings.len() as u32;
            self.strings.extend_from_slice(s.as_bytes());
            self.strings.push(0);
            off
        }

        pub(crate) fn add(
            &mut self,
            kind: u32,
            name: &str,
            vlen: u32,
            flag: bool,
            size_or_type: u32,
            extra: &[u32],
        ) {
            let name_off = self.string(name);
            let info = (u32::from(flag) << 31) | (kind << 24) | vlen;
            for w in [name_off, info, size_or_type].iter().chain(extra) {
                self.types.extend_from_slice(&w.to_le_bytes());
            }
        }

        pub(crate) fn build(&self) -> Vec<u8> {
            let mut out = Vec::new();
            out.extend_from_slice(&MAGIC.to_le_bytes());
            out.extend_from_slice(&[1, 0]);
            let words = [
                HEADER_LEN as u32,
                0,
                self.types.len() as u32,
                self.types.len() as u32,
                self.strings.len() as u32,
            ];
            for w in words {
                out.extend_from_slice(&w.to_le_bytes());
            }
            out.extend_from_slice(&self.types);
            out.extend_from_slice(&self.strings);
            out
        }
    }

    /// `int` (1), `char` (2), `struct file` (3), `struct file *` (4),
    /// `ssize_t` typedef (5), func_proto (6), `vfs_read` (7).
    pub(crate) fn small_kernel() -> Vec<u8> {
        let mut b = Builder::new();
        b.add(1, "int", 0, false, 4, &[(1 << 24) | 32]);
        b.add(1, "char", 0, false, 1, &[(1 << 24) | 8]);
        let f_count = b.string("f_count");
        b.add(4, "file", 1, false, 8, &[f_count, 1, 0]);
        b.add(2, "", 0, false, 3, &[]);
        b.add(8, "ssize_t", 0, false, 1, &[]);
        let (file, count) = (b.string("file"), b.string("count"));
        b.add(13, "", 2, false, 5, &[file, 4, count, 1]);
        b.add(12, "vfs_read", 1, false, 6, &[]);
        b.build()
    }

    #[test]
    fn reads_types_names_and_members() {
        let data = small_kernel();
        let btf = Btf::parse(&data, None).unwrap();
        assert_eq!(btf.last_id(), 7);
        let int = btf.get(1).unwrap();
        assert_eq!(
            (int.kind, int.name(), int.size()),
            (Kind::Int, Some("int"), Some(4))
        );
        assert!(int.int_encoding().unwrap().signed);
        let file = btf.get(3).unwrap();
        let members: Vec<_> = file.members().collect();
        assert_eq!(members[0].name, Some("f_count"));
        assert_eq!(members[0].type_id, 1);
        let func = btf.get(7).unwrap();
        assert_eq!(func.linkage(), Some(Linkage::Global));
        let proto = btf.get(func.referenced().unwrap()).unwrap();
        let params: Vec<_> = proto.params().map(|p| p.name).collect();
        assert_eq!(params, [Some("file"), Some("count")]);
        assert_eq!(btf.get(0).unwrap().kind, Kind::Void);
        assert!(btf.get(8).is_none());
    }

    #[test]
    fn split_btf_continues_ids_and_strings() {
        let base_data = small_kernel();
        let base = Btf::parse(&base_data, None).unwrap();
        let base_strings = base.strings.len() as u32;
        let mut b = Builder::split(base_strings);
        // `struct file *` again, by reference to base id 3, and a func using base `ssize_t`.
        b.add(2, "", 0, false, 3, &[]);
        let proto_param = b.string("f");
        b.add(13, "", 1, false, 5, &[proto_param, 8]);
        b.add(12, "mod_read", 0, false, 9, &[]);
        let data = b.build();
        let module = Btf::parse(&data, Some(&base)).unwrap();
        assert_eq!(module.first_id(), 8);
        assert_eq!(module.last_id(), 10);
        let func = module.get(10).unwrap();
        assert_eq!(func.name(), Some("mod_read"));
        assert_eq!(func.linkage(), Some(Linkage::Static));
        let proto = module.get(9).unwrap();
        assert_eq!(proto.params().next().unwrap().name, Some("f"));
        // A base type seen through the module still has its base name.
        assert_eq!(module.get(5).unwrap().name(), Some("ssize_t"));
        assert_eq!(module.own_types().count(), 3);
    }

    #[test]
    fn enums_and_bitfields() {
        let mut b = Builder::new();
        let (a, z) = (b.string("A"), b.string("Z"));
        b.add(6, "e", 2, true, 4, &[a, (-1i32) as u32, z, 7]);
        b.add(1, "unsigned int", 0, false, 4, &[32]);
        let m = b.string("flags");
        b.add(4, "s", 1, true, 4, &[m, 2, (3 << 24) | 5]);
        let data = b.build();
        let btf = Btf::parse(&data, None).unwrap();
        let values: Vec<_> = btf.get(1).unwrap().enumerators().collect();
        assert_eq!(values, [(Some("A"), -1), (Some("Z"), 7)]);
        let member = btf.get(3).unwrap().members().next().unwrap();
        assert_eq!((member.bit_offset, member.bitfield_size), (5, 3));
    }

    #[test]
    fn broken_blobs_are_errors() {
        let good = small_kernel();
        assert!(Btf::parse(&good[..10], None)
            .unwrap_err()
            .reason
            .contains("too short"));
        let mut bad_magic = good.clone();
        bad_magic[0] = 0;
        assert!(Btf::parse(&bad_magic, None)
            .unwrap_err()
            .reason
            .contains("magic"));
        let mut cut = good.clone();
        cut.truncate(good.len() - 30);
        assert!(Btf::parse(&cut, None)
            .unwrap_err()
            .reason
            .contains("past the end"));
        let mut bad_kind = good.clone();
        bad_kind[HEADER_LEN + 7] = 0x1f; // kind 31 of type 1
        assert!(Btf::parse(&bad_kind, None)
            .unwrap_err()
            .reason
            .contains("unknown kind"));
    }

    #[test]
    fn mutated_blobs_never_panic() {
        let good = small_kernel();
        let mut rng = crate::format::mutate::Rng::new(0x2545_f491_4f6c_dd1du64);
        let mut next = move || rng.next();
        for _ in 0..20_000 {
            let mut data = good.clone();
            for _ in 0..(next() % 3 + 1) {
                let at = (next() as usize) % data.len();
                data[at] = next() as u8;
            }
            if next() % 5 == 0 {
                let keep = (next() as usize) % data.len();
                data.truncate(keep);
            }
            if let Ok(btf) = Btf::parse(&data, None) {
                for t in btf.own_types() {
                    let _ = (
                        t.name(),
                        t.size(),
                        t.referenced(),
                        t.int_encoding(),
                        t.array(),
                    );
                    let _ = t.members().count() + t.params().count() + t.enumerators().count();
                    let _ = crate::format::btf_c::type_name(&btf, t.id);
                }
            }
        }
    }
}
