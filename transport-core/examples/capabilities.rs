//! Prints what the `local` backend can do on the platform it was built
//! for, as the one line `cargo xtask caps` reads:
//!
//! ```text
//! capabilities: backend=local cross_process=false multi_producer=true ... readiness=None
//! ```
//!
//! Each backend crate has the same example over its own `Transport`
//! (`examples/capabilities.rs`), so the capability matrix comes from the
//! code built for each operating system, not from a table kept by hand.
//!
//! Run: `cargo run -p transport-core --example capabilities`

use transport_core::{Transport, local::Local};

fn main() {
    println!("{}", Local::capabilities().report_line(Local::NAME));
}
