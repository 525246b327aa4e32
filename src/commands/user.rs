//! User-space points: `uprobe:PATH:FUNC` and `uretprobe:` (ELF function
//! symbols). Each pattern names one file, resolved as the loader would.

use std::path::PathBuf;
use std::rc::Rc;

use crate::discover::elf::ElfImage;
use crate::discover::target::{self, Resolved};
use crate::error::Error;
use crate::probe::{ProbeKind, ProbePattern, Wildcard};
use crate::system::System;

/// A user-space function point.
#[derive(Debug, Clone)]
pub struct UserPoint {
    pub kind: ProbeKind,
    /// The resolved file, as printed; shared by every point of the file.
    pub path: Rc<str>,
    pub name: String,
    pub address: u64,
    pub size: u64,
    pub ifunc: bool,
    /// Where the function starts in the file: what a uprobe attaches to.
    pub file_offset: Option<u64>,
}

impl UserPoint {
    pub fn probe_name(&self) -> String {
        format!("{}:{}:{}", self.kind, self.path, self.name)
    }
}

/// `PATH` and the name part of a user-space pattern (`uprobe:PATH:NAME`).
pub fn split_target<'p>(
    text: &str,
    pattern: &'p ProbePattern,
) -> Result<(&'p str, Wildcard), Error> {
    let ProbePattern::Kind { rest, .. } = pattern else {
        unreachable!("user kinds are only selected by KIND:... patterns")
    };
    let Some((path, name)) = rest.text().split_once(':') else {
        return Err(Error::bad_input(format!(
            "{text}: a user-space probe names a file and a function: KIND:PATH:FUNC \
             (uprobe:/bin/bash:readline, uprobe:libc:malloc)"
        )));
    };
    if path.contains('*') {
        return Err(Error::bad_input(format!(
            "{text}: wildcards in the file part are not supported; name one file (a path, a \
             program on $PATH, or a library such as libc)"
        )));
    }
    let name = if name.is_empty() { "*" } else { name };
    Ok((path, Wildcard::new(name)))
}

/// `NAME.part.N`; the byte check first, since most names have no `.` and a
/// substring search per name was 7% of listing node's 150,000 symbols.
fn is_part_piece(name: &str) -> bool {
    name.as_bytes().contains(&b'.') && name.contains(".part.")
}

/// The uprobe/uretprobe points of one pattern, sorted by name.
pub fn function_points(
    system: &System,
    kind: ProbeKind,
    text: &str,
    pattern: &ProbePattern,
) -> Result<Vec<UserPoint>, Error> {
    let (spec, name) = split_target(text, pattern)?;
    let (path, _how): (PathBuf, Resolved) =
        target::resolve(system, spec).map_err(|e| Error::from_discover(&e, system.is_live()))?;
    let image = ElfImage::open(&path).map_err(|e| Error::from_discover(&e, system.is_live()))?;
    let shown: Rc<str> = Rc::from(path.display().to_string());
    let functions = image
        .functions()
        .map_err(|e| Error::from_discover(&e, system.is_live()))?;
    Ok(functions
        .iter()
        .filter(|f| name.matches(f.name))
        // bpftrace leaves out GCC's `.part.N` pieces of partially inlined
        // functions (probe_matcher.cpp); listing the same set keeps scripts
        // that compare with it working. `show` still finds them by name.
        .filter(|f| !name.has_wildcard() || !is_part_piece(f.name))
        .map(|f| UserPoint {
            kind,
            path: Rc::clone(&shown),
            name: f.name.to_string(),
            address: f.address,
            size: f.size,
            ifunc: f.ifunc,
            file_offset: image.file_offset(f.address),
        })
        .collect())
}
