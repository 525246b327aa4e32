//! The DWARF of a whole ELF file, as `uprobe:PATH` with `-v` (or `show`)
//! reads it: loading (and decompressing) the sections, finding the units
//! that cover each function symbol, and naming its parameters and return
//! type must not panic, loop forever, or blow up.
//!
//! `ElfImage::open` takes a path and maps the file, so each input is written
//! to a file in a directory of this process's own (under the temp
//! directory), overwritten every run. The search for a separate debug file
//! (build ID, `.gnu_debuglink`) is confined to that directory: it is also
//! the `root`, and holds nothing else.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use probedex::discover::dwarf::with_dwarf;
use probedex::discover::elf::ElfImage;

/// `(directory, input file)`.
fn scratch() -> &'static (PathBuf, PathBuf) {
    static PATHS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    PATHS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("probedex-fuzz-dwarf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the scratch directory");
        let file = dir.join("input");
        (dir, file)
    })
}

/// At most this many lookups per input: a few kilobytes of symbol table
/// name hundreds of functions, and a lookup that finds no code at the
/// address scans its units' every DIE for an inline definition.
const MAX_LOOKUPS: usize = 256;

fuzz_target!(|data: &[u8]| {
    let (root, path) = scratch();
    std::fs::write(path, data).expect("write the scratch file");
    let Ok(image) = ElfImage::open(path) else {
        return;
    };
    let functions = image.functions().unwrap_or_default();
    let _ = with_dwarf(&image, root, |reader| {
        for f in functions.iter().take(MAX_LOOKUPS) {
            if let Ok(Some(function)) = reader.function(f.name, f.address) {
                let _ = (function.params.len(), function.return_type.len());
            }
        }
        // Addresses no symbol names, and a name no symbol has: the unit
        // search's misses and the inline-definition scan.
        let _ = reader.function("main", 0);
        let _ = reader.function("", u64::MAX);
        Ok(())
    });
});
