#!/usr/bin/env bash
# bench/tracepoints.sh: benchmark `probedex list` over tracepoints against
# bpftrace and against a C "floor", and check that the outputs agree.
#
# What runs (one interleaved run, all contenders in every round):
#   probedex list 'tracepoint:*'      vs  bpftrace -l 'tracepoint:*'
#   probedex list -v 'tracepoint:*'   vs  bpftrace -lv 'tracepoint:*'
#                                     vs  floor: a C program that opens and
#                                         reads every events/*/*/format file
#                                         one after the other, i.e. what the
#                                         kernel itself charges for -v
# Bars (see bench/README.md): list >= 5x faster than bpftrace with a lower
# peak RSS; list -v >= 2x faster than bpftrace and within 1.5x of the floor.
#
# Usage:   sudo bench/tracepoints.sh            (from anywhere)
# Env:     ROUNDS=15      measured rounds (each contender once per round)
#          WARMUP=2       unmeasured warm-up runs of each contender first
#          PROBEDEX=path  binary to test (default: target/release/probedex,
#                         built with `cargo build --release` if missing)
#          BPFTRACE=path  bpftrace to compare with (default: the one on
#                         PATH; empty or missing = bench against floor only)
# Exit:    0 ran, names agree  1 names differ or a contender failed
#          2 cannot run here (not root, no tracefs, build failed, bad env)
#
# The report goes to stdout; build noise goes to stderr, so
# `bench/tracepoints.sh > figures.txt` keeps just the figures.
#
# How it measures: a tiny static C runner (bench/lib.sh) forks and execs
# one command with stdout/stdin on /dev/null, times it with CLOCK_MONOTONIC
# from fork to reap, and reads that child's own peak RSS from wait4().
# Python only orchestrates rounds and does the statistics. (Python cannot
# be the measured command's parent: on exec the kernel folds the old
# address space's high-water mark into ru_maxrss, so every child of a
# Python process reports at least Python's ~14 MiB.)

set -euo pipefail
export LC_ALL=C # byte-order sorting and plain messages everywhere

TRACEFS=/sys/kernel/tracing
PATTERN='tracepoint:*'

# die, version_of, the runner, and the PROBEDEX/BPFTRACE/ROUNDS rules.
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- preconditions -----------------------------------------------------------

[[ $EUID -eq 0 ]] || die 2 "must run as root (tracefs format files and bpftrace need it); try: sudo $0"

bench_rounds
command -v python3 >/dev/null || die 2 "python3 is required"
command -v gcc >/dev/null || die 2 "gcc is required (to build the floor and the runner)"

# The repository root is the parent of this script's directory.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# bpftrace is optional: without it there is nothing to compare names with,
# and probedex is benched against the floor only. BPFTRACE unset: use the
# one on PATH if any; set but empty: do without; set to a bad path: error.
bench_peer BPFTRACE bpftrace

# Resolve a user-given PROBEDEX against the caller's directory before we
# move anywhere; a bare name is looked up on PATH.
bench_probedex "$repo"

# tracefs: mount it if the events directory is not there.
tracefs_note=
if [[ ! -d $TRACEFS/events ]]; then
	mount -t tracefs nodev "$TRACEFS" || die 2 "tracefs is not mounted at $TRACEFS and mounting it failed"
	[[ -d $TRACEFS/events ]] || die 2 "mounted tracefs at $TRACEFS but it has no events/ directory"
	tracefs_note=" (was not mounted: mounted it now)"
fi

