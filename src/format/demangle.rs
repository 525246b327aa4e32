//! Demangling of user-space symbol names: Rust (legacy `_ZN…17h<hash>E` and
//! v0 `_R…`) and C++ (Itanium `_Z…`).
//!
//! Rust is tried first: a legacy Rust name is also a valid Itanium name, and
//! the C++ demangler would print its hash as a path component
//! (`core::fmt::write::h3ad0b2f9`). The hash is left out of Rust names, as
//! `rustc-demangle`'s alternate form and `perf` do.
//!
//! Symbols carry suffixes the demanglers do not know: ELF symbol versions
//! (`_ZNSt9exceptionD2Ev@@GLIBCXX_3.4`) are split off and put back after the
//! demangled text; GCC clone suffixes (`.cold`, `.constprop.0`, `.isra.0`)
//! are kept as cpp_demangle prints them.

/// The demangled form of `name`, or `None` when it is not a mangled name
/// (plain C symbols, which is almost all of them in C programs).
pub fn demangle(name: &str) -> Option<String> {
    let (symbol, version) = match name.find('@') {
        Some(at) => name.split_at(at),
        None => (name, ""),
    };
    if !(symbol.starts_with("_Z") || symbol.starts_with("_R") || symbol.starts_with("__Z")) {
        return None;
    }
    let text = demangle_rust(symbol).or_else(|| demangle_cpp(symbol))?;
    Some(text + version)
}

fn demangle_rust(symbol: &str) -> Option<String> {
    let demangled = rustc_demangle::try_demangle(symbol).ok()?;
    // A legacy name without the `h<16 hex>` hash is a C++ name that happens
    // to use the nested-name form (`_ZN2ns5Shape4areaEv` must stay C++:
    // its parameter list would be lost). rustc-demangle accepts those, so
    // ask for the hash-free form and check that it really dropped a hash.
    let full = demangled.to_string();
    let short = format!("{demangled:#}");
    let rust_legacy = full != short;
    let rust_v0 = symbol.starts_with("_R");
    (rust_legacy || rust_v0).then_some(short)
}

fn demangle_cpp(symbol: &str) -> Option<String> {
    // macOS-style names have one more underscore; ELF files rarely carry
    // them, but the demangler wants `_Z`.
    let symbol = symbol
        .strip_prefix('_')
        .filter(|s| s.starts_with("_Z"))
        .unwrap_or(symbol);
    let parsed = cpp_demangle::Symbol::new(symbol).ok()?;
    parsed
        .demangle()
        .ok()
        .map(|text| expand_abbreviations(&text))
}

/// The standard abbreviations and nested template brackets the way GNU's
/// demangler prints them, which
/// is what gdb, perf, bpftrace (`__cxa_demangle`) and `c++filt` show:
/// cpp_demangle prints `Ss` as `std::string`, GNU as the full
/// `std::basic_string<char, std::char_traits<char>, std::allocator<char> >`.
/// Matching GNU keeps names pasted from those tools matching. (libstdc++:
/// 307 of 4,424 demangled names differed only in this.)
fn expand_abbreviations(text: &str) -> String {
    const FULL: [(&str, &str); 4] = [
        (
            "std::string",
            "std::basic_string<char, std::char_traits<char>, std::allocator<char> >",
        ),
        (
            "std::istream",
            "std::basic_istream<char, std::char_traits<char> >",
        ),
        (
            "std::ostream",
            "std::basic_ostream<char, std::char_traits<char> >",
        ),
        (
            "std::iostream",
            "std::basic_iostream<char, std::char_traits<char> >",
        ),
    ];
    if !text.contains("std::") && !text.contains(">>") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for (short, full) in FULL {
            if let Some(after) = rest.strip_prefix(short) {
                let boundary = !after
                    .as_bytes()
                    .first()
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
                // Only a whole name: not `std::string_view`, not
                // `mystd::string`.
                let starts_name = !out
                    .as_bytes()
                    .last()
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b':');
                if boundary && starts_name {
                    out.push_str(full);
                    rest = after;
                    continue 'scan;
                }
            }
        }
        let c = rest.chars().next().expect("not empty");
        // GNU separates closing template brackets (`> >`); `operator>>`
        // keeps its spelling.
        if c == '>' && out.ends_with('>') && !out.ends_with("operator>") {
            out.push(' ');
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The qualified name before a C++ parameter list: `ns::Shape::area` of
/// `ns::Shape::area() const`. Patterns without a parameter list match this,
/// so `uprobe:bin:ns::Shape::area` names every overload, as bpftrace's
/// `cpp:` probes do. Template arguments may hold parentheses
/// (`f<(char)1>(int)`), so the list is the last balanced `(...)` group that
/// is not inside `<...>`.
pub fn without_parameters(demangled: &str) -> &str {
    let bytes = demangled.as_bytes();
    let (mut angle, mut paren) = (0i32, 0i32);
    let mut last_open_at_top = None;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'<' => angle += 1,
            b'>' if angle > 0 => angle -= 1,
            b'(' => {
                if angle == 0 && paren == 0 {
                    last_open_at_top = Some(i);
                }
                paren += 1;
            }
            b')' => paren -= 1,
            _ => {}
        }
    }
    match last_open_at_top {
        // `(anonymous namespace)::f(int)`: the first group is part of the
        // name, so only a group that reaches the end (bar qualifiers) is
        // the parameter list.
        Some(i) if i > 0 => demangled[..i].trim_end(),
        _ => demangled,
    }
}

