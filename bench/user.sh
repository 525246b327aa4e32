#!/usr/bin/env bash
# bench/user.sh: benchmark probedex's user-space listings (uprobe, usdt)
# against bpftrace, and check that the two print the same names.
#
# What runs (one interleaved run, every contender in every round):
#   probedex list 'uprobe:NODE:*'           vs  bpftrace -l 'uprobe:NODE:*'
#   probedex list "usdt:$LIBJVM:*"          vs  bpftrace -l "usdt:$LIBJVM:*"
#   probedex list -v 'uprobe:NODE:uv_fs_open'
#                                           vs  bpftrace -lv 'uprobe:NODE:uv_fs_open'
# Output checks: the uprobe names (bpftrace also lists undefined symbols
# whose value is a PLT address, which probedex leaves out on purpose; the
# script checks each such name against `readelf -sW`), the usdt names
# (probedex, bpftrace and `readelf -n` must give one set), and the -v
# parameter lines (a difference is a NOTE).
# Bars (see bench/README.md): each list >= 5x faster than bpftrace; the
# uprobe list also at most 1/3 of bpftrace's peak RSS.
#
# Usage:   sudo bench/user.sh            (from anywhere)
# Env:     ROUNDS=15      measured rounds (each contender once per round)
#          WARMUP=2       unmeasured warm-up runs of each contender first
#          PROBEDEX=path  binary to test (default: target/release/probedex,
#                         built with `cargo build --release` if missing)
#          BPFTRACE=path  bpftrace to compare with (default: the one on PATH;
#                         empty or missing = probedex rows only, no name
#                         comparison with bpftrace)
#          NODE=path      ELF for the uprobe rows (default: /usr/bin/node)
#          LIBJVM=path    ELF for the usdt rows (default: the first
#                         /usr/lib/jvm/java-17-openjdk-*/lib/server/libjvm.so)
# Exit:    0 ran: every command exited 0 and printed something, and the
#            names agree (beyond the PLT symbols probedex omits on purpose)
#          1 a contender FAILED (non-zero exit or no output), or names differ
#          2 cannot run here (not root, no NODE/LIBJVM, build failed, bad env)
#
# The report goes to stdout; build noise goes to stderr. The measuring is
# bench/tracepoints.sh's: bench/lib.sh's C runner times one command from
# fork to reap and reads its own peak RSS from wait4(); bench/rounds.py runs
# the rounds and does the statistics.

set -euo pipefail
export LC_ALL=C

FUNC=uv_fs_open # the one function NODE's -v rows look at

# die, version_of, the runner, and the PROBEDEX/BPFTRACE/ROUNDS rules.
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- preconditions -----------------------------------------------------------

[[ $EUID -eq 0 ]] || die 2 "must run as root (bpftrace needs it); try: sudo $0"

bench_rounds
command -v python3 >/dev/null || die 2 "python3 is required"
command -v gcc >/dev/null || die 2 "gcc is required (to build the runner)"
command -v readelf >/dev/null || die 2 "readelf is required (binutils), for the name checks"

NODE=${NODE:-/usr/bin/node}
[[ -f $NODE && -r $NODE ]] || die 2 "NODE=$NODE is not a readable file (apt-get install nodejs, or set NODE)"
if [[ -z ${LIBJVM:-} ]]; then
	for LIBJVM in /usr/lib/jvm/java-17-openjdk-*/lib/server/libjvm.so; do
		[[ -f $LIBJVM ]] && break
	done
	[[ -f $LIBJVM ]] || die 2 "no /usr/lib/jvm/java-17-openjdk-*/lib/server/libjvm.so" \
		"(apt-get install openjdk-17-jre-headless, or set LIBJVM)"
fi
[[ -f $LIBJVM && -r $LIBJVM ]] || die 2 "LIBJVM=$LIBJVM is not a readable file"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_peer BPFTRACE bpftrace
bench_probedex "$repo"