tmp=$(mktemp -d -t probedex-bench.XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT

# --- helper programs ---------------------------------------------------------

# The floor: glob every format file and read each one, serially, into a
# 64 KiB buffer until EOF. Linked like probedex (dynamically, -O2), so the
# comparison includes the same loader cost. Prints a count, which the
# benchmark discards and the header below reuses.
cat >"$tmp/floor.c" <<'EOF'
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char buf[64 * 1024];
	char pattern[4096];
	glob_t g;
	long long bytes = 0;
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: floor TRACEFS\n");
		return 2;
	}
	snprintf(pattern, sizeof pattern, "%s/events/*/*/format", argv[1]);
	if (glob(pattern, 0, NULL, &g) != 0) {
		fprintf(stderr, "floor: no format files under %s\n", argv[1]);
		return 1;
	}
	for (i = 0; i < g.gl_pathc; i++) {
		ssize_t n;
		int fd = open(g.gl_pathv[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		while ((n = read(fd, buf, sizeof buf)) > 0)
			bytes += n;
		close(fd);
	}
	printf("%zu %lld\n", g.gl_pathc, bytes);
	return 0;
}
EOF

FLOOR=$tmp/floor
gcc -O2 -o "$FLOOR" "$tmp/floor.c" || die 2 "could not compile the floor program"
bench_runner "$tmp" # sets RUNNER

# --- the Python half: output comparison and statistics -----------------------

cat >"$tmp/bench.py" <<'EOF'
"""Comparison and benchmark logic for bench/tracepoints.sh.

python3 bench.py names    PROBEDEX_OUT BPFTRACE_OUT  -> exit 0 same set, 1 not
python3 bench.py verbose  PROBEDEX_OUT BPFTRACE_OUT  -> exit 0 identical, 1 not
python3 bench.py bench    (configuration from the environment)
"""
import difflib
import os
import statistics
import subprocess
import sys

SHOW = 5  # how many differences to print


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def first(items, n=SHOW):
    items = list(items)
    more = f" ... (+{len(items) - n} more)" if len(items) > n else ""
    return ", ".join(items[:n]) + more


def names(pd_path, bt_path):
    """The set of probe names must be equal; order and duplicates are notes."""
    pd = [l for l in read(pd_path).splitlines() if l.strip()]
    bt = [l for l in read(bt_path).splitlines() if l.strip()]
    spd, sbt = set(pd), set(bt)
    notes = []
    if len(pd) != len(spd):
        notes.append(f"{len(pd) - len(spd)} duplicate lines in probedex output")
    if spd == sbt and pd != bt and len(pd) == len(spd):
        notes.append("same names, different order")
    note = f"  [note: {'; '.join(notes)}]" if notes else ""
    if spd == sbt:
        print(f"names: identical ({len(spd)}){note}")
        return 0
    only_pd, only_bt = sorted(spd - sbt), sorted(sbt - spd)
    print(f"names: DIFFER: probedex {len(spd)}, bpftrace {len(sbt)}, "
          f"common {len(spd & sbt)}{note}")
    if only_pd:
        print(f"  only in probedex ({len(only_pd)}): {first(only_pd)}")
    if only_bt:
        print(f"  only in bpftrace ({len(only_bt)}): {first(only_bt)}")
    return 1


def blocks(text):
    """Split `list -v` output into {probe line: [the lines under it]}.

    A probe line starts in column 0; every line after it up to the next
    probe line belongs to it. Lines before the first probe go under ''.
    """
    out, cur = {}, ""
    for line in text.splitlines():
        if line and not line[0].isspace():
            cur = line
            while cur in out:  # a repeated probe: keep each copy
                cur += " (repeated)"
            out[cur] = []
        else:
            out.setdefault(cur, []).append(line)
    return out


def verbose(pd_path, bt_path):
    """Compare the full `list -v` outputs, probe by probe."""
    pd_text, bt_text = read(pd_path), read(bt_path)
    pd, bt = blocks(pd_text), blocks(bt_text)
    nprobes = len(set(bt) - {""})
    if pd_text == bt_text:
        print(f"-v:    identical ({nprobes} probes, {len(bt_text.splitlines())} lines)")
        return 0
    only_pd = sorted(set(pd) - set(bt))
    only_bt = sorted(set(bt) - set(pd))
    changed = sorted(k for k in set(pd) & set(bt) if pd[k] != bt[k])
    ndiff = len(only_pd) + len(only_bt) + len(changed)
    if ndiff == 0:
        # Same probes with the same fields: the difference is in ordering
        # or in lines between blocks. Show where the texts first part.
        a, b = bt_text.splitlines(), pd_text.splitlines()
        i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        at_a = repr(a[i]) if i < len(a) else "end of output"
        at_b = repr(b[i]) if i < len(b) else "end of output"
        print("-v:    DIFFER in order/layout only (every probe has the same fields); "
              f"first at line {i + 1}: bpftrace {at_a}, probedex {at_b}")
        return 1
    total = len((set(pd) | set(bt)) - {""})
    print(f"-v:    DIFFER: {ndiff} of {total} "
          f"probes differ ({len(changed)} with other fields, {len(only_pd)} only in "
          f"probedex, {len(only_bt)} only in bpftrace); first {min(SHOW, ndiff)}:")
    shown = 0
    for probe in sorted(set(only_pd) | set(only_bt) | set(changed)):
        if shown == SHOW:
            break
        shown += 1
        label = probe or "(lines before the first probe)"
        if probe in only_pd:
            print(f"  {label}: only in probedex")
        elif probe in only_bt:
            print(f"  {label}: only in bpftrace")
        else:
            print(f"  {label}:")
            diff = list(difflib.unified_diff(bt[probe], pd[probe], "bpftrace", "probedex",
                                             lineterm="", n=0))
            for line in [d for d in diff if not d.startswith("@@")][:10]:
                print(f"      {line}")
    return 1


# --- benchmark -----------------------------------------------------------------

def run_once(runner, argv):
    """One measured run: (wall ns, peak RSS KiB). Aborts if the command fails."""
    p = subprocess.run([runner, *argv], capture_output=True, text=True)
    if p.returncode != 0 or len(p.stdout.split()) != 3:
        sys.exit(f"tracepoints.sh: runner failed for {argv}: {p.stderr.strip()}")
    ns, rss, code = (int(x) for x in p.stdout.split())
    if code != 0:
        err = p.stderr.strip()[-800:]
        sys.exit(f"tracepoints.sh: `{' '.join(argv)}` exited {code} during the benchmark"
                 + (f":\n{err}" if err else ""))
    return ns, rss


def bench():
    env = os.environ
    runner, pd, bt = env["RUNNER"], env["PROBEDEX"], env.get("BPFTRACE", "")
    floor, tracefs, pat = env["FLOOR"], env["TRACEFS"], env["PATTERN"]
    rounds, warmup = int(env["ROUNDS"]), int(env["WARMUP"])

    # (key, label shown in the table, argv)
    contenders = [("pd_list", f"probedex list '{pat}'", [pd, "list", pat])]
    if bt:
        contenders.append(("bt_list", f"bpftrace -l '{pat}'", [bt, "-l", pat]))
    contenders.append(("pd_v", f"probedex list -v '{pat}'", [pd, "list", "-v", pat]))
    if bt:
        contenders.append(("bt_v", f"bpftrace -lv '{pat}'", [bt, "-lv", pat]))
    contenders.append(("floor", "floor: C, read every format file", [floor, tracefs]))

    for _ in range(warmup):
        for _key, _label, argv in contenders:
            run_once(runner, argv)

    # Every round runs every contender once. The order is rotated by one
    # each round and reversed on odd rounds, so no contender always goes
    # first or always follows the same one (caches, frequency, neighbours).
    samples = {key: [] for key, _, _ in contenders}
    n = len(contenders)
    for r in range(rounds):
        order = contenders[r % n:] + contenders[:r % n]
        if r % 2:
            order.reverse()
        for key, _label, argv in order:
            samples[key].append(run_once(runner, argv))

    stats = {}
    for key, _, _ in contenders:
        wall = [ns / 1e6 for ns, _ in samples[key]]
        rss = [kib for _, kib in samples[key]]
        stats[key] = {"med": statistics.median(wall), "min": min(wall),
                      "rss": statistics.median(rss)}

    w = max(len(label) for _, label, _ in contenders)
    print(f"{'contender':<{w}}  {'median ms':>10}  {'min ms':>9}  {'median peak RSS KiB':>19}")
    for key, label, _ in contenders:
        s = stats[key]
        print(f"{label:<{w}}  {s['med']:>10.2f}  {s['min']:>9.2f}  {s['rss']:>19,.0f}")
    print()

    # (group, what, by median, by min or None, bar text, passes(ratio))
    ratios = []
    if bt:
        a, b = stats["bt_list"], stats["pd_list"]
        ratios.append(("list", "bpftrace / probedex, time", a["med"] / b["med"],
                       a["min"] / b["min"], ">= 5x", lambda x: x >= 5))
        ratios.append(("list", "probedex / bpftrace, peak RSS", b["rss"] / a["rss"],
                       None, "< 1x", lambda x: x < 1))
        a, b = stats["bt_v"], stats["pd_v"]
        ratios.append(("list -v", "bpftrace / probedex, time", a["med"] / b["med"],
                       a["min"] / b["min"], ">= 2x", lambda x: x >= 2))
        ratios.append(("list -v", "probedex / bpftrace, peak RSS", b["rss"] / a["rss"],
                       None, "-", None))
    a, b = stats["pd_v"], stats["floor"]
    ratios.append(("list -v", "probedex / floor, time", a["med"] / b["med"],
                   a["min"] / b["min"], "<= 1.5x", lambda x: x <= 1.5))

    print(f"{'ratio':<40}  {'by median':>9}  {'by min':>7}  {'bar':>8}  verdict")
    missed = 0
    for group, what, med, mn, bar, ok in ratios:
        verdict = "-" if ok is None else ("ok" if ok(med) else "MISSED")
        missed += verdict == "MISSED"
        mn_s = "-" if mn is None else f"{mn:.2f}x"
        print(f"{group + ': ' + what:<40}  {med:>8.2f}x  {mn_s:>7}  {bar:>8}  {verdict}")
    print(f"\nbars: {len([r for r in ratios if r[5]]) - missed} met, {missed} missed "
          "(verdict from the median ratio)")
    if not bt:
        print("bpftrace absent: no peer comparison, probedex vs floor only")
    return 0


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "names":
        sys.exit(names(sys.argv[2], sys.argv[3]))
    if cmd == "verbose":
        sys.exit(verbose(sys.argv[2], sys.argv[3]))
    if cmd == "bench":
        sys.exit(bench())
    sys.exit(f"bench.py: unknown command {cmd}")
EOF

# --- header: machine and versions --------------------------------------------

read -r nformat _ < <("$FLOOR" "$TRACEFS") || die 2 "the floor program failed on $TRACEFS"
nevents=$(wc -l <"$TRACEFS/available_events")
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)