/// A cheap test that rules out mangled names a demangled-form pattern
/// cannot match, so matching `v8::internal::Heap::*` demangles a few
/// hundred of node's 150,000 symbols rather than all of them.
///
/// Both manglings spell each identifier as `<length><identifier>` at least
/// once (later uses may be back-references, never the first), so a whole
/// word of the pattern must appear with its length before it, and a word
/// cut by a `*` must appear as is. Words a mangling may abbreviate or
/// never spell (`std`, `string`, `int`, `operator`, constructor names are
/// still spelled once as the class) are not required.
#[derive(Debug, Clone)]
pub struct Prefilter {
    needles: Vec<String>,
}

/// Words an Itanium mangling can leave unspelled: builtin types,
/// qualifiers, the standard abbreviations (`St`, `Sa`, `Sb`, `Ss`, `Si`,
/// `So`, `Sd`) and how demanglers name what has no name.
const UNSPELLED: &[&str] = &[
    "std",
    "allocator",
    "basic_string",
    "string",
    "char_traits",
    "istream",
    "ostream",
    "iostream",
    "basic_istream",
    "basic_ostream",
    "basic_iostream",
    "operator",
    "const",
    "volatile",
    "restrict",
    "unsigned",
    "signed",
    "int",
    "char",
    "short",
    "long",
    "bool",
    "void",
    "float",
    "double",
    "wchar_t",
    "char8_t",
    "char16_t",
    "char32_t",
    "__int128",
    "__float128",
    "decltype",
    "auto",
    "anonymous",
    "namespace",
    "lambda",
    "unnamed",
    "true",
    "false",
    "nullptr",
    "sizeof",
    "alignof",
    "noexcept",
    "throw",
    "new",
    "delete",
    "typeinfo",
    "vtable",
    "for",
    "VTT",
    "construction",
    "guard",
    "variable",
    "virtual",
    "thunk",
    "to",
    "non",
    "covariant",
    "return",
    "transaction",
    "clone",
    "cold",
    "constprop",
    "isra",
    "part",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
    "str",
    "impl",
    "as",
    "dyn",
    "mut",
    "fn",
    "unsafe",
    "extern",
    "Self",
];

impl Prefilter {
    pub fn new(pattern: &str) -> Prefilter {
        let bytes = pattern.as_bytes();
        let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let mut needles = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if !(bytes[i].is_ascii_alphabetic() || bytes[i] == b'_')
                || (i > 0 && is_word(bytes[i - 1]))
            {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && is_word(bytes[i]) {
                i += 1;
            }
            let word = &pattern[start..i];
            if UNSPELLED.contains(&word) {
                continue;
            }
            let cut = (start > 0 && bytes[start - 1] == b'*') || bytes.get(i) == Some(&b'*');
            needles.push(if cut {
                word.to_string()
            } else {
                format!("{}{word}", word.len())
            });
        }
        Prefilter { needles }
    }

