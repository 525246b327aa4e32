//! Probe kinds, probe names and the patterns users write to select them.
//!
//! Names follow bpftrace's syntax (`tracepoint:sched:sched_switch`) so that
//! anything probedex prints pastes straight into a bpftrace script. A pattern
//! is one of three shapes:
//!
//! * `KIND:REST` where `KIND` is a kind or one of its aliases (`t:`): `REST`
//!   is matched against the part of each name after the kind;
//! * a bare word without `:` (`sched_switch`, `sys_enter_*`): matched
//!   against the last component of every kernel probe's name;
//! * a pattern whose first component is itself a wildcard (`*:sched_*`):
//!   matched against the whole canonical name.
//!
//! `*` matches any run of characters, including `:`, as in bpftrace.

use std::fmt;

/// Every kind of probe point probedex knows about, in bpftrace's naming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProbeKind {
    Tracepoint,
    RawTracepoint,
    Kprobe,
    Kretprobe,
    Fentry,
    Fexit,
    Uprobe,
    Uretprobe,
    Usdt,
    Software,
    Hardware,
}

/// `(canonical name, aliases)` for every kind, in the order bpftrace documents them.
const KIND_NAMES: &[(ProbeKind, &str, &[&str])] = &[
    (ProbeKind::Tracepoint, "tracepoint", &["t"]),
    (ProbeKind::RawTracepoint, "rawtracepoint", &["rt"]),
    (ProbeKind::Kprobe, "kprobe", &["k"]),
    (ProbeKind::Kretprobe, "kretprobe", &["kr"]),
    (ProbeKind::Fentry, "fentry", &["kfunc", "f"]),
    (ProbeKind::Fexit, "fexit", &["kretfunc", "fr"]),
    (ProbeKind::Uprobe, "uprobe", &["u"]),
    (ProbeKind::Uretprobe, "uretprobe", &["ur"]),
    (ProbeKind::Usdt, "usdt", &["U"]),
    (ProbeKind::Software, "software", &["s"]),
    (ProbeKind::Hardware, "hardware", &["h"]),
];

impl ProbeKind {
    pub const ALL: [ProbeKind; 11] = [
        ProbeKind::Tracepoint,
        ProbeKind::RawTracepoint,
        ProbeKind::Kprobe,
        ProbeKind::Kretprobe,
        ProbeKind::Fentry,
        ProbeKind::Fexit,
        ProbeKind::Uprobe,
        ProbeKind::Uretprobe,
        ProbeKind::Usdt,
        ProbeKind::Software,
        ProbeKind::Hardware,
    ];

    /// The canonical name, as it starts every probe name.
    pub fn name(self) -> &'static str {
        KIND_NAMES
            .iter()
            .find(|(kind, _, _)| *kind == self)
            .map(|(_, name, _)| *name)
            .expect("every kind has a name")
    }

    /// Parses a kind or one of its aliases (`t`, `kfunc`, ...). Case matters:
    /// `U` is usdt while `u` is uprobe, as in bpftrace.
    pub fn from_name(word: &str) -> Option<ProbeKind> {
        KIND_NAMES
            .iter()
            .find(|(_, name, aliases)| *name == word || aliases.contains(&word))
            .map(|(kind, _, _)| *kind)
    }

    /// Kinds whose points live in the kernel; a bare word searches these.
    pub fn is_kernel(self) -> bool {
        !matches!(
            self,
            ProbeKind::Uprobe | ProbeKind::Uretprobe | ProbeKind::Usdt
        )
    }

    /// kprobe or kretprobe: points from the kernel's function list.
    pub fn is_kprobe(self) -> bool {
        matches!(self, ProbeKind::Kprobe | ProbeKind::Kretprobe)
    }

    /// uprobe, uretprobe or usdt: points in one user-space file.
    pub fn is_user(self) -> bool {
        !self.is_kernel()
    }

    /// fentry or fexit: BTF functions ftrace can patch.
    pub fn is_fentry(self) -> bool {
        matches!(self, ProbeKind::Fentry | ProbeKind::Fexit)
    }

    /// Every spelling users may write, for suggestions.
    pub fn all_spellings() -> impl Iterator<Item = &'static str> {
        KIND_NAMES
            .iter()
            .flat_map(|(_, name, aliases)| std::iter::once(*name).chain(aliases.iter().copied()))
    }
}

