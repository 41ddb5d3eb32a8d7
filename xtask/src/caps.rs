//! `cargo xtask caps`: what each backend can do on each operating system,
//! as its own `Transport::capabilities()` says when built for and run on
//! that system.
//!
//! xtask does not depend on the backends, so it asks them: each backend
//! package has an example, `examples/capabilities.rs`, that prints one line
//! per transport it offers (`capabilities: backend=pipe multi_producer=true
//! ...`; the first for the package's backend, others for its variants, named
//! `<backend>-<variant>` such as `shm-mpmc`). It runs natively,
//! under Wine for Windows from Linux, and not at all for macOS from Linux
//! (macOS is only type-checked there; run `cargo xtask caps` on a Mac).
//! Prints a table and writes `target/caps.json`.

use std::{
    path::Path,
    process::{Command, Stdio},
};

use crate::{
    debian::Problem,
    json::{self, Value},
    options::{Options, Os},
    platform::Platform,
    test_matrix::{BACKENDS, Needs, ROWS, workspace_root},
};

const EXAMPLE: &str = "capabilities";
const PREFIX: &str = "capabilities:";
/// The fields of the line, in the order the table shows them, with their
/// column titles.
const FIELDS: &[(&str, &str)] = &[
    ("cross_process", "cross-process"),
    ("multi_producer", "multi-producer"),
    ("multi_consumer", "multi-consumer"),
    ("duplex", "duplex"),
    ("zero_copy", "zero-copy"),
    ("bounded", "bounded"),
    ("bounded_in_bytes", "bound in bytes"),
    ("counts_messages", "counts messages"),
    ("readiness", "async readiness"),
    ("max_message_size", "max message size"),
];

/// What one backend said on one operating system.
struct Entry {
    /// The backend, or `<backend>-<variant>` for a variant's line.
    backend: String,
    os: Os,
    /// The values of [`FIELDS`], in order, when the example ran.
    values: Option<Vec<String>>,
    note: String,
    failed: bool,
}

/// Runs the task; `Ok(false)` when an example failed or printed nonsense.
pub fn run(args: &[String]) -> Result<bool, String> {
    let options = Options::parse(args, &Os::ALL, BACKENDS)?;
    let root = workspace_root();
    let mut entries = Vec::new();
    for &os in &options.os {
        let platform = Platform::prepare(os, &root, options.install);
        eprintln!("== {os}: {}", platform.describe());
        for row in ROWS.iter().filter(|r| matches!(r.needs, Needs::Suite)) {
            if !options.wants(row.backend) {
                continue;
            }
            eprintln!("[caps] {os} {}", row.backend);
            entries.extend(ask(&root, &platform, os, row.backend, row.package, row.dir));
        }
    }
    print_table(&entries, &options.os);
    let path = root.join("target").join("caps.json");
    write_json(&path, &entries)?;
    println!("wrote {}", path.display());
    Ok(entries.iter().all(|e| !e.failed))
}

/// One entry per line the backend's example printed, or one entry saying
/// why it did not run.
fn ask(root: &Path, platform: &Platform, os: Os, backend: &str, package: &str, dir: &str) -> Vec<Entry> {
    let mut entry = Entry {
        backend: backend.to_owned(),
        os,
        values: None,
        note: String::new(),
        failed: false,
    };
    if !root
        .join(dir)
        .join("examples")
        .join(format!("{EXAMPLE}.rs"))
        .exists()
    {
        entry.note = format!("not run: {package} has no examples/{EXAMPLE}.rs yet");
        return vec![entry];
    }
    let cmd = match platform.run_example(root, package, EXAMPLE) {
        Ok(Some(cmd)) => cmd,
        Ok(None) => {
            entry.note = format!("not run: {os} is only type-checked from this host");
            return vec![entry];
        }
        Err(Problem::Unavailable(why)) => {
            entry.note = format!("not run: {why}");
            return vec![entry];
        }
        Err(Problem::Broken(why)) => {
            entry.note = format!("setup failed: {why}");
            entry.failed = true;
            return vec![entry];
        }
    };
    let result = output(cmd).and_then(|text| parse(&text, backend));
    let finished = platform.finish();
    let mut entries = match result {
        Ok(lines) => lines
            .into_iter()
            .map(|(name, values)| Entry {
                backend: name,
                os,
                values: Some(values),
                note: String::new(),
                failed: false,
            })
            .collect(),
        Err(e) => {
            entry.note = e;
            entry.failed = true;
            vec![entry]
        }
    };
    if let Err(e) = finished {
        for entry in &mut entries {
            entry.note.clone_from(&e);
            entry.failed = true;
        }
    }
    entries
}

