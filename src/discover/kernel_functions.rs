//! The kernel's functions as kprobes and fentry see them, and whether each
//! can be traced: `/proc/kallsyms`, tracefs' `available_filter_functions`,
//! debugfs' `kprobes/blacklist`, and whether the kernel has kprobes at all.
//!
//! What decides traceability, and why:
//! * kprobes attach to any kernel text address that is not blacklisted, so
//!   every text symbol in kallsyms is a candidate, ftrace-able or not;
//! * fentry/fexit need a function ftrace can patch, i.e. one listed in
//!   `available_filter_functions`, and its BTF;
//! * `.cold` parts and `__pfx_` padding are not functions at all.
//!
//! `available_filter_functions` may be unreadable (EPERM under some
//! lockdown and sandbox setups, as on the machines this was written on):
//! then traceability is unknown, and we say so rather than guess.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use super::kallsyms::{self, is_entry_point, Kallsyms};
use super::DiscoverError;
use crate::format::ftrace_functions::parse_available_filter_functions;
use crate::format::kprobe_blacklist::parse_kprobe_blacklist;
use crate::system::{Files, System, Tracefs};

pub(crate) const KALLSYMS: &str = "/proc/kallsyms";
pub(crate) const BLACKLIST: &str = "/sys/kernel/debug/kprobes/blacklist";
pub(crate) const KPROBE_PMU: &str = "/sys/bus/event_source/devices/kprobe";

/// The raw texts, read once.
#[derive(Debug)]
pub struct FunctionTexts {
    pub kallsyms_path: PathBuf,
    /// None when not asked for (fentry listings need only ftrace's list).
    pub kallsyms: Option<Result<Kallsyms, DiscoverError>>,
    /// None when there is no tracefs to read it from.
    pub ftrace: Option<Result<String, DiscoverError>>,
    /// None when debugfs (or the kernel's kprobes) is not there.
    pub blacklist: Option<String>,
    pub kprobes: KprobeSupport,
}

impl FunctionTexts {
    /// Whether there is a list of functions at all: ftrace's, or else
    /// kallsyms. The error is why not (the kallsyms failure, which is the
    /// list of last resort).
    pub fn check_list(&self) -> Result<(), DiscoverError> {
        if matches!(self.ftrace, Some(Ok(_))) {
            return Ok(());
        }
        match &self.kallsyms {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(clone_error(e)),
            None => Err(DiscoverError::io(
                &self.kallsyms_path,
                std::io::Error::other("not read, and available_filter_functions gave no list"),
            )),
        }
        .map_err(|e| match e {
            // Say what would help, not only what failed.
            DiscoverError::Io { path, source } => DiscoverError::io(
                path,
                std::io::Error::new(
                    source.kind(),
                    format!(
                        "{}; kprobes are listed from /proc/kallsyms or tracefs' \
                         available_filter_functions, and neither could be read",
                        source
                            .to_string()
                            .split(" (os error")
                            .next()
                            .unwrap_or_default()
                    ),
                ),
            ),
            other => other,
        })
    }
}

/// Whether this kernel can create kprobes, and how we know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KprobeSupport {
    /// Evidence of CONFIG_KPROBES: tracefs' `kprobe_events` or the kprobe PMU.
    Available(String),
    /// Neither exists.
    Missing,
}

/// Reads the sources; a file that is missing or unreadable is recorded, not
/// fatal, because each kind needs a different subset. kallsyms is read only
/// `with_kallsyms`: the kernel takes ~45 ms to produce it.
pub fn read(system: &System, tracefs: Option<&Tracefs>, with_kallsyms: bool) -> FunctionTexts {
    let files = system.files();
    let kallsyms_path = system.path(KALLSYMS);
    let kallsyms = with_kallsyms.then(|| {
        let read = match files {
            Files::Disk => kallsyms::read(&kallsyms_path),
            // A snapshot decodes kallsyms into a buffer of its own: take
            // it as the text rather than copying 5.4 MB (lossily only when
            // a hostile capture holds invalid UTF-8).
            files => files.read(&kallsyms_path).map(|bytes| {
                let text = match String::from_utf8(bytes.into_owned()) {
                    Ok(text) => text,
                    Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                };
                Kallsyms::from_text(text)
            }),
        };
        read.map_err(|e| DiscoverError::io(&kallsyms_path, e))
    });
    let ftrace = tracefs.map(|t| {
        let path = t.dir.join("available_filter_functions");
        t.files
            .read_to_string(&path)
            .map_err(|e| DiscoverError::io(&path, e))
    });
    let blacklist = files.read_to_string(&system.path(BLACKLIST)).ok();
    let kprobe_events = tracefs
        .map(|t| t.dir.join("kprobe_events"))
        .filter(|p| tracefs.is_some_and(|t| t.files.exists(p)));
    let kprobes = if let Some(path) = kprobe_events {
        KprobeSupport::Available(format!("{} exists", path.display()))
    } else if files.exists(&system.path(KPROBE_PMU)) {
        KprobeSupport::Available(format!("{KPROBE_PMU} exists"))
    } else {
        KprobeSupport::Missing
    };
    FunctionTexts {
        kallsyms_path,
        kallsyms,
        ftrace,
        blacklist,
        kprobes,
    }
}

