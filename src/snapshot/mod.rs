//! Kernel snapshots: a system's probe-point descriptions in one file, read
//! back by every read-only command through `--snapshot` (see
//! [`crate::system::Files`]), compared by `diff`, and unpacked by
//! `capture` into the tree `--root` reads.

pub mod archive;
pub mod collect;
mod files;
pub mod inventory;
pub mod kallsyms_delta;

pub use files::{SharedBytes, SnapshotFiles};
