//! Starting one call in a child for a test, tried again after an error
//! that may pass, as the conformance harness starts its children
//! (`transport_core::conformance::retry_start`: Wine's `CreateProcess`
//! now and then fails with "internal error").

use transport_adapters::process::{Child, Entry, SpawnError, Spawner};
use transport_core::{Message, conformance::retry_start};

/// `spawner.spawn(entry, arg)`, tried up to three times while the system
/// refuses to start the process for a reason that may pass.
pub fn start<A, R>(spawner: &Spawner, entry: &'static Entry<A, R>, arg: A) -> Child<R>
where
    A: Message + Send + Clone + 'static,
    R: Message,
{
    retry_start(
        "a child",
        || spawner.spawn(entry, arg.clone()),
        |e| match e {
            SpawnError::Spawn(e) => Some(e),
            _ => None,
        },
    )
    .unwrap_or_else(|e| panic!("starting a child: {e}"))
}
