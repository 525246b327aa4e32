//! `/proc/kallsyms`, read on a helper thread while this one parses and
//! sorts it.
//!
//! The kernel formats kallsyms on every read, about 4 KiB per `read(2)`
//! whatever the buffer size, and takes ~30 ms for the 5.4 MB of a 6.18
//! kernel: that is the floor for listing kprobes. Parsing and then sorting
//! 61,000 names afterwards added ~25 ms on top (the sort alone ~7 ms, bound
//! by cache misses into the 5 MB text). Here each chunk is parsed as it
//! arrives and its functions sorted while cache-hot, and sorted runs are
//! merged like a binary counter, so almost all of the work happens while
//! the reader thread waits on the kernel. Functions are recorded as byte
//! offsets, so the growing text may move freely; views borrow the finished
//! text.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::mpsc;

use super::kernel_functions::{listing_order_bytes, listing_prefix_u64};
use crate::format::kallsyms::{is_pseudo_module, parse_kallsyms, KernelSymbol};
use crate::format::symbol_name::{
    clone_kind, is_padding_symbol, is_section_marker, split_clone_suffix, CloneKind,
};

/// kallsyms' text and the functions kprobes could name in it.
#[derive(Debug)]
pub struct Kallsyms {
    pub text: String,
    /// Every listed function, in listing order (duplicates adjacent).
    functions: Vec<Entry>,
}

/// A listed function: where its name and module are in the text, and the
/// sort prefix that decides most comparisons without reading the text.
/// 32 bytes and `Copy`: 61,000 of them are merged in place.
#[derive(Debug, Clone, Copy)]
struct Entry {
    prefix: u64,
    /// `(start, end)` byte offsets of the name.
    name: (u32, u32),
    module: Option<(u32, u32)>,
}

fn slice(text: &[u8], (start, end): (u32, u32)) -> &[u8] {
    &text[start as usize..end as usize]
}

fn order(text: &[u8], a: &Entry, b: &Entry) -> std::cmp::Ordering {
    a.prefix.cmp(&b.prefix).then_with(|| {
        listing_order_bytes(
            (a.module.map(|m| slice(text, m)), slice(text, a.name)),
            (b.module.map(|m| slice(text, m)), slice(text, b.name)),
        )
    })
}

/// The entries so far, as sorted runs kept like a binary counter: a run is
/// merged into the one before it once that one is no longer at least twice
/// as long, so each entry is merged O(log n) times and few runs are left at
/// the end. Runs sit side by side in one vector and merge in place through
/// one reused scratch buffer: allocating each merged run anew made glibc map
/// and unmap megabytes, 5,600 page faults in all.
#[derive(Default)]
struct SortedRuns {
    entries: Vec<Entry>,
    /// Where each run starts in `entries`.
    starts: Vec<usize>,
    scratch: Vec<Entry>,
}

impl SortedRuns {
    fn push(&mut self, text: &[u8], run: &[Entry]) {
        if run.is_empty() {
            return;
        }
        let start = self.entries.len();
        self.entries.extend_from_slice(run);
        self.entries[start..].sort_unstable_by(|a, b| order(text, a, b));
        self.starts.push(start);
        while let [.., below, top] = self.starts[..] {
            if top - below > 2 * (self.entries.len() - top) {
                break;
            }
            self.merge_last_two(text);
        }
    }

    fn finish(mut self, text: &[u8]) -> Vec<Entry> {
        while self.starts.len() > 1 {
            self.merge_last_two(text);
        }
        self.entries
    }

    /// Merges the last two runs into one, where they lie.
    fn merge_last_two(&mut self, text: &[u8]) {
        let top = self.starts.pop().expect("two runs");
        let below = *self.starts.last().expect("two runs");
        self.scratch.clear();
        self.scratch.extend_from_slice(&self.entries[below..top]);
        // Writing never overtakes reading: `write` trails the right run's
        // cursor by the left entries still in `scratch`.
        let (mut left, mut right, mut write) = (0, top, below);
        while left < self.scratch.len() && right < self.entries.len() {
            if order(text, &self.scratch[left], &self.entries[right]).is_le() {
                self.entries[write] = self.scratch[left];
                left += 1;
            } else {
                self.entries[write] = self.entries[right];
                right += 1;
            }
            write += 1;
        }
        let rest = &self.scratch[left..];
        self.entries[write..write + rest.len()].copy_from_slice(rest);
    }
}

