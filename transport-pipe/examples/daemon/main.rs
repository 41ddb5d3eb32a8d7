//! A Rust daemon: a key-value store that other processes of the same user
//! reach through a `Listener` (see `daemon_cli` for its client).
//!
//! ```sh
//! cargo run --example daemon -p transport-pipe &
//! cargo run --example daemon_cli -p transport-pipe -- put color blue
//! cargo run --example daemon_cli -p transport-pipe -- get color
//! cargo run --example daemon_cli -p transport-pipe -- stop
//! ```

mod proto;

use std::{
    collections::HashMap,
    error::Error,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::Duration,
};

use proto::{ArchivedRequest, Reply, Request};
use transport_pipe::{Listener, NamedConnection};

/// Serves until a client asks it to stop; `ready` is called once it
/// listens. The socket file goes when it returns.
pub fn serve(ready: impl FnOnce()) -> Result<(), Box<dyn Error>> {
    let listener = Listener::bind(proto::address(), proto::options())?;
    ready();
    let store = Arc::new(Mutex::new(HashMap::<String, String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    while !stop.load(Ordering::Acquire) {
        // Wakes up now and then to see whether a client said stop.
        let conn = match listener.accept_timeout::<Reply, Request>(Duration::from_millis(200)) {
            Ok(conn) => conn,
            Err(transport_pipe::ConnectError::Timeout) => continue,
            Err(e) => {
                eprintln!("daemon: refused a client: {e}");
                continue;
            }
        };
        let (store, stop) = (Arc::clone(&store), Arc::clone(&stop));
        thread::spawn(move || {
            if let Err(e) = client(&conn, &store, &stop) {
                eprintln!("daemon: a client failed: {e}");
            }
        });
    }
    Ok(())
}

fn client(
    conn: &NamedConnection<Reply, Request>,
    store: &Mutex<HashMap<String, String>>,
    stop: &AtomicBool,
) -> Result<(), Box<dyn Error>> {
    loop {
        let request = match conn.recv() {
            Ok(r) => r,
            Err(e) if e.is_disconnected() => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let mut store = store.lock().map_err(|_| "the store's lock is poisoned")?;
        let reply = match &*request {
            ArchivedRequest::Put { key, value } => {
                store.insert(key.to_string(), value.to_string());
                Reply::Stored
            }
            ArchivedRequest::Get { key } => Reply::Value(store.get(key.as_str()).cloned()),
            ArchivedRequest::Stop => {
                stop.store(true, Ordering::Release);
                Reply::Stopping
            }
        };
        conn.send(reply)?;
    }
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn Error>> {
    serve(|| eprintln!("daemon: listening at {}", proto::address()))
}
