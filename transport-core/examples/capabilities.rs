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
    print_capabilities::<Local>();
}

fn print_capabilities<T: Transport>() {
    let c = T::capabilities();
    println!(
        "capabilities: backend={} cross_process={} multi_producer={} multi_consumer={} duplex={} \
         zero_copy={} bounded={} max_message_size={} readiness={:?}",
        T::NAME,
        c.cross_process,
        c.multi_producer,
        c.multi_consumer,
        c.duplex,
        c.zero_copy,
        c.bounded,
        c.max_message_size,
        c.readiness,
    );
}