/// A text symbol that starts a function: not `__pfx_` padding, not a
/// `.cold` part, not a section marker (`_stext`), not in a pseudo module
/// (`[bpf]`, `[__builtin__ftrace]`).
pub fn is_listed_function(symbol: &KernelSymbol<'_>) -> bool {
    symbol.is_text()
        && !is_padding_symbol(symbol.name)
        && !is_section_marker(symbol.name)
        && !symbol.module.is_some_and(is_pseudo_module)
        && is_entry_point(symbol.name)
}

/// `.cold` parts are reached by jumps, not calls.
pub fn is_entry_point(name: &str) -> bool {
    split_clone_suffix(name)
        .suffix
        .is_none_or(|suffix| clone_kind(suffix) != CloneKind::Cold)
}

impl Kallsyms {
    /// Parses text already in memory (captured trees, tests).
    pub fn from_text(text: String) -> Kallsyms {
        let mut functions = Vec::new();
        record_functions(&text, 0, &mut functions);
        let mut runs = SortedRuns::default();
        runs.push(text.as_bytes(), &functions);
        let functions = runs.finish(text.as_bytes());
        Kallsyms { text, functions }
    }

    /// How many functions are listed (duplicates included).
    pub fn len(&self) -> usize {
        self.functions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.functions.is_empty()
    }

    /// The listed functions as `(module, name)`, in listing order.
    pub fn functions(&self) -> impl Iterator<Item = (Option<&str>, &str)> + '_ {
        self.functions.iter().map(|entry| {
            let slice = |(start, end): (u32, u32)| &self.text[start as usize..end as usize];
            (entry.module.map(slice), slice(entry.name))
        })
    }

    /// Every symbol, for lookups by name.
    pub fn symbols(&self) -> impl Iterator<Item = KernelSymbol<'_>> + '_ {
        parse_kallsyms(&self.text).filter_map(Result::ok)
    }
}

/// Records the listed functions of `region` (complete lines that start at
/// byte `offset` of the whole text) as offsets into the whole text.
fn record_functions(region: &str, offset: usize, out: &mut Vec<Entry>) {
    let origin = region.as_ptr() as usize;
    let range = |s: &str| {
        let start = s.as_ptr() as usize - origin + offset;
        (start as u32, (start + s.len()) as u32)
    };
    for symbol in parse_kallsyms(region).filter_map(Result::ok) {
        if is_listed_function(&symbol) {
            out.push(Entry {
                prefix: listing_prefix_u64(symbol.module, symbol.name),
                name: range(symbol.name),
                module: symbol.module.map(range),
            });
        }
    }
}

