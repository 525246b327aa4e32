//! Whole ELF files, as `uprobe:PATH` and `usdt:PATH` can name any file:
//! mapping, the symbol tables, SDT notes (and each note's descriptor and
//! argument spec), `.stapsdt.base`, the address to file-offset mapping, the
//! build ID and `.gnu_debuglink` must not panic.
//!
//! `ElfImage::open` takes a path and maps the file, so each input is written
//! to a file of this process's own (under the temp directory), overwritten
//! every run.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use probedex::discover::elf::ElfImage;
use probedex::format::usdt::{
    adjusted_location, adjusted_semaphore, parse_args, parse_stapsdt, Arch,
};

fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("probedex-fuzz-elf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the scratch directory");
        dir.join("input")
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    std::fs::write(path, data).expect("write the scratch file");
    let Ok(image) = ElfImage::open(path) else {
        return;
    };
    let _ = image.machine();
    let big_endian = image.big_endian();
    if let Ok(functions) = image.functions() {
        for f in &functions {
            let _ = image.file_offset(f.address);
            let _ = image.file_offset(f.address.wrapping_add(f.size));
        }
    }
    let _ = image.functions_matching(|name| name.starts_with('m'));
    let base = image.stapsdt_base();
    let arch = Arch::from_elf_machine(image.machine());
    if let Ok(notes) = image.stapsdt_notes() {
        for desc in notes {
            let Ok(note) = parse_stapsdt(desc, 8, big_endian) else {
                continue;
            };
            let address = adjusted_location(&note, base);
            let semaphore = adjusted_semaphore(&note, base);
            let _ = image.file_offset(address);
            let _ = image.file_offset(semaphore);
            for arch in arch.into_iter().chain([Arch::X86_64, Arch::Aarch64]) {
                if let Ok(args) = parse_args(note.args, arch) {
                    for arg in args {
                        let _ = arg.to_string();
                        let _ = arg.libbpf_limitation(arch);
                    }
                }
            }
        }
    }
    let _ = image.build_id();
    let _ = image.debuglink();
});
