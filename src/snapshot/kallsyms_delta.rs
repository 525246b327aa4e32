//! Lossless, smaller spellings of `/proc/kallsyms` for snapshots.
//!
//! kallsyms is 120,000 lines of `ADDRESS TYPE NAME[\t[MODULE]]`, and its
//! 16-digit addresses are most of what does not compress: they grow in
//! small steps, but each line repeats all 16 digits. Both spellings write
//! each address as the (wrapping) difference from the previous one, in hex
//! without leading zeros. Decoding gives back the exact text, so the
//! parser reads a snapshot's kallsyms as it reads the kernel's.
//!
//! - `kallsyms-delta` (snapshot format 1, read only): each line as
//!   `DELTA TYPE NAME`; lines without an address kept behind a `!`. 820 KB
//!   compressed to 580 KB with zstd on Linux 6.18.
//! - `kallsyms-delta-pfx` (format 2, [`encode`]): since Linux 6.2
//!   (`CONFIG_FUNCTION_PADDING_ALIGNMENT`, x86) nearly every function `NAME`
//!   has a `__pfx_NAME` padding symbol 0x10 bytes before it, of the same
//!   type: 57,220 such pairs of 121,463 lines on Linux 6.18. Each pair is
//!   one row. Rows (delta and type) and names are two columns, one after
//!   the other, as zstd finds more in each alone: 412 KB compressed, and
//!   395 KB split.
//!
//! The `kallsyms-delta-pfx` layout: one row per line (or pair), then an
//! empty line, then one name per address row, each ending in `\n`:
//!
//! | row | decodes to |
//! |---|---|
//! | `DELTA TYPE` | `ADDRESS TYPE NAME\n`, NAME the next name |
//! | `DELTA TYPE+` | `ADDRESS TYPE __pfx_NAME\n` then `ADDRESS+0x10 TYPE NAME\n` |
//! | `!TEXT` | `TEXT\n`: a line that is not `ADDRESS TYPE NAME` with an address of the common width in lowercase hex |
//! | `?TEXT` | `TEXT`: the last line, when the text does not end in `\n` |
//!
//! ADDRESS is the previous address plus DELTA, in lowercase hex zero-padded
//! to `digits`; after a pair, the previous address is NAME's.

use std::io;

/// The padding symbol's prefix and how far before its function it lies.
const PFX: &[u8] = b"__pfx_";
const PFX_STEP: u64 = 0x10;

fn damaged() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "damaged kallsyms in snapshot")
}

/// `ADDRESS TYPE REST`, with REST the name and module, if any.
struct Symbol<'a> {
    address: u64,
    kind: u8,
    rest: &'a [u8],
}

fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

/// `line` (without its `\n`) as a symbol whose address has exactly
/// `digits` lowercase hex digits: the only lines [`decode`] rebuilds
/// exactly from a number.
fn symbol(line: &[u8], digits: usize) -> Option<Symbol<'_>> {
    let hex = line.get(..digits)?;
    if line.get(digits) != Some(&b' ') || line.get(digits + 2) != Some(&b' ') {
        return None;
    }
    if !hex.iter().all(|&b| is_lower_hex(b)) {
        return None;
    }
    let address = hex_value(hex)?;
    Some(Symbol {
        address,
        kind: line[digits + 1],
        rest: &line[digits + 3..],
    })
}

/// The value of 1 to 16 lowercase hex digits.
fn hex_value(hex: &[u8]) -> Option<u64> {
    if hex.is_empty() || hex.len() > 16 {
        return None;
    }
    hex.iter().try_fold(0u64, |value, &b| {
        let nibble = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        Some(value << 4 | u64::from(nibble))
    })
}

/// Appends `value` in lowercase hex, zero-padded to `digits` (wider if it
/// needs more), as `format!("{value:0digits$x}")` does, without its
/// allocation: 121,000 lines per decode.
fn push_hex(out: &mut Vec<u8>, value: u64, digits: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let needed = (64 - value.leading_zeros() as usize).div_ceil(4).max(1);
    for _ in needed..digits {
        out.push(b'0');
    }
    let mut buf = [0u8; 16];
    for (i, slot) in buf[..needed].iter_mut().rev().enumerate() {
        *slot = HEX[(value >> (4 * i)) as usize & 0xf];
    }
    out.extend_from_slice(&buf[..needed]);
}

/// Appends `value` in hex without leading zeros.
fn push_delta(out: &mut Vec<u8>, value: u64) {
    push_hex(out, value, 1);
}

