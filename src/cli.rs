//! The command line: the single source of truth for flags and help text.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Which eBPF probe points exist here, what each one hands a BPF program,
/// and how to name it.
///
/// Probe names use bpftrace's syntax (`tracepoint:sched:sched_switch`), so
/// output pastes into bpftrace scripts and libbpf SEC() names.
#[derive(Debug, Parser)]
#[command(name = "probedex", version, max_term_width = 100)]
pub struct Cli {
    /// Read a captured system tree instead of `/` (tracefs under
    /// DIR/sys/kernel/tracing, ...). Nothing is mounted or changed.
    #[arg(long, global = true, value_name = "DIR", conflicts_with = "snapshot")]
    pub root: Option<PathBuf>,

    /// Read the kernel a snapshot describes (`probedex snapshot -o FILE`)
    /// instead of this one. `check` takes it more than once, for one
    /// verdict per kernel.
    #[arg(long, global = true, value_name = "FILE")]
    pub snapshot: Vec<PathBuf>,

    /// Print JSON: one object per line for lists, one object for `show`.
    /// The schema is in docs/json.md.
    #[arg(long, global = true)]
    pub json: bool,

    /// When to colour the human views.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Show C++ and Rust function names demangled (`ns::Shape::area()`);
    /// patterns then match the demangled form too. Without it, a pattern
    /// still matches demangled names when it contains `::`, `(` or `<`.
    #[arg(long, global = true)]
    pub demangle: bool,

    /// User-space kinds cover the files this process has mapped (read
    /// through /proc/PID/root, so containers work). The file part may then
    /// be a wildcard (`uprobe:*:malloc`), a library name (`uprobe:libc:*`)
    /// or left out (`uprobe:malloc`); with no pattern, every uprobe and
    /// USDT probe of the process is listed.
    #[arg(short = 'p', long = "pid", global = true, value_name = "PID")]
    pub pid: Option<u32>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List probe points, one per line, sorted (like `bpftrace -l`).
    ///
    /// PATTERN is `KIND:...` (`tracepoint:syscalls:sys_enter_*`, alias
    /// `t:`), a bare name matched in every kernel kind (`sched_switch`), or
    /// several of these. `*` matches anything, `:` included. Without a
    /// pattern, everything is listed.
    #[command(visible_alias = "ls")]
    List {
        /// Print each probe's fields under it, as `bpftrace -lv` does.
        #[arg(short, long)]
        verbose: bool,

        #[arg(value_name = "PATTERN")]
        patterns: Vec<String>,
    },

    /// Show everything about probe points: a tracepoint's ID, every field
    /// with offset, size and signedness, dynamic fields, and its print format.
    Show {
        /// Print this instead of the human view: `c` is a C struct a BPF
        /// program can take as its context, matching the record byte for byte.
        #[arg(long, value_enum, value_name = "FORMAT")]
        emit: Option<EmitFormat>,

        #[arg(value_name = "PROBE", required = true)]
        probes: Vec<String>,
    },

    /// Write a ready-to-compile libbpf program for one probe point: the
    /// context type, the SEC() line, the handler macro with typed
    /// arguments, and a read of each field or argument into an event sent
    /// through a ring buffer. With --json: the source and the event's
    /// layout (member offsets and sizes).
    Gen {
        /// Write the program to FILE instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,

        #[arg(value_name = "PROBE")]
        probe: String,
    },

    /// Check a compiled BPF object against this kernel: for each program,
    /// its SEC() name, program and attach type, target, and (tracepoints)
    /// whether its context struct matches the format file. Exit 1 when any
    /// program would fail.
    Check {
        #[arg(value_name = "OBJECT")]
        object: PathBuf,
    },

