//! `probedex attach`'s workload: the command it runs, the cgroup v2 the
//! command runs in (so the counting programs can tell its events from the
//! rest of the system's), and how the run is bounded (the command's exit,
//! `--duration`, SIGINT/SIGTERM).
//!
//! The command starts inside its cgroup through `clone3(CLONE_INTO_CGROUP)`
//! (Linux 5.7): it never runs a single instruction outside it, and makes no
//! syscall of ours that would be counted as its own. Older kernels (ENOSYS
//! before 5.3, EINVAL or E2BIG for a `clone_args` without `cgroup` before
//! 5.7) and sandboxes whose seccomp filter answers ENOSYS for clone3 get a
//! plain fork that writes itself into `cgroup.procs` before exec: that
//! write(2) is the command's, so `sys_enter_write` / `sys_exit_write` count
//! one more than the command made.
//!
//! A run's cgroup is `probedex-PID` under the cgroup2 mount, removed when
//! the run ends. A probedex killed with SIGKILL cannot remove it (the
//! kernel removes no cgroup by itself): the next run removes every
//! `probedex-PID` cgroup whose PID is gone and which no process is in any
//! more (a cgroup with a process in it cannot be removed, so one whose
//! orphaned command still runs is left to the run after that one).
//!
//! Needs root (creating a cgroup, moving a process into it).

use std::ffi::{CString, OsStr, OsString};
use std::fs;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a command has to exit after SIGTERM before it gets SIGKILL.
pub const GRACE: Duration = Duration::from_secs(2);

/// The cgroup v2 this run's command lives in.
#[derive(Debug)]
pub struct RunCgroup {
    dir: PathBuf,
    /// What `bpf_get_current_cgroup_id` returns for its tasks: the inode
    /// number of its directory.
    pub id: u64,
    /// The directory, open: what `CLONE_INTO_CGROUP` takes.
    fd: OwnedFd,
}

/// Why the command's cgroup could not be made.
#[derive(Debug)]
pub enum CgroupError {
    NoCgroup2,
    Create(PathBuf, io::Error),
}

/// Where cgroup2 is mounted, from /proc/self/mounts (`/sys/fs/cgroup` on
/// unified systems, `/sys/fs/cgroup/unified` on hybrid ones).
pub fn cgroup2_mount() -> Option<PathBuf> {
    let mounts = fs::read_to_string("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let dir = fields.nth(1)?;
        (fields.next()? == "cgroup2").then(|| PathBuf::from(dir.replace("\\040", " ")))
    })
}

