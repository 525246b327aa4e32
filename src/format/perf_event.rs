//! The perf events `software:EVENT[:PERIOD]` and `hardware:EVENT[:PERIOD]`
//! name, as bpftrace spells them: the generic `PERF_TYPE_SOFTWARE` and
//! `PERF_TYPE_HARDWARE` counters of include/uapi/linux/perf_event.h, with
//! perf's aliases (`faults`, `cs`, `cycles`) and bpftrace's default sample
//! periods (its `SW_PROBE_LIST` / `HW_PROBE_LIST`), so a point samples as
//! often here as it does in a bpftrace script.

use std::fmt;

/// `perf_event_attr.type` of the generic software counters.
pub const PERF_TYPE_SOFTWARE: u32 = 1;
/// `perf_event_attr.type` of the generic hardware counters.
pub const PERF_TYPE_HARDWARE: u32 = 0;

/// One generic perf counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerfCounter {
    pub name: &'static str,
    /// perf's short name, if any.
    pub alias: Option<&'static str>,
    /// `perf_event_attr.config`: `enum perf_sw_ids` / `enum perf_hw_id`.
    pub config: u64,
    /// bpftrace's sample period when the probe gives none.
    pub default_period: u64,
}

const fn counter(
    name: &'static str,
    alias: Option<&'static str>,
    config: u64,
    default_period: u64,
) -> PerfCounter {
    PerfCounter {
        name,
        alias,
        config,
        default_period,
    }
}

/// `software:` events, sorted by name.
pub const SOFTWARE: &[PerfCounter] = &[
    counter("alignment-faults", None, 7, 1),
    counter("bpf-output", None, 10, 1),
    counter("context-switches", Some("cs"), 3, 1000),
    counter("cpu-clock", Some("cpu"), 0, 1_000_000),
    counter("cpu-migrations", None, 4, 1),
    counter("dummy", None, 9, 1),
    counter("emulation-faults", None, 8, 1),
    counter("major-faults", None, 6, 1),
    counter("minor-faults", None, 5, 100),
    counter("page-faults", Some("faults"), 2, 100),
    counter("task-clock", None, 1, 1),
];

/// `hardware:` events, sorted by name.
pub const HARDWARE: &[PerfCounter] = &[
    counter("backend-stalls", None, 8, 1_000_000),
    counter("branch-instructions", Some("branches"), 4, 100_000),
    counter("branch-misses", None, 5, 100_000),
    counter("bus-cycles", None, 6, 100_000),
    counter("cache-misses", None, 3, 1_000_000),
    counter("cache-references", None, 2, 1_000_000),
    counter("cpu-cycles", Some("cycles"), 0, 1_000_000),
    counter("frontend-stalls", None, 7, 1_000_000),
    counter("instructions", None, 1, 1_000_000),
    counter("ref-cycles", None, 9, 1_000_000),
];

/// Software or hardware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerfFamily {
    Software,
    Hardware,
}

impl PerfFamily {
    pub fn counters(self) -> &'static [PerfCounter] {
        match self {
            PerfFamily::Software => SOFTWARE,
            PerfFamily::Hardware => HARDWARE,
        }
    }

    /// `perf_event_attr.type`.
    pub fn perf_type(self) -> u32 {
        match self {
            PerfFamily::Software => PERF_TYPE_SOFTWARE,
            PerfFamily::Hardware => PERF_TYPE_HARDWARE,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PerfFamily::Software => "software",
            PerfFamily::Hardware => "hardware",
        }
    }
}

impl fmt::Display for PerfFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed `EVENT[:PERIOD]`: which counter, sampled every `period` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerfEventSpec {
    pub family: PerfFamily,
    pub counter: PerfCounter,
    pub period: u64,
}

impl PerfEventSpec {
    /// The canonical probe name: the event's full name and the period
    /// actually used (`software:page-faults:100` for `s:faults`).
    pub fn probe_name(&self) -> String {
        format!(
            "{}:{}:{}",
            self.family.name(),
            self.counter.name,
            self.period
        )
    }
}

/// Why `EVENT[:PERIOD]` does not name an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PerfEventError {
    /// No event of that name; the names nearest to it, if any.
    Unknown { name: String },
    /// The period is not a whole number above zero.
    BadPeriod { text: String },
}

