//! Which file `uprobe:PATH:...` and `usdt:PATH:...` mean: a path, a program
//! on `$PATH` (`uprobe:bash:readline`), or a library resolved the way the
//! dynamic loader would (`uprobe:libc:malloc`). Listing and attaching must
//! resolve the same way, so both go through here.

use std::path::{Path, PathBuf};

use super::DiscoverError;
use crate::system::System;

/// How a target was found, for messages and `show`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Given as a path.
    Path,
    /// A program found on `$PATH`.
    Program,
    /// A library found through ld.so.cache or the standard directories.
    Library,
}

/// Resolves `spec` inside `system` (under `--root` when given).
pub fn resolve(system: &System, spec: &str) -> Result<(PathBuf, Resolved), DiscoverError> {
    if spec.contains('/') {
        let path = if spec.starts_with('/') {
            system.path(spec)
        } else {
            PathBuf::from(spec)
        };
        return if path.exists() {
            Ok((path, Resolved::Path))
        } else {
            Err(DiscoverError::io(
                &path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            ))
        };
    }
    if let Some(program) = on_path(system, spec) {
        return Ok((program, Resolved::Program));
    }
    if let Some(library) = super::libraries::find(system, spec) {
        return Ok((library, Resolved::Library));
    }
    Err(DiscoverError::io(
        spec,
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "not a path, not a program on $PATH, and no library of that name in ld.so.cache or \
             the standard library directories; give the file's path",
        ),
    ))
}

/// The first executable `name` in the directories of `$PATH`.
fn on_path(system: &System, name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter_map(|dir| dir.to_str().map(|d| system.path(d).join(name)))
        .find(|p| is_executable_file(p, |m| m.permissions().mode() & 0o111 != 0))
}

fn is_executable_file(path: &Path, executable: impl Fn(&std::fs::Metadata) -> bool) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && executable(&m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_programs() {
        let live = System::live();
        let (path, how) = resolve(&live, "/bin/sh").unwrap();
        assert_eq!((path, how), (PathBuf::from("/bin/sh"), Resolved::Path));
        let (path, how) = resolve(&live, "sh").unwrap();
        assert_eq!(how, Resolved::Program);
        assert!(path.ends_with("sh"));
        let err = resolve(&live, "/nonexistent/probedex")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no such file"), "{err}");
        let err = resolve(&live, "no-such-program-probedex")
            .unwrap_err()
            .to_string();
        assert!(err.contains("give the file's path"), "{err}");
    }
}