impl fmt::Display for ProbeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A tracepoint's identity: `CATEGORY:EVENT` as in tracefs' `available_events`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TracepointId {
    pub category: String,
    pub event: String,
}

impl TracepointId {
    pub fn new(category: impl Into<String>, event: impl Into<String>) -> Self {
        TracepointId {
            category: category.into(),
            event: event.into(),
        }
    }

    /// Parses `CATEGORY:EVENT` (one line of `available_events`).
    pub fn parse(text: &str) -> Option<TracepointId> {
        let (category, event) = text.split_once(':')?;
        let valid = |s: &str| !s.is_empty() && !s.contains(['/', ':']) && s != "." && s != "..";
        (valid(category) && valid(event)).then(|| TracepointId::new(category, event))
    }

    /// The canonical probe name, `tracepoint:CATEGORY:EVENT`.
    pub fn probe_name(&self) -> String {
        format!("tracepoint:{}:{}", self.category, self.event)
    }
}

/// Ordered by the full name `CATEGORY:EVENT` byte by byte, as bpftrace sorts
/// its listing: `a0:x` sorts before `a:x`, which comparing the category
/// alone would reverse.
impl Ord for TracepointId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        fn key(t: &TracepointId) -> impl Iterator<Item = u8> + '_ {
            let (c, e) = (t.category.as_bytes(), t.event.as_bytes());
            c.iter().chain(b":").chain(e).copied()
        }
        key(self).cmp(key(other))
    }
}

impl PartialOrd for TracepointId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for TracepointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tracepoint:{}:{}", self.category, self.event)
    }
}

