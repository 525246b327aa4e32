#!/usr/bin/env bash
# bench/kernel.sh: benchmark probedex's kernel-function listings (fentry,
# kprobe, rawtracepoint) against the tools and floors that do the same work.
#
# What runs (one interleaved run, every timed contender in every round):
#   probedex list -v 'fentry:*'          vs  bpftool btf dump file
#                                            /sys/kernel/btf/vmlinux format c
#   probedex list 'kprobe:*'             vs  floor: a C program that reads
#                                            /proc/kallsyms to EOF
#                                        and bpftrace -l 'kprobe:*' (reference)
#   probedex list 'rawtracepoint:*'      (reference)
#   probedex list -v 'rawtracepoint:*'   (reference)
# bpftrace -l / -lv 'rawtracepoint:*' are run once to record what they do
# (bpftrace 0.17 aborts on both); they are not timed.
# Bars (see bench/README.md): fentry -v under 150 ms and faster than
# bpftool; kprobe within 1.5x of the floor.
#
# Usage:   sudo bench/kernel.sh            (from anywhere)
# Env:     ROUNDS=15      measured rounds (each contender once per round)
#          WARMUP=2       unmeasured warm-up runs of each contender first
#          PROBEDEX=path  binary to test (default: target/release/probedex,
#                         built with `cargo build --release` if missing)
#          BPFTOOL=path   bpftool to compare with (default: the one on PATH;
#                         empty or missing = no fentry peer)
#          BPFTRACE=path  bpftrace for reference (default: the one on PATH;
#                         empty or missing = no bpftrace rows)
# Exit:    0 ran, and every probedex command printed something and exited 0
#          1 a probedex command FAILED (non-zero exit, or no output)
#          2 cannot run here (not root, no BTF, build failed, bad env)
#
# The report goes to stdout; build noise goes to stderr. The measuring is
# bench/tracepoints.sh's: bench/lib.sh's C runner times one command from
# fork to reap and reads its own peak RSS from wait4(); bench/rounds.py runs
# the rounds and does the statistics.

set -euo pipefail
export LC_ALL=C

BTF=/sys/kernel/btf/vmlinux
KALLSYMS=/proc/kallsyms

# die, version_of, the runner, and the PROBEDEX/BPFTRACE/ROUNDS rules.
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- preconditions -----------------------------------------------------------

[[ $EUID -eq 0 ]] || die 2 "must run as root (/proc/kallsyms hides addresses and bpftrace needs root otherwise); try: sudo $0"

bench_rounds
command -v python3 >/dev/null || die 2 "python3 is required"
command -v gcc >/dev/null || die 2 "gcc is required (to build the floor and the runner)"
[[ -r $BTF ]] || die 2 "$BTF is not readable: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF)"
[[ -r $KALLSYMS ]] || die 2 "$KALLSYMS is not readable"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_peer BPFTOOL bpftool
bench_peer BPFTRACE bpftrace
bench_probedex "$repo"

tmp=$(mktemp -d -t probedex-bench.XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT

# bpftrace 0.17 aborts (SIGABRT) on rawtracepoint listings: no core files.
ulimit -c 0

# --- helper programs ---------------------------------------------------------

# The floor: read /proc/kallsyms to EOF into a 64 KiB buffer and print the
# byte count. That is the kernel's own cost for the file every kprobe
# lister must read (kallsyms formats each line on read). Linked like
# probedex (dynamically, -O2).
cat >"$tmp/floor.c" <<'EOF'
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char buf[64 * 1024];
	long long bytes = 0;
	ssize_t n;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: floor FILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	while ((n = read(fd, buf, sizeof buf)) > 0)
		bytes += n;
	if (n < 0) {
		perror(argv[1]);
		return 1;
	}
	close(fd);
	printf("%lld\n", bytes);
	return 0;
}
EOF

FLOOR=$tmp/floor
gcc -O2 -o "$FLOOR" "$tmp/floor.c" || die 2 "could not compile the floor program"
bench_runner "$tmp" # sets RUNNER

