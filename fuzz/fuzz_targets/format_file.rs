//! tracefs format files, as a captured tree (`--root`) could contain them:
//! parsing and every renderer that consumes a layout must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use probedex::format::event::parse_format;
use probedex::output::{c, text, Style};
use probedex::probe::TracepointId;

fuzz_target!(|data: &[u8]| {
    let text_in = String::from_utf8_lossy(data);
    if let Ok(layout) = parse_format(&text_in) {
        let id = TracepointId::new("fuzz", "event");
        let _ = c::c_struct(&id, &layout, "fuzz");
        let mut out = Vec::new();
        let _ = text::write_show(&mut out, &id, &layout, "fuzz", None, Style::plain());
        let _ = text::write_probe_verbose(&mut out, &id, &layout);
    }
});
