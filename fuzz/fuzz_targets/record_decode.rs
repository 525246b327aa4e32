//! A tracepoint record decoded with a layout, as `attach --sample` does
//! with what the kernel hands its BPF program: a format file, a NUL, then
//! the record's bytes. Decoding, rebuilding a syscall record and rendering
//! the sample as text must not panic, whatever the layout claims
//! (offsets past the record, `__data_loc` words pointing anywhere).
#![no_main]

use libfuzzer_sys::fuzz_target;
use probedex::format::event::parse_format;
use probedex::format::record_decode::{decode, syscall_record, syscall_string_arguments, Sample};
use probedex::output::sample::write_text;

fuzz_target!(|data: &[u8]| {
    let Some(split) = data.iter().position(|&b| b == 0) else {
        return;
    };
    let (format, record) = (&data[..split], &data[split + 1..]);
    let Ok(layout) = parse_format(&String::from_utf8_lossy(format)) else {
        return;
    };
    let strings = [("filename".to_string(), record.to_vec())];
    let rebuilt = syscall_record(&layout, 268, &[u64::MAX, 1, 2, 3, 4, 5]);
    let _ = syscall_string_arguments(&layout);
    let samples: Vec<Sample> = [record, &rebuilt[..]]
        .iter()
        .map(|bytes| Sample {
            pid: 1,
            tid: 2,
            comm: record.iter().copied().take(16).collect(),
            fields: decode(&layout, bytes, &strings),
        })
        .collect();
    let _ = write_text(&mut Vec::new(), "    ", &samples);
});