# --- the Python half: output checks, rounds, statistics ----------------------

cat >"$tmp/bench.py" <<'EOF'
"""Checks and benchmark for bench/kernel.sh (configuration from the environment).

python3 bench.py   -> prints the report from "-- outputs --" on; exit 0 or 1
"""
import os
import subprocess
import sys

import rounds
from rounds import how_it_ended

env = os.environ
RUNNER, PD, FLOOR = env["RUNNER"], env["PROBEDEX"], env["FLOOR"]
BPFTOOL, BPFTRACE = env.get("BPFTOOL", ""), env.get("BPFTRACE", "")
BTF, KALLSYMS = env["BTF"], env["KALLSYMS"]
ROUNDS, WARMUP = int(env["ROUNDS"]), int(env["WARMUP"])
CHECK_TIMEOUT = 300  # seconds for one output-check run

# role: "probedex" must work (else FAILED, exit 1); "peer" is compared
# against; "reference" is only shown; "record" is run once, never timed.
CONTENDERS = [
    ("pd_fentry_v", "probedex list -v 'fentry:*'", [PD, "list", "-v", "fentry:*"], "probedex"),
    ("bpftool_c", f"bpftool btf dump file {BTF} format c",
     [BPFTOOL, "btf", "dump", "file", BTF, "format", "c"], "peer"),
    ("pd_kprobe", "probedex list 'kprobe:*'", [PD, "list", "kprobe:*"], "probedex"),
    ("floor", f"floor: C, read {KALLSYMS} to EOF", [FLOOR, KALLSYMS], "peer"),
    ("bt_kprobe", "bpftrace -l 'kprobe:*'", [BPFTRACE, "-l", "kprobe:*"], "reference"),
    ("pd_rawtp", "probedex list 'rawtracepoint:*'", [PD, "list", "rawtracepoint:*"], "probedex"),
    ("pd_rawtp_v", "probedex list -v 'rawtracepoint:*'",
     [PD, "list", "-v", "rawtracepoint:*"], "probedex"),
    ("bt_rawtp", "bpftrace -l 'rawtracepoint:*'", [BPFTRACE, "-l", "rawtracepoint:*"], "record"),
    ("bt_rawtp_v", "bpftrace -lv 'rawtracepoint:*'", [BPFTRACE, "-lv", "rawtracepoint:*"],
     "record"),
]
# A peer or reference whose tool is not there is left out.
CONTENDERS = [c for c in CONTENDERS if c[2][0]]
LABEL = {key: label for key, label, _, _ in CONTENDERS}
PEER_TOOL = {"bpftool_c": "bpftool", "bt_kprobe": "bpftrace"}


def last_line(text):
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    return lines[-1][:160] if lines else ""