/// The PID in a run cgroup's name (`probedex-1234` → 1234).
fn run_cgroup_pid(name: &OsStr) -> Option<u32> {
    let digits = name.to_str()?.strip_prefix("probedex-")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Removes the cgroups of runs that were killed before they could: those
/// whose probedex is gone and that hold no process. Returns how many.
pub fn remove_stale_cgroups(mount: &Path) -> usize {
    let Ok(entries) = fs::read_dir(mount) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let Some(pid) = run_cgroup_pid(&entry.file_name()) else {
            continue;
        };
        // A live PID may be another probedex's run, still going.
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        // Fails with EBUSY while a process is in it: left for later.
        if fs::remove_dir(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

impl RunCgroup {
    pub fn create() -> Result<RunCgroup, CgroupError> {
        let mount = cgroup2_mount().ok_or(CgroupError::NoCgroup2)?;
        remove_stale_cgroups(&mount);
        let dir = mount.join(format!("probedex-{}", std::process::id()));
        let made = fs::create_dir(&dir).or_else(|e| match e.kind() {
            // Left by an earlier run whose pid this one reuses.
            io::ErrorKind::AlreadyExists => Ok(()),
            _ => Err(e),
        });
        let opened = made.and_then(|()| {
            fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECTORY)
                .open(&dir)
        });
        let fd_and_id = opened.and_then(|file| {
            let id = file.metadata()?.ino();
            Ok((OwnedFd::from(file), id))
        });
        match fd_and_id {
            Ok((fd, id)) => Ok(RunCgroup { dir, id, fd }),
            Err(e) => {
                let _ = fs::remove_dir(&dir);
                Err(CgroupError::Create(dir, e))
            }
        }
    }

    /// The processes in it now.
    fn pids(&self) -> Vec<libc::pid_t> {
        fs::read_to_string(self.dir.join("cgroup.procs"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }
}

impl Drop for RunCgroup {
    /// Removes the cgroup, on every path out of `attach`. Processes the
    /// command left running would keep it busy (EBUSY): they are moved to
    /// the parent first.
    fn drop(&mut self) {
        if let Some(parent) = self.dir.parent() {
            for pid in self.pids() {
                let _ = fs::write(parent.join("cgroup.procs"), pid.to_string());
            }
        }
        let _ = fs::remove_dir(&self.dir);
    }
}

/// A command resolved and encoded before anything is attached, so that a
/// typo fails at once and the child allocates nothing between clone and
/// exec.
#[derive(Debug)]
pub struct CommandLine {
    /// What the user typed first, for messages.
    pub name: String,
    path: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
}

/// Why the command could not be started.
#[derive(Debug)]
pub enum SpawnError {
    /// No such program in `PATH`.
    NotFound(String),
    /// A NUL byte in an argument or in the environment.
    Nul(String),
    /// exec(2) (or clone/fork) failed.
    Os(String, io::Error),
}

impl std::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpawnError::NotFound(name) => write!(f, "cannot run {name}: command not found in PATH"),
            SpawnError::Nul(name) => write!(f, "{name}: an argument holds a NUL byte"),
            SpawnError::Os(name, e) => write!(f, "cannot run {name}: {e}"),
        }
    }
}

/// The file `name` runs, found the way execvp(3) finds it: as given when
/// it holds a `/`, else the first executable regular file of that name in
/// `PATH` (an empty entry is the current directory).
fn find_program(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    if name.contains('/') {
        return Some(PathBuf::from(name));
    }
    if name.is_empty() {
        return None;
    }
    let default = OsString::from("/usr/local/bin:/usr/bin:/bin");
    std::env::split_paths(path.unwrap_or(&default)).find_map(|dir| {
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let candidate = dir.join(name);
        let meta = fs::metadata(&candidate).ok()?;
        (meta.is_file() && meta.permissions().mode() & 0o111 != 0).then_some(candidate)
    })
}

impl CommandLine {
    pub fn resolve(command: &[String]) -> Result<CommandLine, SpawnError> {
        let name = command.first().cloned().unwrap_or_default();
        let path = find_program(&name, std::env::var_os("PATH").as_deref())
            .ok_or_else(|| SpawnError::NotFound(name.clone()))?;
        let nul = |_| SpawnError::Nul(name.clone());
        let path = CString::new(path.into_os_string().into_vec()).map_err(nul)?;
        let argv = command
            .iter()
            .map(|a| CString::new(a.as_bytes()))
            .collect::<Result<_, _>>()
            .map_err(nul)?;
        let envp = std::env::vars_os()
            .map(|(k, v)| {
                let mut pair = k.into_vec();
                pair.push(b'=');
                pair.extend_from_slice(v.as_bytes());
                CString::new(pair)
            })
            .collect::<Result<_, _>>()
            .map_err(nul)?;
        Ok(CommandLine {
            name,
            path,
            argv,
            envp,
        })
    }
}

/// Where the command's standard output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandStdout {
    /// probedex's own stdout.
    Inherit,
    /// probedex's stderr: with `--json`, stdout carries only JSON Lines.
    Stderr,
}

/// A started command.
#[derive(Debug)]
pub struct Child {
    pid: libc::pid_t,
    /// Started by clone3 straight into its cgroup (false: it wrote itself
    /// into it after a fork).
    pub into_cgroup: bool,
}

/// `struct clone_args` of include/uapi/linux/sched.h up to `cgroup`
/// (CLONE_ARGS_SIZE_VER2, Linux 5.7).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Set (to anything but empty or `0`), the command is started the way
/// kernels without clone3(CLONE_INTO_CGROUP) need: how tests reach that
/// path on a kernel that has it.
pub const NO_CLONE3_ENV: &str = "PROBEDEX_NO_CLONE3";

