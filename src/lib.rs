//! probedex: which eBPF probe points exist on a Linux system, what each one
//! hands a BPF program, and how to name it.
//!
//! The binary is a thin shell over [`commands::run`]; the modules follow the
//! layout in DESIGN.md: pure parsers in [`format`], all I/O in [`discover`]
//! and [`system`], rendering in [`output`].

pub mod cli;
pub mod commands;
pub mod discover;
pub mod error;
pub mod format;
pub mod output;
pub mod parallel;
pub mod probe;
pub mod probes;
pub mod secdef;
pub mod snapshot;
pub mod suggest;
pub mod system;
