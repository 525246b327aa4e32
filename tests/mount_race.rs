//! Several probedex processes started at once on a system without tracefs
//! mounted: each tries to mount it, and the losers of the race (EBUSY) must
//! use the winner's mount instead of failing. Its own test binary, so no
//! other test runs while tracefs is briefly unmounted.

mod common;

use std::process::{Command, Stdio};

use common::{is_ci, is_root, skip, PROBEDEX};

#[test]
fn concurrent_runs_share_one_mount() {
    if !is_root() {
        assert!(!is_ci(), "CI=true but not root");
        skip("unmounting tracefs needs root");
        return;
    }
    for round in 0..3 {
        // Unmount every stacked tracefs mount at the usual place; if
        // something holds it busy, the race cannot be staged here.
        while Command::new("umount")
            .arg("/sys/kernel/tracing")
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {}
        let spawned: Vec<_> = (0..8)
            .map(|_| {
                Command::new(PROBEDEX)
                    .args(["list", "tracepoint:sched:sched_switch"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in spawned {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.stdout, b"tracepoint:sched:sched_switch\n");
        }
    }
}
