//! `probedex attach --sample N` on the live kernel: records decoded with
//! the format file, checked against what the command is known to have
//! done (its syscall arguments, its exec path, its own pid and name).
//! Needs root and BPF; skips with the reason outside CI.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use common::attach_json::{Line, Record};
use common::can_load_bpf as can_run;
use common::{probedex_with, Run};

/// One at a time: the machine has few cores and the counts are exact.
static SERIAL: Mutex<()> = Mutex::new(());

/// Per probe: its hits and its samples (None: no `samples` key).
type Points = BTreeMap<String, (u64, Option<Vec<Record>>)>;

/// Runs `probedex --json attach ARGS` in `dir`: the run and, per probe,
/// its hits and samples.
fn sample_json(dir: &Path, args: &[&str]) -> (Run, Points) {
    let mut all = vec!["--json", "attach"];
    all.extend_from_slice(args);
    let run = probedex_with(dir, &all, &[]);
    let mut points = BTreeMap::new();
    for line in run.stdout.lines() {
        let parsed: Line = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{e}: {line}\n{}", run.describe()));
        if let Line::Point {
            probe,
            hits,
            attached,
            samples,
            ..
        } = parsed
        {
            points.insert(probe, (common::attach_json::hits(attached, hits), samples));
        }
    }
    (run, points)
}

fn samples_of<'a>(run: &Run, points: &'a Points, probe: &str) -> &'a [Record] {
    points
        .get(probe)
        .and_then(|(_, s)| s.as_deref())
        .unwrap_or_else(|| panic!("no samples for {probe}\n{}", run.describe()))
}

