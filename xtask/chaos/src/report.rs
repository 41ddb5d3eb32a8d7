//! The campaign's table and `chaos.json`.

use std::{fs, path::Path, time::Duration};

use crate::{
    ends::Api,
    json::{self, Value},
    rules,
    trial::{Outcome, Side},
};

/// Every trial of one backend with the child on one side.
#[derive(Debug)]
pub struct Row {
    pub backend: &'static str,
    pub side: Side,
    pub api: Api,
    pub trials: u64,
    pub hangs: u64,
    pub panics: u64,
    pub duplicates: u64,
    /// Trials that lost more than the rule allows.
    pub excess: u64,
    /// The most messages one trial lost.
    pub max_lost: u64,
    /// Trials with another contract violation (an error other than
    /// `Disconnected`, a corrupt message, a child that died on its own).
    pub errors: u64,
    pub leaks: u64,
    /// Kill to `Disconnected`, one per trial that got there.
    pub disconnect: Vec<Duration>,
    /// What went wrong, at most a few per kind.
    pub notes: Vec<String>,
}

/// Notes kept per row and kind (hang, panic, loss, error, leftover).
const NOTES_PER_KIND: usize = 3;

impl Row {
    pub fn new(backend: &'static str, side: Side, api: Api) -> Self {
        Row {
            backend,
            side,
            api,
            trials: 0,
            hangs: 0,
            panics: 0,
            duplicates: 0,
            excess: 0,
            max_lost: 0,
            errors: 0,
            leaks: 0,
            disconnect: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds one trial; the one-letter mark for the progress line.
    pub fn add(&mut self, trial: &str, o: &Outcome) -> char {
        self.trials += 1;
        self.hangs += u64::from(o.hang.is_some());
        self.panics += o.panics.len() as u64;
        self.duplicates += o.duplicates;
        self.excess += u64::from(o.excess.is_some());
        self.max_lost = self.max_lost.max(o.lost);
        self.errors += u64::from(!o.errors.is_empty());
        self.leaks += o.leaks.len() as u64;
        self.disconnect.extend(o.to_disconnected);
        let mut note = |kind: &str, what: &str| {
            let prefix = format!("{kind}: ");
            if self.notes.iter().filter(|n| n.contains(&prefix)).count() < NOTES_PER_KIND {
                self.notes.push(format!("{trial}: {prefix}{what}"));
            }
        };
        o.hang.iter().for_each(|h| note("hang", h));
        o.panics.iter().for_each(|p| note("panic", p));
        o.excess.iter().for_each(|e| {
            note(
                "loss",
                &format!("{e} (sent with Ok {}, received {})", o.sent, o.received),
            )
        });
        o.errors.iter().for_each(|e| note("error", e));
        o.leaks.iter().for_each(|l| note("left behind", l));
        if o.hang.is_some() {
            'H'
        } else if !o.panics.is_empty() {
            'P'
        } else if o.duplicates > 0 {
            'D'
        } else if o.excess.is_some() {
            'L'
        } else if !o.errors.is_empty() {
            'E'
        } else if !o.leaks.is_empty() {
            'K'
        } else {
            '.'
        }
    }

    /// Whether every trial kept the contract.
    pub fn clean(&self) -> bool {
        self.hangs + self.panics + self.duplicates + self.excess + self.errors + self.leaks == 0
    }

    fn rule(&self) -> rules::LossRule {
        let r = rules::of(self.backend);
        match self.side {
            Side::Producer => r.producer_killed,
            Side::Consumer => r.consumer_killed,
        }
    }

    fn doc(&self) -> &'static str {
        let r = rules::of(self.backend);
        match self.side {
            Side::Producer => r.producer_doc,
            Side::Consumer => r.consumer_doc,
        }
    }

    /// Median and maximum of kill-to-`Disconnected`, in milliseconds.
    fn disconnect_ms(&self) -> Option<(f64, f64)> {
        let mut d = self.disconnect.clone();
        if d.is_empty() {
            return None;
        }
        d.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        Some((ms(d[d.len() / 2]), ms(d[d.len() - 1])))
    }
}

/// Prints the table and the notes.
pub fn print(rows: &[Row]) {
    println!();
    println!(
        "{:<7} {:<9} {:<8} {:>6} {:>5} {:>6} {:>5} {:>6} {:>9} {:<16} {:>6} {:>5} {:>22}",
        "backend",
        "killed",
        "parent",
        "trials",
        "hangs",
        "panics",
        "dups",
        "excess",
        "max lost",
        "loss rule",
        "errors",
        "leaks",
        "to Disconnected med/max"
    );
    for r in rows {
        let disc = r
            .disconnect_ms()
            .map_or_else(|| "-".to_owned(), |(med, max)| format!("{med:.1} / {max:.1} ms"));
        println!(
            "{:<7} {:<9} {:<8} {:>6} {:>5} {:>6} {:>5} {:>6} {:>9} {:<16} {:>6} {:>5} {:>22}",
            r.backend,
            r.side.name(),
            r.api.name(),
            r.trials,
            r.hangs,
            r.panics,
            r.duplicates,
            r.excess,
            r.max_lost,
            r.rule().describe(),
            r.errors,
            r.leaks,
            disc
        );
    }
    for r in rows.iter().filter(|r| !r.notes.is_empty()) {
        println!();
        println!(
            "{} ({} killed, parent {}):",
            r.backend,
            r.side.name(),
            r.api.name()
        );
        for note in &r.notes {
            println!("  {note}");
        }
    }
    println!();
    println!("loss rules (messages whose send returned Ok and that were never received):");
    let mut seen = Vec::new();
    for r in rows {
        if !seen.contains(&(r.backend, r.side)) {
            seen.push((r.backend, r.side));
            println!(
                "  {} {} killed: {}: {}",
                r.backend,
                r.side.name(),
                r.rule().describe(),
                r.doc()
            );
        }
    }
}

/// Writes the rows to `path` as JSON.
pub fn write(rows: &[Row], seed: u64, path: &Path) -> Result<(), String> {
    let items: Vec<String> = rows
        .iter()
        .map(|r| {
            let (med, max) = r.disconnect_ms().unwrap_or((f64::NAN, f64::NAN));
            json::object(&[
                ("backend", Value::Str(r.backend.to_owned())),
                ("killed", Value::Str(r.side.name().to_owned())),
                ("parent_api", Value::Str(r.api.name().to_owned())),
                ("trials", Value::Int(r.trials as i64)),
                ("hangs", Value::Int(r.hangs as i64)),
                ("panics", Value::Int(r.panics as i64)),
                ("duplicates", Value::Int(r.duplicates as i64)),
                ("excess_loss_trials", Value::Int(r.excess as i64)),
                ("max_lost", Value::Int(r.max_lost as i64)),
                ("loss_rule", Value::Str(r.rule().describe())),
                ("loss_rule_doc", Value::Str(r.doc().to_owned())),
                ("error_trials", Value::Int(r.errors as i64)),
                ("leaks", Value::Int(r.leaks as i64)),
                ("disconnected_median_ms", Value::Num(med)),
                ("disconnected_max_ms", Value::Num(max)),
                ("disconnected_trials", Value::Int(r.disconnect.len() as i64)),
                ("seed", Value::Int(seed as i64)),
                ("notes", Value::Str(r.notes.join("\n"))),
            ])
        })
        .collect();
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    fs::write(path, json::array(&items)).map_err(|e| format!("writing {}: {e}", path.display()))
}