/// Starts the command, in `cgroup` when given.
///
/// With `stop_at_exec`, the command stops (ptrace, as bpftrace's `-c`
/// does) right after its exec, before its first instruction: the caller
/// attaches what must see the exec'd image, then calls
/// [`Child::resume_after_exec`].
pub fn spawn(
    line: &CommandLine,
    cgroup: Option<&RunCgroup>,
    stdout: CommandStdout,
    stop_at_exec: bool,
) -> Result<Child, SpawnError> {
    let os = |e| SpawnError::Os(line.name.clone(), e);
    let no_clone3 = std::env::var_os(NO_CLONE3_ENV).is_some_and(|v| !v.is_empty() && v != "0");
    if let Some(cgroup) = cgroup.filter(|_| !no_clone3) {
        match clone3_into(line, cgroup, stdout, stop_at_exec) {
            Ok(started) => return started,
            // No clone3 (before 5.3, or a seccomp filter that hides it),
            // or no CLONE_INTO_CGROUP (before 5.7): fork the old way.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOSYS | libc::EINVAL | libc::E2BIG)
                ) => {}
            Err(e) => return Err(os(e)),
        }
    }
    let mut cmd = std::process::Command::new(OsStr::from_bytes(line.path.as_bytes()));
    cmd.arg0(&line.name).args(
        line.argv
            .iter()
            .skip(1)
            .map(|a| OsStr::from_bytes(a.as_bytes())),
    );
    if stdout == CommandStdout::Stderr {
        cmd.stdout(io::stderr().as_fd().try_clone_to_owned().map_err(os)?);
    }
    // Opened before forking: the child only writes to it, which is
    // async-signal-safe (no allocation between fork and exec).
    let procs = match cgroup {
        Some(c) => Some(
            fs::OpenOptions::new()
                .write(true)
                .open(c.dir.join("cgroup.procs"))
                .map_err(os)?,
        ),
        None => None,
    };
    if stop_at_exec {
        // SAFETY: one ptrace(2) call, no allocation.
        unsafe {
            cmd.pre_exec(|| {
                if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    if let Some(procs) = &procs {
        let fd = procs.as_raw_fd();
        // SAFETY: the closure makes one write(2) call and allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                // "0" is the writing process itself.
                if libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let child = cmd.spawn().map_err(os)?;
    // Waited for with waitpid; dropping a std Child neither waits nor kills.
    Ok(Child {
        pid: child.id() as libc::pid_t,
        into_cgroup: false,
    })
}

/// clone3 with CLONE_INTO_CGROUP, then exec in the child; an exec failure
/// comes back through a close-on-exec pipe (nothing read: exec worked).
/// The outer error is clone3's (or the pipe's), the inner one exec's.
fn clone3_into(
    line: &CommandLine,
    cgroup: &RunCgroup,
    stdout: CommandStdout,
    stop_at_exec: bool,
) -> io::Result<Result<Child, SpawnError>> {
    let mut argv: Vec<*const libc::c_char> = line.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = line.envp.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let (read_end, write_end) = (fds[0], fds[1]);
    let args = CloneArgs {
        flags: CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.fd.as_raw_fd() as u64,
        ..CloneArgs::default()
    };
    // SAFETY: like fork(2) (no CLONE_VM, no new stack): the child gets a
    // copy of this single-threaded process and, below, makes only
    // async-signal-safe calls on memory prepared before the clone.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if pid == 0 {
        // SAFETY: the child, between clone and exec; see above.
        unsafe {
            if stdout == CommandStdout::Stderr {
                libc::dup2(2, 1);
            }
            // Rust ignores SIGPIPE; the command expects the default.
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            if stop_at_exec {
                libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
            }
            libc::execve(line.path.as_ptr(), argv.as_ptr(), envp.as_ptr());
            let errno = *libc::__errno_location();
            libc::write(write_end, (&errno as *const i32).cast(), 4);
            libc::_exit(127);
        }
    }
    let clone_error = io::Error::last_os_error();
    // SAFETY: closing the write end this process no longer needs.
    unsafe { libc::close(write_end) };
    if pid < 0 {
        // SAFETY: the read end is ours.
        unsafe { libc::close(read_end) };
        return Err(clone_error);
    }
    let pid = pid as libc::pid_t;
    let mut errno = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        // SAFETY: reads into the rest of `errno`.
        let n = unsafe { libc::read(read_end, errno[got..].as_mut_ptr().cast(), 4 - got) };
        if n > 0 {
            got += n as usize;
        } else if n == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            break;
        }
    }
    // SAFETY: the read end is ours.
    unsafe { libc::close(read_end) };
    if got == 4 {
        // The child exited with 127 after the failed exec: reap it.
        let mut status = 0;
        // SAFETY: waits for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        let e = io::Error::from_raw_os_error(i32::from_ne_bytes(errno));
        return Ok(Err(SpawnError::Os(line.name.clone(), e)));
    }
    Ok(Ok(Child {
        pid,
        into_cgroup: true,
    }))
}

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandEnd {
    Exited(i32),
    Signaled(i32),
}

/// Why counting stopped before the workload ended on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// `--duration` ran out.
    Duration,
    /// SIGINT or SIGTERM.
    Signal,
}

