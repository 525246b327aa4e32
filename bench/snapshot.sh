#!/usr/bin/env bash
# bench/snapshot.sh: how fast snapshots are made and read, in one
# interleaved run.
#
# Contenders:
#   snapshot     probedex snapshot -o FILE            (live; bar < 1 s)
#   bpftrace     bpftrace -lv 'tracepoint:*'           (the nearest peer: what
#                bpftrace records of tracepoint layouts; no BTF, no functions)
#   check-live   probedex check OBJ                    (bar: the snapshot
#   check-snap   probedex check OBJ --snapshot FILE     check is as fast)
#   list-live    probedex list -v 'tracepoint:*'
#   list-snap    probedex list -v 'tracepoint:*' --snapshot FILE
#   diff         probedex diff FILE FILE2              (two full snapshots;
#                FILE2 is FILE with one format file changed; bar < 200 ms)
#
# Also prints the snapshot's size (aim: well under 2 MB).
#
# Usage:   sudo bench/snapshot.sh
# Env:     ROUNDS=15, WARMUP=2, PROBEDEX=path, BPFTRACE=path (empty: without)
# Exit:    0 ran and the bars are met; 1 a contender failed or a bar is
#          missed; 2 cannot run here
set -euo pipefail
export LC_ALL=C

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $EUID -eq 0 ]] || die 2 "must run as root (tracefs and kallsyms need it); try: sudo $0"
bench_rounds
command -v python3 >/dev/null || die 2 "python3 is required"
command -v gcc >/dev/null || die 2 "gcc is required (to build the runner)"
command -v clang >/dev/null || die 2 "clang is required (to build the object checked)"
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_peer BPFTRACE bpftrace
bench_probedex "$repo"
tmp=$(mktemp -d -t probedex-bench.XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT
bench_runner "$tmp" # sets RUNNER

clang -target bpf -g -O2 -c "$repo/fixtures/src/bpf/check_good.bpf.c" -o "$tmp/good.bpf.o"
"$PROBEDEX" snapshot -o "$tmp/live.snap" >/dev/null 2>&1 || die 2 "probedex snapshot failed"
# A second snapshot that differs in one layout, for diff.
"$PROBEDEX" capture --snapshot "$tmp/live.snap" "$tmp/tree" >/dev/null
sed -i 's/offset:8;/offset:9;/' "$tmp/tree/sys/kernel/tracing/events/sched/sched_switch/format"
"$PROBEDEX" snapshot --root "$tmp/tree" -o "$tmp/changed.snap" >/dev/null 2>&1

cat >"$tmp/bench.py" <<'EOF'
import os
import sys

import rounds

env = os.environ
RUNNER, PD, BT, TMP = env["RUNNER"], env["PROBEDEX"], env["BPFTRACE"], env["TMP"]
ROUNDS, WARMUP = int(env["ROUNDS"]), int(env["WARMUP"])
SNAP, CHANGED, OBJ = f"{TMP}/live.snap", f"{TMP}/changed.snap", f"{TMP}/good.bpf.o"
CONTENDERS = [
    ("snapshot", "probedex snapshot -o FILE", [PD, "snapshot", "-o", f"{TMP}/timed.snap"], "probedex"),
    ("check-live", "probedex check OBJ", [PD, "check", OBJ], "probedex"),
    ("check-snap", "probedex check OBJ --snapshot FILE", [PD, "check", OBJ, "--snapshot", SNAP], "probedex"),
    ("list-live", "probedex list -v 'tracepoint:*'", [PD, "list", "-v", "tracepoint:*"], "probedex"),
    ("list-snap", "probedex list -v 'tracepoint:*' --snapshot FILE",
     [PD, "list", "-v", "tracepoint:*", "--snapshot", SNAP], "probedex"),
]
# diff exits 1 when the sides differ: time the identical pair (exit 0) and
# check the changed pair's answer once.
CONTENDERS.append(("diff", "probedex diff FILE FILE (two full snapshots)", [PD, "diff", SNAP, SNAP], "probedex"))
if BT:
    CONTENDERS.append(("bpftrace", "bpftrace -lv 'tracepoint:*'", [BT, "-lv", "tracepoint:*"], "peer"))


def main():
    import subprocess
    size = os.path.getsize(SNAP)
    print(f"snapshot size: {size / 1e6:.2f} MB (aim: well under 2 MB)")
    p = subprocess.run([PD, "diff", SNAP, CHANGED], capture_output=True, text=True)
    print(f"diff of the changed pair: exit {p.returncode}; "
          f"{len(p.stdout.splitlines())} lines of output\n")
    samples, lost = rounds.timed_rounds(CONTENDERS, RUNNER, WARMUP, ROUNDS, "snapshot.sh",
                                        lambda t: t.strip().splitlines()[-1:] and t.strip().splitlines()[-1])
    stats = rounds.timings_table(CONTENDERS, samples, lost)
    status = 0
    def bar(key, limit, what):
        nonlocal status
        if key not in stats:
            print(f"{what}: FAILED to run")
            status = 1
            return
        med = stats[key]["med"]
        ok = med < limit
        status |= 0 if ok else 1
        print(f"{what}: median {med:.1f} ms (bar < {limit} ms): {'ok' if ok else 'MISSED'}")
    bar("snapshot", 1000, "snapshot")
    bar("diff", 200, "diff of two full snapshots")
    if "check-live" in stats and "check-snap" in stats:
        live, snap = stats["check-live"]["med"], stats["check-snap"]["med"]
        ok = snap <= live * 1.1 + 2
        status |= 0 if ok else 1
        print(f"check against the snapshot: {snap:.1f} ms vs live {live:.1f} ms "
              f"({snap / live:.2f}x; bar: as fast): {'ok' if ok else 'MISSED'}")
    if "list-live" in stats and "list-snap" in stats:
        live, snap = stats["list-live"]["med"], stats["list-snap"]["med"]
        print(f"list -v 'tracepoint:*' from the snapshot: {snap:.1f} ms vs live {live:.1f} ms "
              f"({snap / live:.2f}x)")
    if "bpftrace" in stats and "list-live" in stats:
        print(f"list -v 'tracepoint:*' vs bpftrace -lv 'tracepoint:*': "
              f"{stats['bpftrace']['med'] / stats['list-live']['med']:.2f}x faster live, "
              f"{stats['bpftrace']['med'] / stats['list-snap']['med']:.2f}x from the snapshot "
              f"(bpftrace records tracepoint layouts only; the snapshot also holds BTF, kallsyms, features)")
    return status


sys.exit(main())
EOF

echo "== probedex snapshot benchmark =="
echo "machine : $(uname -s) $(uname -r), nproc $(nproc)"
echo "probedex: $(version_of "$PROBEDEX")  ($PROBEDEX)"
if [[ -n $BPFTRACE ]]; then
	echo "bpftrace: $(version_of "$BPFTRACE")  ($BPFTRACE)"
else
	echo "bpftrace: $BPFTRACE_absent"
fi
echo "runs    : $ROUNDS rounds after $WARMUP warm-up run(s) each; stdout to /dev/null"
echo
status=0
RUNNER=$RUNNER PROBEDEX=$PROBEDEX BPFTRACE=$BPFTRACE ROUNDS=$ROUNDS WARMUP=$WARMUP TMP=$tmp \
	PYTHONPATH=$repo/bench python3 "$tmp/bench.py" || status=$?
[[ $status -le 1 ]] || die 2 "the benchmark itself failed (exit $status)"
exit "$status"
