//! Python's producer/consumer over `Pipe(duplex=False)`, as two real
//! processes: a child produces readings into a one-way pipe, the parent
//! consumes them until the pipe says `Disconnected`.
//!
//! ```text
//! cargo run -p transport-pipe --example producer_consumer
//! ```
//!
//! The producer sends a burst, so the pipe coalesces it into a few large
//! writes; the consumer reads each reading in place, without copying it.

use std::{error::Error, process::Command};

use transport_core::{CommandExt, RecvError, from_env, rkyv};

#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug)]
#[rkyv(crate = transport_core::rkyv)]
struct Reading {
    sensor: String,
    seq: u64,
    celsius: f32,
}

const ROLE: &str = "PRODUCER_CONSUMER_ROLE";
const COUNT: u64 = 100_000;

fn main() -> Result<(), Box<dyn Error>> {
    match std::env::var(ROLE).as_deref() {
        Ok("producer") => producer(),
        _ => consumer(),
    }
}

/// The parent: starts the producer and consumes until it is done.
fn consumer() -> Result<(), Box<dyn Error>> {
    let (tx, rx) = transport_pipe::simplex::<Reading>()?;
    let mut producer = Command::new(std::env::current_exe()?)
        .env(ROLE, "producer")
        .endpoint("readings", tx)?
        .start()?;

    let (mut count, mut hottest) = (0u64, f32::MIN);
    loop {
        match rx.recv() {
            Ok(reading) => {
                assert_eq!(reading.seq.to_native(), count, "readings arrive in order");
                hottest = hottest.max(reading.celsius.to_native());
                count += 1;
                if count % 25_000 == 0 {
                    println!("consumer: {count} readings, last from {}", reading.sensor);
                }
            }
            Err(RecvError::Disconnected) => break, // Python's EOFError
            Err(e) => return Err(e.into()),
        }
    }
    println!("consumer: {count} readings in all, hottest {hottest:.1} °C");
    producer.wait()?;
    Ok(())
}

/// The child: produces `COUNT` readings, then drops its end.
fn producer() -> Result<(), Box<dyn Error>> {
    let tx: transport_pipe::Sender<Reading> = from_env("readings")?;
    for seq in 0..COUNT {
        let reading = Reading {
            sensor: format!("probe-{}", seq % 4),
            seq,
            celsius: 20.0 + (seq % 150) as f32 / 10.0,
        };
        tx.send(reading)?;
    }
    // Dropping the sender writes what is still in its backlog, then closes:
    // the consumer gets every reading, then `Disconnected`.
    Ok(())
}
