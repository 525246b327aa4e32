//! The one error type commands return, and the exit codes it maps to.
//!
//! Modules keep their own typed errors (`SystemError`, `DiscoverError`,
//! `PatternError`, ...); here they become a one-line message and one of the
//! documented exit codes:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | ran fine, but nothing matched |
//! | 2 | usage error or bad input (a broken file, an unknown kind) |
//! | 3 | the system refused: permission, or the kernel lacks the feature |

use std::fmt;

use crate::discover::DiscoverError;
use crate::probe::PatternError;
use crate::system::SystemError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success = 0,
    NothingMatched = 1,
    BadInput = 2,
    Refused = 3,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// A failed command: what failed, why, and what to do, on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub status: ExitStatus,
    pub message: String,
}

impl Error {
    pub fn new(status: ExitStatus, message: impl Into<String>) -> Self {
        Error {
            status,
            message: message.into(),
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Error::new(ExitStatus::BadInput, message)
    }

    pub fn nothing_matched(message: impl Into<String>) -> Self {
        Error::new(ExitStatus::NothingMatched, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<SystemError> for Error {
    fn from(e: SystemError) -> Self {
        let status = if e.is_refusal() {
            ExitStatus::Refused
        } else {
            ExitStatus::BadInput
        };
        Error::new(status, e.to_string())
    }
}

impl Error {
    /// A discovery failure; `live` adds the advice that only applies to the
    /// running system (a captured tree is not fixed by sudo).
    pub fn from_discover(e: &DiscoverError, live: bool) -> Self {
        if e.is_permission() {
            let hint = if live {
                "; tracefs is readable by root only: run probedex with sudo"
            } else {
                ""
            };
            Error::new(ExitStatus::Refused, format!("{e}{hint}"))
        } else {
            Error::bad_input(e.to_string())
        }
    }
}

impl From<PatternError> for Error {
    fn from(e: PatternError) -> Self {
        Error::bad_input(e.to_string())
    }
}