echo "== probedex tracepoint benchmark =="
echo "machine : $(uname -s) $(uname -r), nproc $(nproc)${cpu:+, $cpu}"
echo "probedex: $(version_of "$PROBEDEX")  ($PROBEDEX)"
if [[ -n $BPFTRACE ]]; then
	echo "bpftrace: $(version_of "$BPFTRACE")  ($BPFTRACE)"
else
	# shellcheck disable=SC2154 # BPFTRACE_absent is set by bench_peer
	echo "bpftrace: $BPFTRACE_absent: benchmarking probedex against the floor only, no output checks"
fi
echo "tracefs : $TRACEFS$tracefs_note, $nevents events;" \
	"the floor reads all $nformat events/*/*/format files"
echo "runs    : $ROUNDS rounds, every contender once per round in rotating order," \
	"after $WARMUP warm-up run(s) each; stdout to /dev/null"
echo

# --- correctness: do the outputs agree? --------------------------------------

status=0
verbose_differs=0
if [[ -n $BPFTRACE ]]; then
	echo "-- output checks --"
	"$PROBEDEX" list "$PATTERN" >"$tmp/pd.list" 2>"$tmp/pd.err" ||
		die 1 "probedex list '$PATTERN' failed: $(tail -n 5 "$tmp/pd.err")"
	"$BPFTRACE" -l "$PATTERN" >"$tmp/bt.list" 2>"$tmp/bt.err" ||
		die 2 "bpftrace -l '$PATTERN' failed: $(tail -n 5 "$tmp/bt.err")"
	python3 "$tmp/bench.py" names "$tmp/pd.list" "$tmp/bt.list" || status=1

	# -v differences are reported but do not change the exit status.
	"$PROBEDEX" list -v "$PATTERN" >"$tmp/pd.verbose" 2>"$tmp/pd.err" ||
		die 1 "probedex list -v '$PATTERN' failed: $(tail -n 5 "$tmp/pd.err")"
	"$BPFTRACE" -lv "$PATTERN" >"$tmp/bt.verbose" 2>"$tmp/bt.err" ||
		die 2 "bpftrace -lv '$PATTERN' failed: $(tail -n 5 "$tmp/bt.err")"
	python3 "$tmp/bench.py" verbose "$tmp/pd.verbose" "$tmp/bt.verbose" || verbose_differs=1
	echo
fi

# --- benchmark ---------------------------------------------------------------

echo "-- timings (wall = fork to reap; peak RSS = that command's own, from wait4) --"
RUNNER=$RUNNER PROBEDEX=$PROBEDEX BPFTRACE=$BPFTRACE FLOOR=$FLOOR TRACEFS=$TRACEFS \
	PATTERN=$PATTERN ROUNDS=$ROUNDS WARMUP=$WARMUP python3 "$tmp/bench.py" bench ||
	die 1 "benchmark aborted"

if [[ $verbose_differs -ne 0 ]]; then
	echo
	echo "NOTE: probedex list -v does not print what bpftrace -lv prints (see above);" \
		"the -v figures compare unlike work."
fi
if [[ $status -ne 0 ]]; then
	echo
	echo "FAILED: probedex and bpftrace list different tracepoint names;" \
		"these figures are not fit for a closing note."
fi
exit "$status"
