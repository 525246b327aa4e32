//! uprobe parameters from DWARF: `fixtures/src/uprobe_args.c` built with
//! gcc in every way debug info reaches a file (in the file, in a separate
//! file found by `.gnu_debuglink` or build ID, compressed as SHF_COMPRESSED
//! or as GNU `.zdebug_*`), and a live comparison with `bpftrace -lv` on
//! node's libuv.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{have_tools, probedex, repo_dir, skip};

/// What `list -v` must print under each fixture function. Every line but
/// the three marked is what bpftrace 0.17 prints too; for those it prints
/// `<unknown type>*` (it names no function pointer, pointer to array, or
/// volatile type).
const EXPECTED: &[(&str, &[&str])] = &[
    ("add", &["int a", "int b"]),
    (
        "greet",
        &[
            "const char* name",
            "long unsigned int count",
            "counter_t total",
        ],
    ),
    (
        "shapes",
        &[
            "struct point* p",
            "union value v",
            "enum color c",
            "const struct point* q",
        ],
    ),
    ("scale", &["double x", "float y", "_Bool round"]),
    (
        "run",
        // bpftrace: `<unknown type>* raw`.
        &["callback_t cb", "void (*)(int, ...) raw", "void* ctx"],
    ),
    ("sum", &["const int* values", "size_t n"]),
    (
        "matrix",
        // bpftrace: `<unknown type>* m`, `<unknown type>* flag`.
        &[
            "int (*)[4] m",
            "char* const* argv",
            "volatile unsigned int* flag",
        ],
    ),
    ("nothing", &[]),
    ("make_point", &["int x", "int y"]),
    ("hidden", &["int z"]),
    ("logf_", &["const char* fmt"]),
    ("main", &["int argc", "char** argv"]),
];