/// A function name as kprobes name it: `[module:]name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FunctionName<'t> {
    pub module: Option<&'t str>,
    pub name: &'t str,
}

/// Compares `[MODULE:]NAME` names byte by byte without building them. Nearly
/// every kernel function is in vmlinux, so comparing two names directly is
/// the fast path; a chained byte iterator for every comparison made sorting
/// 60,000 kallsyms functions a fifth of `list 'kprobe:*'`.
pub fn listing_order(a: (Option<&str>, &str), b: (Option<&str>, &str)) -> std::cmp::Ordering {
    listing_order_bytes(
        (a.0.map(str::as_bytes), a.1.as_bytes()),
        (b.0.map(str::as_bytes), b.1.as_bytes()),
    )
}

/// [`listing_order`] over bytes, for text not yet validated as UTF-8.
pub fn listing_order_bytes(
    a: (Option<&[u8]>, &[u8]),
    b: (Option<&[u8]>, &[u8]),
) -> std::cmp::Ordering {
    match (a.0, b.0) {
        (None, None) => a.1.cmp(b.1),
        (Some(x), Some(y)) if x == y => a.1.cmp(b.1),
        _ => {
            fn key<'k>(
                (module, name): (Option<&'k [u8]>, &'k [u8]),
            ) -> impl Iterator<Item = u8> + 'k {
                let module = module.unwrap_or_default();
                let colon: &[u8] = if module.is_empty() { b"" } else { b":" };
                module.iter().chain(colon).chain(name).copied()
            }
            key(a).cmp(key(b))
        }
    }
}

/// The first 16 bytes of `[MODULE:]NAME`, big-endian, zero-padded: ordering
/// by it agrees with [`listing_order`] wherever the keys differ, and it
/// keeps most comparisons of a 60,000-name sort out of the 5 MB text the
/// names point into (chasing those pointers made the sort a third of
/// `list 'kprobe:*'`). Sixteen bytes, because kernel names share long
/// prefixes: `__x64_sys_`, `trace_event_raw_event_`, `__probestub_`.
pub fn listing_prefix(module: Option<&str>, name: &str) -> u128 {
    let mut key = [0u8; 16];
    let module = module.unwrap_or_default().as_bytes();
    let colon: &[u8] = if module.is_empty() { b"" } else { b":" };
    for (slot, byte) in key
        .iter_mut()
        .zip(module.iter().chain(colon).chain(name.as_bytes()))
    {
        *slot = *byte;
    }
    u128::from_be_bytes(key)
}

/// [`listing_prefix`]'s first 8 bytes, for keys that must stay small.
pub fn listing_prefix_u64(module: Option<&str>, name: &str) -> u64 {
    (listing_prefix(module, name) >> 64) as u64
}

/// Sorts `[MODULE:]NAME` items as listings order them, fast.
pub fn sort_for_listing<T>(items: &mut Vec<T>, name_of: impl Fn(&T) -> (Option<&str>, &str)) {
    let mut keyed: Vec<(u128, T)> = items
        .drain(..)
        .map(|item| {
            let (module, name) = name_of(&item);
            (listing_prefix(module, name), item)
        })
        .collect();
    keyed.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| listing_order(name_of(&a.1), name_of(&b.1)))
    });
    items.extend(keyed.into_iter().map(|(_, item)| item));
}

