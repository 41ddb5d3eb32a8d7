//! `transport-bench`: the measuring program behind `cargo xtask bench`.
//!
//! It measures our transports (through `transport_core::Transport`) and
//! their peers — raw `interprocess` local sockets, raw `ipc-channel`,
//! `iceoryx2`, `crossbar`, Python's `multiprocessing` — between two real processes
//! pinned to two CPUs, in one run, and writes `results.json`, `results.md`,
//! `chart.svg` and `machine.json`.
//!
//! ```text
//! transport-bench [--quick] [--subjects a,b,...] [--modes a,b,...] [--reps N] [--out DIR]
//! ```
//!
//! The same program is the child of every Rust measurement: started again
//! with `TRANSPORT_BENCH_ROLE` set, it runs that row's child side.

mod exchange;
#[path = "../../src/json.rs"]
mod json;
mod load;
mod measure;
mod peer;
mod plan;
mod report;
mod state;
mod subjects;
mod suite;
mod sys;

use std::{env, process::ExitCode};

fn main() -> ExitCode {
    if let Ok(role) = env::var(peer::ROLE_VAR) {
        return child(&role);
    }
    let args: Vec<String> = env::args().skip(1).collect();
    let result = suite::Options::parse(&args).and_then(suite::run);
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("transport-bench: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs the child side of the row named by `role` (`subject/mode`).
fn child(role: &str) -> ExitCode {
    let Some(body) = subjects::child_of(role) else {
        eprintln!("transport-bench: no child side for `{role}`");
        return ExitCode::from(2);
    };
    let result = peer::ChildJob::from_env().and_then(|mut job| {
        job.pinned = peer::pin(peer::CHILD_CPU);
        body(&job)
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("transport-bench child {role}: {e}");
            ExitCode::FAILURE
        }
    }
}
