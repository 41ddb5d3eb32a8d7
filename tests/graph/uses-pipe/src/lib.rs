//! A library that uses the pipe backend by name, whatever else the graph
//! enables.

/// A message of this library's own.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug)]
pub struct Ping {
    /// A number to send back doubled.
    pub n: u64,
}

/// Sends `n` through a two-way pipe and returns what the other end
/// answers (`2 * n`).
pub fn double(n: u64) -> Result<u64, Box<dyn std::error::Error>> {
    let (a, b) = transport_adapters::pipe::duplex::<Ping, u64>()?;
    a.send(Ping { n })?;
    let ping = b.recv()?;
    b.send(ping.n.to_native() * 2)?;
    Ok(a.recv()?.to_native())
}

/// The backend's name, as the library sees it.
pub fn backend() -> &'static str {
    <transport_adapters::pipe::Backend as transport_core::Transport>::NAME
}
