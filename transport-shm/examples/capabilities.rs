//! Prints what the shared-memory (multi-producer) backend can do on the platform it was built for, as
//! the one line `cargo xtask caps` reads.
//!
//! Run: `cargo run -p transport-shm --example capabilities`

use transport_core::Transport;

fn main() {
    println!("{}", <transport_shm::ShmMpsc>::capabilities().report_line("shm"));
}
