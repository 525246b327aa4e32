//! `/etc/ld.so.cache`, as a captured tree (`--root`) could contain it:
//! parsing, and resolving names against whatever parsed, must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use probedex::format::ld_so_cache::{directory_candidates, parse_ld_so_cache, resolve_library};

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = parse_ld_so_cache(data) {
        for wanted in ["libc", "libc.so", "libc.so.6", "libz.so.1"] {
            let _ = resolve_library(wanted, &entries, |_| true);
            let _ = directory_candidates(wanted, entries.iter().map(|e| e.name));
        }
    }
});
