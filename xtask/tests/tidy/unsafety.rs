//! `unsafe` is explained where it is written: every `unsafe` block and
//! `unsafe impl` has a `// SAFETY:` comment on its line or in the comment
//! just above its statement; every `unsafe fn` has a `# Safety` section;
//! a crate that writes no `unsafe` forbids it.

use crate::source::{self, code_of, shown};

/// How many code lines above an `unsafe` (the rest of its statement) the
/// `SAFETY` comment may sit.
const STATEMENT_LINES: usize = 4;

fn has_word(code: &str, word: &str) -> bool {
    code.match_indices(word).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// The `unsafe` blocks and impls of `text` without a `SAFETY` comment, as
/// line numbers.
fn unexplained_blocks(text: &str) -> Vec<usize> {
    let raw: Vec<&str> = text.lines().collect();
    let code = code_of(text);
    let code: Vec<&str> = code.lines().collect();
    let mut bad = Vec::new();
    for (n, line) in code.iter().enumerate() {
        let opens = line.match_indices("unsafe").any(|(at, _)| {
            let rest = line[at + "unsafe".len()..].trim_start();
            has_word(&line[at..], "unsafe") && (rest.starts_with('{') || rest.starts_with("impl"))
        });
        if !opens || raw[n].contains("SAFETY:") {
            continue;
        }
        let mut explained = false;
        let mut code_lines = 0;
        for above in (0..n).rev() {
            let r = raw[above].trim();
            if r.contains("SAFETY:") {
                explained = true;
                break;
            }
            if r.starts_with("//") || r.starts_with("#[") || r.is_empty() {
                continue;
            }
            // Code: the same statement goes on above only if this line
            // does not end one.
            code_lines += 1;
            if code_lines > STATEMENT_LINES || r.ends_with(';') || r.ends_with('}') || r.ends_with('{') {
                break;
            }
        }
        if !explained {
            bad.push(n + 1);
        }
    }
    bad
}

/// The `unsafe fn`s of `text` without a `# Safety` doc section, as line
/// numbers (`type` aliases of `unsafe fn` pointers are not functions).
fn undocumented_fns(text: &str) -> Vec<usize> {
    let raw: Vec<&str> = text.lines().collect();
    let code = code_of(text);
    let mut bad = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let Some(at) = line.find("unsafe ") else { continue };
        let rest = line[at..].trim_start_matches("unsafe ").trim_start();
        let rest = rest.strip_prefix("extern \"C\" ").unwrap_or(rest);
        if !rest.starts_with("fn ") || line.trim_start().starts_with("type ") || line.contains("= unsafe") {
            continue;
        }
        let documented = raw[..n]
            .iter()
            .rev()
            .map(|l| l.trim())
            .take_while(|l| l.starts_with("///") || l.starts_with("#[") || l.starts_with("//"))
            .any(|l| l.contains("# Safety"));
        if !documented {
            bad.push(n + 1);
        }
    }
    bad
}

#[test]
fn every_unsafe_block_says_why_it_is_sound() {
    let mut bad = Vec::new();
    let files = source::all_rust_files();
    assert!(files.len() > 100, "the workspace's files were not found");
    for file in &files {
        let text = source::read(file);
        for line in unexplained_blocks(&text) {
            bad.push(format!(
                "{}:{line}: `unsafe` without a `// SAFETY:` comment",
                shown(file)
            ));
        }
        for line in undocumented_fns(&text) {
            bad.push(format!(
                "{}:{line}: `unsafe fn` without a `# Safety` section",
                shown(file)
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn crates_without_unsafe_forbid_it() {
    let mut bad = Vec::new();
    for krate in source::crates() {
        let writes_unsafe = source::rust_files(&krate.src())
            .iter()
            .any(|f| has_word(&code_of(&source::read(f)), "unsafe"));
        let root = krate.root_file();
        let forbids = code_of(&source::read(&root)).contains("#![forbid(unsafe_code)]");
        if !writes_unsafe && !forbids {
            bad.push(format!(
                "{}: crate `{}` has no `unsafe`: add `#![forbid(unsafe_code)]`",
                shown(&root),
                krate.name
            ));
        }
        if writes_unsafe && forbids {
            bad.push(format!("{}: forbids unsafe code but writes some", shown(&root)));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_unsafe_rules_see_what_is_missing() {
    let text = "fn a() {\n    // SAFETY: fine.\n    let x =\n        unsafe { f() };\n    let y = unsafe { g() };\n}\n";
    assert_eq!(unexplained_blocks(text), vec![5]);
    let text = "/// Does it.\n///\n/// # Safety\n/// `p` is valid.\nunsafe fn ok(p: *const u8) {}\n/// Nothing said.\npub unsafe fn bad() {}\ntype F = unsafe extern \"C\" fn();\n";
    assert_eq!(undocumented_fns(text), vec![7]);
    assert!(has_word("x unsafe {", "unsafe") && !has_word("unsafe_code", "unsafe"));
}
