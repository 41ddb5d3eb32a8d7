//! The text of a Windows pipe end's hand-off token (`windows.rs`).

use transport_core::OpenError;

/// A hand-off's payload, `pid=N,handle=N,server=N,claim=N,pipe=NAME`: the
/// handing process, the end's handle value there, the pipe's server
/// process, the claim object's handle value in the handing process
/// (`claim.rs`) and the pipe's name.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Payload<'a> {
    pub(crate) pid: u32,
    pub(crate) handle: usize,
    pub(crate) server: u32,
    pub(crate) claim: usize,
    pub(crate) pipe: &'a str,
}

impl<'a> Payload<'a> {
    pub(crate) fn parse(payload: &'a str) -> Result<Payload<'a>, OpenError> {
        let mut fields = payload.split(',').map(|kv| kv.split_once('='));
        let (
            Some(Some(("pid", pid))),
            Some(Some(("handle", handle))),
            Some(Some(("server", server))),
            Some(Some(("claim", claim))),
            Some(Some(("pipe", pipe))),
            None,
        ) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        )
        else {
            return Err(OpenError::malformed(format!(
                "expected `pid=N,handle=N,server=N,claim=N,pipe=NAME`, found `{payload}`"
            )));
        };
        let bad = |what: &str| OpenError::malformed(format!("{what} in `{payload}` is not a number"));
        Ok(Payload {
            pid: pid.parse().map_err(|_| bad("the process id"))?,
            handle: handle.parse().map_err(|_| bad("the handle"))?,
            server: server.parse().map_err(|_| bad("the server process id"))?,
            claim: claim.parse().map_err(|_| bad("the claim handle"))?,
            pipe,
        })
    }
}

impl std::fmt::Display for Payload<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Payload {
            pid,
            handle,
            server,
            claim,
            pipe,
        } = self;
        write!(
            f,
            "pid={pid},handle={handle},server={server},claim={claim},pipe={pipe}"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_reads_back_what_it_wrote() {
        let written = Payload {
            pid: 7,
            handle: 0x1c4,
            server: 9,
            claim: 0x2a0,
            pipe: "transport-pipe-9-00ff",
        }
        .to_string();
        let read = Payload::parse(&written).expect("a payload it wrote");
        assert_eq!(
            (read.pid, read.handle, read.server, read.claim, read.pipe),
            (7, 0x1c4, 9, 0x2a0, "transport-pipe-9-00ff")
        );
    }

    #[test]
    fn a_payload_without_its_claim_or_with_junk_is_refused() {
        for bad in [
            "pid=7,handle=452,server=9,pipe=transport-pipe-9-00ff",
            "pid=7,handle=452,server=9,claim=x,pipe=p",
            "pid=7,handle=452,server=9,claim=1,pipe=p,extra=1",
            "",
        ] {
            assert!(
                matches!(Payload::parse(bad), Err(OpenError::Malformed { .. })),
                "{bad:?} was read"
            );
        }
    }
}
