# shellcheck shell=bash
# bench/lib.sh: what the bench/*.sh scripts share. Source it, don't run it:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Messages are prefixed with the calling script's name (tracepoints.sh:,
# kernel.sh:). Nothing here prints to stdout, so a script's report stays
# whatever the script itself prints.

die() { # die CODE MESSAGE...
	local code=$1
	shift
	echo "${0##*/}: $*" >&2
	exit "$code"
}

# bench_peer VAR COMMAND: resolve an optional peer tool (bpftrace, bpftool)
# the way bench/README.md documents it. VAR unset: COMMAND on PATH, or
# empty if there is none. VAR set but empty: do without it. VAR set to
# something that is not executable: exit 2. Also sets VAR_absent to a
# phrase saying why VAR is empty, for the report's header.
bench_peer() {
	local var=$1 command=$2
	if [[ -z ${!var+set} ]]; then
		printf -v "$var" '%s' "$(command -v "$command" || true)"
		printf -v "${var}_absent" '%s' "not found on PATH"
	else
		printf -v "${var}_absent" '%s' "not used ($var is empty)"
		[[ -z ${!var} || -x ${!var} ]] || die 2 "$var=${!var} is not an executable file"
	fi
}

# bench_probedex REPO: set PROBEDEX to the binary under test. A PROBEDEX
# the user gave is resolved against their directory (a bare name on PATH);
# unset means REPO/target/release/probedex, built if it is missing (not if
# it is stale).
bench_probedex() {
	local repo=$1 found
	if [[ -n ${PROBEDEX:-} ]]; then
		if [[ $PROBEDEX != */* ]]; then
			found=$(command -v "$PROBEDEX") || die 2 "PROBEDEX: '$PROBEDEX' not found on PATH"
			PROBEDEX=$found
		fi
		PROBEDEX=$(realpath -m -- "$PROBEDEX")
		[[ -x $PROBEDEX ]] || die 2 "PROBEDEX=$PROBEDEX is not an executable file"
	else
		PROBEDEX=$repo/target/release/probedex
		if [[ ! -x $PROBEDEX ]]; then
			echo "probedex not built yet: running cargo build --release in $repo" >&2
			(cd "$repo" && cargo build --release >&2) || die 2 "cargo build --release failed"
			[[ -x $PROBEDEX ]] || die 2 "build finished but $PROBEDEX is missing"
		fi
	fi
}

# bench_rounds: check ROUNDS and WARMUP (defaults 15 and 2).
bench_rounds() {
	ROUNDS=${ROUNDS:-15}
	WARMUP=${WARMUP:-2}
	[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die 2 "ROUNDS must be a positive integer, got '$ROUNDS'"
	[[ $WARMUP =~ ^[0-9]+$ ]] || die 2 "WARMUP must be a non-negative integer, got '$WARMUP'"
}

version_of() { # first line of `CMD --version`, or a note if that fails
	local v
	v=$("$1" --version 2>&1 | head -n 1) || true
	echo "${v:-(--version printed nothing)}"
}

# bench_runner DIR: compile the runner into DIR/runner and set RUNNER.
#
# The runner measures exactly one command: `runner CMD ARG...` prints
# "WALL_NS MAXRSS_KIB EXIT". It points the command's stdin and stdout at
# /dev/null, takes CLOCK_MONOTONIC from just before fork to just after
# wait4, and reads the child's own peak RSS from wait4's rusage. EXIT is the
# exit code, or 128 + the signal that killed it. It is linked statically
# when libc.a is available so that its own tiny address space, which the
# kernel folds into the child's ru_maxrss at exec, stays far below
# anything measured. (Python cannot be the measured command's parent for
# that reason: every child of a Python process reports at least Python's
# ~14 MiB.)
bench_runner() {
	local dir=$1
	cat >"$dir/runner.c" <<'EOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status, code, devnull;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: runner COMMAND [ARG...]\n");
		return 2;
	}
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0) {
		perror("runner: /dev/null");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("runner: fork");
		return 2;
	}
	if (pid == 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		execvp(argv[1], argv + 1);
		perror("runner: exec");
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("runner: wait4");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	printf("%lld %ld %d\n",
	       (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec),
	       ru.ru_maxrss, code);
	return 0;
}
EOF
	RUNNER=$dir/runner
	gcc -O2 -static -o "$RUNNER" "$dir/runner.c" 2>/dev/null ||
		gcc -O2 -o "$RUNNER" "$dir/runner.c" || die 2 "could not compile the runner"
}