fn run_tool(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn gcc(output: &Path, extra: &[&str]) -> Result<(), String> {
    let source = repo_dir().join("fixtures/src/uprobe_args.c");
    let mut args = vec!["-g", "-O0"];
    args.extend(extra);
    let (source, output) = (source.to_str().unwrap(), output.to_str().unwrap());
    args.extend(["-o", output, source]);
    run_tool("gcc", &args)
}

fn build_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("uprobe-args-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `list -v` of every fixture function, as one text.
fn listed(binary: &Path, root: Option<&Path>) -> String {
    let mut args = Vec::new();
    if let Some(root) = root {
        args.extend(["--root".to_string(), root.display().to_string()]);
    }
    args.push("list".into());
    args.push("-v".into());
    let shown = match root {
        Some(root) => Path::new("/").join(binary.strip_prefix(root).unwrap()),
        None => binary.to_path_buf(),
    };
    for (name, _) in EXPECTED {
        args.push(format!("uprobe:{}:{name}", shown.display()));
    }
    let out = probedex(&args);
    assert_eq!(out.code, 0, "{}", out.describe());
    out.stdout
}

fn expected(binary: &Path) -> String {
    let mut names: Vec<&(&str, &[&str])> = EXPECTED.iter().collect();
    names.sort_by_key(|(name, _)| *name);
    let mut text = String::new();
    for (name, params) in names {
        text.push_str(&format!("uprobe:{}:{name}\n", binary.display()));
        for param in *params {
            text.push_str(&format!("    {param}\n"));
        }
    }
    text
}

fn check(what: &str, binary: &Path, root: Option<&Path>) {
    // Under --root, probedex prints the path it read.
    let actual = listed(binary, root);
    let wanted = expected(binary);
    assert!(
        actual == wanted,
        "{what}: {}\n--- got ---\n{actual}",
        common::first_difference(&wanted, &actual)
    );
}

#[test]
fn parameters_from_dwarf_in_the_file() {
    if !have_tools(&["gcc"], "build the DWARF fixture") {
        return;
    }
    let dir = build_dir("plain");
    let binary = dir.join("uprobe_args");
    gcc(&binary, &[]).unwrap();
    check("-g -O0", &binary, None);

    // `show` gives the return type and names the debug file.
    let out = probedex(["show", &format!("uprobe:{}:make_point", binary.display())]);
    assert_eq!(out.code, 0, "{}", out.describe());
    for line in [
        "  returns      struct point",
        "  arguments    int x",
        "               int y",
    ] {
        assert!(
            out.stdout.lines().any(|l| l == line),
            "no {line:?}\n{}",
            out.describe()
        );
    }
    assert!(out
        .stdout
        .contains(&format!("  debug info   {}", binary.display())));
    let out = probedex(["show", &format!("uprobe:{}:nothing", binary.display())]);
    assert!(
        out.stdout
            .contains("  returns      void\n  arguments    none\n"),
        "{}",
        out.describe()
    );

    // Plain `list` stays a symbol listing.
    let out = probedex(["list", &format!("uprobe:{}:add", binary.display())]);
    assert_eq!(out.stdout, format!("uprobe:{}:add\n", binary.display()));

    // `list -v --json`: the same parameters as `{"name", "type"}` objects,
    // and the file they came from.
    let out = probedex([
        "list",
        "-v",
        "--json",
        &format!("uprobe:{}:*", binary.display()),
    ]);
    assert_eq!(out.code, 0, "{}", out.describe());
    let objects: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (name, params) in EXPECTED {
        let object = objects
            .iter()
            .find(|o| o["name"] == *name)
            .unwrap_or_else(|| panic!("no {name} in\n{}", out.stdout));
        let signature = &object["signature"];
        assert_eq!(signature["known"], true, "{object}");
        assert_eq!(signature["debug_info"], binary.display().to_string());
        let args: Vec<String> = signature["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                format!(
                    "{} {}",
                    a["type"].as_str().unwrap(),
                    a["name"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(&args, params, "{object}");
    }
    // Plain `list --json` carries no signature: no DWARF is read.
    let out = probedex([
        "list",
        "--json",
        &format!("uprobe:{}:add", binary.display()),
    ]);
    assert!(!out.stdout.contains("signature"), "{}", out.describe());
}

#[test]
fn parameters_from_compressed_debug_sections() {
    if !have_tools(&["gcc", "readelf"], "build the compressed-DWARF fixtures") {
        return;
    }
    let dir = build_dir("compressed");
    for (flag, section) in [("-gz", ".debug_info"), ("-gz=zlib-gnu", ".zdebug_info")] {
        let binary = dir.join(format!("uprobe_args{}", flag.replace('=', "_")));
        if let Err(e) = gcc(&binary, &[flag]) {
            assert!(
                !common::is_ci(),
                "CI=true but gcc cannot build with {flag}: {e}"
            );
            skip(&format!("gcc cannot build with {flag}: {e}"));
            continue;
        }
        let sections = Command::new("readelf")
            .args(["-SW"])
            .arg(&binary)
            .output()
            .unwrap();
        let sections = String::from_utf8_lossy(&sections.stdout);
        let compressed = sections
            .lines()
            .find(|l| l.contains(&format!("{section} ")))
            .unwrap_or_else(|| panic!("{flag}: no {section} in\n{sections}"));
        if section == ".debug_info" {
            // SHF_COMPRESSED shows as the `C` flag.
            assert!(
                compressed.split_whitespace().any(|w| w.contains('C')),
                "{compressed}"
            );
        }
        check(flag, &binary, None);
    }
}

#[test]
fn parameters_from_a_separate_debug_file() {
    if !have_tools(&["gcc", "objcopy"], "build the separate-debug fixtures") {
        return;
    }
    let dir = build_dir("separate");
    let full = dir.join("full");
    gcc(&full, &[]).unwrap();
    let debug = dir.join("uprobe_args.debug");
    let stripped = dir.join("uprobe_args");
    let path = |p: &Path| p.to_str().unwrap().to_string();
    run_tool(
        "objcopy",
        &["--only-keep-debug", &path(&full), &path(&debug)],
    )
    .unwrap();
    run_tool(
        "objcopy",
        &[
            "--strip-debug",
            &format!("--add-gnu-debuglink={}", path(&debug)),
            &path(&full),
            &path(&stripped),
        ],
    )
    .unwrap();

    // .gnu_debuglink, beside the file.
    check("debuglink beside", &stripped, None);

    // .gnu_debuglink, in .debug/ beside the file.
    let beside = dir.join("dotdebug");
    std::fs::create_dir_all(beside.join(".debug")).unwrap();
    std::fs::copy(&stripped, beside.join("uprobe_args")).unwrap();
    std::fs::copy(&debug, beside.join(".debug/uprobe_args.debug")).unwrap();
    check("debuglink in .debug/", &beside.join("uprobe_args"), None);

    // Under --root: .gnu_debuglink in /usr/lib/debug/<dir>/, and the
    // build ID in /usr/lib/debug/.build-id/.
    let image = probedex::discover::elf::ElfImage::open(&stripped).unwrap();
    let id: String = image
        .build_id()
        .expect("gcc links with a build ID on Debian")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for (how, place) in [
        (
            "debug directory",
            "usr/lib/debug/opt/app/uprobe_args.debug".to_string(),
        ),
        (
            "build ID",
            format!("usr/lib/debug/.build-id/{}/{}.debug", &id[..2], &id[2..]),
        ),
    ] {
        let root = dir.join(how.replace(' ', "-"));
        std::fs::create_dir_all(root.join("opt/app")).unwrap();
        std::fs::copy(&stripped, root.join("opt/app/uprobe_args")).unwrap();
        let place = root.join(place);
        std::fs::create_dir_all(place.parent().unwrap()).unwrap();
        std::fs::copy(&debug, &place).unwrap();
        check(how, &root.join("opt/app/uprobe_args"), Some(&root));
        let found = probedex::discover::dwarf::debug_file_under(
            &probedex::discover::elf::ElfImage::open(&root.join("opt/app/uprobe_args")).unwrap(),
            &root,
        );
        assert_eq!(found.as_deref(), Some(place.as_path()), "{how}");
    }

    // Fully stripped (`strip --strip-all`, no .symtab): the local
    // functions come back from the debug file's .symtab, as bpftrace
    // lists them; without the debug file only the exported ones are left.
    let bare_dir = dir.join("strip-all");
    std::fs::create_dir_all(&bare_dir).unwrap();
    let bare = bare_dir.join("uprobe_args");
    run_tool(
        "objcopy",
        &[
            "--strip-all",
            &format!("--add-gnu-debuglink={}", path(&debug)),
            &path(&full),
            &path(&bare),
        ],
    )
    .unwrap();
    let names = |binary: &Path| -> Vec<String> {
        let out = probedex(["list", &format!("uprobe:{}:*", binary.display())]);
        out.stdout
            .lines()
            .map(|l| l.rsplit(':').next().unwrap().to_string())
            .collect()
    };
    std::fs::copy(&debug, bare_dir.join("uprobe_args.debug")).unwrap();
    let with_debug = names(&bare);
    assert!(with_debug.contains(&"hidden".to_string()), "{with_debug:?}");
    assert_eq!(
        with_debug,
        names(&full),
        "the debug file restores every name"
    );
    std::fs::remove_file(bare_dir.join("uprobe_args.debug")).unwrap();
    let without = names(&bare);
    assert!(!without.contains(&"hidden".to_string()), "{without:?}");
    // (A program exports no functions in .dynsym unless linked -rdynamic.)
    assert!(
        without.iter().all(|n| with_debug.contains(n)),
        "{without:?}"
    );

    // No debug file anywhere: no parameters, and `show` says why.
    let alone = dir.join("alone");
    std::fs::create_dir_all(&alone).unwrap();
    std::fs::copy(&stripped, alone.join("uprobe_args")).unwrap();
    let target = format!("uprobe:{}:add", alone.join("uprobe_args").display());
    let out = probedex(["list", "-v", &target]);
    assert_eq!(out.stdout, format!("{target}\n"), "{}", out.describe());
    let out = probedex(["show", &target]);
    assert!(
        out.stdout.contains("arguments    not known: no DWARF"),
        "{}",
        out.describe()
    );
    let out = probedex(["show", "--json", &target]);
    let object: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(object["signature"]["known"], false, "{object}");
    assert!(
        object["signature"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("no DWARF"),
        "{object}"
    );
}

#[test]
fn node_libuv_matches_bpftrace() {
    let node = Path::new("/usr/bin/node");
    if !node.is_file() {
        // Not a failure under CI: node is an input on this machine kind,
        // not something the project installs.
        skip("no /usr/bin/node: cannot compare libuv's DWARF parameters with bpftrace");
        return;
    }
    if !have_tools(
        &["bpftrace"],
        "compare node's libuv parameters with bpftrace",
    ) {
        return;
    }
    let pattern = "uprobe:/usr/bin/node:uv_fs_open";
    let Some(bpftrace) = common::bpftrace_output(&["-lv", pattern]) else {
        return;
    };
    let out = probedex(["list", "-v", pattern]);
    assert_eq!(out.code, 0, "{}", out.describe());
    assert_eq!(
        out.stdout,
        bpftrace,
        "{}",
        common::first_difference(&bpftrace, &out.stdout)
    );
    assert!(
        out.stdout.contains("    const char* path\n"),
        "{}",
        out.stdout
    );
}

/// A big-endian 64-bit ELF file (s390x), built here byte by byte since no
/// cross compiler is at hand: function symbols, their file offsets and a
/// `.note.stapsdt` entry must all be read in the file's byte order.
#[test]
fn big_endian_files_are_read_in_their_byte_order() {
    let dir = build_dir("big-endian");
    let path = dir.join("s390x-sample");
    std::fs::write(&path, big_endian_elf()).unwrap();
    let shown = path.display().to_string();

    let out = probedex(["list", &format!("uprobe:{shown}:*")]);
    assert_eq!(out.code, 0, "{}", out.describe());
    assert_eq!(
        out.stdout,
        format!("uprobe:{shown}:alpha\nuprobe:{shown}:beta\n")
    );
    let out = probedex(["show", "--json", &format!("uprobe:{shown}:beta")]);
    let object: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(object["address"], 0x1000_0110u64, "{object}");
    assert_eq!(object["size"], 16, "{object}");
    assert_eq!(object["file_offset"], 0x110, "{object}");

    let out = probedex(["show", "--json", &format!("usdt:{shown}:prov:name")]);
    assert_eq!(out.code, 0, "{}", out.describe());
    let object: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let site = &object["sites"][0];
    assert_eq!(site["address"], 0x1000_0118u64, "{object}");
    assert_eq!(site["file_offset"], 0x118, "{object}");
    assert_eq!(site["semaphore"], 0, "{object}");
    assert_eq!(site["args_spec"], "-4@%r2", "{object}");
}

/// An s390x (big-endian) ELF64 executable: one `PT_LOAD` mapping the file
/// at 0x10000000, `.text` at 0x100 with functions `alpha` and `beta`, and
/// one SDT note `prov:name` at 0x10000118.
fn big_endian_elf() -> Vec<u8> {
    fn u16b(out: &mut Vec<u8>, v: u16) {
        out.extend(v.to_be_bytes());
    }
    fn u32b(out: &mut Vec<u8>, v: u32) {
        out.extend(v.to_be_bytes());
    }
    fn u64b(out: &mut Vec<u8>, v: u64) {
        out.extend(v.to_be_bytes());
    }
    const BASE: u64 = 0x1000_0000;
    // Section contents, placed from 0x100 on.
    let text = vec![0u8; 0x40];
    let mut note = Vec::new();
    let desc: Vec<u8> = {
        let mut d = Vec::new();
        u64b(&mut d, BASE + 0x118); // pc
        u64b(&mut d, 0); // base (no .stapsdt.base: no adjustment)
        u64b(&mut d, 0); // semaphore
        d.extend(b"prov\0name\0-4@%r2\0");
        d
    };
    u32b(&mut note, 8);
    u32b(&mut note, desc.len() as u32);
    u32b(&mut note, 3); // NT_STAPSDT
    note.extend(b"stapsdt\0");
    note.extend(&desc);
    while note.len() % 4 != 0 {
        note.push(0);
    }
    let strtab = b"\0alpha\0beta\0".to_vec();
    let mut symtab = vec![0u8; 24]; // the null symbol
    for (name, value) in [(1u32, BASE + 0x100), (7, BASE + 0x110)] {
        u32b(&mut symtab, name);
        symtab.push(0x12); // STB_GLOBAL, STT_FUNC
        symtab.push(0);
        u16b(&mut symtab, 1); // .text
        u64b(&mut symtab, value);
        u64b(&mut symtab, 16);
    }
    let shstrtab = b"\0.text\0.note.stapsdt\0.symtab\0.strtab\0.shstrtab\0".to_vec();
    /// (name offset in shstrtab, type, flags, contents, link, info, align, entsize)
    type Section<'a> = (u32, u32, u64, &'a [u8], u32, u32, u64, u64);
    let sections: [Section<'_>; 5] = [
        (1, 1, 6, &text, 0, 0, 16, 0),     // .text: PROGBITS, ALLOC|EXEC
        (7, 7, 2, &note, 0, 0, 4, 0),      // .note.stapsdt: NOTE, ALLOC
        (21, 2, 0, &symtab, 4, 1, 8, 24),  // .symtab -> .strtab, first global 1
        (29, 3, 0, &strtab, 0, 0, 1, 0),   // .strtab
        (37, 3, 0, &shstrtab, 0, 0, 1, 0), // .shstrtab
    ];
    let mut body = Vec::new();
    let mut placed = Vec::new();
    for (_, _, _, contents, ..) in &sections {
        while body.len() % 8 != 0 {
            body.push(0);
        }
        placed.push(0x100 + body.len() as u64);
        body.extend(*contents);
    }
    while body.len() % 8 != 0 {
        body.push(0);
    }
    let shoff = 0x100 + body.len() as u64;
    let load_size = placed[2]; // .text and the note are mapped

    let mut elf = Vec::new();
    elf.extend(b"\x7fELF\x02\x02\x01\0");
    elf.extend([0u8; 8]);
    u16b(&mut elf, 2); // ET_EXEC
    u16b(&mut elf, 22); // EM_S390
    u32b(&mut elf, 1);
    u64b(&mut elf, BASE + 0x100); // entry
    u64b(&mut elf, 64); // phoff
    u64b(&mut elf, shoff);
    u32b(&mut elf, 0);
    u16b(&mut elf, 64);
    u16b(&mut elf, 56);
    u16b(&mut elf, 1);
    u16b(&mut elf, 64);
    u16b(&mut elf, sections.len() as u16 + 1);
    u16b(&mut elf, sections.len() as u16); // .shstrtab's index
                                           // PT_LOAD, R+X, the file from 0 at BASE.
    u32b(&mut elf, 1);
    u32b(&mut elf, 5);
    u64b(&mut elf, 0);
    u64b(&mut elf, BASE);
    u64b(&mut elf, BASE);
    u64b(&mut elf, load_size);
    u64b(&mut elf, load_size);
    u64b(&mut elf, 0x1000);
    elf.resize(0x100, 0);
    elf.extend(&body);
    elf.extend([0u8; 64]); // the null section header
    for ((name, kind, flags, contents, link, info, align, entsize), offset) in
        sections.iter().zip(&placed)
    {
        u32b(&mut elf, *name);
        u32b(&mut elf, *kind);
        u64b(&mut elf, *flags);
        let address = if flags & 2 != 0 { BASE + offset } else { 0 };
        u64b(&mut elf, address);
        u64b(&mut elf, *offset);
        u64b(&mut elf, contents.len() as u64);
        u32b(&mut elf, *link);
        u32b(&mut elf, *info);
        u64b(&mut elf, *align);
        u64b(&mut elf, *entsize);
    }
    elf
}