tmp=$(mktemp -d -t probedex-bench.XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT

# A peer that crashes leaves no core file behind.
ulimit -c 0

bench_runner "$tmp" # sets RUNNER

# What the name checks compare against: every symbol of NODE (with the
# section table, to tell a PLT address), and every USDT note of LIBJVM.
readelf -sW "$NODE" >"$tmp/node.syms" 2>"$tmp/readelf.err" ||
	die 2 "readelf -sW $NODE failed: $(tail -n 1 "$tmp/readelf.err")"
readelf -SW "$NODE" >"$tmp/node.sections" 2>"$tmp/readelf.err" ||
	die 2 "readelf -SW $NODE failed: $(tail -n 1 "$tmp/readelf.err")"
readelf -nW "$LIBJVM" >"$tmp/jvm.notes" 2>"$tmp/readelf.err" ||
	die 2 "readelf -nW $LIBJVM failed: $(tail -n 1 "$tmp/readelf.err")"

# --- the Python half: output checks, rounds, statistics ----------------------

cat >"$tmp/bench.py" <<'EOF'
"""Checks and benchmark for bench/user.sh (configuration from the environment).

python3 bench.py   -> prints the report from "-- outputs --" on; exit 0 or 1
"""
import difflib
import os
import re
import subprocess
import sys

import rounds
from rounds import how_it_ended

env = os.environ
RUNNER, PD, BPFTRACE = env["RUNNER"], env["PROBEDEX"], env.get("BPFTRACE", "")
NODE, LIBJVM, FUNC = env["NODE"], env["LIBJVM"], env["FUNC"]
NODE_SYMS, NODE_SECTIONS, JVM_NOTES = env["NODE_SYMS"], env["NODE_SECTIONS"], env["JVM_NOTES"]
ROUNDS, WARMUP = int(env["ROUNDS"]), int(env["WARMUP"])
CHECK_TIMEOUT = 300  # seconds for one output-check run
SHOW = 5  # how many differences to print

NODE_ALL, JVM_ALL = f"uprobe:{NODE}:*", f"usdt:{LIBJVM}:*"
NODE_FUNC = f"uprobe:{NODE}:{FUNC}"
# (key, label, argv, is probedex). The argv goes to exec as it is: no shell
# ever sees a path, so any character in it reaches both tools unchanged.
CONTENDERS = [
    ("pd_uprobe", f"probedex list '{NODE_ALL}'", [PD, "list", NODE_ALL], True),
    ("bt_uprobe", f"bpftrace -l '{NODE_ALL}'", [BPFTRACE, "-l", NODE_ALL], False),
    ("pd_usdt", 'probedex list "usdt:$LIBJVM:*"', [PD, "list", JVM_ALL], True),
    ("bt_usdt", 'bpftrace -l "usdt:$LIBJVM:*"', [BPFTRACE, "-l", JVM_ALL], False),
    ("pd_v", f"probedex list -v '{NODE_FUNC}'", [PD, "list", "-v", NODE_FUNC], True),
    ("bt_v", f"bpftrace -lv '{NODE_FUNC}'", [BPFTRACE, "-lv", NODE_FUNC], False),
]
# Without bpftrace its rows are left out.
CONTENDERS = [c for c in CONTENDERS if c[2][0]]
LABEL = {key: label for key, label, _, _ in CONTENDERS}


def err_line(text):
    """The line of stderr that says what went wrong: the first ERROR/FATAL
    line (bpftrace follows its errors with the source line and ~~~~), else
    the last line."""
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    for l in lines:
        if "ERROR" in l or "FATAL" in l:
            return l[:160]
    return lines[-1][:160] if lines else ""


def first(items, n=SHOW):
    items = list(items)
    more = f" ... (+{len(items) - n} more)" if len(items) > n else ""
    return ", ".join(items[:n]) + more


def without(prefix, names):
    """NAMES with PREFIX cut off the ones that start with it."""
    return [n[len(prefix):] if n.startswith(prefix) else n for n in names]


def check(argv):
    """Run once with stdout captured: (returncode or None on timeout, stdout, stderr)."""
    try:
        p = subprocess.run(argv, capture_output=True, timeout=CHECK_TIMEOUT,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None, "", f"no result after {CHECK_TIMEOUT} s"
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


# --- what readelf says ---------------------------------------------------------

def plt_ranges():
    """[(name, start, end)] of NODE's .plt* sections, from readelf -SW."""
    out = []
    for line in open(NODE_SECTIONS, encoding="utf-8", errors="replace"):
        if "]" not in line:
            continue
        f = line.split("]", 1)[1].split()
        if len(f) >= 5 and f[0].startswith(".plt"):
            try:
                start, size = int(f[2], 16), int(f[4], 16)
            except ValueError:
                continue
            out.append((f[0], start, start + size))
    return out


def node_symbols():
    """{name: [(value, ndx)]} from readelf -sW, under the names a lister
    prints. In .dynsym readelf appends the symbol version (name@VER (n),
    name@@VER), which is not part of the name; in .symtab an '@' is part
    of the name itself."""
    syms, table = {}, None
    for line in open(NODE_SYMS, encoding="utf-8", errors="replace"):
        if line.startswith("Symbol table '"):
            table = line.split("'")[1]
            continue
        f = line.split()
        if len(f) < 8 or not f[0].endswith(":") or not f[0][:-1].isdigit():
            continue
        name = f[7].split("@")[0] if table == ".dynsym" else f[7]
        syms.setdefault(name, []).append((int(f[1], 16), f[6]))
    return syms


def jvm_notes():
    """(number of stapsdt notes, set of usdt:LIBJVM:PROVIDER:NAME) from readelf -n."""
    text = open(JVM_NOTES, encoding="utf-8", errors="replace").read()
    pairs = re.findall(r"Provider: (\S+)\s+Name: (\S+)", text)
    return text.count("NT_STAPSDT"), {f"usdt:{LIBJVM}:{p}:{n}" for p, n in pairs}


# --- output checks ---------------------------------------------------------------

def lines_of(out):
    return [l for l in out.splitlines() if l.strip()]


def set_notes(lines, what):
    s = set(lines)
    notes = []
    if len(lines) != len(s):
        notes.append(f"{len(lines) - len(s)} duplicate lines in {what}")
    return s, notes


def compare(tag, pd_lines, bt_lines, prefix=""):
    """Print how the two name sets compare; the first few differences are
    shown without PREFIX. Returns (only in probedex, only in bpftrace),
    both sorted."""
    spd, notes = set_notes(pd_lines, "probedex")
    sbt, more = set_notes(bt_lines, "bpftrace")
    notes += more
    if spd == sbt and pd_lines != bt_lines and not notes:
        notes.append("same names, different order")
    note = f"  [note: {'; '.join(notes)}]" if notes else ""
    if spd == sbt:
        print(f"{tag}identical ({len(spd)}){note}")
        return [], []
    only_pd, only_bt = sorted(spd - sbt), sorted(sbt - spd)
    print(f"{tag}DIFFER: probedex {len(spd)}, bpftrace {len(sbt)}, "
          f"common {len(spd & sbt)}{note}")
    shown = f", shown without '{prefix}'" if prefix else ""
    if only_pd:
        print(f"  only in probedex ({len(only_pd)}{shown}): {first(without(prefix, only_pd))}")
    if only_bt:
        print(f"  only in bpftrace ({len(only_bt)}{shown}): {first(without(prefix, only_bt))}")
    return only_pd, only_bt


def uprobe_names(pd_out, bt_out):
    """Names from both; bpftrace-only names are explained if every one is
    an undefined symbol whose value lies in a .plt* section. Returns True
    if the names agree beyond that."""
    prefix = f"uprobe:{NODE}:"
    only_pd, only_bt = compare("uprobe names: ", lines_of(pd_out), lines_of(bt_out), prefix)
    if not only_bt:
        return not only_pd
    syms, plts = node_symbols(), plt_ranges()
    kinds = {}  # kind -> [names]
    for probe in only_bt:
        name = probe[len(prefix):] if probe.startswith(prefix) else probe
        entries = syms.get(name)
        if not entries:
            kind = "not in readelf -sW"
        elif any(ndx != "UND" for _, ndx in entries):
            kind = "defined (not UND)"
        elif any(v == 0 for v, _ in entries):
            kind = "UND with value 0"
        elif all(any(a <= v < b for _, a, b in plts) for v, _ in entries):
            kind = "UND, value in .plt"
        else:
            kind = "UND, value outside .plt"
        kinds.setdefault(kind, []).append(name)
    plt = " ".join(f"{n} {a:#x}-{b:#x}" for n, a, b in plts) or "no .plt* section"
    if list(kinds) == ["UND, value in .plt"]:
        versioned = sum("@" in n for n in kinds["UND, value in .plt"])
        print(f"  readelf -sW: all {len(only_bt)} bpftrace-only names are UND with a value in "
              f"the PLT ({plt}), {versioned} of them .symtab names with @@VERSION: "
              "the PLT stubs probedex leaves out on purpose")
        return not only_pd
    print(f"  readelf -sW on the {len(only_bt)} bpftrace-only names ({plt}):")
    for kind, names in sorted(kinds.items()):
        print(f"    {kind}: {len(names)}: {first(names)}")
    return False


def usdt_names(pd_out, bt_out):
    """probedex, bpftrace (if there) and readelf -n must give one set."""
    notes, elf = jvm_notes()
    pd = lines_of(pd_out)
    ok, prefix = True, f"usdt:{LIBJVM}:"
    if bt_out is not None:
        only_pd, only_bt = compare("usdt names  : ", pd, lines_of(bt_out), prefix)
        ok = not only_pd and not only_bt
    else:
        print(f"usdt names  : probedex {len(set(pd))}, checked against readelf -n only ("
              + ("bpftrace FAILED" if BPFTRACE else "no bpftrace") + ")")
    spd = set(pd)
    if spd == elf:
        print(f"  readelf -n: {notes} stapsdt notes, {len(elf)} provider:name pairs, "
              "the same set as probedex")
    else:
        print(f"  readelf -n: {notes} stapsdt notes, {len(elf)} provider:name pairs; "
              f"probedex DIFFERS: {len(spd - elf)} only in probedex, "
              f"{len(elf - spd)} only in readelf")
        if spd - elf:
            print(f"    only in probedex: {first(without(prefix, sorted(spd - elf)))}")
        if elf - spd:
            print(f"    only in readelf: {first(without(prefix, sorted(elf - spd)))}")
        ok = False
    return ok


def blocks(text):
    """{probe line: [the lines under it]}; a probe line starts in column 0."""
    out, cur = {}, ""
    for line in text.splitlines():
        if line and not line[0].isspace():
            cur = line
            out.setdefault(cur, [])
        else:
            out.setdefault(cur, []).append(line)
    return out


def verbose(pd_out, bt_out):
    """The parameter lines of NODE_FUNC. Returns True if identical."""
    if pd_out == bt_out:
        n = len(blocks(bt_out).get(NODE_FUNC, []))
        print(f"-v          : identical ({n} parameter lines)")
        return True
    pd, bt = blocks(pd_out).get(NODE_FUNC), blocks(bt_out).get(NODE_FUNC)
    if pd is None or bt is None:
        print(f"-v          : DIFFER: {NODE_FUNC} is only printed by "
              + ("bpftrace" if pd is None else "probedex"))
        return False
    if pd == bt:
        print(f"-v          : DIFFER in layout only (the same {len(bt)} parameter lines)")
        return False
    print(f"-v          : DIFFER: probedex prints {len(pd)} parameter lines, "
          f"bpftrace {len(bt)}:")
    diff = difflib.unified_diff(bt, pd, "bpftrace", "probedex", lineterm="", n=0)
    for line in [d for d in diff if not d.startswith("@@")][:12]:
        print(f"      {line}")
    return False


def outputs():
    """Run each command once and compare. Returns ({key: failure reason or
    None}, names agree, -v agrees)."""
    print("-- outputs (each command once, stdout captured) --")
    failed, rows, out = {}, [], {}
    for key, label, argv, _ in CONTENDERS:
        code, stdout, err = check(argv)
        status = err if code is None else how_it_ended(code)
        reason = None
        if code != 0:
            reason = status
        elif not stdout.strip():
            reason = "exit 0 but printed nothing"
        if reason:
            result = f"FAILED: {reason}" + (f": {err_line(err)}" if code is not None
                                             and err_line(err) else "")
        else:
            result = status + (f"; stderr: {err_line(err)}" if err_line(err) else "")
        rows.append((label, "-" if code is None else f"{len(stdout.splitlines()):,}", result))
        failed[key] = reason
        out[key] = stdout
    w = max(len(r[0]) for r in rows)
    wl = max(len("lines"), *(len(r[1]) for r in rows))
    print(f"{'command':<{w}}  {'lines':>{wl}}  result")
    for label, lines, result in rows:
        print(f"{label:<{w}}  {lines:>{wl}}  {result}")
    print()

    def usable(*keys):
        return all(k in failed and not failed[k] for k in keys)

    def who_failed(*keys):
        return " and ".join(LABEL[k].split()[0] for k in keys if failed.get(k)) + " FAILED"

    names_ok, verbose_ok = True, True
    if not BPFTRACE:
        print("uprobe names: not compared (no bpftrace)")
    elif usable("pd_uprobe", "bt_uprobe"):
        names_ok &= uprobe_names(out["pd_uprobe"], out["bt_uprobe"])
    else:
        print(f"uprobe names: not compared ({who_failed('pd_uprobe', 'bt_uprobe')})")
    if usable("pd_usdt"):
        names_ok &= usdt_names(out["pd_usdt"],
                               out["bt_usdt"] if usable("bt_usdt") else None)
    else:
        print("usdt names  : not compared (probedex FAILED)")
    if not BPFTRACE:
        print("-v          : not compared (no bpftrace)")
    elif usable("pd_v", "bt_v"):
        verbose_ok = verbose(out["pd_v"], out["bt_v"])
    else:
        print(f"-v          : not compared ({who_failed('pd_v', 'bt_v')})")
    print()
    return failed, names_ok, verbose_ok


# --- benchmark -------------------------------------------------------------------

def bench(failed):
    timed = [c for c in CONTENDERS if not failed[c[0]]]
    samples, lost = rounds.timed_rounds(timed, RUNNER, WARMUP, ROUNDS, "user.sh", err_line)
    shown = CONTENDERS
    why_not = {key: failed.get(key) or lost.get(key) for key, _, _, _ in shown}
    stats = rounds.timings_table(shown, samples, why_not)
    return stats, lost


def ratios(stats):
    """The bars. A contender that failed makes its rows FAILED, not a number."""
    rows = []  # (what, by median, by min, bar, verdict)

    def ratio(what, num, den, bar, ok, key="time"):
        gone = [k for k in (num, den) if k not in stats]
        if gone:
            if not BPFTRACE:
                rows.append((what, "-", "-", bar, "n/a (no bpftrace)"))
            else:
                rows.append((what, "-", "-", bar,
                             "FAILED (" + "; ".join(LABEL[k] for k in gone) + ")"))
            return
        a, b = stats[num], stats[den]
        if key == "rss":
            x = a["rss"] / b["rss"]
            verdict = "-" if ok is None else ("ok" if ok(x) else "MISSED")
            rows.append((what, f"{x:.2f}x", "-", bar, verdict))
            return
        med, mn = a["med"] / b["med"], a["min"] / b["min"]
        verdict = "-" if ok is None else ("ok" if ok(med) else "MISSED")
        rows.append((what, f"{med:.2f}x", f"{mn:.2f}x", bar, verdict))

    ratio("uprobe list: bpftrace / probedex, time", "bt_uprobe", "pd_uprobe", ">= 5x",
          lambda x: x >= 5)
    ratio("uprobe list: probedex / bpftrace, peak RSS", "pd_uprobe", "bt_uprobe", "<= 1/3",
          lambda x: 3 * x <= 1, key="rss")
    ratio("usdt list: bpftrace / probedex, time", "bt_usdt", "pd_usdt", ">= 5x",
          lambda x: x >= 5)
    ratio("usdt list: probedex / bpftrace, peak RSS", "pd_usdt", "bt_usdt", "-", None,
          key="rss")
    ratio("uprobe -v: bpftrace / probedex, time", "bt_v", "pd_v", ">= 5x", lambda x: x >= 5)
    ratio("uprobe -v: probedex / bpftrace, peak RSS", "pd_v", "bt_v", "-", None, key="rss")

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
    failed, names_ok, verbose_ok = outputs()
    stats, lost = bench(failed)
    ratios(stats)
    status = 0
    if not verbose_ok:
        print(f"\nNOTE: probedex list -v does not print what bpftrace -lv prints for {FUNC}"
              " (see above); the -v figures compare unlike work.")
    broken = [LABEL[k] for k, _, _, _ in CONTENDERS if failed[k] or k in lost]
    if broken:
        print(f"\nFAILED: {len(broken)} command(s) did not run cleanly: "
              + "; ".join(broken) + ". No figures for them.")
        status = 1
    if not names_ok:
        print("\nFAILED: the probe names differ (see above, beyond the PLT symbols probedex "
              "leaves out); these figures are not fit for a closing note.")
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
EOF

# --- header: machine, versions, inputs ---------------------------------------

pkg_of() { # "package version" that owns FILE, or nothing
	local pkg
	pkg=$(dpkg-query -S "$(realpath -- "$1")" 2>/dev/null | head -n 1) || return 0
	pkg=${pkg%%:*}
	[[ -n $pkg ]] && echo "$pkg $(dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null)"
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
node_pkg=$(pkg_of "$NODE")
jvm_pkg=$(pkg_of "$LIBJVM")
symtab=$(sed -n "s/^Symbol table '.symtab' contains \([0-9]*\) entries:/\1/p" "$tmp/node.syms")
dynsym=$(sed -n "s/^Symbol table '.dynsym' contains \([0-9]*\) entries:/\1/p" "$tmp/node.syms")
notes=$(grep -c 'NT_STAPSDT' "$tmp/jvm.notes" || true)
pairs=$(awk '$1 == "Provider:" { p = $2 } $1 == "Name:" { print p ":" $2 }' "$tmp/jvm.notes" |
	sort -u | wc -l)
sems=$(grep -o 'Semaphore: 0x[0-9a-f]*' "$tmp/jvm.notes" | grep -vc 'Semaphore: 0x0*$' || true)

echo "== probedex user-space (uprobe, usdt) benchmark =="
echo "machine : $(uname -s) $(uname -r), nproc $(nproc)${cpu:+, $cpu}"
echo "probedex: $(version_of "$PROBEDEX")  ($PROBEDEX)"
if [[ -n $BPFTRACE ]]; then
	echo "bpftrace: $(version_of "$BPFTRACE")  ($BPFTRACE)"
else
	# shellcheck disable=SC2154 # BPFTRACE_absent is set by bench_peer
	echo "bpftrace: $BPFTRACE_absent: probedex rows only, no comparison with bpftrace"
fi
echo "NODE    : $NODE${node_pkg:+ ($node_pkg)}, $(stat -L -c %s "$NODE") bytes," \
	".symtab ${symtab:-0} + .dynsym ${dynsym:-0} symbols; -v looks at $FUNC"
echo "LIBJVM  : $LIBJVM${jvm_pkg:+ ($jvm_pkg)}, $(stat -L -c %s "$LIBJVM") bytes," \
	"$notes stapsdt notes, $pairs provider:name, $sems with a semaphore"
echo "runs    : $ROUNDS rounds, every contender once per round in rotating order," \
	"after $WARMUP warm-up run(s) each; stdout to /dev/null"
echo

# --- outputs, timings, ratios ------------------------------------------------

status=0
RUNNER=$RUNNER PROBEDEX=$PROBEDEX BPFTRACE=$BPFTRACE NODE=$NODE LIBJVM=$LIBJVM FUNC=$FUNC \
	NODE_SYMS=$tmp/node.syms NODE_SECTIONS=$tmp/node.sections JVM_NOTES=$tmp/jvm.notes \
	ROUNDS=$ROUNDS WARMUP=$WARMUP PYTHONPATH=$repo/bench python3 "$tmp/bench.py" || status=$?
[[ $status -le 1 ]] || die 2 "the benchmark itself failed (exit $status)"
exit "$status"
