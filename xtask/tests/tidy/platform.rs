//! Platform code lives only in `sys/` modules: outside them, a library's
//! sources name no `libc`, `windows-sys` or platform-only `std::os` module
//! and test no operating system with `cfg`.

use std::path::Path;

use crate::source::{self, code_of, shown};

/// What marks platform code.
const MARKS: &[&str] = &[
    "libc::",
    "windows_sys::",
    "std::os::unix",
    "std::os::windows",
    "std::os::fd",
    "std::os::linux",
    "target_os",
    "target_family",
    "target_vendor",
    "cfg(unix",
    "cfg(windows",
    "cfg!(unix",
    "cfg!(windows",
    "(unix)",
    "(windows)",
    "(unix,",
    "(windows,",
    ", unix)",
    ", windows)",
];

/// Whether `path` (relative to a crate's `src/`) is inside a `sys` module.
fn in_sys(rel: &Path) -> bool {
    rel.iter().any(|part| part == "sys" || part == "sys.rs")
}

/// The platform marks in `code`, as `(line, mark)`.
fn marks_in(code: &str) -> Vec<(usize, &'static str)> {
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        for mark in MARKS {
            if line.contains(mark) {
                found.push((n + 1, *mark));
                break;
            }
        }
    }
    found
}

#[test]
fn platform_code_stays_in_sys_modules() {
    let mut bad = Vec::new();
    let mut checked = 0;
    for krate in source::crates().iter().filter(|c| c.is_library()) {
        let src = krate.src();
        for file in source::rust_files(&src) {
            let rel = file.strip_prefix(&src).expect("a file of src/");
            if in_sys(rel) {
                continue;
            }
            checked += 1;
            for (line, mark) in marks_in(&code_of(&source::read(&file))) {
                bad.push(format!("{}:{line}: `{mark}` outside sys/", shown(&file)));
            }
        }
    }
    assert!(checked > 50, "the libraries' sources were not found");
    assert!(
        bad.is_empty(),
        "platform code outside sys/ modules:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_platform_rule_sees_a_libc_call() {
    let code = code_of(
        "fn f() {\n    // libc::getpid() in a comment is fine\n    let p = unsafe { libc::getpid() };\n}\n",
    );
    assert_eq!(marks_in(&code), vec![(3, "libc::")]);
    assert_eq!(
        marks_in(&code_of("#[cfg(all(unix, test))]\nmod t;")),
        vec![(1, "(unix,")]
    );
    assert!(in_sys(Path::new("sys/unix.rs")) && in_sys(Path::new("a/sys.rs")));
    assert!(!in_sys(Path::new("system.rs")));
}
