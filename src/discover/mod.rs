//! Discovery: every read of the system happens here and only here. Each
//! source (tracefs today; kallsyms, BTF and ELF files later) has a module
//! that turns files into the typed values of `crate::format`.

pub mod bpf_object;
pub mod btf;
pub mod dwarf;
pub mod elf;
pub mod kallsyms;
pub mod kernel_functions;
pub mod libraries;
pub mod process;
pub mod target;
pub mod tracepoints;

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A source file that could not be read or understood, with its path.
#[derive(Debug)]
pub enum DiscoverError {
    Io {
        path: PathBuf,
        source: io::Error,
    },
    /// The file was read but is not what it should be.
    Parse {
        path: PathBuf,
        /// What the file should have been: "format file", "BTF", ...
        what: &'static str,
        reason: String,
    },
}

impl DiscoverError {
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        DiscoverError::Io {
            path: path.into(),
            source,
        }
    }

    pub fn parse(path: impl Into<PathBuf>, what: &'static str, reason: impl ToString) -> Self {
        DiscoverError::Parse {
            path: path.into(),
            what,
            reason: reason.to_string(),
        }
    }

    /// The file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, DiscoverError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    /// The system refused us (as opposed to the input being broken).
    pub fn is_permission(&self) -> bool {
        matches!(self, DiscoverError::Io { source, .. } if source.kind() == io::ErrorKind::PermissionDenied)
    }
}

impl fmt::Display for DiscoverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiscoverError::Io { path, source } => {
                write!(f, "{}: {}", path.display(), io_reason(source))
            }
            DiscoverError::Parse { path, what, reason } => {
                write!(f, "{}: not a valid {what}: {reason}", path.display())
            }
        }
    }
}

impl std::error::Error for DiscoverError {}

/// `io::Error`'s text without the "(os error N)" suffix users need not see.
fn io_reason(error: &io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_lowercase(),
        None => text,
    }
}