/// What `available_filter_functions` told us.
#[derive(Debug)]
pub enum FtraceSet<'t> {
    Readable(HashSet<FunctionName<'t>>),
    /// It could not be read; the reason, for messages.
    Unknown(String),
}

/// Whether a kind can attach to a function, with the reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traceability {
    /// None when it cannot be known here.
    pub traceable: Option<bool>,
    /// Borrowed when fixed: `diff` and `list -v` ask this of 60,000
    /// functions.
    pub reason: Cow<'static, str>,
}

/// Drops repeats of the previous item (a sorted list's duplicates).
fn dedup_adjacent<'t>(
    items: impl Iterator<Item = FunctionName<'t>>,
) -> impl Iterator<Item = FunctionName<'t>> {
    let mut previous: Option<FunctionName<'t>> = None;
    items.filter(move |f| previous.replace(*f) != Some(*f))
}

/// Where the index's functions live.
#[derive(Debug)]
enum FunctionList<'t> {
    Sorted(Vec<FunctionName<'t>>),
    /// kallsyms keeps its functions in listing order; duplicates adjacent.
    Kallsyms(&'t Kallsyms),
}

/// Every function kprobes could name, and what decides their traceability.
#[derive(Debug)]
pub struct FunctionIndex<'t> {
    /// Every function, in listing order, each once (see [`Self::functions`]).
    functions: FunctionList<'t>,
    /// kallsyms, when it was read: also the functions listings leave out.
    kallsyms: Option<&'t Kallsyms>,
    /// Where `functions` came from: `available_filter_functions` when
    /// readable, else `/proc/kallsyms`.
    pub listed_from: &'static str,
    pub ftrace: FtraceSet<'t>,
    pub blacklist: HashSet<&'t str>,
    pub kprobes: KprobeSupport,
}

impl<'t> FunctionIndex<'t> {
    /// Builds the index. With no list of functions at all (see
    /// [`FunctionTexts::check_list`]) it lists nothing but still answers
    /// fentry's question, which needs only ftrace's list.
    pub fn build(texts: &'t FunctionTexts) -> FunctionIndex<'t> {
        let ftrace = match &texts.ftrace {
            Some(Ok(text)) => FtraceSet::Readable(
                parse_available_filter_functions(text)
                    .filter_map(Result::ok)
                    .filter(|f| !f.is_invalid_placeholder())
                    .map(|f| FunctionName {
                        module: f.module,
                        name: f.name,
                    })
                    .collect(),
            ),
            Some(Err(e)) => FtraceSet::Unknown(e.to_string()),
            None => FtraceSet::Unknown("there is no tracefs to read it from".into()),
        };
        let blacklist: HashSet<&str> = texts
            .blacklist
            .as_deref()
            .map(|text| {
                parse_kprobe_blacklist(text)
                    .filter_map(Result::ok)
                    .map(|e| e.name)
                    .collect()
            })
            .unwrap_or_default();

        let (functions, listed_from) = match (&ftrace, &texts.kallsyms) {
            (FtraceSet::Readable(set), _) => {
                let mut functions: Vec<FunctionName<'t>> = set.iter().copied().collect();
                sort_for_listing(&mut functions, |f| (f.module, f.name));
                functions.dedup();
                (
                    FunctionList::Sorted(functions),
                    "available_filter_functions",
                )
            }
            // Already in listing order: iterate it rather than copy
            // 61,000 names (this path is `list 'kprobe:*'`'s critical path).
            (_, Some(Ok(kallsyms))) => (FunctionList::Kallsyms(kallsyms), "/proc/kallsyms"),
            _ => (FunctionList::Sorted(Vec::new()), "nothing"),
        };
        let kallsyms = match &texts.kallsyms {
            Some(Ok(k)) => Some(k),
            _ => None,
        };
        FunctionIndex {
            functions,
            kallsyms,
            listed_from,
            ftrace,
            blacklist,
            kprobes: texts.kprobes.clone(),
        }
    }

    /// Every function kprobes could name, for `show`: kallsyms' functions
    /// when they were read (notrace and blacklisted ones included, which
    /// listings leave out the way bpftrace does), else the listing.
    pub fn every_function(&self) -> Box<dyn Iterator<Item = FunctionName<'t>> + '_> {
        match self.kallsyms {
            Some(kallsyms) => Box::new(dedup_adjacent(
                kallsyms
                    .functions()
                    .map(|(module, name)| FunctionName { module, name }),
            )),
            None => self.functions(),
        }
    }

    /// How many functions [`Self::functions`] yields, at most: for sizing.
    pub fn len_hint(&self) -> usize {
        match &self.functions {
            FunctionList::Sorted(list) => list.len(),
            FunctionList::Kallsyms(kallsyms) => kallsyms.len(),
        }
    }

    /// Every function, in listing order, each once.
    pub fn functions(&self) -> Box<dyn Iterator<Item = FunctionName<'t>> + '_> {
        match &self.functions {
            FunctionList::Sorted(list) => Box::new(list.iter().copied()),
            FunctionList::Kallsyms(kallsyms) => Box::new(dedup_adjacent(
                kallsyms
                    .functions()
                    .map(|(module, name)| FunctionName { module, name }),
            )),
        }
    }

    /// Can a kprobe attach to `function`?
    pub fn kprobe(&self, function: &FunctionName<'_>) -> Traceability {
        let known = |traceable: bool, reason: &'static str| Traceability {
            traceable: Some(traceable),
            reason: Cow::Borrowed(reason),
        };
        if self.kprobes == KprobeSupport::Missing {
            return known(
                false,
                "this kernel has no kprobes (built without CONFIG_KPROBES: no kprobe_events in \
                 tracefs, no kprobe PMU)",
            );
        }
        if self.blacklist.contains(function.name) {
            return known(false, "on the kprobe blacklist (debugfs kprobes/blacklist)");
        }
        if !is_entry_point(function.name) {
            return known(
                false,
                "a .cold part split off a function, not an entry point",
            );
        }
        match &self.ftrace {
            FtraceSet::Readable(set) if set.contains(function) => {
                known(true, "in available_filter_functions and not blacklisted")
            }
            FtraceSet::Readable(_) => known(
                true,
                "not in available_filter_functions (notrace), but kprobes need only a \
                 non-blacklisted text address",
            ),
            FtraceSet::Unknown(_) if self.blacklist.is_empty() => Traceability {
                traceable: None,
                reason: Cow::Borrowed(
                    "no kprobe blacklist could be read (debugfs kprobes/blacklist)",
                ),
            },
            FtraceSet::Unknown(_) => known(true, "not on the kprobe blacklist"),
        }
    }

