//! Python's worker pool, in one process: a task queue feeding worker
//! threads, a result queue back to the main thread, over the `local`
//! backend. (The process version runs on the real backends.)
//!
//! Run: `cargo run -p transport-core --example worker_pool_local`

use std::thread;

use transport_core::local;

#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug)]
struct Task {
    id: u32,
    n: u64,
}

#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug)]
struct Answer {
    id: u32,
    worker: u32,
    collatz_steps: u32,
}

fn collatz_steps(mut n: u64) -> u32 {
    let mut steps = 0;
    while n > 1 {
        n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
        steps += 1;
    }
    steps
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    const WORKERS: u32 = 4;
    const TASKS: u32 = 20;
    let (task_tx, task_rx) = local::bounded::<Task>(8)?;
    let (answer_tx, answer_rx) = local::unbounded::<Answer>()?;

    let workers: Vec<_> = (0..WORKERS)
        .map(|worker| {
            let tasks = task_rx.clone();
            let answers = answer_tx.clone();
            thread::spawn(move || {
                // Ends when the task queue is closed and drained.
                for task in tasks.iter() {
                    let task = task.expect("a valid task");
                    let steps = collatz_steps(task.n.to_native());
                    answers
                        .send(Answer {
                            id: task.id.to_native(),
                            worker,
                            collatz_steps: steps,
                        })
                        .expect("the main thread is listening");
                }
            })
        })
        .collect();
    drop((task_rx, answer_tx));

    for id in 0..TASKS {
        task_tx.send(Task {
            id,
            n: 1_000_000 + u64::from(id) * 7919,
        })?;
    }
    drop(task_tx);

    for answer in answer_rx.iter() {
        let answer = answer?;
        println!(
            "task {:>2} took {:>3} steps (worker {})",
            answer.id, answer.collatz_steps, answer.worker
        );
    }
    for w in workers {
        w.join().expect("worker finished");
    }
    Ok(())
}
