//! `.note.stapsdt` descriptors and USDT argument specs, as any ELF file
//! handed to `usdt:PATH` can contain them: parsing, the prelink adjustment
//! and the operand descriptions must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use probedex::format::usdt::{
    adjusted_location, adjusted_semaphore, parse_args, parse_stapsdt, Arch,
};

const ARCHES: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

fn describe(spec: &str) {
    for arch in ARCHES {
        if let Ok(args) = parse_args(spec, arch) {
            for arg in args {
                let _ = arg.to_string();
                let _ = arg.operand.to_string();
                let _ = arg.libbpf_limitation(arch);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    for (address_size, big_endian) in [(8, false), (4, false), (8, true), (4, true)] {
        if let Ok(note) = parse_stapsdt(data, address_size, big_endian) {
            let _ = adjusted_location(&note, Some(0x1000));
            let _ = adjusted_semaphore(&note, Some(u64::MAX));
            describe(note.args);
        }
    }
    describe(&String::from_utf8_lossy(data));
});