impl fmt::Display for PerfEventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PerfEventError::Unknown { name } => write!(f, "no event {name:?}"),
            PerfEventError::BadPeriod { text } => write!(
                f,
                "the sample period {text:?} is not a whole number above 0"
            ),
        }
    }
}

/// Parses the part after `software:` / `hardware:`: `EVENT` or
/// `EVENT:PERIOD`, where `EVENT` is a name or perf's alias.
pub fn parse_perf_event(family: PerfFamily, text: &str) -> Result<PerfEventSpec, PerfEventError> {
    let (name, period) = match text.split_once(':') {
        Some((name, period)) => (name, Some(period)),
        None => (text, None),
    };
    let counter = *family
        .counters()
        .iter()
        .find(|c| c.name == name || c.alias == Some(name))
        .ok_or_else(|| PerfEventError::Unknown {
            name: name.to_string(),
        })?;
    let period = match period {
        None => counter.default_period,
        Some(text) => match text.parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(PerfEventError::BadPeriod {
                    text: text.to_string(),
                })
            }
        },
    };
    Ok(PerfEventSpec {
        family,
        counter,
        period,
    })
}

/// The CPUs of a kernel CPU list (`/sys/devices/system/cpu/online`:
/// `0-3,8,10-11`), in order; None when the text is not one.
pub fn parse_cpu_list(text: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?),
            None => {
                let n = part.parse::<u32>().ok()?;
                (n, n)
            }
        };
        if last < first || last - first > 65_536 {
            return None;
        }
        cpus.extend(first..=last);
    }
    Some(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        // /sys/devices/system/cpu/online on this 2-CPU VM, and forms the
        // kernel's bitmap_print_to_pagebuf writes.
        assert_eq!(parse_cpu_list("0-1\n"), Some(vec![0, 1]));
        assert_eq!(parse_cpu_list("0\n"), Some(vec![0]));
        assert_eq!(parse_cpu_list("0-2,5,7-8"), Some(vec![0, 1, 2, 5, 7, 8]));
        assert_eq!(parse_cpu_list(""), Some(vec![]));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn names_aliases_and_default_periods_are_bpftraces() {
        let faults = parse_perf_event(PerfFamily::Software, "faults").unwrap();
        assert_eq!(faults.counter.name, "page-faults");
        assert_eq!(faults.counter.config, 2); // PERF_COUNT_SW_PAGE_FAULTS
        assert_eq!(faults.period, 100);
        assert_eq!(faults.probe_name(), "software:page-faults:100");
        let one = parse_perf_event(PerfFamily::Software, "page-faults:1").unwrap();
        assert_eq!(one.period, 1);
        let cs = parse_perf_event(PerfFamily::Software, "cs:7").unwrap();
        assert_eq!((cs.counter.name, cs.period), ("context-switches", 7));
        let cycles = parse_perf_event(PerfFamily::Hardware, "cycles").unwrap();
        assert_eq!(cycles.counter.config, 0); // PERF_COUNT_HW_CPU_CYCLES
        assert_eq!(cycles.family.perf_type(), PERF_TYPE_HARDWARE);
        assert_eq!(cycles.period, 1_000_000);
    }

    #[test]
    fn the_tables_are_sorted_and_their_configs_unique() {
        for table in [SOFTWARE, HARDWARE] {
            assert!(table.windows(2).all(|w| w[0].name < w[1].name));
            let mut configs: Vec<u64> = table.iter().map(|c| c.config).collect();
            configs.sort_unstable();
            configs.dedup();
            assert_eq!(configs.len(), table.len());
        }
    }

    #[test]
    fn wrong_names_and_periods_are_errors() {
        assert_eq!(
            parse_perf_event(PerfFamily::Software, "cycles"),
            Err(PerfEventError::Unknown {
                name: "cycles".into()
            })
        );
        for period in ["0", "-1", "x", "", "1e6"] {
            assert!(matches!(
                parse_perf_event(PerfFamily::Software, &format!("faults:{period}")),
                Err(PerfEventError::BadPeriod { .. })
            ));
        }
    }
}
