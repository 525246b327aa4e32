//! The kernel's BTF files: `/sys/kernel/btf/vmlinux` and one split-BTF file
//! per loaded module with BTF (`/sys/kernel/btf/<module>`).
//!
//! The bytes are read here and parsed by `crate::format::btf`, which borrows
//! them; a module's BTF is parsed on top of vmlinux's, so callers keep the
//! [`BtfFiles`] alive and parse in two steps (see [`KernelTypes::parse`]).
//!
//! # Minimum kernel version
//! Linux 5.4 with CONFIG_DEBUG_INFO_BTF for vmlinux; 5.11 for modules.

use std::path::PathBuf;

use super::DiscoverError;
use crate::format::btf::Btf;
use crate::system::{FileBytes, System};

pub(crate) const BTF_DIR: &str = "/sys/kernel/btf";

/// The raw BTF of the kernel and its modules.
#[derive(Debug)]
pub struct BtfFiles {
    pub vmlinux_path: PathBuf,
    pub vmlinux: FileBytes,
    /// `(module name, path, bytes)`, sorted by name.
    pub modules: Vec<(String, PathBuf, FileBytes)>,
}

/// Reads vmlinux's BTF only, for what only vmlinux describes (the kernel's
/// `bpf_prog_type` and `bpf_attach_type`, tracepoint record structs):
/// reading every module's BTF as well is most of the cost.
pub fn read_vmlinux(system: &System) -> Result<BtfFiles, DiscoverError> {
    let vmlinux_path = system.path(BTF_DIR).join("vmlinux");
    let vmlinux = system
        .files()
        .read_shared(&vmlinux_path)
        .map_err(|e| DiscoverError::io(&vmlinux_path, e))?;
    Ok(BtfFiles {
        vmlinux_path,
        vmlinux,
        modules: Vec::new(),
    })
}

/// Reads vmlinux's BTF and every module's.
pub fn read(system: &System) -> Result<BtfFiles, DiscoverError> {
    let dir = system.path(BTF_DIR);
    let BtfFiles {
        vmlinux_path,
        vmlinux,
        ..
    } = read_vmlinux(system)?;
    let mut modules = Vec::new();
    let files = system.files();
    let entries = files
        .list_dir(&dir)
        .map_err(|e| DiscoverError::io(&dir, e))?;
    for (name, _) in entries {
        if name == "vmlinux" {
            continue;
        }
        let path = dir.join(&name);
        let bytes = files
            .read_shared(&path)
            .map_err(|e| DiscoverError::io(&path, e))?;
        modules.push((name, path, bytes));
    }
    modules.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(BtfFiles {
        vmlinux_path,
        vmlinux,
        modules,
    })
}

/// vmlinux's types and each module's, parsed from [`BtfFiles`].
#[derive(Debug)]
pub struct KernelTypes<'a> {
    pub vmlinux: &'a Btf<'a>,
    /// `(module name, its split BTF)`.
    pub modules: Vec<(&'a str, Btf<'a>)>,
}

impl<'a> KernelTypes<'a> {
    /// Parses the modules on top of an already parsed vmlinux. A module
    /// whose BTF is broken is reported in the second list and left out, so
    /// one bad module does not hide the rest of the kernel.
    pub fn parse(
        files: &'a BtfFiles,
        vmlinux: &'a Btf<'a>,
    ) -> (KernelTypes<'a>, Vec<DiscoverError>) {
        let mut modules = Vec::with_capacity(files.modules.len());
        let mut errors = Vec::new();
        for (name, path, bytes) in &files.modules {
            match Btf::parse(bytes, Some(vmlinux)) {
                Ok(btf) => modules.push((name.as_str(), btf)),
                Err(e) => errors.push(DiscoverError::parse(path, "split BTF", e)),
            }
        }
        (KernelTypes { vmlinux, modules }, errors)
    }

    /// Every BTF with its module name (None for vmlinux).
    pub fn all(&self) -> impl Iterator<Item = (Option<&'a str>, &Btf<'a>)> + '_ {
        std::iter::once((None, self.vmlinux)).chain(self.modules.iter().map(|(n, b)| (Some(*n), b)))
    }
}

/// Parses vmlinux's BTF, naming the file in the error.
pub fn parse_vmlinux(files: &BtfFiles) -> Result<Btf<'_>, DiscoverError> {
    Btf::parse(&files.vmlinux, None)
        .map_err(|e| DiscoverError::parse(&files.vmlinux_path, "BTF", e))
}
