//! The daemon's command-line client: `put KEY VALUE`, `get KEY`, `stop`.
//!
//! ```sh
//! cargo run --example daemon_cli -p transport-pipe -- get color
//! ```

#[path = "daemon/proto.rs"]
mod proto;

use std::error::Error;

use proto::{ArchivedReply, Request};
use transport_pipe::{Address, Client, Options};

/// Sends one request built from `args` to the daemon at `address` and
/// gives the answer as text.
pub fn request(address: Address, options: &Options, args: &[String]) -> Result<String, Box<dyn Error>> {
    let request = match args {
        [cmd, key, value] if cmd == "put" => Request::Put {
            key: key.clone(),
            value: value.clone(),
        },
        [cmd, key] if cmd == "get" => Request::Get { key: key.clone() },
        [cmd] if cmd == "stop" => Request::Stop,
        _ => return Err("usage: daemon_cli put KEY VALUE | get KEY | stop".into()),
    };
    let conn = Client::connect::<Request, proto::Reply>(address, options)?;
    conn.send(request)?;
    let reply = conn.recv()?;
    Ok(match &*reply {
        ArchivedReply::Stored => "stored".to_owned(),
        ArchivedReply::Value(v) => v.as_ref().map_or_else(|| "(none)".to_owned(), |v| v.to_string()),
        ArchivedReply::Stopping => "stopping".to_owned(),
    })
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("{}", request(proto::address(), &proto::options(), &args)?);
    Ok(())
}