    /// Can fentry/fexit attach to `function` (given that BTF has it)?
    pub fn fentry(&self, function: &FunctionName<'_>) -> Traceability {
        match &self.ftrace {
            FtraceSet::Readable(set) if set.contains(function) => Traceability {
                traceable: Some(true),
                reason: Cow::Borrowed("in available_filter_functions"),
            },
            FtraceSet::Readable(_) => Traceability {
                traceable: Some(false),
                reason: Cow::Borrowed(
                    "not in available_filter_functions: notrace or inlined, so ftrace \
                     cannot patch it",
                ),
            },
            FtraceSet::Unknown(why) => Traceability {
                traceable: None,
                reason: Cow::Owned(format!("available_filter_functions: {why}")),
            },
        }
    }
}

fn clone_error(e: &DiscoverError) -> DiscoverError {
    match e {
        DiscoverError::Io { path, source } => DiscoverError::io(
            path.clone(),
            std::io::Error::new(source.kind(), source.to_string()),
        ),
        DiscoverError::Parse { path, what, reason } => {
            DiscoverError::parse(path.clone(), what, reason)
        }
    }
}

/// A kallsyms symbol as notes show it: address, type letter, module.
pub type SymbolSite<'t> = (u64, char, Option<&'t str>);

/// Every kallsyms symbol with one of `names` (several for a name when
/// static functions in different files share it), in kallsyms' order, in
/// one pass: looking each name up on its own parsed all 120,000 lines every
/// time, ~3 ms a function, 90% of `show 'fentry:*'`.
pub fn symbols_named<'t>(
    kallsyms: &'t Kallsyms,
    names: &HashSet<&str>,
) -> HashMap<&'t str, Vec<SymbolSite<'t>>> {
    let mut found: HashMap<&str, Vec<SymbolSite<'_>>> = HashMap::new();
    // Most symbols are ruled out by their length before being hashed.
    let longest = names.iter().map(|n| n.len()).max().unwrap_or(0);
    let mut lengths = vec![false; longest + 1];
    for name in names {
        lengths[name.len()] = true;
    }
    for symbol in kallsyms.symbols() {
        let name = symbol.name;
        if lengths.get(name.len()).copied().unwrap_or(false) && names.contains(name) {
            found.entry(name).or_default().push((
                symbol.address,
                char::from(symbol.kind),
                symbol.module,
            ));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(
        kallsyms: &str,
        ftrace: Option<&str>,
        blacklist: Option<&str>,
        kprobes: bool,
    ) -> FunctionTexts {
        FunctionTexts {
            kallsyms_path: PathBuf::from("/proc/kallsyms"),
            kallsyms: Some(Ok(Kallsyms::from_text(kallsyms.to_string()))),
            ftrace: ftrace.map(|t| Ok(t.to_string())),
            blacklist: blacklist.map(str::to_string),
            kprobes: if kprobes {
                KprobeSupport::Available("test".into())
            } else {
                KprobeSupport::Missing
            },
        }
    }

    // Lines in the shape of this machine's /proc/kallsyms (Linux 6.18).
    const KALLSYMS: &str = "ffffffff81200100 t __pfx_vfs_read\n\
ffffffff81200110 T vfs_read\n\
ffffffff81200200 t calibrate_delay.cold\n\
ffffffff81200300 t show_regs.part.0\n\
ffffffff81200400 t dup_name\n\
ffffffff81200500 t dup_name\n\
ffffffff81200600 D some_data\n\
ffffffffc0000000 t ext4_file_open\t[ext4]\n\
ffffffffc0001000 t bpf_prog_123_x\t[bpf]\n";

    #[test]
    fn kallsyms_fallback_lists_entry_points_once() {
        let texts = texts(KALLSYMS, None, None, false);
        let index = FunctionIndex::build(&texts);
        let names: Vec<String> = index
            .functions()
            .map(|f| format!("{}:{}", f.module.unwrap_or("-"), f.name))
            .collect();
        assert_eq!(
            names,
            // Sorted as probe names sort: `ext4:...` among the e's.
            [
                "-:dup_name",
                "ext4:ext4_file_open",
                "-:show_regs.part.0",
                "-:vfs_read",
            ]
        );
        assert_eq!(index.listed_from, "/proc/kallsyms");
        let vfs_read = FunctionName {
            module: None,
            name: "vfs_read",
        };
        let t = index.kprobe(&vfs_read);
        assert_eq!(t.traceable, Some(false));
        assert!(t.reason.contains("CONFIG_KPROBES"));
        assert_eq!(index.fentry(&vfs_read).traceable, None);
        let Some(Ok(kallsyms)) = &texts.kallsyms else {
            panic!("kallsyms was read")
        };
        let found = symbols_named(kallsyms, &HashSet::from(["dup_name", "vfs_read", "nope"]));
        assert_eq!(found["dup_name"].len(), 2);
        assert_eq!(found["vfs_read"].len(), 1);
        assert!(!found.contains_key("nope"));
    }

    #[test]
    fn ftrace_list_and_blacklist_decide() {
        let texts = texts(
            KALLSYMS,
            Some("vfs_read\next4_file_open [ext4]\n__ftrace_invalid_address___123\n"),
            Some("0xffffffff81200400-0xffffffff81200410\tdup_name\n"),
            true,
        );
        let index = FunctionIndex::build(&texts);
        assert_eq!(index.listed_from, "available_filter_functions");
        assert_eq!(index.functions().count(), 2);
        let name = |module, name| FunctionName { module, name };
        assert_eq!(index.kprobe(&name(None, "vfs_read")).traceable, Some(true));
        assert_eq!(index.fentry(&name(None, "vfs_read")).traceable, Some(true));
        assert_eq!(
            index.fentry(&name(None, "show_regs.part.0")).traceable,
            Some(false)
        );
        assert_eq!(index.kprobe(&name(None, "dup_name")).traceable, Some(false));
        assert_eq!(
            index.kprobe(&name(None, "calibrate_delay.cold")).traceable,
            Some(false)
        );
        assert_eq!(
            index
                .kprobe(&name(Some("ext4"), "ext4_file_open"))
                .traceable,
            Some(true)
        );
    }
}
