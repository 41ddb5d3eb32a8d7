//! The workspace's tasks: `cargo xtask <task>`.
//!
//! `main` only parses the command line and dispatches; each task is one
//! module.

#![forbid(unsafe_code)]

mod bench;
mod caps;
mod chaos;
mod debian;
mod fuzz;
mod json;
mod kill;
mod libfuzzer;
mod libtest;
mod manifest;
mod miri;
mod nats_server;
mod options;
mod platform;
mod report;
mod setup;
mod test_matrix;
mod tidy;
mod wine;
mod zig;

use std::{env, process::ExitCode};

const USAGE: &str = "\
usage: cargo xtask <task> [options]

tasks:
  test-matrix   run every backend's conformance suite and tests on each operating
                system (linux: run; windows: run, under Wine from Linux; macos:
                type-checked from Linux, run on a Mac), print a table, write
                target/test-matrix.json; exit non-zero if a cell fails
  caps          print what each backend can do on each operating system, from its
                own `capabilities()`; write target/caps.json
  bench         measure our backends and their peers between two pinned processes;
                write target/bench/results.json, results.md, chart.svg, machine.json
                (options: --quick, --subjects a,b, --modes a,b, --reps N)
  fuzz          build and run every fuzz target of fuzz/ (cargo-fuzz, libFuzzer, with
                debug assertions and overflow checks), print execs/s, total execs,
                corpus size and crashes per target, write target/fuzz/results.json;
                exit non-zero on a crash (options: --minutes N or --seconds N per
                target, default 1 minute; --target a,b; --no-install)
  miri          run core's single-process tests of frame handling and the local
                backend under Miri (nightly with the miri component; Tree Borrows),
                print a table; exit non-zero on undefined behaviour or a failed test
                (option: --toolchain NAME, default nightly)
  chaos         kill child processes with SIGKILL at random moments of traffic, per
                backend, child as producer and as consumer; print hangs, panics,
                duplicates, losses beyond each backend's documented rule, time to
                Disconnected and leftover OS objects; write target/chaos.json; exit
                non-zero on any of them (options: --trials N per backend, side and
                API, default 100; --backend a,b; --api blocking,async; --hang-after S;
                --max-delay-ms MS; --seed N;
                --drop-command: drop the spawning Command at once instead of keeping it)
  tidy          check the workspace's rules (xtask/tests/tidy/): platform code only in
                sys/ modules, crates depend downwards, every `unsafe` explained,
                crates without unsafe forbid it, docs name the mechanisms the
                manifests use, no import circles; exit non-zero if one is broken
  setup         install and prepare the tools that reach the other operating
                systems (Debian packages, Wine prefix); test-matrix does this too

options (all tasks):
  --os LIST         linux, windows, macos (comma-separated or repeated; default: all,
                    for setup: all but this host's)
  --backend LIST    local, queue, pipe, shm, nats (default: all)
  --no-install      never install packages; skip what is missing, saying what it is

options (test-matrix):
  --cell-timeout MIN  kill a cell still running after MIN minutes; it fails (default 15)
  --budget MIN        cells not started after MIN minutes fail unstarted (default 50)
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
        "fuzz" => fuzz::run(rest, &test_matrix::workspace_root()),
        "miri" => miri::run(rest, &test_matrix::workspace_root()),
        "chaos" => chaos::run(rest, &test_matrix::workspace_root()),
        "tidy" => tidy::run(rest, &test_matrix::workspace_root()),
        "caps" => caps::run(rest),
        "setup" => setup::run(rest),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(true)
        }
        other => Err(format!("unknown task `{other}`")),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
