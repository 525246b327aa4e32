//! Libraries by name (`libc`, `libc.so.6`), found as the dynamic loader
//! would find them: its cache (`/etc/ld.so.cache`) first, then the standard
//! directories. The rules are in `crate::format::ld_so_cache`; this module
//! reads the files, inside `--root` when given.

use std::path::PathBuf;

use crate::format::ld_so_cache::{directory_candidates, parse_ld_so_cache, resolve_library, Arch};
use crate::system::System;

/// The file `name` means, or None. Only names that look like libraries
/// (`lib...`) are looked up, as bpftrace does: anything else is a program.
pub fn find(system: &System, name: &str) -> Option<PathBuf> {
    if !name.starts_with("lib") {
        return None;
    }
    let arch = Arch::host()?;
    if let Ok(bytes) = std::fs::read(system.path("/etc/ld.so.cache")) {
        if let Ok(entries) = parse_ld_so_cache(&bytes) {
            if let Some(path) = resolve_library(name, &entries, |flags| arch.accepts(flags)) {
                let path = system.path(path);
                if path.is_file() {
                    return Some(path);
                }
            }
        }
    }
    for dir in arch.standard_dirs() {
        let dir = system.path(dir);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        // The best candidate that is an ELF file: `libX.so` may be a linker
        // script, and a 32-bit library may sit in /lib on some systems.
        for candidate in directory_candidates(name, names.iter().map(String::as_str)) {
            let path = dir.join(candidate);
            if is_elf64(&path) {
                return Some(path);
            }
        }
    }
    None
}

fn is_elf64(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 5];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| magic == [0x7f, b'E', b'L', b'F', 2])
}
