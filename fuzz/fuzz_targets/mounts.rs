//! `/proc/self/mounts` lines, including octal escapes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = probedex::format::mounts::parse_mounts(&String::from_utf8_lossy(data));
});
