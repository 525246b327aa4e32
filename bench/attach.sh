#!/usr/bin/env bash
# bench/attach.sh: benchmark `probedex attach` end to end (attach, run the
# command, detach, report) against bpftrace in one interleaved run.
#
# Contenders:
#   one point : probedex attach tracepoint:syscalls:sys_enter_fchmodat -- chmod +x F
#               bpftrace -e 'tracepoint:syscalls:sys_enter_fchmodat { @ = count(); }' -c 'chmod +x F'
#   all       : probedex attach 'tracepoint:syscalls:*' -- chmod +x F  (~720 points;
#               through sh, since exit 1 (some never fired) is its normal end)
#   others    : probedex attach 'tracepoint:CAT:*'... -- chmod +x F for every
#               category but syscalls and ftrace (~1,600 points; also through sh)
# Bars: one point at least 5x faster than bpftrace (median wall); all
# syscall tracepoints, and all the others, each under 3 s. Output check: both probedex runs count
# sys_enter_fchmodat exactly once.
#
# Usage:   sudo bench/attach.sh
# Env:     ROUNDS=15, WARMUP=2, PROBEDEX=path, BPFTRACE=path (as bench/kernel.sh)
# Exit:    0 ran and the bars are met; 1 a contender failed, a count is
#          wrong or a bar is missed; 2 cannot run here
set -euo pipefail
export LC_ALL=C

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $EUID -eq 0 ]] || die 2 "must run as root (loading BPF programs needs it); try: sudo $0"
bench_rounds
command -v python3 >/dev/null || die 2 "python3 is required"
command -v gcc >/dev/null || die 2 "gcc is required (to build the runner)"
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_peer BPFTRACE bpftrace
bench_probedex "$repo"
tmp=$(mktemp -d -t probedex-bench.XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT
bench_runner "$tmp" # sets RUNNER
: >"$tmp/f"
CHMOD=$(command -v chmod)

cat >"$tmp/bench.py" <<'EOF'
import json
import os
import subprocess
import sys

import rounds

env = os.environ
RUNNER, PD, BPFTRACE = env["RUNNER"], env["PROBEDEX"], env.get("BPFTRACE", "")
ROUNDS, WARMUP = int(env["ROUNDS"]), int(env["WARMUP"])
F, CHMOD = env["FILE"], env["CHMOD"]
ONE = "tracepoint:syscalls:sys_enter_fchmodat"
CONTENDERS = [
    ("pd", "probedex attach (1 point)", [PD, "attach", ONE, "--", CHMOD, "+x", F], "probedex"),
    ("pd_all", "probedex attach 'tracepoint:syscalls:*'",
     ["sh", "-c", f'"$0" attach "tracepoint:syscalls:*" -- "$1" +x "$2"; [ $? -le 1 ]',
      PD, CHMOD, F], "probedex"),
]
# Every other category, as one pattern each (ftrace's events cannot be
# attached; probedex mounted tracefs in the output check if it was not).
TRACEFS = "/sys/kernel/tracing/events"
OTHERS = []
if os.path.isdir(TRACEFS):
    OTHERS = [f"tracepoint:{c}:*" for c in sorted(os.listdir(TRACEFS))
              if c not in ("syscalls", "ftrace") and os.path.isdir(os.path.join(TRACEFS, c))]
if OTHERS:
    CONTENDERS.append(("pd_others", f"probedex attach {len(OTHERS)} other categories",
                       ["sh", "-c", '"$0" attach "$@" -- "$CHMOD" +x "$FILE"; [ $? -le 1 ]',
                        PD, *OTHERS], "probedex"))
if BPFTRACE:
    CONTENDERS.append(("bt", "bpftrace (1 point)",
                       [BPFTRACE, "-e", ONE + " { @ = count(); }", "-c", f"{CHMOD} +x {F}"],
                       "peer"))


def fchmodat_hits(pattern):
    p = subprocess.run([PD, "--json", "attach", pattern, "--", CHMOD, "+x", F],
                       capture_output=True, text=True)
    for line in p.stdout.splitlines():
        row = json.loads(line)
        if row.get("probe") == ONE:
            return row.get("hits"), row.get("link")
    return None, p.stderr.strip()


def main():
    bad = 0
    for pattern in (ONE, "tracepoint:syscalls:*"):
        hits, link = fchmodat_hits(pattern)
        ok = hits == 1
        bad += not ok
        print(f"{pattern}: {ONE} counted {hits} via {link}: {'ok' if ok else 'WRONG (want 1)'}")
    print()
    samples, lost = rounds.timed_rounds(CONTENDERS, RUNNER, WARMUP, ROUNDS, "attach.sh",
                                        lambda t: t.strip().splitlines()[-1:] and t.strip().splitlines()[-1])
    stats = rounds.timings_table(CONTENDERS, samples, lost)
    if "pd" not in stats or "pd_all" not in stats:
        print("FAILED: probedex attach did not run cleanly")
        return 1
    if "bt" in stats:
        ratio = stats["bt"]["med"] / stats["pd"]["med"]
        verdict = "ok" if ratio >= 5 else "MISSED"
        bad += verdict != "ok"
        print(f"one point: probedex {stats['pd']['med']:.1f} ms, bpftrace {stats['bt']['med']:.1f} ms: "
              f"{ratio:.1f}x faster (bar >= 5x): {verdict}")
    else:
        print("one point: no bpftrace to compare with")
    med = stats["pd_all"]["med"]
    verdict = "ok" if med < 3000 else "MISSED"
    bad += verdict != "ok"
    print(f"tracepoint:syscalls:* median {med:.1f} ms (bar < 3000 ms): {verdict}")
    if "pd_others" in stats:
        med = stats["pd_others"]["med"]
        verdict = "ok" if med < 3000 else "MISSED"
        bad += verdict != "ok"
        print(f"{len(OTHERS)} other categories median {med:.1f} ms (bar < 3000 ms): {verdict}")
    else:
        print("other categories: FAILED or no tracefs")
        bad += 1
    return 1 if bad else 0


sys.exit(main())
EOF

echo "== probedex attach benchmark =="
echo "machine : $(uname -s) $(uname -r), nproc $(nproc)"
echo "probedex: $(version_of "$PROBEDEX")  ($PROBEDEX)"
if [[ -n $BPFTRACE ]]; then
	echo "bpftrace: $(version_of "$BPFTRACE")  ($BPFTRACE)"
else
	echo "bpftrace: none (${BPFTRACE_absent:-not found}); no ratio"
fi
echo "runs    : $ROUNDS rounds after $WARMUP warm-up run(s) each; stdout to /dev/null"
echo
status=0
RUNNER=$RUNNER PROBEDEX=$PROBEDEX BPFTRACE=$BPFTRACE ROUNDS=$ROUNDS WARMUP=$WARMUP \
	FILE=$tmp/f CHMOD=$CHMOD PYTHONPATH=$repo/bench python3 "$tmp/bench.py" || status=$?
[[ $status -le 1 ]] || die 2 "the benchmark itself failed (exit $status)"
exit "$status"