/// The width of the first address-like field (hex before the first
/// space); 16 when there is none.
fn address_width(text: &[u8]) -> usize {
    text.split(|&b| b == b'\n')
        .find_map(|line| {
            let at = line.iter().position(|&b| b == b' ')?;
            ((1..=16).contains(&at) && line[..at].iter().all(|&b| is_lower_hex(b))).then_some(at)
        })
        .unwrap_or(16)
}

/// Encodes `text` as `kallsyms-delta-pfx`, with the address width to give
/// [`decode`]. Any text encodes: lines of another shape are kept verbatim.
pub fn encode(text: &[u8]) -> (Vec<u8>, usize) {
    let digits = address_width(text);
    // Every line but an unterminated last one, which is kept verbatim.
    let (lines, unterminated): (Vec<&[u8]>, &[u8]) = match text.iter().rposition(|&b| b == b'\n') {
        Some(end) => (
            text[..end].split(|&b| b == b'\n').collect(),
            &text[end + 1..],
        ),
        None => (Vec::new(), text),
    };
    let mut rows = Vec::with_capacity(text.len() / 6);
    let mut names = Vec::with_capacity(text.len() / 2);
    let mut previous = 0u64;
    let mut i = 0;
    while i < lines.len() {
        let Some(sym) = symbol(lines[i], digits) else {
            rows.push(b'!');
            rows.extend_from_slice(lines[i]);
            rows.push(b'\n');
            i += 1;
            continue;
        };
        let pair = sym.rest.strip_prefix(PFX).filter(|name| {
            lines
                .get(i + 1)
                .and_then(|next| symbol(next, digits))
                .is_some_and(|next| {
                    Some(next.address) == sym.address.checked_add(PFX_STEP)
                        && next.kind == sym.kind
                        && next.rest == *name
                })
        });
        push_delta(&mut rows, sym.address.wrapping_sub(previous));
        rows.push(b' ');
        rows.push(sym.kind);
        match pair {
            Some(name) => {
                rows.push(b'+');
                names.extend_from_slice(name);
                previous = sym.address + PFX_STEP;
                i += 2;
            }
            None => {
                names.extend_from_slice(sym.rest);
                previous = sym.address;
                i += 1;
            }
        }
        rows.push(b'\n');
        names.push(b'\n');
    }
    if !unterminated.is_empty() {
        rows.push(b'?');
        rows.extend_from_slice(unterminated);
        rows.push(b'\n');
    }
    rows.push(b'\n');
    rows.extend_from_slice(&names);
    (rows, digits)
}

/// The exact text [`encode`] was given.
pub fn decode(encoded: &[u8], digits: usize) -> io::Result<Vec<u8>> {
    // Rows are never empty: the first empty one ends them.
    let end = if encoded.first() == Some(&b'\n') {
        0
    } else {
        encoded
            .windows(2)
            .position(|w| w == b"\n\n")
            .ok_or_else(damaged)?
            + 1
    };
    let (mut rows, mut names) = (&encoded[..end], &encoded[end + 1..]);
    let mut out = Vec::with_capacity(encoded.len() * 3);
    let mut previous = 0u64;
    while let Some(&first) = rows.first() {
        // Every row ends in `\n` (the region ends before the empty row).
        let newline = rows.iter().position(|&b| b == b'\n').ok_or_else(damaged)?;
        let (row, rest) = (&rows[..newline], &rows[newline + 1..]);
        rows = rest;
        match first {
            b'!' => {
                out.extend_from_slice(&row[1..]);
                out.push(b'\n');
            }
            b'?' if rows.is_empty() => out.extend_from_slice(&row[1..]),
            _ => {
                let space = row.iter().position(|&b| b == b' ').ok_or_else(damaged)?;
                let delta = hex_value(&row[..space]).ok_or_else(damaged)?;
                let (kind, pair) = match &row[space + 1..] {
                    [kind] => (*kind, false),
                    [kind, b'+'] => (*kind, true),
                    _ => return Err(damaged()),
                };
                let name_end = names.iter().position(|&b| b == b'\n').ok_or_else(damaged)?;
                let name = &names[..=name_end];
                names = &names[name_end + 1..];
                let address = previous.wrapping_add(delta);
                push_hex(&mut out, address, digits);
                out.extend_from_slice(&[b' ', kind, b' ']);
                if pair {
                    out.extend_from_slice(PFX);
                    out.extend_from_slice(name);
                    previous = address.wrapping_add(PFX_STEP);
                    push_hex(&mut out, previous, digits);
                    out.extend_from_slice(&[b' ', kind, b' ']);
                } else {
                    previous = address;
                }
                out.extend_from_slice(name);
            }
        }
    }
    if !names.is_empty() {
        return Err(damaged());
    }
    Ok(out)
}