/// Runs `cmd` and returns what it printed on stdout; cargo's own messages
/// and the program's stderr go to ours.
fn output(mut cmd: Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("the {EXAMPLE} example failed ({})", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Reads the example's lines: each transport's name (the backend, or
/// `<backend>-<variant>`) with the values of [`FIELDS`]. The first line must
/// be the backend's own.
fn parse(text: &str, backend: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    let lines: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix(PREFIX))
        .collect();
    if lines.is_empty() {
        return Err(format!("the {EXAMPLE} example printed no `{PREFIX}` line"));
    }
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let (name, values) = parse_line(line)?;
        let own = name == backend;
        let variant = name
            .strip_prefix(backend)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|v| !v.is_empty());
        if (i == 0 && !own) || (i > 0 && !variant) {
            return Err(format!(
                "the {EXAMPLE} example speaks for backend `{name}`, not `{backend}`"
            ));
        }
        if out.iter().any(|(n, _)| *n == name) {
            return Err(format!("the {EXAMPLE} example printed `{name}` twice"));
        }
        out.push((name, values));
    }
    Ok(out)
}

/// One `key=value ...` line into the transport's name and the values of
/// [`FIELDS`].
fn parse_line(line: &str) -> Result<(String, Vec<String>), String> {
    let pairs: Vec<(&str, &str)> = line
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let get = |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let name = get("backend").ok_or_else(|| format!("the {EXAMPLE} example gave no `backend`"))?;
    let values = FIELDS
        .iter()
        .map(|(key, _)| {
            let value = get(key).ok_or_else(|| format!("the {EXAMPLE} example gave no `{key}`"))?;
            let valid = match *key {
                "max_message_size" => value.parse::<u64>().is_ok(),
                "readiness" => !value.is_empty(),
                _ => value == "true" || value == "false",
            };
            if !valid {
                return Err(format!("the {EXAMPLE} example gave `{key}={value}`"));
            }
            Ok(value.to_owned())
        })
        .collect::<Result<_, _>>()?;
    Ok((name.to_owned(), values))
}

/// A value as the table shows it.
fn show(key: &str, value: &str) -> String {
    match (key, value) {
        ("max_message_size", n) => size(n),
        ("readiness", r) => r.to_lowercase(),
        (_, "true") => "yes".to_owned(),
        (_, "false") => "no".to_owned(),
        (_, other) => other.to_owned(),
    }
}

/// A value as the JSON report gives it.
fn json_value(key: &str, value: &str) -> Value {
    match (key, value) {
        ("max_message_size", n) => n.parse().map_or_else(|_| Value::Str(n.to_owned()), Value::Int),
        ("readiness", r) => Value::Str(r.to_lowercase()),
        (_, b) => Value::Bool(b == "true"),
    }
}

/// A byte count in the largest binary unit that divides it.
fn size(value: &str) -> String {
    let Ok(n) = value.parse::<u64>() else {
        return value.to_owned();
    };
    if n == i64::MAX as u64 {
        return "isize::MAX".to_owned();
    }
    for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if n > 0 && n % (1 << shift) == 0 {
            return format!("{} {unit}", n >> shift);
        }
    }
    format!("{n} B")
}