impl Child {
    /// Waits for the stop after exec of a command spawned with
    /// `stop_at_exec`, then lets it run on, untraced, once `attach` (what
    /// must see the new image) has run. The command is released even when
    /// `attach` fails.
    pub fn resume_after_exec<T>(&self, attach: impl FnOnce() -> T) -> io::Result<T> {
        let mut status = 0;
        loop {
            // SAFETY: waits for our own child.
            let ret = unsafe { libc::waitpid(self.pid, &mut status, 0) };
            if ret >= 0 {
                break;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        if !libc::WIFSTOPPED(status) {
            return Err(io::Error::other(
                "the command ended before it could be stopped at exec",
            ));
        }
        let attached = attach();
        // SAFETY: detaches our own stopped tracee; signal 0 delivers none.
        if unsafe { libc::ptrace(libc::PTRACE_DETACH, self.pid, 0, 0) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(attached)
    }

    fn try_wait(&self) -> io::Result<Option<CommandEnd>> {
        let mut status = 0;
        // SAFETY: waits for our own child without blocking.
        let ret = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
        if ret < 0 {
            return Err(io::Error::last_os_error());
        }
        if ret == 0 {
            return Ok(None);
        }
        Ok(Some(if libc::WIFSIGNALED(status) {
            CommandEnd::Signaled(libc::WTERMSIG(status))
        } else {
            CommandEnd::Exited(libc::WEXITSTATUS(status))
        }))
    }

    /// Sends `signal` to the command and, when it has a cgroup of its own,
    /// to every process in it (a shell's children too).
    fn signal(&self, cgroup: Option<&RunCgroup>, signal: libc::c_int) {
        let mut pids = cgroup.map(RunCgroup::pids).unwrap_or_default();
        pids.push(self.pid);
        for pid in pids {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(pid, signal) };
        }
    }

    /// Waits for the command to end. When `stop` is set (a signal) or
    /// `deadline` passes, the command gets SIGTERM, and SIGKILL if it is
    /// still running [`GRACE`] later.
    pub fn wait(
        &self,
        cgroup: Option<&RunCgroup>,
        deadline: Option<Instant>,
        stop: &AtomicBool,
    ) -> io::Result<(CommandEnd, Option<Stop>)> {
        let mut stopped = None;
        let mut kill_at = None;
        loop {
            if let Some(end) = self.try_wait()? {
                return Ok((end, stopped));
            }
            let now = Instant::now();
            if stopped.is_none() {
                if stop.load(Ordering::SeqCst) {
                    stopped = Some(Stop::Signal);
                } else if deadline.is_some_and(|d| now >= d) {
                    stopped = Some(Stop::Duration);
                }
                if stopped.is_some() {
                    self.signal(cgroup, libc::SIGTERM);
                    kill_at = Some(now + GRACE);
                }
            } else if kill_at.is_some_and(|k| now >= k) {
                self.signal(cgroup, libc::SIGKILL);
                kill_at = None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Waits without a command until `stop` is set or `deadline` passes.
pub fn wait_idle(deadline: Option<Instant>, stop: &AtomicBool) -> Stop {
    loop {
        if stop.load(Ordering::SeqCst) {
            return Stop::Signal;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Stop::Duration;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `SIGTERM` for 15: the names a report shows.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGSYS => "SIGSYS",
        _ => return format!("signal {signal}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_cgroup_names() {
        assert_eq!(run_cgroup_pid(OsStr::new("probedex-1234")), Some(1234));
        assert_eq!(run_cgroup_pid(OsStr::new("probedex-")), None);
        assert_eq!(run_cgroup_pid(OsStr::new("probedex-12x")), None);
        assert_eq!(run_cgroup_pid(OsStr::new("probedex-+12")), None);
        assert_eq!(run_cgroup_pid(OsStr::new("system.slice")), None);
    }

    #[test]
    fn programs_are_found_like_execvp() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("tool");
        fs::write(&exe, "#!/bin/sh\n").unwrap();
        let plain = dir.path().join("data");
        fs::write(&plain, "").unwrap();
        fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).unwrap();
        let path = std::env::join_paths(["/nonexistent", dir.path().to_str().unwrap()]).unwrap();
        assert_eq!(find_program("tool", Some(&path)), Some(exe));
        // Not executable: not a candidate.
        assert_eq!(find_program("data", Some(&path)), None);
        assert_eq!(find_program("missing", Some(&path)), None);
        assert_eq!(find_program("", Some(&path)), None);
        // A slash: taken as it is, exec says whether it exists.
        assert_eq!(
            find_program("./missing", Some(&path)),
            Some(PathBuf::from("./missing"))
        );
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_name(libc::SIGTERM), "SIGTERM");
        assert_eq!(signal_name(libc::SIGKILL), "SIGKILL");
        assert_eq!(signal_name(64), "signal 64");
    }
}
