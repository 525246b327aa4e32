//! `show --emit c` structs compile and match the format files byte for byte.
//!
//! For every tracepoint of a tree, the test emits the struct, then compiles
//! it with gcc next to `_Static_assert`s on `offsetof` and `sizeof` of every
//! field. The expected offsets and sizes are read from the raw format files
//! here, by plain string splitting, independently of probedex's parser, so a
//! parser bug cannot hide behind an emitter that agrees with it.
//!
//! When clang is installed the same file is also compiled for the BPF target
//! (`clang -target bpf`), which is what a BPF program author will do.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{have_tools, live_system_available, probedex, repo_dir};

/// `(name, offset, size)` of every field in a format file, from the raw text.
fn raw_fields(format_text: &str) -> Vec<(String, u64, u64)> {
    let mut fields = Vec::new();
    for line in format_text.lines() {
        let line = line.trim();
        let Some(body) = line.strip_prefix("field:") else {
            continue;
        };
        let mut parts = body.split(';');
        let decl = parts.next().unwrap().trim();
        let value = |key: &str| -> u64 {
            body.split(';')
                .map(str::trim)
                .find_map(|p| p.strip_prefix(key))
                .unwrap_or_else(|| panic!("no {key} in {line}"))
                .parse()
                .unwrap()
        };
        // The name is the last identifier before any `[...]`.
        let without_array = match decl.find('[') {
            Some(i) if !decl.starts_with("__data_loc") && !decl.starts_with("__rel_loc") => {
                &decl[..i]
            }
            _ => decl,
        };
        let name = without_array
            .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap()
            .to_string();
        fields.push((name, value("offset:"), value("size:")));
    }
    fields
}

fn struct_name(category: &str, event: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect()
    };
    format!("tp_{}__{}", clean(category), clean(event))
}

/// Emits every tracepoint in the tree under `tracefs`, writes the C file with
/// the assertions, compiles it. Returns how many fields were checked.
fn check_tree(root_args: &[&str], tracefs: &Path, work: &Path) -> usize {
    let out = probedex(
        root_args
            .iter()
            .chain(&["show", "--emit", "c", "tracepoint:*"]),
    );
    assert_eq!(out.code, 0, "show --emit c failed: {}", out.stderr);
    assert!(out.stderr.is_empty(), "unexpected stderr: {}", out.stderr);

    let events = std::fs::read_to_string(tracefs.join("available_events")).unwrap();
    let mut asserts = String::new();
    let mut checked = 0;
    for line in events.lines() {
        let (category, event) = line.split_once(':').unwrap();
        let format = tracefs
            .join("events")
            .join(category)
            .join(event)
            .join("format");
        let text = std::fs::read_to_string(&format).unwrap();
        let tag = struct_name(category, event);
        let mut end = 0;
        for (name, offset, size) in raw_fields(&text) {
            let _ = writeln!(
                asserts,
                "_Static_assert(offsetof(struct {tag}, {name}) == {offset}, \"{tag}.{name} offset\");"
            );
            if size > 0 {
                let _ = writeln!(
                    asserts,
                    "_Static_assert(sizeof(((struct {tag} *)0)->{name}) == {size}, \"{tag}.{name} size\");"
                );
            }
            end = end.max(offset + size);
            checked += 1;
        }
        // The struct covers the fixed record; only alignment may round it up.
        let _ = writeln!(
            asserts,
            "_Static_assert(sizeof(struct {tag}) >= {end} && sizeof(struct {tag}) < {end} + 8, \"{tag} size\");"
        );
    }

    let source = work.join("structs.c");
    let c = format!(
        "#include <linux/types.h>\n#include <stddef.h>\n\n{}\n{asserts}",
        out.stdout
    );
    std::fs::write(&source, c).unwrap();
    compile(&["gcc", "-std=gnu11", "-c", "-o", "/dev/null"], &source);
    if have_tools(&["clang"], "compile the structs for the BPF target") {
        // <linux/types.h> includes <asm/types.h>, which lives in the host's
        // multiarch directory; BPF builds add it the same way.
        let multiarch = Command::new("gcc")
            .arg("-print-multiarch")
            .output()
            .unwrap();
        let include = format!(
            "-idirafter/usr/include/{}",
            String::from_utf8_lossy(&multiarch.stdout).trim()
        );
        compile(
            &[
                "clang",
                "-target",
                "bpf",
                &include,
                "-O2",
                "-c",
                "-o",
                "/dev/null",
            ],
            &source,
        );
    }
    checked
}

fn compile(command: &[&str], source: &Path) {
    let out = Command::new(command[0])
        .args(&command[1..])
        .arg(source)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", command[0]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("error"))
        .take(20)
        .collect();
    assert!(
        out.status.success(),
        "{} rejected the emitted structs ({}):\n{}",
        command.join(" "),
        source.display(),
        errors.join("\n")
    );
}

fn work_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn captured_linux_6_18_structs_compile_and_match() {
    let root = "fixtures/linux-6.18-x86_64";
    let tracefs = repo_dir().join(root).join("sys/kernel/tracing");
    let checked = check_tree(&["--root", root], &tracefs, &work_dir("emit-c-6.18"));
    // Every tracepoint of the capture has at least the 4 common fields.
    assert!(checked > 2000 * 4, "only {checked} fields checked");
}

#[test]
fn centos_linux_5_10_structs_compile_and_match() {
    let root = "fixtures/centos8-linux5.10";
    let tracefs = repo_dir().join(root).join("sys/kernel/tracing");
    let checked = check_tree(&["--root", root], &tracefs, &work_dir("emit-c-5.10"));
    assert_eq!(checked, 9 + 8 + 6);
}

#[test]
fn live_structs_compile_and_match() {
    let Some(tracefs) = live_system_available("compiles the live system's structs") else {
        return;
    };
    let checked = check_tree(&[], &tracefs, &work_dir("emit-c-live"));
    assert!(checked > 1000, "only {checked} fields checked");
}
