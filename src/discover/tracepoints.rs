//! Tracepoints from tracefs: the names in `available_events` and each
//! event's `events/CATEGORY/EVENT/format`.
//!
//! `available_events` is the kernel's list of events that can be enabled,
//! and the set bpftrace lists; walking `events/` would also find the
//! `ftrace/*` entries, which have format files but are the function tracer's
//! internal record types and cannot be attached to. The walk is only the
//! fallback for captured trees without `available_events`.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::DiscoverError;
use crate::format::event::{parse_format, TracepointLayout};
use crate::probe::TracepointId;
use crate::system::{Files, Tracefs};

/// All tracepoints, sorted by probe name, without duplicates.
pub fn list(tracefs: &Tracefs) -> Result<Vec<TracepointId>, DiscoverError> {
    let path = tracefs.available_events();
    let mut ids = match tracefs.files.read_to_string(&path) {
        Ok(text) => parse_available_events(&text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => walk_events_dir(tracefs)?,
        Err(e) => return Err(DiscoverError::io(path, e)),
    };
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// `CATEGORY:EVENT` per line; lines that are not are ignored (the kernel
/// writes nothing else, a captured file might).
pub fn parse_available_events(text: &str) -> Vec<TracepointId> {
    text.lines()
        .filter_map(|line| TracepointId::parse(line.trim()))
        .collect()
}

fn walk_events_dir(tracefs: &Tracefs) -> Result<Vec<TracepointId>, DiscoverError> {
    let files = &tracefs.files;
    let events = tracefs.events_dir();
    let read_dir = |dir: &Path| files.list_dir(dir).map_err(|e| DiscoverError::io(dir, e));
    let mut ids = Vec::new();
    for (category, is_dir) in read_dir(&events)? {
        if category == "ftrace" || !is_dir {
            continue;
        }
        for (event, _) in read_dir(&events.join(&category))? {
            if files.is_file(&tracefs.format_path(&category, &event)) {
                if let Some(id) = TracepointId::parse(&format!("{category}:{event}")) {
                    ids.push(id);
                }
            }
        }
    }
    Ok(ids)
}

/// Reads and parses one tracepoint's format file.
pub fn layout(tracefs: &Tracefs, id: &TracepointId) -> Result<TracepointLayout, DiscoverError> {
    FormatReader::new().layout(tracefs, id)
}

/// Reads format files into a reusable buffer; one per thread when reading
/// thousands (see `crate::parallel`).
///
/// Format files are generated on read and report size 0, so `read_to_end`'s
/// size probe (a `statx` and an `lseek` per file) buys nothing; a plain loop
/// into a buffer that fits nearly all of them needs two `read`s per file.
#[derive(Debug)]
pub struct FormatReader {
    bytes: Vec<u8>,
}

impl Default for FormatReader {
    fn default() -> Self {
        Self::new()
    }
}

impl FormatReader {
    const INITIAL: usize = 16 * 1024;

    pub fn new() -> Self {
        FormatReader {
            bytes: vec![0; Self::INITIAL],
        }
    }

    pub fn layout(
        &mut self,
        tracefs: &Tracefs,
        id: &TracepointId,
    ) -> Result<TracepointLayout, DiscoverError> {
        let path = tracefs.format_path(&id.category, &id.event);
        let parse = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes);
            parse_format(&text).map_err(|e| DiscoverError::parse(&path, "format file", e))
        };
        match &tracefs.files {
            Files::Disk => parse(self.read(&path).map_err(|e| DiscoverError::io(&path, e))?),
            files => parse(&files.read(&path).map_err(|e| DiscoverError::io(&path, e))?),
        }
    }

    fn read(&mut self, path: &Path) -> io::Result<&[u8]> {
        let mut file = File::open(path)?;
        let mut filled = 0;
        loop {
            if filled == self.bytes.len() {
                self.bytes.resize(self.bytes.len() * 2, 0);
            }
            match file.read(&mut self.bytes[filled..]) {
                Ok(0) => return Ok(&self.bytes[..filled]),
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn available_events_lines() {
        // First lines of this machine's available_events (Linux 6.18), plus junk.
        let text = "initcall:initcall_finish\ninitcall:initcall_start\n\nnot an event\nsched:sched_switch\n";
        let ids = parse_available_events(text);
        assert_eq!(ids.len(), 3);
        assert_eq!(ids[2], TracepointId::new("sched", "sched_switch"));
    }
}
