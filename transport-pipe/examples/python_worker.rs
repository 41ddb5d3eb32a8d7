//! A Rust worker for `python_jobs.py`: connects to the Python program's
//! `Listener` (address and key in `JOBS_ADDRESS` / `JOBS_AUTHKEY`), asks
//! for jobs, and answers each with the sum of the squares of its numbers.
//!
//! ```sh
//! cargo build --example python_worker -p transport-pipe
//! python3 transport-pipe/examples/python_jobs.py 3 target/debug/examples/python_worker
//! ```

use std::error::Error;

use transport_pipe::{Address, Client, Options, python::pickle::Value};

/// The worker's whole life: ask, work, answer, until a `None` job.
pub fn run() -> Result<u64, Box<dyn Error>> {
    let address: Address = std::env::var("JOBS_ADDRESS")?.parse()?;
    let key: Vec<u8> = {
        let hex = std::env::var("JOBS_AUTHKEY")?;
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
            .collect::<Result<_, _>>()?
    };
    let conn = Client::connect_python(address, &Options::python().authkey(key))?;
    let me = Value::Int(i64::from(std::process::id()));
    conn.send(&Value::Dict(vec![("ready".into(), me.clone())]))?;
    let mut done = 0;
    loop {
        let job = conn.recv()?;
        if job == Value::None {
            return Ok(done);
        }
        let id = job.get(&"id".into()).cloned().ok_or("a job without an id")?;
        let Some(Value::List(numbers)) = job.get(&"numbers".into()) else {
            return Err("a job without numbers".into());
        };
        let sum: i64 = numbers.iter().filter_map(Value::as_i64).map(|n| n * n).sum();
        conn.send(&Value::Dict(vec![
            ("id".into(), id),
            ("sum".into(), Value::Int(sum)),
            ("worker".into(), me.clone()),
        ]))?;
        done += 1;
    }
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn Error>> {
    let done = run()?;
    eprintln!("worker {}: {done} jobs", std::process::id());
    Ok(())
}
