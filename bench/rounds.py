"""The measuring half shared by bench/kernel.sh and bench/user.sh.

Each script writes its own checks (which outputs must agree, which bars
apply) and hands the contenders it wants timed to `timed_rounds`, then prints
them with `timings_table`. A contender is (key, label, argv, role); only key,
label and argv are read here.

The runner (bench/lib.sh: bench_runner) forks, execs argv with stdout to
/dev/null, and prints "wall-ns peak-rss-kib exit-code".
"""
import signal
import statistics
import subprocess
import sys


def how_it_ended(code):
    """'exit N' or 'killed by SIGNAME' from a subprocess returncode."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


def run_once(runner, argv, who):
    """One measured run: (wall ns, peak RSS KiB, exit code, its stderr)."""
    p = subprocess.run([runner, *argv], capture_output=True, text=True)
    if p.returncode != 0 or len(p.stdout.split()) != 3:
        sys.exit(f"{who}: runner failed for {argv}: {p.stderr.strip()}")
    ns, rss, code = (int(x) for x in p.stdout.split())
    return ns, rss, code, p.stderr


def timed_rounds(timed, runner, warmup, rounds, who, summary):
    """Run every contender in `timed` `warmup` times unrecorded, then `rounds`
    times recorded. Returns (samples, lost): key -> [(ns, rss)], and key ->
    why it stopped being timed (its first failing run; `summary` picks the
    line of stderr worth showing)."""
    samples = {key: [] for key, _, _, _ in timed}
    lost = {}

    def one(key, argv, when, keep=True):
        if key in lost:
            return
        ns, rss, code, err = run_once(runner, argv, who)
        if code != 0:
            # The runner reports death by signal N as 128 + N, like a shell.
            ended = how_it_ended(code if code < 128 else -(code - 128))
            lost[key] = f"{ended} {when}" + (f": {summary(err)}" if summary(err) else "")
        elif keep:
            samples[key].append((ns, rss))

    for w in range(warmup):
        for key, _, argv, _ in timed:
            one(key, argv, f"in warm-up run {w + 1}", keep=False)
    # Every round runs every contender once; the order rotates by one each
    # round and is reversed on odd rounds (as bench/tracepoints.sh does).
    n = len(timed)
    for r in range(rounds):
        order = timed[r % n:] + timed[:r % n] if n else []
        if r % 2:
            order.reverse()
        for key, _, argv, _ in order:
            one(key, argv, f"in round {r + 1}")
    return samples, lost


def timings_table(shown, samples, why_not):
    """Print median/min wall time and median peak RSS for each contender in
    `shown`; one in `why_not` (key -> reason) is printed FAILED instead.
    Returns key -> {"med", "min", "rss"} for those that have figures."""
    print("-- timings (wall = fork to reap; peak RSS = that command's own, from wait4) --")
    w = max(len(label) for _, label, _, _ in shown)
    print(f"{'contender':<{w}}  {'median ms':>10}  {'min ms':>9}  {'median peak RSS KiB':>19}")
    stats = {}
    for key, label, _, _ in shown:
        why = why_not.get(key)
        if why:
            print(f"{label:<{w}}  {'FAILED':>10}  {'-':>9}  {'-':>19}  ({why})")
            continue
        wall = [ns / 1e6 for ns, _ in samples[key]]
        rss = [kib for _, kib in samples[key]]
        stats[key] = {"med": statistics.median(wall), "min": min(wall),
                      "rss": statistics.median(rss)}
        s = stats[key]
        print(f"{label:<{w}}  {s['med']:>10.2f}  {s['min']:>9.2f}  {s['rss']:>19,.0f}")
    print()
    return stats
