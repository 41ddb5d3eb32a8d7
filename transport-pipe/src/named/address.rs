//! [`Address`]: where a [`Listener`](crate::Listener) listens.

use std::{
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
    str::FromStr,
};

/// Where a [`Listener`](crate::Listener) listens and a
/// [`Client`](crate::Client) connects (Python's `AF_UNIX`, `AF_INET`, and
/// Linux's abstract namespace).
///
/// Parsed from text ([`FromStr`]) as Python reads an address: `@name` (or
/// a leading NUL) is an abstract name, `host:port` that parses as a socket
/// address is TCP, anything else is a path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Address {
    /// A socket file (Unix) or a named pipe `\\.\pipe\...` (Windows).
    Path(PathBuf),
    /// A name in Linux's abstract socket namespace (Python's `"\0name"`):
    /// no file, and no permissions, so anyone on the machine may connect.
    Abstract(String),
    /// A TCP address (Python's `(host, port)`). Bind to loopback unless
    /// other machines should reach it, and use an `authkey`.
    Tcp(SocketAddr),
}

impl Address {
    /// A socket file or named pipe at `path`.
    pub fn path(path: impl Into<PathBuf>) -> Address {
        Address::Path(path.into())
    }

    /// A name in Linux's abstract namespace.
    pub fn abstract_name(name: impl Into<String>) -> Address {
        Address::Abstract(name.into())
    }

    /// A TCP address.
    pub fn tcp(addr: SocketAddr) -> Address {
        Address::Tcp(addr)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Path(p) => write!(f, "{}", p.display()),
            Address::Abstract(name) => write!(f, "@{name}"),
            Address::Tcp(addr) => write!(f, "{addr}"),
        }
    }
}

impl FromStr for Address {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Address, Self::Err> {
        if let Some(name) = s.strip_prefix('@').or_else(|| s.strip_prefix('\0')) {
            return Ok(Address::Abstract(name.to_owned()));
        }
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Ok(Address::Tcp(addr));
        }
        Ok(Address::Path(PathBuf::from(s)))
    }
}

impl From<SocketAddr> for Address {
    fn from(addr: SocketAddr) -> Address {
        Address::Tcp(addr)
    }
}

impl From<PathBuf> for Address {
    fn from(path: PathBuf) -> Address {
        Address::Path(path)
    }
}

impl From<&Path> for Address {
    fn from(path: &Path) -> Address {
        Address::Path(path.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_read_as_python_reads_addresses() {
        assert_eq!("@svc".parse(), Ok(Address::abstract_name("svc")));
        assert_eq!("\0svc".parse(), Ok(Address::abstract_name("svc")));
        assert_eq!(
            "127.0.0.1:6000".parse(),
            Ok(Address::tcp("127.0.0.1:6000".parse().unwrap()))
        );
        assert_eq!("/tmp/x.sock".parse(), Ok(Address::path("/tmp/x.sock")));
        assert_eq!(Address::abstract_name("a").to_string(), "@a");
    }
}