def check(argv):
    """Run once with stdout captured: (returncode or None on timeout,
    stdout lines, probe lines, stdout, stderr)."""
    try:
        p = subprocess.run(argv, capture_output=True, timeout=CHECK_TIMEOUT,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None, 0, 0, "", f"no result after {CHECK_TIMEOUT} s"
    out = p.stdout.decode("utf-8", "replace")
    lines = out.splitlines()
    # A probe line starts in column 0 (`-v` indents the details under it).
    probes = sum(1 for l in lines if l and not l[0].isspace())
    return p.returncode, len(lines), probes, out, p.stderr.decode("utf-8", "replace")


def outputs():
    """The output checks. Returns {key: failure reason or None}."""
    print("-- outputs (each command once, stdout captured) --")
    failed, rows = {}, []
    for key, label, argv, role in CONTENDERS:
        code, nlines, nprobes, out, err = check(argv)
        status = err if code is None else how_it_ended(code)
        reason = None
        if code != 0:
            reason = status
        elif role == "probedex" and nlines == 0:
            reason = "exit 0 but printed nothing"
        if reason:
            result = f"FAILED: {reason}" + (f": {last_line(err)}" if last_line(err) else "")
        elif key == "floor":
            result = f"{status}, read {int(out.split()[0]):,} bytes"
        else:
            result = status + (f"; stderr: {last_line(err)}" if last_line(err) else "")
        if role == "record":
            result += " [not timed]"
        lines = "-" if key == "floor" or code is None else f"{nlines:,}"
        probes = f"{nprobes:,}" if role == "probedex" and code is not None else "-"
        rows.append((label, lines, probes, result))
        failed[key] = reason
    w = max(len(r[0]) for r in rows)
    wl = max(len("lines"), *(len(r[1]) for r in rows))
    wp = max(len("probes"), *(len(r[2]) for r in rows))
    print(f"{'command':<{w}}  {'lines':>{wl}}  {'probes':>{wp}}  result")
    for label, lines, probes, result in rows:
        print(f"{label:<{w}}  {lines:>{wl}}  {probes:>{wp}}  {result}")
    print("(probes: lines starting in column 0; -v indents the details under each)")
    print()
    return failed


def bench(failed):
    timed = [c for c in CONTENDERS if c[3] != "record" and not failed[c[0]]]
    samples, lost = rounds.timed_rounds(timed, RUNNER, WARMUP, ROUNDS, "kernel.sh", last_line)
    shown = [c for c in CONTENDERS if c[3] != "record"]
    why_not = {key: failed.get(key) or lost.get(key) for key, _, _, _ in shown}
    stats = rounds.timings_table(shown, samples, why_not)
    return stats, lost


def ratios(stats, failed, lost):
    """The bars. A contender that failed makes its rows FAILED, not a number."""
    def gone(key):
        return key not in stats

    rows = []  # (what, by median, by min, bar, verdict)

    def ratio(what, num, den, bar, ok, key="time"):
        if gone(num) or gone(den):
            who = [LABEL.get(k, k) for k in (num, den) if gone(k)]
            missing = [k for k in (num, den) if k not in LABEL]
            if missing:
                rows.append((what, "-", "-", bar, f"n/a (no {PEER_TOOL[missing[0]]})"))
            else:
                rows.append((what, "-", "-", bar, "FAILED (" + "; ".join(who) + ")"))
            return
        a, b = stats[num], stats[den]
        if key == "rss":
            rows.append((what, f"{a['rss'] / b['rss']:.2f}x", "-", bar, "-"))
            return
        med, mn = a["med"] / b["med"], a["min"] / b["min"]
        verdict = "-" if ok is None else ("ok" if ok(med) else "MISSED")
        rows.append((what, f"{med:.2f}x", f"{mn:.2f}x", bar, verdict))

    if gone("pd_fentry_v"):
        rows.append(("fentry -v: probedex, time", "-", "-", "< 150 ms",
                     f"FAILED ({LABEL['pd_fentry_v']})"))
    else:
        s = stats["pd_fentry_v"]
        rows.append(("fentry -v: probedex, time", f"{s['med']:.1f} ms", f"{s['min']:.1f} ms",
                     "< 150 ms", "ok" if s["med"] < 150 else "MISSED"))
    ratio("fentry -v: bpftool / probedex, time", "bpftool_c", "pd_fentry_v", "> 1x",
          lambda x: x > 1)
    ratio("fentry -v: probedex / bpftool, peak RSS", "pd_fentry_v", "bpftool_c", "-", None,
          key="rss")
    ratio("kprobe: probedex / floor, time", "pd_kprobe", "floor", "<= 1.5x",
          lambda x: x <= 1.5)
    if "bt_kprobe" in LABEL:
        ratio("kprobe: bpftrace / probedex, time", "bt_kprobe", "pd_kprobe", "-", None)

    w = max(len(r[0]) for r in rows)
    print(f"{'ratio':<{w}}  {'by median':>9}  {'by min':>9}  {'bar':>8}  verdict")
    for what, med, mn, bar, verdict in rows:
        print(f"{what:<{w}}  {med:>9}  {mn:>9}  {bar:>8}  {verdict}")
    met = sum(r[4] == "ok" for r in rows)
    missed = sum(r[4] == "MISSED" for r in rows)
    unjudged = sum(r[3] != "-" and r[4].startswith(("FAILED", "n/a")) for r in rows)
    print(f"\nbars: {met} met, {missed} missed, {unjudged} not judged "
          "(verdict from the median ratio)")


def main():
    failed = outputs()
    stats, lost = bench(failed)
    ratios(stats, failed, lost)
    broken = [LABEL[k] for k, _, _, role in CONTENDERS
              if role == "probedex" and (failed[k] or k in lost)]
    if broken:
        print(f"\nFAILED: {len(broken)} probedex command(s) did not run cleanly: "
              + "; ".join(broken) + ". No figures for them.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
EOF

# --- header: machine, versions, inputs ---------------------------------------

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
btf_bytes=$(stat -c %s "$BTF")
read -r kallsyms_bytes < <("$FLOOR" "$KALLSYMS") || die 2 "the floor program failed on $KALLSYMS"
kallsyms_lines=$(wc -l <"$KALLSYMS")
text_syms=$(awk '$2 ~ /^[tTwW]$/' "$KALLSYMS" | wc -l)
modules=$(awk -F'\t' 'NF > 1' "$KALLSYMS" | wc -l)

echo "== probedex kernel-function benchmark =="
echo "machine : $(uname -s) $(uname -r), nproc $(nproc)${cpu:+, $cpu}"
echo "probedex: $(version_of "$PROBEDEX")  ($PROBEDEX)"
# shellcheck disable=SC2154 # BPFTOOL_absent and BPFTRACE_absent are set by bench_peer
{
	if [[ -n $BPFTOOL ]]; then
		echo "bpftool : $(version_of "$BPFTOOL")  ($BPFTOOL)"
	else
		echo "bpftool : $BPFTOOL_absent: fentry -v has no peer"
	fi
	if [[ -n $BPFTRACE ]]; then
		echo "bpftrace: $(version_of "$BPFTRACE")  ($BPFTRACE)"
	else
		echo "bpftrace: $BPFTRACE_absent: no bpftrace rows"
	fi
}
if [[ -n $BPFTOOL ]]; then
	funcs=$("$BPFTOOL" btf dump file "$BTF" format raw | grep -c "] FUNC '" || true)
	echo "BTF     : $BTF, $btf_bytes bytes, $funcs FUNC"
else
	echo "BTF     : $BTF, $btf_bytes bytes"
fi
echo "kallsyms: $KALLSYMS, $kallsyms_lines lines ($kallsyms_bytes bytes), $text_syms text" \
	"symbols (t/T/w/W), $modules with a [module]"
aff=/sys/kernel/tracing/available_filter_functions
# (2> before <: the shell reports a failed redirection on the stderr it has.)
if aff_lines=$(wc -l 2>"$tmp/aff.err" <"$aff"); then
	echo "ftrace  : $aff, $aff_lines functions"
else
	echo "ftrace  : $aff unreadable: $(sed -n '1s/.*: //p' "$tmp/aff.err")"
fi
echo "runs    : $ROUNDS rounds, every timed contender once per round in rotating order," \
	"after $WARMUP warm-up run(s) each; stdout to /dev/null"
echo

# --- outputs, timings, ratios ------------------------------------------------

status=0
RUNNER=$RUNNER PROBEDEX=$PROBEDEX BPFTOOL=$BPFTOOL BPFTRACE=$BPFTRACE FLOOR=$FLOOR \
	BTF=$BTF KALLSYMS=$KALLSYMS ROUNDS=$ROUNDS WARMUP=$WARMUP \
	PYTHONPATH=$repo/bench python3 "$tmp/bench.py" || status=$?
[[ $status -le 1 ]] || die 2 "the benchmark itself failed (exit $status)"
exit "$status"