    /// Explain a libbpf SEC() name: program type, expected attach type,
    /// flags, context, handler macro, whether this kernel supports it and
    /// whether the target it names exists here (libbpf's own matching rules).
    Sec {
        /// Print libbpf's whole table, in the order that decides matches.
        #[arg(long, conflicts_with_all = ["names", "for_probe"])]
        list: bool,

        /// The SEC() names that reach this probe point, with trade-offs.
        #[arg(long = "for", value_name = "PROBE", conflicts_with = "names")]
        for_probe: Option<String>,

        /// `kprobe/tcp_v4_connect`, `tp/sched/sched_switch`, `xdp`, ...
        #[arg(value_name = "NAME")]
        names: Vec<String>,
    },

    /// Record this kernel's probe points in one compressed file: every
    /// tracepoint's format, BTF (raw tracepoints, function signatures,
    /// types), kallsyms, ftrace's function list, and (as root) which
    /// program kinds work. Every read-only command reads it back with
    /// --snapshot; `diff` compares two. With --root, records that tree.
    Snapshot {
        /// Where to write it.
        #[arg(short, long, value_name = "FILE", required = true)]
        output: PathBuf,
    },

    /// Write the files `--root DIR` reads (tracefs formats, available_events,
    /// kallsyms, BTF, ...) into DIR, laid out like `/`: for bug reports and
    /// fixtures. With --snapshot, unpacks that snapshot instead.
    Capture {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },

    /// Compare the probe points of two kernels: points added and removed,
    /// and changed layouts and signatures field by field. A and B are each a
    /// snapshot file, a captured tree (a directory), or `live`. PATTERNs
    /// (as for `list`) limit the comparison. Exit 0 when nothing selected
    /// changed, 1 when something did.
    Diff {
        #[arg(value_name = "A")]
        old: String,

        #[arg(value_name = "B")]
        new: String,

        #[arg(value_name = "PATTERN")]
        patterns: Vec<String>,
    },

    /// Which program types and attach kinds really work on this kernel,
    /// found by trying them: a minimal program of each kind is loaded and,
    /// for kinds that need a target, attached to a real one and detached.
    /// Each failure comes with the kernel's errno and what it means. Needs
    /// root (or CAP_BPF and CAP_PERFMON).
    Features,

    /// Count how often probe points fire: attach a counting BPF program to
    /// each selected point, run COMMAND (or wait for --duration, or until
    /// Ctrl-C), detach, and report every point's link type, hits and
    /// verdict, most hits first. Only the command's process tree counts
    /// (its children too) unless --all. Exit 0 when every point attached
    /// and (with a command) fired, 1 when some never fired, 3 when some
    /// could not attach. Needs root.
    ///
    /// Kinds, all with wildcards: tracepoint, rawtracepoint, kprobe,
    /// kretprobe, fentry, fexit, uprobe, uretprobe, usdt (every call site;
    /// semaphores raised), software:EVENT and hardware:EVENT with an
    /// optional :PERIOD (bpftrace's names and default periods; hits are
    /// samples). SIGINT and SIGTERM detach and still print the report.
    Attach {
        /// Count for at most SECS seconds (default: until the command exits, or
        /// Ctrl-C). A command still running then gets SIGTERM, and SIGKILL 2 s later.
        #[arg(long, value_name = "SECS")]
        duration: Option<f64>,

        /// Count events of every process, not only the command's.
        #[arg(long)]
        all: bool,

        /// Also print the first N records of each tracepoint point, decoded
        /// with its format file (syscall `const char *` arguments show the
        /// user-space string they point to).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
        sample: Option<u32>,

        #[arg(value_name = "PROBE", required = true)]
        probes: Vec<String>,

        /// The command to run, after `--`. With --json its stdout goes to stderr,
        /// so stdout holds only JSON Lines. A command that cannot be run (not in
        /// PATH, not executable) is an error with exit code 2.
        #[arg(last = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmitFormat {
    /// A C struct for the tracepoint's record.
    C,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb.
    Auto,
    Always,
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_go_anywhere() {
        let cli =
            Cli::try_parse_from(["probedex", "list", "--json", "t:*", "--root", "x"]).unwrap();
        assert!(cli.json);
        assert_eq!(cli.root, Some(PathBuf::from("x")));
        assert!(Cli::try_parse_from(["probedex", "show"]).is_err());
    }
}
