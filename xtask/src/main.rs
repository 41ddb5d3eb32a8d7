//! The workspace's tasks: `cargo xtask <task>`.
//!
//! `main` only parses the command line and dispatches; each task is one
//! module.

mod bench;
mod json;
mod test_matrix;

use std::{env, process::ExitCode};

const USAGE: &str = "\
usage: cargo xtask <task> [options]

tasks:
  test-matrix [--backend NAME]...   run every backend's conformance suite and tests,
                                    print a table, write target/test-matrix.json
  bench [--quick] [--subjects a,b] [--reps N]
                                    measure our backends and their peers between two
                                    pinned processes; write target/bench/results.json,
                                    results.md, chart.svg and machine.json
";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let Some((task, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match task.as_str() {
        "test-matrix" => test_matrix::run(rest),
        "bench" => bench::run(rest, &test_matrix::workspace_root()),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(true)
        }
        other => Err(format!("unknown task `{other}`\n{USAGE}")),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::from(2)
        }
    }
}