/// The exact text format 1's `kallsyms-delta` encoder was given.
pub fn decode_v1(encoded: &[u8], digits: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(encoded.len() * 2);
    let mut previous = 0u64;
    for line in encoded.split_inclusive(|&b| b == b'\n') {
        if let Some(rest) = line.strip_prefix(b"!") {
            out.extend_from_slice(rest);
            continue;
        }
        let at = line.iter().position(|&b| b == b' ').ok_or_else(damaged)?;
        // Format 1 wrote `{:x}`: lowercase, no sign, no leading zeros.
        let delta = hex_value(&line[..at]).ok_or_else(damaged)?;
        previous = previous.wrapping_add(delta);
        push_hex(&mut out, previous, digits);
        out.extend_from_slice(&line[at..]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Format 1's encoder, as it was, to test [`decode_v1`] against.
    fn encode_v1(text: &[u8]) -> Option<(Vec<u8>, usize)> {
        let mut out = Vec::with_capacity(text.len() / 2);
        let mut digits = None;
        let mut previous = 0u64;
        for line in text.split_inclusive(|&b| b == b'\n') {
            let space = line.iter().position(|&b| b == b' ');
            let address = space.and_then(|at| {
                let hex = &line[..at];
                let value = std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| u64::from_str_radix(h, 16).ok())?;
                Some((at, value))
            });
            match address {
                Some((at, value)) => {
                    if *digits.get_or_insert(at) != at {
                        return None;
                    }
                    out.extend_from_slice(format!("{:x}", value.wrapping_sub(previous)).as_bytes());
                    out.extend_from_slice(&line[at..]);
                    previous = value;
                }
                None => {
                    out.push(b'!');
                    out.extend_from_slice(line);
                }
            }
        }
        Some((out, digits.unwrap_or(16)))
    }

    /// Linux 6.18 x86_64 (`/proc/kallsyms` as root), excerpts: the start of
    /// the text, padding pairs, a module's symbols, and a symbol that
    /// merely starts with `__pfx_`-like text.
    const LINUX_6_18: &[u8] = b"ffffffff81000000 T srso_alias_untrain_ret\n\
        ffffffff81000000 T _stext\n\
        ffffffff81000010 T __entry_text_start\n\
        ffffffff81001260 T __pfx_asm_load_gs_index\n\
        ffffffff81001270 T asm_load_gs_index\n\
        ffffffff810017a0 T __pfx_clear_bhb_loop\n\
        ffffffff810017b0 T clear_bhb_loop\n\
        ffffffff81001a50 t __pfx_nop_func\n\
        ffffffff81001a60 t nop_func\n\
        ffffffffc0203000 t ftrace_trampoline\t[__builtin__ftrace]\n\
        ffffffffc0a00000 t __pfx_ext4_read\t[ext4]\n\
        ffffffffc0a00010 t ext4_read\t[ext4]\n";

    #[test]
    fn real_kallsyms_round_trips_and_pairs_fold() {
        let (encoded, digits) = encode(LINUX_6_18);
        assert_eq!(digits, 16);
        let text = std::str::from_utf8(&encoded).unwrap();
        assert_eq!(text.matches('+').count(), 4, "{text}");
        assert!(!text.contains("__pfx_"), "{text}");
        assert!(text.contains("ext4_read\t[ext4]\n"), "{text}");
        assert_eq!(decode(&encoded, digits).unwrap(), LINUX_6_18);
    }

    #[test]
    fn lines_that_do_not_pair_or_parse_round_trip() {
        let cases: &[&[u8]] = &[
            b"",
            b"\n",
            b"\n\n",
            b"no newline at all",
            b"ffffffff81000000 T a\nffffffff81000010 T b",
            // A pair's halves that differ: type, distance, name, module.
            b"ffffffff81000000 T __pfx_a\nffffffff81000010 t a\n",
            b"ffffffff81000000 T __pfx_a\nffffffff81000020 T a\n",
            b"ffffffff81000000 T __pfx_a\nffffffff81000010 T b\n",
            b"ffffffff81000000 t __pfx_a\t[m]\nffffffff81000010 t a\t[n]\n",
            // A padding symbol last, and one at the top of the address space.
            b"ffffffff81000000 T __pfx_a\n",
            b"fffffffffffffff8 T __pfx_a\n0000000000000008 T a\n",
            // Addresses that rise, fall, repeat, and are hidden (all zero).
            b"ffffffff81000010 t __pfx_x\nffffffffc0a00000 t y\t[ext4]\n\
              ffffffff81000010 T again\nffffffff81000010 T again\n0000000000000000 A zero\n",
            // Lines of other shapes: another width, uppercase, signs, no
            // name, empty name, odd type bytes, the encoding's own marks.
            b"81000000 T a\nffffffff81000000 T b\nFFFFFFFF81000000 T c\n",
            b"+fffffff81000000 T d\nffffffff81000000 T\nffffffff81000000 T \n",
            b"ffffffff81000000 + +a\nffffffff81000000 ! !b\n!c\n?d\n\t\n",
            b"no-address line\nffffffff81000000 T ok\n",
            b"ff T short\nff T __pfx_s\n0000000000000100 T s\n",
        ];
        for &text in cases {
            let (encoded, digits) = encode(text);
            assert_eq!(
                decode(&encoded, digits).unwrap(),
                text,
                "{:?} encoded as {:?}",
                String::from_utf8_lossy(text),
                String::from_utf8_lossy(&encoded)
            );
        }
    }

    #[test]
    fn the_live_kallsyms_round_trips() {
        // Whatever this machine has (all zero addresses without root).
        if let Ok(text) = std::fs::read("/proc/kallsyms") {
            let (encoded, digits) = encode(&text);
            assert!(encoded.len() < text.len() / 2);
            assert!(decode(&encoded, digits).unwrap() == text);
        }
    }

    #[test]
    fn damage_is_an_error() {
        for bad in [
            &b"zz T\n\nname\n"[..],
            b"1 T\n\n",
            b"1 T\n\na\nb\n",
            b"1 T x\n\na\n",
            b"1T\n\na\n",
            b"11111111111111111 T\n\na\n",
            b"?last\n!not last\n\n",
            b"no end of rows",
            b"1 T\n",
        ] {
            assert!(
                decode(bad, 16).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn format_1_round_trips_exactly() {
        let text = b"ffffffff81000000 T _stext\n\
                     ffffffff81000010 t __pfx_x\n\
                     ffffffffc0a00000 t ext4_read\t[ext4]\n\
                     ffffffff81000010 T again\n\
                     ffffffff81000010 T same\n\
                     0000000000000000 A zero\n\
                     no-address line\n\
                     ffffffff81000020 T last";
        let (encoded, digits) = encode_v1(text).unwrap();
        assert_eq!(digits, 16);
        assert!(encoded.len() < text.len());
        assert_eq!(decode_v1(&encoded, digits).unwrap(), text);
        assert!(encode_v1(b"81000000 T a\nffffffff81000000 T b\n").is_none());
        assert!(decode_v1(b"zz T a\n", 16).is_err());
        assert!(decode_v1(b"nospace\n", 16).is_err());
    }

    #[test]
    fn hex_is_written_as_format_would() {
        for (value, digits) in [(0u64, 16), (0, 1), (0x10, 1), (u64::MAX, 16), (0xabc, 2)] {
            let mut out = Vec::new();
            push_hex(&mut out, value, digits);
            assert_eq!(out, format!("{value:0digits$x}").as_bytes());
        }
    }

    /// Text stitched from kallsyms-like pieces (addresses of both widths,
    /// `__pfx_` pairs, modules, odd spacing, blank lines, bytes that are
    /// not UTF-8, a last line without a newline) comes back exactly, and
    /// decoding cut or flipped encodings never panics.
    #[test]
    fn stitched_text_round_trips() {
        const PIECES: &[&[u8]] = &[
            b"ffffffff81000000 ",
            b"ffffffff81000010 ",
            b"81000000 ",
            b"0000000000000000 ",
            b"FFFFFFFF81000000 ",
            b"T ",
            b"t ",
            b"__pfx_",
            b"vfs_read",
            b"x",
            b"\t[ext4]",
            b"\n",
            b"\n\n",
            b" ",
            b"\xff",
            b"+",
            b"!",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3000 {
            let mut text = Vec::new();
            for _ in 0..next() % 24 {
                text.extend_from_slice(PIECES[(next() % PIECES.len() as u64) as usize]);
            }
            let (encoded, digits) = encode(&text);
            assert_eq!(
                decode(&encoded, digits).unwrap(),
                text,
                "{:?}",
                String::from_utf8_lossy(&text)
            );
            let cut = (next() as usize) % (encoded.len() + 1);
            let _ = decode(&encoded[..cut], digits);
            let _ = decode_v1(&encoded[..cut], digits);
        }
    }
}
