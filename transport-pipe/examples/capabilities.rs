//! Prints what the pipe backend can do on the platform it was built for, as
//! the one line `cargo xtask caps` reads.
//!
//! Run: `cargo run -p transport-pipe --example capabilities`

use transport_core::Transport;

fn main() {
    println!("{}", <transport_pipe::Pipe>::capabilities().report_line("pipe"));
}
