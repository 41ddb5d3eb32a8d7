//! `cargo xtask caps`: what each backend can do on each operating system,
//! as its own `Transport::capabilities()` says when built for and run on
//! that system.
//!
//! xtask does not depend on the backends, so it asks them: each backend
//! package has an example, `examples/capabilities.rs`, that prints one line
//! (`capabilities: backend=pipe multi_producer=true ...`). It runs natively,
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
    ("readiness", "async readiness"),
    ("max_message_size", "max message size"),
];

/// What one backend said on one operating system.
struct Entry {
    backend: &'static str,
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
            entries.push(ask(&root, &platform, os, row.backend, row.package, row.dir));
        }
    }
    print_table(&entries, &options.os);
    let path = root.join("target").join("caps.json");
    write_json(&path, &entries)?;
    println!("wrote {}", path.display());
    Ok(entries.iter().all(|e| !e.failed))
}

fn ask(root: &Path, platform: &Platform, os: Os, backend: &'static str, package: &str, dir: &str) -> Entry {
    let mut entry = Entry {
        backend,
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
        return entry;
    }
    let cmd = match platform.run_example(root, package, EXAMPLE) {
        Ok(Some(cmd)) => cmd,
        Ok(None) => {
            entry.note = format!("not run: {os} is only type-checked from this host");
            return entry;
        }
        Err(Problem::Unavailable(why)) => {
            entry.note = format!("not run: {why}");
            return entry;
        }
        Err(Problem::Broken(why)) => {
            entry.note = format!("setup failed: {why}");
            entry.failed = true;
            return entry;
        }
    };
    let result = output(cmd).and_then(|text| parse(&text, backend));
    if let Err(e) = platform.finish() {
        entry.note = e;
        entry.failed = true;
    }
    match result {
        Ok(values) => entry.values = Some(values),
        Err(e) => {
            entry.note = e;
            entry.failed = true;
        }
    }
    entry
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

/// Reads the example's line into the values of [`FIELDS`].
fn parse(text: &str, backend: &str) -> Result<Vec<String>, String> {
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix(PREFIX))
        .ok_or_else(|| format!("the {EXAMPLE} example printed no `{PREFIX}` line"))?;
    let pairs: Vec<(&str, &str)> = line
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let get = |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    if get("backend") != Some(backend) {
        return Err(format!(
            "the {EXAMPLE} example speaks for backend `{}`, not `{backend}`",
            get("backend").unwrap_or("?")
        ));
    }
    FIELDS
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
        .collect()
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
            let mut line = vec![e.backend.to_owned(), o.name().to_owned()];
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
                ("backend", Value::Str(e.backend.to_owned())),
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
        multi_consumer=true duplex=true zero_copy=true bounded=true \
        max_message_size=9223372036854775807 readiness=None";

    #[test]
    fn reads_the_example_line() {
        let values = parse(&format!("noise\n{LINE}\n"), "local").unwrap();
        let shown: Vec<String> = FIELDS.iter().zip(&values).map(|((k, _), v)| show(k, v)).collect();
        assert_eq!(
            shown,
            ["no", "yes", "yes", "yes", "yes", "yes", "none", "isize::MAX"]
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
    fn sizes_in_binary_units() {
        assert_eq!(size("1073741824"), "1 GiB");
        assert_eq!(size("65536"), "64 KiB");
        assert_eq!(size("1000"), "1000 B");
    }
}