fn print_table(entries: &[Entry], os: &[Os]) {
    let mut grid: Vec<Vec<String>> = vec![
        ["backend", "os"]
            .into_iter()
            .chain(FIELDS.iter().map(|(_, title)| *title))
            .map(str::to_owned)
            .collect(),
    ];
    let mut notes = Vec::new();
    for o in os {
        for e in entries.iter().filter(|e| e.os == *o) {
            let mut line = vec![e.backend.clone(), o.name().to_owned()];
            match &e.values {
                Some(values) => line.extend(FIELDS.iter().zip(values).map(|((k, _), v)| show(k, v))),
                None => line.extend(FIELDS.iter().map(|_| "-".to_owned())),
            }
            if !e.note.is_empty() {
                notes.push(format!("{} on {}: {}", e.backend, o, e.note));
            }
            grid.push(line);
        }
    }
    let widths: Vec<usize> = (0..grid[0].len())
        .map(|i| grid.iter().map(|l| l[i].len()).max().unwrap_or(0))
        .collect();
    println!();
    for (i, line) in grid.iter().enumerate() {
        let padded: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(t, w)| format!("{t:<w$}"))
            .collect();
        println!("| {} |", padded.join(" | "));
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            println!("|-{}-|", rule.join("-|-"));
        }
    }
    for note in notes {
        println!("- {note}");
    }
    println!();
}

fn write_json(path: &Path, entries: &[Entry]) -> Result<(), String> {
    let items: Vec<String> = entries
        .iter()
        .map(|e| {
            let mut fields = vec![
                ("backend", Value::Str(e.backend.clone())),
                ("os", Value::Str(e.os.name().to_owned())),
            ];
            if let Some(values) = &e.values {
                for ((key, _), value) in FIELDS.iter().zip(values) {
                    fields.push((key, json_value(key, value)));
                }
            }
            fields.push(("note", Value::Str(e.note.clone())));
            json::object(&fields)
        })
        .collect();
    std::fs::write(path, json::array(&items)).map_err(|e| format!("writing {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "capabilities: backend=local cross_process=false multi_producer=true \
        multi_consumer=true duplex=true zero_copy=true bounded=true bounded_in_bytes=false \
        counts_messages=true max_message_size=9223372036854775807 readiness=None";

    #[test]
    fn reads_the_example_line() {
        let lines = parse(&format!("noise\n{LINE}\n"), "local").unwrap();
        assert_eq!(lines.len(), 1);
        let (name, values) = &lines[0];
        assert_eq!(name, "local");
        let shown: Vec<String> = FIELDS.iter().zip(values).map(|((k, _), v)| show(k, v)).collect();
        assert_eq!(
            shown,
            [
                "no",
                "yes",
                "yes",
                "yes",
                "yes",
                "yes",
                "no",
                "yes",
                "none",
                "isize::MAX"
            ]
        );
        assert!(parse(&LINE.replace("duplex=true", "duplex=maybe"), "local").is_err());
    }

    #[test]
    fn refuses_a_line_for_another_backend_or_with_a_field_missing() {
        assert!(parse(LINE, "pipe").unwrap_err().contains("`local`, not `pipe`"));
        let short = LINE.replace(" duplex=true", "");
        assert!(parse(&short, "local").unwrap_err().contains("duplex"));
        assert!(
            parse("hello", "local")
                .unwrap_err()
                .contains("no `capabilities:` line")
        );
    }

    #[test]
    fn reads_a_variant_line_after_the_backend_line() {
        let variant = LINE.replace("backend=local", "backend=local-mpmc");
        let lines = parse(&format!("{LINE}\n{variant}\n"), "local").unwrap();
        let names: Vec<&str> = lines.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["local", "local-mpmc"]);
        // The backend's own line comes first; a variant of another backend,
        // a bare `local-` and a repeated line are refused.
        assert!(parse(&format!("{variant}\n{LINE}\n"), "local").is_err());
        let other = LINE.replace("backend=local", "backend=localx");
        assert!(parse(&format!("{LINE}\n{other}\n"), "local").is_err());
        let bare = LINE.replace("backend=local", "backend=local-");
        assert!(parse(&format!("{LINE}\n{bare}\n"), "local").is_err());
        assert!(parse(&format!("{LINE}\n{variant}\n{variant}\n"), "local").is_err());
    }

    #[test]
    fn sizes_in_binary_units() {
        assert_eq!(size("1073741824"), "1 GiB");
        assert_eq!(size("65536"), "64 KiB");
        assert_eq!(size("1000"), "1000 B");
    }
}
