//! Prints what the NATS backend can do (both delivery modes say the same),
//! as the one line `cargo xtask caps` reads. It needs no server.
//!
//! Run: `cargo run -p transport-nats --example capabilities`

use transport_core::Transport;

fn main() {
    println!(
        "{}",
        <transport_nats::AtLeastOnce>::capabilities().report_line("nats")
    );
}
