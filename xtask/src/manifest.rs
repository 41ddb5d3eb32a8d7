//! Just enough reading of a `Cargo.toml` to know which features a package
//! declares and which binaries it has (no dependency needed).

use std::{fs, path::Path};

/// The names in the `[features]` table of the manifest at `path`.
pub fn features(path: &Path) -> Result<Vec<String>, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    Ok(features_in(&text))
}

/// The names of the `[[bin]]` tables of the manifest at `path` (the fuzz
/// crate's targets).
pub fn bins(path: &Path) -> Result<Vec<String>, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    Ok(bins_in(&text))
}

fn bins_in(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
            continue;
        }
        if !in_bin {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            if key.trim() == "name" {
                names.push(value.trim().trim_matches('"').to_owned());
                // One name per table.
                in_bin = false;
            }
        }
    }
    names
}

fn features_in(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_features = false;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.starts_with('[') && !line.starts_with("[[") && line.ends_with(']') && !line.contains('"') {
            in_features = line == "[features]";
            continue;
        }
        if line.starts_with("[[") {
            in_features = false;
            continue;
        }
        if !in_features {
            continue;
        }
        // `name = [ ...` starts an entry; continuation lines of a
        // multi-line list hold only quoted strings.
        if let Some((key, _)) = line.split_once('=') {
            let key = key.trim().trim_matches('"');
            if !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || "-_".contains(c)) {
                names.push(key.to_owned());
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_features_table_only() {
        let text = r#"
[package]
name = "transport-adapters"

[features]
default = ["queue"] # the usual
## Python's Queue
queue = ["dep:transport-queue"]
"pipe" = [
    "dep:transport-pipe",
    "tokio/net",
]

[dependencies]
tokio = { workspace = true, features = ["rt"] }

[[test]]
name = "conformance"
"#;
        assert_eq!(features_in(text), ["default", "queue", "pipe"]);
        assert!(features_in("[package]\nname = \"x\"\n").is_empty());
    }

    #[test]
    fn reads_the_bin_tables_only() {
        let text = r#"
[package]
name = "transport-fuzz"

[dependencies]
name = "not a bin"

[[bin]]
name = "message_validate"  # the first
path = "fuzz_targets/message_validate.rs"
test = false

[profile.release]
debug = 1

[[bin]]
path = "fuzz_targets/handoff_token.rs"
name = "handoff_token"
"#;
        assert_eq!(bins_in(text), ["message_validate", "handoff_token"]);
        assert!(bins_in("[package]\nname = \"x\"\n").is_empty());
    }
}
