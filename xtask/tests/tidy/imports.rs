//! No module imports a module that imports it back (directly or through
//! others), in every library of the workspace; the circles some libraries
//! still have are counted in [`KNOWN`], which may only go down.
//!
//! Every file under `src/` is a module. A module depends on another when it
//! names it in a path: a `use crate::...`, `use super::...` or `use
//! self::...` line (or a `use` of a child module by its name), or
//! `crate::` / `super::` written in code. A path is
//! resolved to the deepest module it names (`crate::hub::state::State` is a
//! dependency on `hub::state`); a name that `mod.rs` re-exports counts as a
//! dependency on that `mod.rs`. Declaring a child (`mod x;`) is not a
//! dependency. Comments, doc comments and a file's unit tests (an inline
//! `mod tests` at its end) are ignored.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// Every `.rs` file under `dir`.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("reading src/") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file: `lib.rs` is `[]`, `hub/mod.rs` and `hub.rs`
/// are `["hub"]`, `hub/state.rs` is `["hub", "state"]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("a file under src/");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_owned());
    }
    parts
}

/// The file's text without comments (line and block comments; string
/// literals are left alone, which is conservative: a path in a string
/// counts as a dependency).
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_block = 0;
    while let Some(c) = chars.next() {
        if in_block > 0 {
            if c == '*' && chars.peek() == Some(&'/') {
                chars.next();
                in_block -= 1;
            } else if c == '/' && chars.peek() == Some(&'*') {
                chars.next();
                in_block += 1;
            }
            continue;
        }
        if c == '/' && chars.peek() == Some(&'/') {
            for c in chars.by_ref() {
                if c == '\n' {
                    out.push('\n');
                    break;
                }
            }
            continue;
        }
        if c == '/' && chars.peek() == Some(&'*') {
            chars.next();
            in_block += 1;
            continue;
        }
        out.push(c);
    }
    out
}

/// Expands the tree of a `use` item (`a::{b, c::{d, e}}`) into full paths.
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = tree[..open].trim().trim_end_matches("::");
        let inner = &tree[open + 1..tree.rfind('}').expect("a closing brace")];
        let base = join(prefix, head);
        for part in split_top(inner) {
            expand(&base, part, out);
        }
    } else {
        let path = tree.split(" as ").next().unwrap_or(tree).trim();
        if !path.is_empty() {
            out.push(join(prefix, path));
        }
    }
}

fn join(prefix: &str, rest: &str) -> String {
    match (prefix.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_owned(),
        (_, true) => prefix.to_owned(),
        _ => format!("{prefix}::{rest}"),
    }
}

/// Splits `a, b::{c, d}, e` at the commas outside braces.
fn split_top(s: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// The paths a file names: its `use` items, expanded, and the `crate::`
/// and `super::` paths written in its code.
fn paths_of(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = code;
    // `use` items, possibly over several lines.
    while let Some(at) = find_use(rest) {
        let item = &rest[at..];
        let end = item.find(';').expect("a `use` item ends with `;`");
        let tree = item[..end].trim_start_matches(|c: char| c != ' ').trim();
        expand("", tree, &mut paths);
        rest = &item[end..];
    }
    // Paths in code.
    let bytes = code.as_bytes();
    for start in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(start) {
            let at = from + i;
            let boundary = at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
            let len = code[at..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(code.len() - at);
            // `crate::{...}` is a `use` tree, expanded above.
            let tree = code[at + len..].starts_with('{');
            if boundary && !tree {
                paths.push(code[at..at + len].trim_end_matches(':').to_owned());
            }
            from = at + len.max(1);
        }
    }
    paths
}

/// The next `use` item: `use` at the start of a statement (after
/// visibility), as a word.
fn find_use(code: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = code[from..].find("use ") {
        let at = from + i;
        let line_start = code[..at].rfind('\n').map_or(0, |n| n + 1);
        let before = code[line_start..at].trim();
        if before.is_empty() || before.starts_with("pub") {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

/// Resolves `path`, written in module `here`, to the deepest module it
/// names, if it names one of the crate's.
fn resolve(here: &[String], path: &str, modules: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    let mut segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut base: Vec<String> = match segs.first() {
        Some(&"crate") => {
            segs.remove(0);
            Vec::new()
        }
        Some(&"super") | Some(&"self") => {
            let mut base = here.to_vec();
            while let Some(&s) = segs.first() {
                match s {
                    "super" => {
                        base.pop();
                    }
                    "self" => {}
                    _ => break,
                }
                segs.remove(0);
            }
            base
        }
        // A path relative to this module (2018 `use`): a child of it.
        Some(first) if modules.contains(&[here, &[(*first).to_owned()]].concat()) => here.to_vec(),
        _ => return None,
    };
    let mut deepest = base.clone();
    for seg in segs {
        base.push(seg.to_owned());
        if modules.contains(&base) {
            deepest = base.clone();
        } else {
            break;
        }
    }
    Some(deepest)
}

/// The file's code before its unit tests (an inline `mod tests` at the end,
/// whose `use super::*` is the file itself).
fn without_tests(code: &str) -> &str {
    code.find("#[cfg(test)]\nmod tests")
        .map_or(code, |at| &code[..at])
}

/// The module graph of the crate at `src`: module → modules it depends on.
fn graph(src: &Path) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mut all = Vec::new();
    files(src, &mut all);
    let modules: BTreeSet<Vec<String>> = all.iter().map(|f| module_of(src, f)).collect();
    let mut graph = BTreeMap::new();
    for file in &all {
        let here = module_of(src, file);
        let code = code_of(&fs::read_to_string(file).expect("reading a source file"));
        let deps: BTreeSet<Vec<String>> = paths_of(without_tests(&code))
            .iter()
            .filter_map(|p| resolve(&here, p, &modules))
            .filter(|m| *m != here)
            .collect();
        graph.insert(here, deps);
    }
    graph
}

/// A cycle in `graph`, if there is one, as the modules along it.
fn cycle(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &Vec<String>,
        graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        marks: &mut BTreeMap<Vec<String>, Mark>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let from = stack
                    .iter()
                    .position(|n| n == node)
                    .expect("an open node is on the stack");
                let mut names: Vec<String> = stack[from..].iter().map(|m| name(m)).collect();
                names.push(name(node));
                return Some(names);
            }
            None => {}
        }
        marks.insert(node.clone(), Mark::Open);
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, marks, stack) {
                return Some(found);
            }
        }
        stack.pop();
        marks.insert(node.clone(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if let Some(found) = visit(node, graph, &mut marks, &mut Vec::new()) {
            return Some(found);
        }
    }
    None
}

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

