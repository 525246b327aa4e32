//! What the compiler did to a kernel function's name: clone and split
//! suffixes (`vfs_read` vs `show_regs.part.0`) and the padding symbols that
//! precede functions (`__pfx_vfs_read`). Pure functions over `&str`.
//!
//! C identifiers cannot contain `.`, so everything from the first `.` after
//! the start of a symbol is compiler-made: GCC names its clones
//! `NAME.isra.N`, `NAME.constprop.N`, `NAME.part.N` and the split-off cold
//! code `NAME.cold` (`NAME.cold.N` with older GCC), chaining them in the order it
//! applied them (`NAME.constprop.0.isra.0.cold`); clang's ThinLTO renames
//! promoted static functions `NAME.llvm.HASH`. BTF and the C source know
//! only `NAME`, so this split is how a `/proc/kallsyms` or
//! `available_filter_functions` name is matched to its signature. Assembly
//! labels may start with a dot (`.slowpath`, `.E_copy` on x86); they have no
//! base and are not split.
//!
//! Suffix counts in the Linux 6.18 x86_64 (GCC) kallsyms here: 2822 `.cold`,
//! 1528 `.isra.N`, 892 `.constprop.N`, 688 `.part.N`, and 203 chains of them;
//! 57828 `__pfx_` padding symbols, no `__cfi_` (the kernel is not built
//! with kCFI).

/// A symbol name split into the source-level name and the compiler's suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolName<'a> {
    /// The name in the source, BTF and `vmlinux.h`.
    pub base: &'a str,
    /// From the first `.` on, dot included: `.isra.0`,
    /// `.constprop.0.isra.0`, `.part.3`, `.cold`, `.llvm.123456789`.
    pub suffix: Option<&'a str>,
}

impl SymbolName<'_> {
    /// What the suffix says about the symbol; `None` for a plain name.
    pub fn clone_kind(&self) -> Option<CloneKind> {
        self.suffix.map(clone_kind)
    }
}

/// Splits at the first `.` that has a name before it and text after it.
pub fn split_clone_suffix(name: &str) -> SymbolName<'_> {
    match name.char_indices().skip(1).find(|&(_, c)| c == '.') {
        Some((dot, _)) if dot + 1 < name.len() => SymbolName {
            base: &name[..dot],
            suffix: Some(&name[dot..]),
        },
        _ => SymbolName {
            base: name,
            suffix: None,
        },
    }
}

/// One step of compiler renaming, as named by a suffix component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloneKind {
    /// `.isra.N`: GCC's interprocedural scalar replacement of aggregates
    /// passes fields instead of structs or drops unused parameters, so the
    /// signature differs from the source.
    Isra,
    /// `.constprop.N`: a copy specialised for constant arguments, which are
    /// dropped from its signature.
    Constprop,
    /// `.part.N`: the out-of-line piece of a partially inlined function;
    /// callers run the inlined head first, so it sees only the calls that
    /// get past it, with whatever arguments GCC chose to pass on.
    Part,
    /// `.cold` (`.cold.N` with older GCC): the unlikely part of a function split off by GCC;
    /// reached by jumps, not calls, so not an entry point and not probeable
    /// as a function.
    Cold,
    /// `.llvm.HASH`: a static function clang's ThinLTO renamed when it made
    /// it global; the same function with the same signature.
    Llvm,
    /// Anything else: `.lto_priv.N` (GCC LTO), `.localalias`, `.clone.N`
    /// (old GCC), `.__uniq.N` (clang unique internal names), or a numbered
    /// static variable such as `__func__.1`.
    Other,
}

impl CloneKind {
    fn of_component(word: &str) -> CloneKind {
        match word {
            "isra" => CloneKind::Isra,
            "constprop" => CloneKind::Constprop,
            "part" => CloneKind::Part,
            "cold" => CloneKind::Cold,
            "llvm" => CloneKind::Llvm,
            _ => CloneKind::Other,
        }
    }

    /// What the compiler did, in a few words for users.
    pub fn describe(self) -> &'static str {
        match self {
            CloneKind::Isra => "GCC passed fields instead of structs or dropped unused arguments",
            CloneKind::Constprop => {
                "a copy specialised for constant arguments, which it no longer takes"
            }
            CloneKind::Part => "the out-of-line part of a partially inlined function",
            CloneKind::Cold => "the unlikely part of a function, reached by jumps, not calls",
            CloneKind::Llvm => "renamed by clang's ThinLTO; same function, same signature",
            CloneKind::Other => "a compiler-made copy",
        }
    }

    /// Whether the symbol starts a function that callers call, so that an
    /// entry probe (kprobe, fentry) on it means "the function was called".
    pub fn is_entry_point(self) -> bool {
        self != CloneKind::Cold
    }

    /// Whether the arguments at entry may not match the source signature
    /// (and so BTF's, when BTF has the function at all).
    pub fn may_change_signature(self) -> bool {
        self != CloneKind::Llvm
    }
}

