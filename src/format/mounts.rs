//! `/proc/self/mounts`: which filesystems are mounted where. Pure parser.
//!
//! Each line is `SOURCE MOUNTPOINT FSTYPE OPTIONS DUMP PASS`, with spaces,
//! tabs, newlines and backslashes in paths written as octal escapes (`\040`).

/// One mounted filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub mount_point: String,
    pub fs_type: String,
}

/// Parses the mount table; malformed lines are skipped (the kernel writes
/// this file, so a bad line means a reader bug, not something to stop for).
pub fn parse_mounts(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_ascii_whitespace();
            let _source = words.next()?;
            let mount_point = unescape(words.next()?);
            let fs_type = words.next()?.to_string();
            Some(Mount {
                mount_point,
                fs_type,
            })
        })
        .collect()
}

/// Undoes the kernel's `\ooo` escapes in mount points.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            let digits = &bytes[i + 1..i + 4];
            if digits.iter().all(|b| (b'0'..=b'7').contains(b)) {
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(value) = u8::try_from(value) {
                    out.push(value);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tracefs_and_unescapes() {
        // From this machine's /proc/self/mounts (Linux 6.18), plus an escaped path.
        let text = "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n\
nodev /sys/kernel/tracing tracefs rw,relatime 0 0\n\
none /mnt/my\\040dir tracefs rw 0 0\n\
garbage\n";
        let mounts = parse_mounts(text);
        assert_eq!(mounts.len(), 3);
        assert_eq!(mounts[1].mount_point, "/sys/kernel/tracing");
        assert_eq!(mounts[1].fs_type, "tracefs");
        assert_eq!(mounts[2].mount_point, "/mnt/my dir");
        assert_eq!(unescape("a\\1"), "a\\1");
        assert_eq!(unescape("\\"), "\\");
    }
}
