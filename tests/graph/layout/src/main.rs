//! A parent and a child built apart, from the same source, where the
//! message type's layout differs by a feature: the child must refuse the
//! parent's end with an error naming both layouts, never read its bytes.
//!
//! `layout <child binary> <expect: same|differs>`: hands the child a pipe
//! of `Job`s, sends one, and checks what the child reports. Run as a child
//! (the endpoint is in its environment), it opens the end and says what
//! happened on stdout.

use std::{
    process::{Command, ExitCode, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

use transport_adapters::pipe;
use transport_core::{CommandExt, FromEnvError, env_var, from_env};

/// The message: its archived layout differs between the two builds.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug)]
struct Job {
    #[cfg(not(feature = "wide"))]
    id: u32,
    #[cfg(feature = "wide")]
    id: u64,
}

/// How long the child may take.
const CHILD_TIMEOUT: Duration = Duration::from_secs(30);

fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    if std::env::var_os(env_var("jobs").expect("a valid name")).is_some() {
        return Ok(child());
    }
    let mut args = std::env::args().skip(1);
    let (Some(child_path), Some(expect)) = (args.next(), args.next()) else {
        return Err("usage: layout <child binary> <same|differs>".into());
    };
    let (tx, rx) = pipe::channel::<Job>(&Default::default())?;
    let mut cmd = Command::new(&child_path);
    cmd.endpoint("jobs", rx)?.stdout(Stdio::piped());
    let child = cmd.spawn()?;
    match tx.send(Job { id: 7 }) {
        Ok(()) => {}
        // A child that refuses the end exits at once: the send may find it
        // gone, which is not what this program checks.
        Err(e) if e.is_disconnected() && expect == "differs" => {}
        Err(e) => return Err(e.into()),
    }
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = done_tx.send(child.wait_with_output());
    });
    let output = done_rx
        .recv_timeout(CHILD_TIMEOUT)
        .map_err(|_| "the child did not finish in time")??;
    let said = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    println!("layout: child ({expect}) said: {said}");
    let ok = match expect.as_str() {
        "same" => said == "received 7",
        "differs" => {
            said.starts_with("refused: endpoint `jobs` carries Job (archived: ")
                && said.contains("but this process asked for Job (archived: ")
        }
        _ => return Err(format!("unknown expectation `{expect}`").into()),
    };
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The child: opens the end, and says what it got.
fn child() -> ExitCode {
    match from_env::<pipe::Receiver<Job>>("jobs") {
        Ok(rx) => match rx.recv() {
            Ok(job) => println!("received {}", job.id),
            Err(e) => println!("receive failed: {e}"),
        },
        Err(e @ FromEnvError::WrongType { .. }) => println!("refused: {e}"),
        Err(e) => println!("open failed: {e}"),
    }
    ExitCode::SUCCESS
}