/// What went wrong reading a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternError {
    Empty,
    /// `sched:sched_switch`: the first component is not a kind.
    UnknownKind {
        pattern: String,
        kind: String,
        suggestions: Vec<&'static str>,
    },
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatternError::Empty => f.write_str("empty probe pattern"),
            PatternError::UnknownKind {
                pattern,
                kind,
                suggestions,
            } => {
                write!(f, "{pattern}: unknown probe kind '{kind}'")?;
                if let Some(best) = suggestions.first() {
                    write!(f, " (did you mean '{best}'?)")?;
                }
                write!(
                    f,
                    "; kinds are {}",
                    KIND_NAMES
                        .iter()
                        .map(|(_, n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                )?;
                if !suggestions.contains(&"tracepoint") && !kind.contains('*') {
                    write!(
                        f,
                        "; for a tracepoint category write 'tracepoint:{kind}:...'"
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for PatternError {}

/// A parsed pattern; see the module documentation for the three shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbePattern {
    /// `KIND:REST`; `rest` is matched against the name after `KIND:`.
    Kind { kind: ProbeKind, rest: Wildcard },
    /// A word without `:`, matched against the last component of kernel probes.
    BareName(Wildcard),
    /// A pattern starting with a wildcard component, matched against whole names.
    FullName(Wildcard),
}

impl ProbePattern {
    pub fn parse(text: &str) -> Result<ProbePattern, PatternError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(PatternError::Empty);
        }
        let Some((head, rest)) = text.split_once(':') else {
            return Ok(ProbePattern::BareName(Wildcard::new(text)));
        };
        if let Some(kind) = ProbeKind::from_name(head) {
            // `tracepoint:` alone selects every tracepoint, as `tracepoint:*` does.
            let rest = if rest.is_empty() { "*" } else { rest };
            return Ok(ProbePattern::Kind {
                kind,
                rest: Wildcard::new(rest),
            });
        }
        if head.contains('*') {
            return Ok(ProbePattern::FullName(Wildcard::new(text)));
        }
        Err(PatternError::UnknownKind {
            pattern: text.to_string(),
            kind: head.to_string(),
            suggestions: crate::suggest::nearest(head, ProbeKind::all_spellings(), 2),
        })
    }

    /// Whether this pattern can select points of `kind` at all.
    pub fn covers_kind(&self, kind: ProbeKind) -> bool {
        match self {
            ProbePattern::Kind { kind: k, .. } => *k == kind,
            ProbePattern::BareName(_) => kind.is_kernel(),
            ProbePattern::FullName(w) => {
                // Only kinds whose name the leading component could match.
                let head = w.text().split(':').next().unwrap_or("");
                Wildcard::new(head).matches(kind.name()) || head.ends_with('*')
            }
        }
    }

    /// The kind this pattern names explicitly, if any.
    pub fn kind(&self) -> Option<ProbeKind> {
        match self {
            ProbePattern::Kind { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// Whether the pattern selects `tp`.
    pub fn matches_tracepoint(&self, tp: &TracepointId) -> bool {
        self.matches(ProbeKind::Tracepoint, Some(&tp.category), &tp.event)
    }

    /// Whether the pattern selects the point `KIND:[SCOPE:]NAME`, where
    /// SCOPE is a tracepoint's category or a kernel module (None for
    /// vmlinux, which patterns may also spell `vmlinux`).
    pub fn matches(&self, kind: ProbeKind, scope: Option<&str>, name: &str) -> bool {
        let scoped = |w: &Wildcard, prefix: &str| match scope {
            Some(scope) => w.matches_parts(&[prefix, scope, ":", name]),
            None => {
                w.matches_parts(&[prefix, name]) || w.matches_parts(&[prefix, "vmlinux:", name])
            }
        };
        match self {
            ProbePattern::Kind { kind: k, rest } => *k == kind && scoped(rest, ""),
            ProbePattern::BareName(w) => kind.is_kernel() && w.matches(name),
            ProbePattern::FullName(w) => {
                let prefix = format!("{}:", kind.name());
                scoped(w, &prefix)
            }
        }
    }

    /// True when the pattern has no wildcard: it names one point exactly,
    /// so an empty result deserves a "did you mean".
    pub fn is_exact(&self) -> bool {
        match self {
            ProbePattern::Kind { rest, .. } => !rest.has_wildcard(),
            ProbePattern::BareName(w) | ProbePattern::FullName(w) => !w.has_wildcard(),
        }
    }
}

/// A glob where `*` matches any run of characters (including `:`); every
/// other character matches itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wildcard {
    text: String,
}

impl Wildcard {
    pub fn new(text: &str) -> Wildcard {
        // Runs of `*` mean the same as one; collapsing them keeps matching linear-ish.
        let mut collapsed = String::with_capacity(text.len());
        for c in text.chars() {
            if !(c == '*' && collapsed.ends_with('*')) {
                collapsed.push(c);
            }
        }
        Wildcard { text: collapsed }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn has_wildcard(&self) -> bool {
        self.text.contains('*')
    }

    pub fn matches(&self, candidate: &str) -> bool {
        self.matches_parts(&[candidate])
    }

    /// Matches the concatenation of `parts` without allocating it; listing
    /// thousands of names calls this in a tight loop.
    pub fn matches_parts(&self, parts: &[&str]) -> bool {
        let pattern = self.text.as_bytes();
        if pattern == b"*" {
            return true;
        }
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let byte_at = |mut i: usize| -> u8 {
            for part in parts {
                if i < part.len() {
                    return part.as_bytes()[i];
                }
                i -= part.len();
            }
            unreachable!("index checked against total length")
        };
        // Classic greedy glob match with one backtrack point: O(n*m) worst case,
        // linear for the patterns people write.
        let (mut p, mut c) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while c < total {
            if p < pattern.len() && pattern[p] == b'*' {
                star = Some((p, c));
                p += 1;
            } else if p < pattern.len() && pattern[p] == byte_at(c) {
                p += 1;
                c += 1;
            } else if let Some((sp, sc)) = star {
                p = sp + 1;
                c = sc + 1;
                star = Some((sp, sc + 1));
            } else {
                return false;
            }
        }
        pattern[p..].iter().all(|&b| b == b'*')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_aliases_round_trip() {
        for kind in ProbeKind::ALL {
            assert_eq!(ProbeKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(ProbeKind::from_name("t"), Some(ProbeKind::Tracepoint));
        assert_eq!(ProbeKind::from_name("kfunc"), Some(ProbeKind::Fentry));
        assert_eq!(ProbeKind::from_name("U"), Some(ProbeKind::Usdt));
        assert_eq!(ProbeKind::from_name("u"), Some(ProbeKind::Uprobe));
        assert_eq!(ProbeKind::from_name("tracepoints"), None);
    }

    #[test]
    fn wildcard_spans_colons() {
        let w = Wildcard::new("sched*switch");
        assert!(w.matches_parts(&["sched", ":", "sched_switch"]));
        assert!(!w.matches("sched:sched_switches"));
        assert!(Wildcard::new("*").matches(""));
        assert!(Wildcard::new("a**b").matches("ab"));
        assert!(Wildcard::new("*_enter_*at").matches("syscalls:sys_enter_fchmodat"));
        assert!(!Wildcard::new("*_enter_*at").matches("syscalls:sys_exit_fchmodat"));
        assert!(Wildcard::new("exact").matches("exact"));
        assert!(!Wildcard::new("exact").matches("exactly"));
        assert!(!Wildcard::new("exactly").matches("exact"));
    }

    #[test]
    fn pattern_shapes() {
        let tp = TracepointId::new("syscalls", "sys_enter_fchmodat");
        for yes in [
            "tracepoint:syscalls:sys_enter_fchmodat",
            "t:syscalls:sys_enter_fchmodat",
            "tracepoint:*",
            "tracepoint:",
            "t:*fchmod*",
            "sys_enter_fchmodat",
            "sys_enter_*",
            "*:syscalls:*",
            "*fchmodat",
        ] {
            let p = ProbePattern::parse(yes).unwrap();
            assert!(p.matches_tracepoint(&tp), "{yes} should match");
        }
        for no in [
            "tracepoint:syscalls:sys_enter_fchmod",
            "kprobe:*",
            "syscalls",
            "t:sched:*",
            "*:sched:*",
        ] {
            let p = ProbePattern::parse(no).unwrap();
            assert!(!p.matches_tracepoint(&tp), "{no} should not match");
        }
    }

    #[test]
    fn unknown_kind_is_an_error_with_a_suggestion() {
        let err = ProbePattern::parse("tracepont:sched:*").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("unknown probe kind 'tracepont'"), "{text}");
        assert!(text.contains("did you mean 'tracepoint'"), "{text}");
        let err = ProbePattern::parse("sched:sched_switch").unwrap_err();
        assert!(err.to_string().contains("tracepoint:sched:"), "{err}");
        assert_eq!(ProbePattern::parse("  "), Err(PatternError::Empty));
    }

    #[test]
    fn tracepoint_ids_from_available_events() {
        assert_eq!(
            TracepointId::parse("sched:sched_switch"),
            Some(TracepointId::new("sched", "sched_switch"))
        );
        assert_eq!(TracepointId::parse("nocolon"), None);
        assert_eq!(TracepointId::parse(":x"), None);
        assert_eq!(TracepointId::parse("a:../b"), None);
        assert_eq!(TracepointId::parse("a:b:c"), None);
    }

    #[test]
    fn tracepoints_sort_by_full_name() {
        let mut ids = [
            TracepointId::new("a", "x"),
            TracepointId::new("a0", "x"),
            TracepointId::new("a", "b"),
        ];
        ids.sort();
        let names: Vec<String> = ids.iter().map(|t| t.to_string()).collect();
        assert_eq!(
            names,
            ["tracepoint:a0:x", "tracepoint:a:b", "tracepoint:a:x"]
        );
    }

    #[test]
    fn functions_with_and_without_modules() {
        let p = ProbePattern::parse("fentry:vfs_*").unwrap();
        assert!(p.matches(ProbeKind::Fentry, None, "vfs_read"));
        assert!(!p.matches(ProbeKind::Fexit, None, "vfs_read"));
        assert!(!p.matches(ProbeKind::Fentry, Some("ext4"), "vfs_read"));
        let p = ProbePattern::parse("f:vmlinux:vfs_read").unwrap();
        assert!(p.matches(ProbeKind::Fentry, None, "vfs_read"));
        let p = ProbePattern::parse("kprobe:ext4:*").unwrap();
        assert!(p.matches(ProbeKind::Kprobe, Some("ext4"), "ext4_file_open"));
        assert!(!p.matches(ProbeKind::Kprobe, None, "ext4_file_open"));
        let p = ProbePattern::parse("vfs_read").unwrap();
        assert!(p.matches(ProbeKind::Kretprobe, None, "vfs_read"));
        assert!(!p.matches(ProbeKind::Uprobe, None, "vfs_read"));
        let p = ProbePattern::parse("*:vfs_read").unwrap();
        assert!(p.matches(ProbeKind::Fexit, None, "vfs_read"));
    }

    #[test]
    fn exactness() {
        assert!(ProbePattern::parse("t:a:b").unwrap().is_exact());
        assert!(!ProbePattern::parse("t:a:*").unwrap().is_exact());
        assert!(ProbePattern::parse("word").unwrap().is_exact());
    }
}
