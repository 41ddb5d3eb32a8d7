//! Starting one call in a child for a test, tried twice more after an
//! error that may pass: under Wine, `CreateProcess` now and then fails
//! with "internal error" (1359) when many processes start and end at once,
//! where the same spawn a moment later works. (The conformance harness
//! does the same for its children.)

use std::io;

use transport_adapters::process::{Child, Entry, SpawnError, Spawner};
use transport_core::Message;

/// `spawner.spawn(entry, arg)`, tried up to three times while the system
/// refuses to start the process for a reason other than a missing program
/// or permission.
pub fn start<A, R>(spawner: &Spawner, entry: &'static Entry<A, R>, arg: A) -> Child<R>
where
    A: Message + Send + Clone + 'static,
    R: Message,
{
    let mut tries = 0;
    loop {
        match spawner.spawn(entry, arg.clone()) {
            Ok(child) => return child,
            Err(SpawnError::Spawn(e))
                if tries < 2
                    && !matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
                    ) =>
            {
                eprintln!("starting a child failed ({e}); trying again");
                tries += 1;
            }
            Err(e) => panic!("starting a child: {e}"),
        }
    }
}
