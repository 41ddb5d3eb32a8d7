//! What both sides do with a fresh connection: check the peer's user, run
//! the handshake, and make the end.

use transport_core::backend::Wait;

use super::{ConnectError, NamedEnd, Options, PeerUser, auth, handshake::Handshake, stream_end::StreamEnd};
use crate::{PipeEnd, python::frame::Framing, sys::named::Conn};

/// Which side of the handshake this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// Delivers its challenge first (Python's `Listener.accept`).
    Listener,
    /// Answers first (Python's `Client`).
    Client,
}

fn check_user(conn: &Conn, want: PeerUser) -> Result<(), ConnectError> {
    let expected = match want {
        PeerUser::Any => return Ok(()),
        PeerUser::Uid(uid) => uid,
        PeerUser::Same => crate::sys::named::euid().ok_or_else(|| ConnectError::Unsupported {
            what: "checking the peer's user".into(),
        })?,
    };
    match conn.peer.uid {
        Some(uid) if uid == expected => Ok(()),
        uid => Err(ConnectError::PeerRefused { uid, expected }),
    }
}

/// Turns a fresh connection into an end, as `options` say.
pub(crate) fn establish(
    conn: Conn,
    options: &Options,
    side: Side,
    address: &str,
) -> Result<NamedEnd, ConnectError> {
    check_user(&conn, options.peer_user)?;
    let peer = conn.peer;
    let io = |source| ConnectError::Io {
        address: address.to_owned(),
        source,
    };
    let sock = conn.stream.into_stream().map_err(io)?;
    if let Some(key) = &options.authkey {
        let hs = Handshake {
            sock: &sock,
            framing: options.framing,
            wait: Wait::timeout(options.handshake_timeout),
        };
        match side {
            Side::Listener => {
                auth::deliver(&hs, key)?;
                auth::answer(&hs, key)?;
            }
            Side::Client => {
                auth::answer(&hs, key)?;
                auth::deliver(&hs, key)?;
            }
        }
    }
    Ok(match options.framing {
        // The pipe's own end where the stream is its socket; else (TCP on
        // Windows) the same framing on a stream end.
        Framing::Native => match sock.into_pipe() {
            Ok(pipe) => NamedEnd::pipe(PipeEnd::new(pipe, options.max_message_size), peer, options.spin),
            Err(sock) => NamedEnd::stream(
                StreamEnd::new(sock, Framing::Native, options.max_message_size),
                peer,
                options.spin,
            ),
        },
        Framing::Python => NamedEnd::stream(
            StreamEnd::new(sock, Framing::Python, options.max_message_size),
            peer,
            options.spin,
        ),
    })
}
