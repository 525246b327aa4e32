//! Discovery: every read of the system happens here and only here. Each
//! source (tracefs today; kallsyms, BTF and ELF files later) has a module
//! that turns files into the typed values of `crate::format`.

pub mod tracepoints;

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::format::event::FormatError;

/// A source file that could not be read or understood, with its path.
#[derive(Debug)]
pub enum DiscoverError {
    Io { path: PathBuf, source: io::Error },
    Format { path: PathBuf, source: FormatError },
}

impl DiscoverError {
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        DiscoverError::Io {
            path: path.into(),
            source,
        }
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
            DiscoverError::Format { path, source } => {
                write!(f, "{}: not a valid format file: {source}", path.display())
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