/// Reads and parses `path`, overlapping the two. Errors opening the file
/// come back at once; a file over 4 GiB (never kallsyms) is refused.
pub fn read(path: &Path) -> io::Result<Kallsyms> {
    const CHUNK: usize = 64 * 1024;
    let mut file = File::open(path)?;
    let (sender, receiver) = mpsc::sync_channel::<io::Result<Vec<u8>>>(16);
    std::thread::scope(|scope| {
        scope.spawn(move || loop {
            let mut chunk = vec![0; CHUNK];
            let mut filled = 0;
            let mut failed = None;
            while filled < CHUNK {
                match file.read(&mut chunk[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            chunk.truncate(filled);
            let done = filled == 0 || failed.is_some();
            let message = match failed {
                Some(e) => Err(e),
                None => Ok(chunk),
            };
            if sender.send(message).is_err() || done {
                return;
            }
        });

        let mut bytes: Vec<u8> = Vec::with_capacity(8 * 1024 * 1024);
        let mut runs = SortedRuns::default();
        let mut run = Vec::new();
        let mut parsed = 0;
        let mut valid_utf8 = true;
        for message in receiver {
            let chunk = message?;
            if chunk.is_empty() {
                break;
            }
            bytes.extend_from_slice(&chunk);
            if bytes.len() > u32::MAX as usize {
                return Err(io::Error::other("larger than 4 GiB: not a kallsyms file"));
            }
            let Some(last_newline) = bytes[parsed..].iter().rposition(|&b| b == b'\n') else {
                continue;
            };
            let end = parsed + last_newline + 1;
            match std::str::from_utf8(&bytes[parsed..end]) {
                Ok(region) if valid_utf8 => {
                    run.clear();
                    record_functions(region, parsed, &mut run);
                    runs.push(&bytes, &run);
                }
                _ => valid_utf8 = false,
            }
            parsed = end;
        }
        // A hostile capture may hold invalid UTF-8: parse it whole, lossily.
        let text = match String::from_utf8(bytes) {
            Ok(text) if valid_utf8 => text,
            Ok(text) => return Ok(Kallsyms::from_text(text)),
            Err(e) => {
                return Ok(Kallsyms::from_text(
                    String::from_utf8_lossy(e.as_bytes()).into_owned(),
                ))
            }
        };
        if parsed < text.len() {
            // The last line had no newline.
            run.clear();
            record_functions(&text[parsed..], parsed, &mut run);
            runs.push(text.as_bytes(), &run);
        }
        let functions = runs.finish(text.as_bytes());
        Ok(Kallsyms { text, functions })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Lines in the shape of this machine's /proc/kallsyms (Linux 6.18).
    const TEXT: &str = "ffffffff81200100 t __pfx_vfs_read\n\
ffffffff81200110 T vfs_read\n\
ffffffff81200200 t calibrate_delay.cold\n\
ffffffff81200300 t show_regs.part.0\n\
ffffffff81200600 D some_data\n\
ffffffffc0000000 t ext4_file_open\t[ext4]\n\
ffffffffc0001000 t bpf_prog_123_x\t[bpf]\n\
ffffffff81200700 T last_without_newline";

    fn names(k: &Kallsyms) -> Vec<String> {
        k.functions()
            .map(|(m, n)| format!("{}:{n}", m.unwrap_or("-")))
            .collect()
    }

    #[test]
    fn streamed_read_equals_parsing_in_memory() {
        // Big enough to span many chunks, with the last line unterminated.
        let mut text = String::new();
        for i in 0..20_000 {
            text.push_str(&format!("ffffffff8{i:07x} t func_{i}\n"));
        }
        text.push_str(TEXT);
        let dir = std::env::temp_dir().join(format!("probedex-kallsyms-{}", std::process::id()));
        std::fs::write(&dir, &text).unwrap();
        let streamed = read(&dir).unwrap();
        std::fs::remove_file(&dir).unwrap();
        let in_memory = Kallsyms::from_text(text.clone());
        assert!(streamed.text == text, "texts differ");
        assert!(
            names(&streamed) == names(&in_memory),
            "function lists differ"
        );
        let listed = names(&streamed);
        let mut sorted = listed.clone();
        sorted.sort_by(|a, b| {
            let split = |s: &str| -> (Option<String>, String) {
                let (m, n) = s.split_once(':').unwrap();
                ((m != "-").then(|| m.to_string()), n.to_string())
            };
            let (a, b) = (split(a), split(b));
            crate::discover::kernel_functions::listing_order(
                (a.0.as_deref(), &a.1),
                (b.0.as_deref(), &b.1),
            )
        });
        assert!(listed == sorted, "not in listing order");
        assert_eq!(streamed.functions().count(), 20_000 + 4);
    }

    #[test]
    fn lists_entry_points_only() {
        let k = Kallsyms::from_text(TEXT.to_string());
        // In listing order: `ext4:...` sorts among the e's.
        assert_eq!(
            names(&k),
            [
                "ext4:ext4_file_open",
                "-:last_without_newline",
                "-:show_regs.part.0",
                "-:vfs_read"
            ]
        );
    }

    #[test]
    fn invalid_utf8_is_read_lossily() {
        let dir =
            std::env::temp_dir().join(format!("probedex-kallsyms-bad-{}", std::process::id()));
        std::fs::write(&dir, b"ffffffff81000000 T ok\nffffffff81000010 T bad\xff\n").unwrap();
        let k = read(&dir).unwrap();
        std::fs::remove_file(&dir).unwrap();
        assert_eq!(names(&k), ["-:bad\u{fffd}", "-:ok"]);
        assert!(read(Path::new("/nonexistent/kallsyms")).is_err());
    }
}
