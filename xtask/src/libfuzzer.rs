//! Reads what a libFuzzer run prints: its final statistics
//! (`-print_final_stats=1`), its status lines, and the crash it found, if
//! any.

/// What one libFuzzer run reported.
#[derive(Debug, Default, PartialEq)]
pub struct Report {
    /// Inputs run (`stat::number_of_executed_units`, or `Done N runs`).
    pub execs: Option<u64>,
    /// Inputs per second (`stat::average_exec_per_sec`).
    pub execs_per_sec: Option<u64>,
    /// How long the run took, in seconds (`Done N runs in S second(s)`).
    pub seconds: Option<u64>,
    /// Inputs in the corpus and their total size, from the last status line
    /// (`corp: 38/1011b`).
    pub corpus: Option<(u64, String)>,
    /// Inputs the run added to the corpus (`stat::new_units_added`).
    pub new_units: Option<u64>,
    /// Peak resident memory in MB (`stat::peak_rss_mb`).
    pub peak_rss_mb: Option<u64>,
    /// Inputs written because they crashed, leaked, timed out or ran out of
    /// memory (`Test unit written to PATH`).
    pub artifacts: Vec<String>,
    /// The first line that says what went wrong (`SUMMARY: ...`, or
    /// `==PID== ERROR: ...`).
    pub error: Option<String>,
}

impl Report {
    /// Reads one line of libFuzzer's output.
    pub fn observe(&mut self, line: &str) {
        let line = line.trim_end();
        if let Some(rest) = line.strip_prefix("stat::") {
            let Some((key, value)) = rest.split_once(':') else {
                return;
            };
            let value = value.trim().parse().ok();
            match key {
                "number_of_executed_units" => self.execs = value.or(self.execs),
                "average_exec_per_sec" => self.execs_per_sec = value.or(self.execs_per_sec),
                "new_units_added" => self.new_units = value.or(self.new_units),
                "peak_rss_mb" => self.peak_rss_mb = value.or(self.peak_rss_mb),
                _ => {}
            }
        } else if let Some(rest) = line.strip_prefix("Done ") {
            // "Done 1168149 runs in 21 second(s)"
            let words: Vec<&str> = rest.split_whitespace().collect();
            if let [runs, "runs", "in", secs, ..] = words.as_slice() {
                if self.execs.is_none() {
                    self.execs = runs.parse().ok();
                }
                self.seconds = secs.parse().ok();
            }
        } else if line.starts_with('#') {
            // "#1168149	DONE   cov: 305 ft: 552 corp: 38/1011b lim: 4096 ..."
            let mut words = line.split_whitespace();
            if words.any(|w| w == "corp:") {
                if let Some((units, size)) = words.next().and_then(|c| c.split_once('/')) {
                    if let Ok(units) = units.parse() {
                        self.corpus = Some((units, size.to_owned()));
                    }
                }
            }
        } else if let Some((_, path)) = line.split_once("Test unit written to ") {
            self.artifacts.push(path.trim().to_owned());
        } else if self.error.is_none() && (line.starts_with("SUMMARY: ") || is_error_banner(line)) {
            self.error = Some(line.to_owned());
        }
    }

    /// Inputs per second: libFuzzer's own average, or the runs over the
    /// time when only those were printed.
    pub fn rate(&self) -> Option<u64> {
        self.execs_per_sec.or_else(|| {
            let (execs, secs) = (self.execs?, self.seconds?);
            Some(execs / secs.max(1))
        })
    }
}

/// `==1234== ERROR: libFuzzer: deadly signal`, `==1234==ERROR: AddressSanitizer: ...`.
fn is_error_banner(line: &str) -> bool {
    line.starts_with("==") && line.contains("ERROR: ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Report {
        let mut report = Report::default();
        for line in text.lines() {
            report.observe(line);
        }
        report
    }

    #[test]
    fn a_clean_run() {
        let r = read(
            "INFO: seed corpus: files: 17 min: 3b max: 42b total: 322b rss: 44Mb\n\
             #18\tINITED cov: 292 ft: 504 corp: 17/322b exec/s: 0 rss: 44Mb\n\
             #1048576\tpulse  cov: 305 ft: 552 corp: 38/1011b lim: 4096 exec/s: 58254 rss: 530Mb\n\
             #1168149\tDONE   cov: 305 ft: 552 corp: 38/1011b lim: 4096 exec/s: 55626 rss: 530Mb\n\
             Done 1168149 runs in 21 second(s)\n\
             stat::number_of_executed_units: 1168149\n\
             stat::average_exec_per_sec:     55626\n\
             stat::new_units_added:          88\n\
             stat::slowest_unit_time_sec:    0\n\
             stat::peak_rss_mb:              530\n",
        );
        assert_eq!(r.execs, Some(1_168_149));
        assert_eq!(r.rate(), Some(55_626));
        assert_eq!(r.seconds, Some(21));
        assert_eq!(r.corpus, Some((38, "1011b".to_owned())));
        assert_eq!((r.new_units, r.peak_rss_mb), (Some(88), Some(530)));
        assert!(r.artifacts.is_empty() && r.error.is_none());
    }

    #[test]
    fn a_crash() {
        let r = read(
            "#4096\tpulse  cov: 1256 ft: 2442 corp: 116/63Kb lim: 1042 exec/s: 2048 rss: 88Mb\n\
             thread '<unnamed>' panicked at src/message.rs:10:5:\n\
             a message changed in a round trip\n\
             ==4242== ERROR: libFuzzer: deadly signal\n\
             NOTE: libFuzzer has rudimentary signal handlers.\n\
             SUMMARY: libFuzzer: deadly signal\n\
             MS: 1 ChangeBit-; base unit: 0000\n\
             artifact_prefix='target/fuzz/artifacts/m/'; Test unit written to target/fuzz/artifacts/m/crash-01ab\n\
             stat::number_of_executed_units: 5000\n\
             stat::average_exec_per_sec:     2500\n",
        );
        assert_eq!(r.artifacts, ["target/fuzz/artifacts/m/crash-01ab"]);
        assert_eq!(
            r.error.as_deref(),
            Some("==4242== ERROR: libFuzzer: deadly signal")
        );
        assert_eq!((r.execs, r.rate()), (Some(5000), Some(2500)));
        assert_eq!(r.corpus, Some((116, "63Kb".to_owned())));
    }

    #[test]
    fn the_rate_from_runs_and_time() {
        let r = read("Done 600 runs in 3 second(s)\n");
        assert_eq!((r.execs, r.rate()), (Some(600), Some(200)));
    }
}
