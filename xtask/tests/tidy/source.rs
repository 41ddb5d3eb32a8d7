//! The workspace as text: its crates, their files, and their code without
//! comments.

use std::{
    fs,
    path::{Path, PathBuf},
};

/// The workspace's root directory.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

/// A crate of the workspace (or of `fuzz/`, which sits outside it).
#[derive(Debug)]
pub struct Crate {
    /// Its package name.
    pub name: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Its manifest, parsed.
    pub manifest: toml::Table,
}

impl Crate {
    /// Its `src/` directory.
    pub fn src(&self) -> PathBuf {
        self.dir.join("src")
    }

    /// Its crate root: `src/lib.rs`, else `src/main.rs`.
    pub fn root_file(&self) -> PathBuf {
        let lib = self.src().join("lib.rs");
        if lib.is_file() {
            lib
        } else {
            self.src().join("main.rs")
        }
    }

    /// Whether it is one of the libraries users depend on (not a tool of
    /// `xtask/`, not the fuzz crate).
    pub fn is_library(&self) -> bool {
        self.src().join("lib.rs").is_file()
            && !self.dir.starts_with(root().join("xtask"))
            && !self.dir.starts_with(root().join("fuzz"))
    }

    /// The names of its dependencies of `table` (`dependencies`,
    /// `dev-dependencies`, `build-dependencies`), for every target.
    pub fn dependencies(&self, table: &str) -> Vec<String> {
        let mut tables = vec![self.manifest.get(table)];
        if let Some(toml::Value::Table(targets)) = self.manifest.get("target") {
            for target in targets.values() {
                tables.push(target.get(table));
            }
        }
        let mut names = Vec::new();
        for t in tables.into_iter().flatten() {
            let toml::Value::Table(t) = t else { continue };
            for (key, value) in t {
                // `alias = { package = "real-name", ... }`
                let name = value.get("package").and_then(|p| p.as_str()).unwrap_or(key);
                names.push(name.to_owned());
            }
        }
        names.sort();
        names.dedup();
        names
    }
}

fn manifest(path: &Path) -> toml::Table {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.parse()
        .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// Every crate of the workspace, and the fuzz crate.
pub fn crates() -> Vec<Crate> {
    let root = root();
    let workspace = manifest(&root.join("Cargo.toml"));
    let members = workspace["workspace"]["members"]
        .as_array()
        .expect("workspace.members is a list");
    let mut dirs: Vec<PathBuf> = members
        .iter()
        .map(|m| root.join(m.as_str().expect("a member is a path")))
        .collect();
    dirs.push(root.join("fuzz"));
    dirs.into_iter()
        .map(|dir| {
            let manifest = manifest(&dir.join("Cargo.toml"));
            let name = manifest["package"]["name"]
                .as_str()
                .expect("package.name is a string")
                .to_owned();
            Crate { name, dir, manifest }
        })
        .collect()
}

/// Every `.rs` file under `dir`, skipping build output.
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                walk(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// Every `.rs` file of the repository's crates (sources, tests, examples,
/// benches, fuzz targets).
pub fn all_rust_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for krate in crates() {
        for sub in ["src", "tests", "examples", "benches", "fuzz_targets"] {
            files.extend(rust_files(&krate.dir.join(sub)));
        }
    }
    files.sort();
    files.dedup();
    files
}

/// The text of `path`.
pub fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// `text` with its comments (line and block comments, nested ones too) and
/// the contents of its string literals blanked out, everything else, line
/// breaks included, in place, so line numbers still hold.
pub fn code_of(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut depth = 0usize;
    let mut in_string = false;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        if depth > 0 {
            if c == b'*' && next == Some(b'/') {
                depth -= 1;
                out.push_str("  ");
                i += 2;
            } else if c == b'/' && next == Some(b'*') {
                depth += 1;
                out.push_str("  ");
                i += 2;
            } else {
                out.push(if c == b'\n' { '\n' } else { ' ' });
                i += 1;
            }
            continue;
        }
        if in_string {
            if c == b'\\' {
                out.push_str("  ");
                i += 2;
                continue;
            }
            if c == b'"' {
                in_string = false;
            } else {
                out.push(if c == b'\n' { '\n' } else { ' ' });
                i += text[i..].chars().next().map_or(1, char::len_utf8);
                continue;
            }
        } else if c == b'\'' && next == Some(b'"') && bytes.get(i + 2) == Some(&b'\'') {
            out.push_str("'\"'");
            i += 3;
            continue;
        } else if c == b'"' {
            in_string = true;
        } else if c == b'/' && next == Some(b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                out.push(' ');
                i += 1;
            }
            continue;
        } else if c == b'/' && next == Some(b'*') {
            depth = 1;
            out.push_str("  ");
            i += 2;
            continue;
        }
        // Multi-byte characters are copied whole.
        let len = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + len]);
        i += len;
    }
    out
}

/// `path` relative to the workspace root, for messages.
pub fn shown(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).display().to_string()
}

#[test]
fn comments_are_blanked_and_lines_kept() {
    let code = code_of("a // b\n/* c /* d */ e */ f\n\"//x\" g '\"' // h\n");
    assert_eq!(code.lines().count(), 3);
    assert!(!code.contains('h'), "{code}");
    assert!(
        code.contains('a') && code.contains('f') && code.contains("\"   \" g"),
        "{code}"
    );
    assert!(!code.contains('b') && !code.contains('c') && !code.contains('e'));
}