    /// False only when `mangled` cannot demangle to a match.
    pub fn may_match(&self, mangled: &str) -> bool {
        self.needles.iter().all(|n| mangled.contains(n.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpp_names() {
        assert_eq!(demangle("_Z3addii").as_deref(), Some("add(int, int)"));
        assert_eq!(demangle("_Z3adddd").as_deref(), Some("add(double, double)"));
        assert_eq!(
            demangle("_ZN2ns5Shape4areaEv").as_deref(),
            Some("ns::Shape::area()")
        );
        assert_eq!(
            demangle("_ZNKSt9exception4whatEv@@GLIBCXX_3.4").as_deref(),
            Some("std::exception::what() const@@GLIBCXX_3.4")
        );
        assert!(demangle("_Z3fooi.cold").unwrap().starts_with("foo(int)"));
    }

    #[test]
    fn standard_abbreviations_print_as_gnu_does() {
        // c++filt's output for each.
        assert_eq!(
            demangle("_ZNKSs11_M_disjunctEPKc").as_deref(),
            Some(
                "std::basic_string<char, std::char_traits<char>, std::allocator<char> >\
                 ::_M_disjunct(char const*) const"
            )
        );
        assert_eq!(
            demangle("_ZNKSo6sentrycvbEv").as_deref(),
            Some(
                "std::basic_ostream<char, std::char_traits<char> >::sentry::operator bool() const"
            )
        );
        assert_eq!(
            expand_abbreviations("a<b<c>>::operator>>(x<y<z>>)"),
            "a<b<c> >::operator>>(x<y<z> >)"
        );
        assert_eq!(
            expand_abbreviations("std::string_view f(mystd::string, std::string)"),
            "std::string_view f(mystd::string, std::basic_string<char, std::char_traits<char>, \
             std::allocator<char> >)"
        );
    }

    #[test]
    fn rust_names_lose_their_hash() {
        assert_eq!(
            demangle("_ZN4core3fmt5write17h3ad0b2f9d7b1a2c4E").as_deref(),
            Some("core::fmt::write")
        );
        assert_eq!(
            demangle("_RNvCs1234_7mycrate3foo").as_deref(),
            Some("mycrate::foo")
        );
    }

    #[test]
    fn plain_and_broken_names_are_none() {
        for name in [
            "malloc",
            "main",
            "_start",
            "_Z",
            "_Zfoo",
            "_R",
            "memcpy@@GLIBC_2.14",
            "",
        ] {
            assert_eq!(demangle(name), None, "{name}");
        }
    }

    #[test]
    fn the_prefilter_keeps_every_name_that_can_match() {
        let names = [
            "_ZN2v88internal4Heap15CollectGarbageEv",
            "_ZN2v88internal4HeapC2Ev",
            "_ZN2v88internal7Isolate4HeapEv",
            "_ZNKSt9exception4whatEv",
            "_ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEE6appendEPKc",
            "_Z3addii",
            "_Z3adddd",
            "_ZN12_GLOBAL__N_16helperEi",
            "_ZN4core3fmt5write17h3ad0b2f9d7b1a2c4E",
        ];
        for pattern in [
            "v8::internal::Heap::*",
            "v8::internal::Heap::Heap*",
            "*Heap::Collect*",
            "std::exception::what*",
            "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >::append*",
            "add(int, int)",
            "add",
            "ad*",
            "(anonymous namespace)::helper(int)",
            "core::fmt::write",
            "*::what() const",
        ] {
            let filter = Prefilter::new(pattern);
            let wildcard = crate::probe::Wildcard::new(pattern);
            for name in names {
                let matches = demangle(name).is_some_and(|text| {
                    wildcard.matches(&text) || wildcard.matches(without_parameters(&text))
                });
                assert!(!matches || filter.may_match(name), "{pattern} lost {name}");
            }
        }
        // It does rule things out.
        let filter = Prefilter::new("v8::internal::Heap::*");
        assert!(!filter.may_match("_Z3addii"));
        assert!(!filter.may_match("_ZN2v88internal7HeapingEv"));
        assert!(Prefilter::new("add(int, int)").may_match("_Z3addii"));
        assert!(!Prefilter::new("add(int, int)").may_match("_Z4addsii"));
    }

    #[test]
    fn parameter_lists_come_off() {
        assert_eq!(without_parameters("add(int, int)"), "add");
        assert_eq!(
            without_parameters("ns::Shape::area() const"),
            "ns::Shape::area"
        );
        assert_eq!(
            without_parameters("(anonymous namespace)::helper(int)"),
            "(anonymous namespace)::helper"
        );
        assert_eq!(without_parameters("f<(char)1>(int)"), "f<(char)1>");
        assert_eq!(without_parameters("core::fmt::write"), "core::fmt::write");
        assert_eq!(
            without_parameters("(anonymous namespace)::x"),
            "(anonymous namespace)::x"
        );
    }
}
