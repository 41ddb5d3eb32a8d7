//! The matrix's results: cells, the table people read and the JSON that
//! tools read.

use std::{fmt::Write, fs, path::Path};

use crate::{
    json::{self, Value},
    options::Os,
};

/// How a cell ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The tests ran and passed.
    Pass,
    /// A test failed, or the build or the set-up did.
    Fail,
    /// Every target type-checked; nothing ran.
    CheckOnly,
    /// Not tested, for the reason in the note.
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::CheckOnly => "check-only",
            Status::Skipped => "skipped",
        }
    }
}

/// One backend (with a feature selection) on one operating system.
#[derive(Debug)]
pub struct Cell {
    pub backend: &'static str,
    pub os: Os,
    pub features: String,
    pub status: Status,
    pub passed: u64,
    pub failed: u64,
    pub seconds: f64,
    pub note: String,
}

impl Cell {
    /// A cell that has not run: skipped until it does.
    pub fn new(backend: &'static str, os: Os, features: String) -> Cell {
        Cell {
            backend,
            os,
            features,
            status: Status::Skipped,
            passed: 0,
            failed: 0,
            seconds: 0.0,
            note: String::new(),
        }
    }

    /// Status, counts and time, as the table shows them.
    fn short(&self) -> String {
        match self.status {
            Status::Pass | Status::Fail => format!(
                "{} {}/{} {:.1}s",
                self.status.as_str(),
                self.passed,
                self.failed,
                self.seconds
            ),
            Status::CheckOnly => format!("check-only {:.1}s", self.seconds),
            Status::Skipped => "skipped".to_owned(),
        }
    }

    /// One line for progress.
    pub fn summary(&self) -> String {
        if self.note.is_empty() {
            self.short()
        } else {
            format!("{} ({})", self.short(), self.note)
        }
    }
}

/// Prints one line per row (backend and features), one column per
/// operating system, and the notes as numbered footnotes below.
pub fn print_table(cells: &[Cell], os: &[Os]) {
    let mut rows: Vec<(&str, &str)> = Vec::new();
    for c in cells {
        if !rows.contains(&(c.backend, c.features.as_str())) {
            rows.push((c.backend, c.features.as_str()));
        }
    }
    let mut notes: Vec<&str> = Vec::new();
    let mut grid: Vec<Vec<String>> = vec![
        ["backend", "features"]
            .into_iter()
            .map(str::to_owned)
            .chain(os.iter().map(|o| o.name().to_owned()))
            .collect(),
    ];
    for (backend, features) in &rows {
        let mut line = vec![backend.to_string(), features.to_string()];
        for o in os {
            let cell = cells
                .iter()
                .find(|c| c.backend == *backend && c.features == *features && c.os == *o);
            let text = cell.map_or_else(String::new, |c| {
                let mut text = c.short();
                if !c.note.is_empty() {
                    let n = notes.iter().position(|n| *n == c.note).unwrap_or_else(|| {
                        notes.push(&c.note);
                        notes.len() - 1
                    });
                    let _ = write!(text, " [{}]", n + 1);
                }
                text
            });
            line.push(text);
        }
        grid.push(line);
    }
    let widths: Vec<usize> = (0..grid[0].len())
        .map(|i| grid.iter().map(|l| l[i].chars().count()).max().unwrap_or(0))
        .collect();
    println!();
    println!("status passed/failed seconds, per backend (rows) and operating system (columns):");
    for (i, line) in grid.iter().enumerate() {
        let padded: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(text, w)| format!("{text:<w$}"))
            .collect();
        println!("| {} |", padded.join(" | "));
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            println!("|-{}-|", rule.join("-|-"));
        }
    }
    for (i, note) in notes.iter().enumerate() {
        println!("[{}] {note}", i + 1);
    }
    println!();
}

/// A line of totals: cells per status and the time taken.
pub fn totals(cells: &[Cell], seconds: f64) -> String {
    let count = |s: Status| cells.iter().filter(|c| c.status == s).count();
    format!(
        "{} cells: {} pass, {} fail, {} check-only, {} skipped, in {seconds:.0}s",
        cells.len(),
        count(Status::Pass),
        count(Status::Fail),
        count(Status::CheckOnly),
        count(Status::Skipped),
    )
}

/// Writes the cells as `[{"backend","os","features","status","passed",
/// "failed","seconds","note"}]`.
pub fn write_json(path: &Path, cells: &[Cell]) -> Result<(), String> {
    let items: Vec<String> = cells
        .iter()
        .map(|c| {
            json::object(&[
                ("backend", Value::Str(c.backend.to_owned())),
                ("os", Value::Str(c.os.name().to_owned())),
                ("features", Value::Str(c.features.clone())),
                ("status", Value::Str(c.status.as_str().to_owned())),
                ("passed", Value::Int(c.passed as i64)),
                ("failed", Value::Int(c.failed as i64)),
                ("seconds", Value::Num((c.seconds * 10.0).round() / 10.0)),
                ("note", Value::Str(c.note.clone())),
            ])
        })
        .collect();
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    fs::write(path, json::array(&items)).map_err(|e| format!("writing {}: {e}", path.display()))
}
