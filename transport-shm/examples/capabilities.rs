//! Prints what the shared-memory backends can do on the platform they were
//! built for, as the lines `cargo xtask caps` reads: `shm` for the
//! multi-producer ring (`ShmMpsc`, what `transport_shm::bounded` gives) and
//! `shm-mpmc` for the ring several consumer processes take from (`ShmMpmc`).
//!
//! Run: `cargo run -p transport-shm --example capabilities`

use transport_core::Transport;

fn main() {
    println!("{}", <transport_shm::ShmMpsc>::capabilities().report_line("shm"));
    println!(
        "{}",
        <transport_shm::ShmMpmc>::capabilities().report_line("shm-mpmc")
    );
}