/// The kind that decides how a suffixed symbol can be used: [`CloneKind::Cold`]
/// if any step split off cold code (`.isra.0.cold` is still not an entry
/// point), otherwise the last step (`.part.0.constprop.0` is a constprop
/// copy of a partial function). `Other` when no step is recognised.
pub fn clone_kind(suffix: &str) -> CloneKind {
    let mut last = CloneKind::Other;
    for step in clone_steps(suffix) {
        if step == CloneKind::Cold {
            return CloneKind::Cold;
        }
        last = step;
    }
    last
}

/// Every renaming step in a suffix, in the order the compiler applied them:
/// `.constprop.0.isra.0.cold` → Constprop, Isra, Cold. Numbers belong to the
/// step before them; a number with no step before it (`__func__.1`) is Other.
pub fn clone_steps(suffix: &str) -> impl Iterator<Item = CloneKind> + '_ {
    let mut first = true;
    suffix
        .split('.')
        .filter(|word| !word.is_empty())
        .filter_map(move |word| {
            let numeric = word.bytes().all(|b| b.is_ascii_digit());
            let step = match (numeric, first) {
                (false, _) => Some(CloneKind::of_component(word)),
                (true, true) => Some(CloneKind::Other),
                (true, false) => None,
            };
            first = false;
            step
        })
}

/// x86 function padding (`__pfx_NAME`, objtool's prefix symbols with
/// `CONFIG_CALL_PADDING`, Linux 6.2+) reserved in front of each function for
/// call-depth-tracking thunks and FineIBT, or a kCFI preamble (`__cfi_NAME`,
/// clang `CONFIG_CFI_CLANG`, 6.1+) holding the type hash. Neither is a function, and neither is in
/// BTF or `available_filter_functions`.
///
/// Kernels from before kCFI (5.13 to 6.0, clang's older CFI) had real
/// functions named `__cfi_check` and `__cfi_slowpath_diag`; this cannot tell
/// them from a preamble by name alone.
pub fn is_padding_symbol(name: &str) -> bool {
    padded_function(name).is_some()
}

/// The function a padding symbol precedes: `__pfx_vfs_read` → `vfs_read`.
pub fn padded_function(name: &str) -> Option<&str> {
    name.strip_prefix("__pfx_")
        .or_else(|| name.strip_prefix("__cfi_"))
        .filter(|function| !function.is_empty())
}

