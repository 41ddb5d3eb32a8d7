//! Python's `Pipe()`: a parent and a child talking both ways over one
//! two-way connection, as real processes, the same code on every backend:
//!
//! ```text
//! cargo run -p transport-adapters --example request_response
//! cargo run -p transport-adapters --example request_response --no-default-features --features pipe
//! cargo run -p transport-adapters --example request_response --no-default-features --features shm
//! ```
//!
//! The parent keeps one end of [`transport_adapters::duplex`] and hands the
//! other to a child (this program, started again), which serves requests
//! until the parent hangs up. On `pipe` the connection is the pipe's own
//! two-way socket; on `queue` and `shm` it is two one-way channels in one
//! end ([`transport_adapters::Paired`]), handed over as one.
//!
//! The Python it mirrors:
//!
//! ```text
//! parent, child = Pipe()
//! Process(target=serve, args=(child,)).start()
//! parent.send(("add", 2, 3)); print(parent.recv())
//! ```

use std::{env, error::Error, process::Command};

use transport_adapters::{Connection, DuplexBackend};
use transport_core::{CommandExt, Transport, from_env};

const SERVER: &str = "TRANSPORT_REQUEST_RESPONSE_SERVER";

/// What the parent asks.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, Clone)]
enum Request {
    Add(i64, i64),
    Upper(String),
    Words(String),
}

/// What the child answers.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug)]
enum Response {
    Sum(i64),
    Text(String),
    Count(u64),
}

fn main() -> Result<(), Box<dyn Error>> {
    if env::var_os(SERVER).is_some() {
        return serve();
    }
    let (client, server) = transport_adapters::duplex::<Request, Response>()?;
    let mut child = Command::new(env::current_exe()?)
        .env(SERVER, "1")
        .endpoint("conn", server)?
        .start()?;

    let requests = [
        Request::Add(2, 3),
        Request::Upper("a pipe, both ways".into()),
        Request::Words("the quick brown fox jumps over the lazy dog".into()),
        Request::Add(-40, 2),
    ];
    println!(
        "parent (pid {}) and server (pid {}), backend `{}`:",
        std::process::id(),
        child.id(),
        DuplexBackend::NAME
    );
    for request in &requests {
        client.send(request.clone())?;
        let response = client.recv()?; // validated, read in place
        match (&*response, request) {
            (ArchivedResponse::Sum(s), Request::Add(a, b)) => {
                assert_eq!(s.to_native(), a + b);
                println!("  {a} + {b} = {s}");
            }
            (ArchivedResponse::Text(t), Request::Upper(s)) => println!("  upper({s:?}) = {:?}", t.as_str()),
            (ArchivedResponse::Count(n), Request::Words(s)) => println!("  words({s:?}) = {n}"),
            _ => return Err(format!("a response that does not fit {request:?}").into()),
        }
    }
    // Hanging up: the server's next receive says `Disconnected`.
    drop(client);
    let status = child.wait()?;
    if !status.success() {
        return Err(format!("the server failed: {status}").into());
    }
    println!("the server saw the parent hang up and exited");
    Ok(())
}

/// The child: answers until the parent hangs up.
fn serve() -> Result<(), Box<dyn Error>> {
    let conn: Connection<Response, Request> = from_env("conn")?;
    loop {
        let request = match conn.recv() {
            Ok(request) => request,
            Err(e) if e.is_disconnected() => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        // The request is read in place; the reply goes out while it is held.
        let response = match &*request {
            ArchivedRequest::Add(a, b) => Response::Sum(a.to_native() + b.to_native()),
            ArchivedRequest::Upper(s) => Response::Text(s.as_str().to_uppercase()),
            ArchivedRequest::Words(s) => Response::Count(s.split_whitespace().count() as u64),
        };
        conn.send(response)?;
    }
}