#[test]
fn fchmodat_shows_the_path_mode_and_dirfd() {
    if !can_run("sampling sys_enter_fchmodat") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    // A space and a quote: the string must come through exactly.
    let file = dir.path().join("a \"file\"");
    std::fs::write(&file, "").unwrap();
    let path = file.to_str().unwrap();
    let enter = "tracepoint:syscalls:sys_enter_fchmodat";
    let exit = "tracepoint:syscalls:sys_exit_fchmodat";

    let (run, points) = sample_json(
        dir.path(),
        &["--sample", "1", enter, exit, "--", "chmod", "0755", path],
    );
    assert_eq!(run.code, 0, "{}", run.describe());
    let records = samples_of(&run, &points, enter);
    assert_eq!(records.len(), 1, "{}", run.describe());
    let record = &records[0];
    assert_eq!(record.comm, "chmod", "{}", run.describe());
    assert_eq!(record.fields["dfd"], -100, "{}", run.describe());
    assert_eq!(record.fields["filename"], path, "{}", run.describe());
    assert_eq!(record.fields["mode"], 0o755, "{}", run.describe());
    assert_eq!(
        record.fields.keys().collect::<Vec<_>>(),
        ["dfd", "filename", "mode"]
    );
    // Counting is unchanged beside sampling.
    assert_eq!(points[enter].0, 1, "{}", run.describe());
    let exits = samples_of(&run, &points, exit);
    assert_eq!(exits.len(), 1, "{}", run.describe());
    assert_eq!(exits[0].fields["ret"], 0, "{}", run.describe());
    assert_eq!(exits[0].pid, record.pid);

    // The same as text, under the point's line.
    let run = probedex_with(
        dir.path(),
        [
            "attach", "--sample", "1", enter, "--", "chmod", "0755", path,
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.describe());
    let expected = format!(
        "dfd=-100 filename=\"{}\" mode=0755",
        path.replace('"', "\\\"")
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with(enter))
        .unwrap_or_else(|| panic!("{}", run.describe()));
    assert!(
        lines[at + 1].starts_with("    chmod[") && lines[at + 1].ends_with(&expected),
        "{}",
        run.describe()
    );

    // A failing call: the exit record's ret is the negative errno.
    let mkdir_exit = "tracepoint:syscalls:sys_exit_mkdir";
    let (run, points) = sample_json(
        dir.path(),
        &["--sample", "1", mkdir_exit, "--", "mkdir", path],
    );
    assert_eq!(run.code, 0, "{}", run.describe());
    let exits = samples_of(&run, &points, mkdir_exit);
    assert_eq!(exits[0].fields["ret"], -libc::EEXIST, "{}", run.describe());
}

#[test]
fn exec_path_is_a_data_loc_string() {
    if !can_run("sampling sched_process_exec") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("my true");
    std::fs::copy("/bin/true", &program).unwrap();
    let path = program.to_str().unwrap();
    let probe = "tracepoint:sched:sched_process_exec";
    let (run, points) = sample_json(dir.path(), &["--sample", "5", probe, "--", path]);
    assert_eq!(run.code, 0, "{}", run.describe());
    let records = samples_of(&run, &points, probe);
    assert_eq!(records.len(), 1, "{}", run.describe());
    let record = &records[0];
    assert_eq!(record.fields["filename"], path, "{}", run.describe());
    assert_eq!(record.fields["pid"], record.pid, "{}", run.describe());
    assert_eq!(record.fields["old_pid"], record.pid, "{}", run.describe());
    assert_eq!(record.comm, "my true", "{}", run.describe());
}

#[test]
fn arrays_decode_as_lists_and_strings() {
    if !can_run("sampling raw_syscalls:sys_enter and sched_switch") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, "").unwrap();
    let raw = "tracepoint:raw_syscalls:sys_enter";
    let switch = "tracepoint:sched:sched_switch";
    let (run, points) = sample_json(
        dir.path(),
        &[
            "--sample",
            "1000",
            raw,
            switch,
            "--",
            "chmod",
            "0751",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.describe());

    // `unsigned long args[6]`: a list of six numbers; fchmodat's are
    // AT_FDCWD (as a 32-bit int), the path's address and the mode.
    let records = samples_of(&run, &points, raw);
    assert_eq!(records.len() as u64, points[raw].0, "{}", run.describe());
    let fchmodat: Vec<&Record> = records.iter().filter(|r| r.fields["id"] == 268).collect();
    assert_eq!(fchmodat.len(), 1, "{}", run.describe());
    let args = fchmodat[0].fields["args"].as_array().unwrap();
    assert_eq!(args.len(), 6, "{}", run.describe());
    assert_eq!(
        args[0].as_u64().unwrap() & 0xffff_ffff,
        u64::from(-100i32 as u32)
    );
    assert!(args[1].as_u64().unwrap() > 0x1000, "{}", run.describe());
    assert_eq!(args[2], 0o751, "{}", run.describe());

    // `char prev_comm[16]`: the task switching out is the one running.
    let switches = samples_of(&run, &points, switch);
    assert!(!switches.is_empty(), "{}", run.describe());
    for record in switches {
        assert_eq!(
            record.fields["prev_comm"],
            record.comm.as_str(),
            "{record:?}"
        );
        assert_eq!(record.fields["prev_pid"], record.tid, "{record:?}");
        assert!(record.fields["next_comm"].is_string(), "{record:?}");
    }
}

#[test]
fn at_most_n_records_per_point() {
    if !can_run("--sample's limit") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    // Both routes: a perf_event link (raw_syscalls) and the shared
    // raw_syscalls link (openat, many calls while loading libraries). ls
    // of a missing name prints nothing on stdout, which is probedex's.
    let raw = "tracepoint:raw_syscalls:sys_enter";
    let openat = "tracepoint:syscalls:sys_enter_openat";
    let never = "tracepoint:syscalls:sys_enter_reboot";
    let (run, points) = sample_json(
        dir.path(),
        &[
            "--sample",
            "2",
            raw,
            openat,
            never,
            "--",
            "ls",
            "/nonexistent-probedex-test",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.describe());
    for probe in [raw, openat] {
        assert!(points[probe].0 > 2, "{}", run.describe());
        assert_eq!(
            samples_of(&run, &points, probe).len(),
            2,
            "{}",
            run.describe()
        );
    }
    assert!(samples_of(&run, &points, openat)
        .iter()
        .all(|r| r.fields["filename"].is_string() && r.comm == "ls"));
    // The limit holds in BPF: nothing was dropped for want of room.
    assert!(!run.stderr.contains("did not fit"), "{}", run.describe());
    assert_eq!(points[never].0, 0);
    assert!(samples_of(&run, &points, never).is_empty());

    // Without --sample, no "samples" key at all.
    let (run, points) = sample_json(dir.path(), &[openat, "--", "true"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert!(points[openat].1.is_none(), "{}", run.describe());

    // 0 is a usage error.
    let run = probedex_with(dir.path(), ["attach", "--sample", "0", openat], &[]);
    assert_eq!(run.code, 2, "{}", run.describe());
}
