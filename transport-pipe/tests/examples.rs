//! The examples, run: Python handing jobs to Rust workers through its
//! Listener (`python_jobs.py` + `python_worker.rs`), and the daemon with its
//! command-line client, each side its own process.
#![cfg(unix)]
// The daemon and its client are two programs that each include the
// messages' module; here both live in one test binary.
#![allow(clippy::duplicate_mod)]

#[path = "../examples/daemon/main.rs"]
#[allow(dead_code)]
mod daemon;
#[path = "../examples/daemon_cli.rs"]
#[allow(dead_code)]
mod daemon_cli;
mod python;
#[path = "../examples/python_worker.rs"]
#[allow(dead_code)]
mod python_worker;

use std::process::{Command, Stdio};

use python::{PyPeer, TempDir, interpreters, ran};

const ROLE: &str = "TRANSPORT_PIPE_EXAMPLE_ROLE";

fn this_test(name: &str) -> Vec<String> {
    let exe = std::env::current_exe()
        .expect("the test binary")
        .display()
        .to_string();
    vec![
        exe,
        name.into(),
        "--exact".into(),
        "--nocapture".into(),
        "--test-threads=1".into(),
    ]
}

#[test]
fn python_jobs_example_hands_jobs_to_rust_workers() {
    if std::env::var(ROLE).as_deref() == Ok("worker") {
        let done = python_worker::run().expect("the worker");
        eprintln!("worker {}: {done} jobs", std::process::id());
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/python_jobs.py");
    for py in interpreters() {
        // The workers are this test binary, in the worker's role (the role
        // reaches them through Python's environment).
        let mut args = vec!["3".to_owned()];
        args.extend(this_test("python_jobs_example_hands_jobs_to_rust_workers"));
        let out = Command::new(&py.path)
            .arg(script)
            .args(&args)
            .env(ROLE, "worker")
            .stdin(Stdio::null())
            .output()
            .expect("running python_jobs.py");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("all 40 jobs done"),
            "Python {}: {text}\n{}",
            py.version,
            String::from_utf8_lossy(&out.stderr)
        );
        ran("python_jobs_example_hands_jobs_to_rust_workers", &py);
    }
    let _ = (PyPeer::spawn, TempDir::new);
}

#[test]
fn daemon_and_its_cli_client() {
    if std::env::var(ROLE).as_deref() == Ok("daemon") {
        daemon::serve(|| println!("daemon-ready")).expect("the daemon");
        return;
    }
    let dir = TempDir::new("daemon");
    let address = dir.join("daemon.sock");
    let mut child = Command::new(std::env::current_exe().expect("the test binary"))
        .args(&this_test("daemon_and_its_cli_client")[1..])
        .env(ROLE, "daemon")
        .env("TRANSPORT_DAEMON", &address)
        .env("TRANSPORT_DAEMON_KEY", "example key")
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the daemon");
    // Read the daemon's output to its end (a closed pipe would fail its
    // last words), and wait for it to listen.
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().expect("piped");
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("daemon-ready") {
                let _ = ready_tx.send(());
            }
        }
    });
    ready
        .recv_timeout(python::STEP)
        .expect("the daemon did not start");
    let options = transport_pipe::Options::new()
        .require_same_user()
        .authkey("example key");
    let cli = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        daemon_cli::request(transport_pipe::Address::path(&address), &options, &args).expect("the client")
    };
    assert_eq!(cli(&["put", "color", "blue"]), "stored");
    assert_eq!(cli(&["get", "color"]), "blue");
    assert_eq!(cli(&["get", "size"]), "(none)");
    assert_eq!(cli(&["stop"]), "stopping");
    assert!(child.wait().expect("the daemon exits").success());
    assert!(!address.exists(), "the daemon's socket file is gone");
}
