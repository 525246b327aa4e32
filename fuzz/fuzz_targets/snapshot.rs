//! A snapshot file, as `--snapshot FILE` reads it: the frames, the header,
//! the index of files, every group expanded and every file read (kallsyms
//! decoded) must not panic or exhaust memory, whatever the bytes. Also the
//! kallsyms encoding on its own: any text must come back exactly from
//! `decode(encode(text))`, and `decode`/`decode_v1` of any bytes must fail
//! cleanly rather than panic.
//!
//! `archive::read` takes a path and maps the file, so each input is written
//! to a scratch file of this process's own, overwritten every run.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use probedex::snapshot::{archive, kallsyms_delta};

fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("probedex-fuzz-snapshot-{}", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    std::fs::write(path, data).expect("write the scratch file");
    if let Ok((_, files)) = archive::read(path) {
        let paths: Vec<String> = files.paths().map(str::to_string).collect();
        for p in &paths {
            let _ = files.read(Path::new(p));
        }
    }
    let (encoded, digits) = kallsyms_delta::encode(data);
    let decoded = kallsyms_delta::decode(&encoded, digits).expect("what encode wrote decodes");
    assert!(decoded == data, "kallsyms did not round-trip");
    for digits in [8, 16] {
        let _ = kallsyms_delta::decode(data, digits);
        let _ = kallsyms_delta::decode_v1(data, digits);
    }
});