/// Linker symbols that mark where a section of kernel text begins or ends
/// (`_stext`, `__entry_text_start`, `__noinstr_text_end`): kallsyms types
/// them `T` like functions, but they are addresses, not functions.
pub fn is_section_marker(name: &str) -> bool {
    matches!(
        name,
        "_stext" | "_etext" | "_text" | "_sinittext" | "_einittext"
    ) || (name.starts_with("__") && (name.ends_with("_text_start") || name.ends_with("_text_end")))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Names from /proc/kallsyms on Linux 6.18 x86_64 (GCC build).
    #[test]
    fn splits_real_clone_names() {
        let cases = [
            ("vfs_read", "vfs_read", None, None),
            (
                "test_for_valid_rec.isra.0",
                "test_for_valid_rec",
                Some(".isra.0"),
                Some(CloneKind::Isra),
            ),
            (
                "show_regs.part.0",
                "show_regs",
                Some(".part.0"),
                Some(CloneKind::Part),
            ),
            (
                "calibrate_delay.cold",
                "calibrate_delay",
                Some(".cold"),
                Some(CloneKind::Cold),
            ),
            (
                "pvm_sync_host_cpuid_feat.constprop.0.isra.0",
                "pvm_sync_host_cpuid_feat",
                Some(".constprop.0.isra.0"),
                Some(CloneKind::Isra),
            ),
            (
                "kvm_get_stat_per_vcpu.part.0.constprop.0",
                "kvm_get_stat_per_vcpu",
                Some(".part.0.constprop.0"),
                Some(CloneKind::Constprop),
            ),
            (
                "crypto_blake2b_finup.constprop.0.isra.0.cold",
                "crypto_blake2b_finup",
                Some(".constprop.0.isra.0.cold"),
                Some(CloneKind::Cold),
            ),
            (
                "__parse_discovery_table.isra.0.cold",
                "__parse_discovery_table",
                Some(".isra.0.cold"),
                Some(CloneKind::Cold),
            ),
            // Assembly labels with a leading dot.
            (".slowpath", ".slowpath", None, None),
            (".E_copy", ".E_copy", None, None),
        ];
        for (name, base, suffix, kind) in cases {
            let split = split_clone_suffix(name);
            assert_eq!((split.base, split.suffix), (base, suffix), "{name}");
            assert_eq!(split.clone_kind(), kind, "{name}");
        }
    }

    #[test]
    fn other_compilers_and_odd_names() {
        // clang ThinLTO and other suffixes not seen on the GCC kernel here.
        let llvm = split_clone_suffix("update_curr.llvm.12838561296012373658");
        assert_eq!(llvm.base, "update_curr");
        assert_eq!(llvm.clone_kind(), Some(CloneKind::Llvm));
        assert!(!CloneKind::Llvm.may_change_signature());
        assert_eq!(clone_kind(".lto_priv.0"), CloneKind::Other);
        assert_eq!(clone_kind(".cold.12"), CloneKind::Cold);
        assert_eq!(clone_kind(".1"), CloneKind::Other);
        assert_eq!(split_clone_suffix("__func__.1").base, "__func__");
        // Nothing after the dot, or nothing at all.
        assert_eq!(split_clone_suffix("foo.").suffix, None);
        assert_eq!(split_clone_suffix("").base, "");
        assert_eq!(split_clone_suffix(".").suffix, None);
        assert_eq!(clone_kind(""), CloneKind::Other);
        assert_eq!(clone_kind("..."), CloneKind::Other);
        assert_eq!(split_clone_suffix("é.isra.0").base, "é");
    }

    #[test]
    fn steps_in_order() {
        let steps: Vec<_> = clone_steps(".constprop.0.isra.0.cold").collect();
        assert_eq!(
            steps,
            [CloneKind::Constprop, CloneKind::Isra, CloneKind::Cold]
        );
        let steps: Vec<_> = clone_steps(".part.0.isra.0").collect();
        assert_eq!(steps, [CloneKind::Part, CloneKind::Isra]);
        assert_eq!(clone_steps("").count(), 0);
    }

    #[test]
    fn entry_points_and_signatures() {
        assert!(!CloneKind::Cold.is_entry_point());
        for kind in [
            CloneKind::Isra,
            CloneKind::Constprop,
            CloneKind::Part,
            CloneKind::Llvm,
            CloneKind::Other,
        ] {
            assert!(kind.is_entry_point(), "{kind:?}");
        }
        assert!(CloneKind::Isra.may_change_signature());
        assert!(CloneKind::Constprop.may_change_signature());
    }

    #[test]
    fn padding_symbols() {
        // __pfx_ from this machine's kallsyms; __cfi_ follows the kCFI
        // preamble naming (none on this GCC-built kernel).
        assert!(is_padding_symbol("__pfx_vfs_read"));
        assert_eq!(padded_function("__pfx_vfs_read"), Some("vfs_read"));
        assert_eq!(
            padded_function("__pfx_test_for_valid_rec.isra.0"),
            Some("test_for_valid_rec.isra.0")
        );
        assert_eq!(padded_function("__pfx_abort"), Some("abort"));
        assert!(is_padding_symbol("__cfi_vfs_read"));
        assert!(!is_padding_symbol("vfs_read"));
        assert!(!is_padding_symbol("__pfx_"));
        assert!(!is_padding_symbol("__pi__text"));
        assert!(!is_padding_symbol("pfx_vfs_read"));
    }

    #[test]
    fn arbitrary_names_never_panic() {
        let mut rng = crate::format::mutate::Rng::new(0x853c_49e6_748f_ea9b);
        let alphabet = [
            "a", ".", "0", "isra", "cold", "part", "é", "__pfx_", "__cfi_", "",
        ];
        for _ in 0..20_000 {
            let mut name = String::new();
            for _ in 0..(rng.next() % 8) {
                name.push_str(alphabet[(rng.next() as usize) % alphabet.len()]);
            }
            let split = split_clone_suffix(&name);
            let joined = format!("{}{}", split.base, split.suffix.unwrap_or(""));
            assert_eq!(joined, name);
            let _ = (split.clone_kind(), is_padding_symbol(&name));
        }
    }

    #[test]
    fn section_markers_are_not_functions() {
        // From this machine's /proc/kallsyms (Linux 6.18).
        for marker in [
            "_stext",
            "_text",
            "_etext",
            "__entry_text_start",
            "__noinstr_text_end",
        ] {
            assert!(is_section_marker(marker), "{marker}");
        }
        for function in ["vfs_read", "text_poke", "__text_poke", "set_text_start_fn"] {
            assert!(!is_section_marker(function), "{function}");
        }
    }
}
