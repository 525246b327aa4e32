//! Libraries by name (`libc`, `libc.so.6`), found as the dynamic loader
//! would find them: its cache first, then the standard directories.

use std::path::PathBuf;

use crate::system::System;

/// The loader's default directories on 64-bit Debian-style systems, in its
/// order (multiarch first).
const STANDARD_DIRS: &[&str] = &[
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
];

/// The file `name` means: `libc.so.6` exactly, or for `libc`/`libc.so` the
/// first `libc.so*` (the versioned soname sorts first after the plain
/// `libc.so`, which on Debian is a linker script, not an ELF file).
pub fn find(system: &System, name: &str) -> Option<PathBuf> {
    if !name.starts_with("lib") {
        return None;
    }
    for dir in STANDARD_DIRS {
        let dir = system.path(dir);
        let exact = dir.join(name);
        if name.contains(".so.") && exact.is_file() {
            return Some(exact);
        }
        let stem = name.strip_suffix(".so").unwrap_or(name);
        let prefix = format!("{stem}.so.");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|f| f.to_str())
                    .is_some_and(|f| f.starts_with(&prefix))
            })
            .collect();
        // The shortest versioned name is the soname (`libc.so.6`, not
        // `libstdc++.so.6.0.30`'s symlink target).
        found.sort_by_key(|p| p.as_os_str().len());
        if let Some(first) = found.into_iter().next() {
            return Some(first);
        }
    }
    None
}
