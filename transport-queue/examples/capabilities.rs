//! Prints what the queue backend can do on the platform it was built for, as
//! the one line `cargo xtask caps` reads.
//!
//! Run: `cargo run -p transport-queue --example capabilities`

use transport_core::Transport;

fn main() {
    println!(
        "{}",
        <transport_queue::QueueTransport>::capabilities().report_line("queue")
    );
}