/// The libraries that still have import circles, and how many imports
/// must go to break them all (as [`circles`] counts): a ratchet. A new
/// circle fails the test, and so does a count that went down without this
/// table following it; a library not listed has none.
const KNOWN: &[(&str, usize)] = &[
    ("transport-pipe", 27),
    ("transport-shm", 17),
    ("transport-nats", 5),
    ("transport-adapters", 2),
];

/// The circles of `graph`, one per import that breaks it: finds a circle,
/// drops its last import, and looks again.
fn circles(mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    while let Some(circle) = cycle(&graph) {
        let module = |name: &str| -> Vec<String> {
            if name == "crate" {
                Vec::new()
            } else {
                name.split("::").map(str::to_owned).collect()
            }
        };
        let from = module(&circle[circle.len() - 2]);
        let to = module(&circle[circle.len() - 1]);
        graph.get_mut(&from).expect("a module of the circle").remove(&to);
        found.push(circle);
    }
    found
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let mut bad = Vec::new();
    let mut libraries = 0;
    for krate in crate::source::crates().iter().filter(|c| c.is_library()) {
        libraries += 1;
        let found = circles(graph(&krate.src()));
        let known = KNOWN
            .iter()
            .find(|(name, _)| *name == krate.name)
            .map_or(0, |k| k.1);
        if found.len() > known {
            let list: Vec<String> = found.iter().map(|c| format!("  {}", c.join(" -> "))).collect();
            bad.push(format!(
                "{}: {} import circles, {known} known; they are:\n{}",
                krate.name,
                found.len(),
                list.join("\n")
            ));
        } else if found.len() < known {
            bad.push(format!(
                "{}: {} import circles left, fewer than the {known} in KNOWN: lower it",
                krate.name,
                found.len()
            ));
        }
    }
    assert!(libraries >= 6, "the libraries were not found");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The checker itself finds a circle, resolves `super`, and ignores
/// comments and child declarations.
#[test]
fn the_checker_sees_circles() {
    let dir = std::env::temp_dir().join(format!("transport-tidy-imports-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("a")).unwrap();
    fs::write(
        dir.join("lib.rs"),
        "mod a;\nmod b;\n// use crate::b;\npub use a::C;\n",
    )
    .unwrap();
    fs::write(dir.join("a/mod.rs"), "mod c;\npub(crate) use self::c::C;\n").unwrap();
    fs::write(
        dir.join("a/c.rs"),
        "use crate::b::{\n    B,\n    x::Y as Z,\n};\n",
    )
    .unwrap();
    fs::write(dir.join("b.rs"), "/* use crate::a; */ fn f() {}\n").unwrap();
    let g = graph(&dir);
    assert_eq!(cycle(&g), None, "{g:?}");
    fs::write(dir.join("b.rs"), "fn f() { super::a::c::C::new(); }\n").unwrap();
    let found = cycle(&graph(&dir)).expect("a circle between a::c and b");
    assert!(
        found.contains(&"b".to_owned()) && found.contains(&"a::c".to_owned()),
        "{found:?}"
    );
    // Through the crate root's relative re-export.
    fs::write(dir.join("b.rs"), "fn f() { crate::C::new(); }\n").unwrap();
    let found = cycle(&graph(&dir)).expect("a circle through the root");
    assert!(found.contains(&"crate".to_owned()), "{found:?}");
    fs::remove_dir_all(&dir).unwrap();
}
