//! [`Paired`]: a two-way channel for backends that only have one-way ones
//! (queue, shared memory), made of two channels, and its ends
//! ([`PairedEnd`]).

use std::{
    fmt, io,
    marker::PhantomData,
    process::Command,
    sync::{Mutex, MutexGuard, PoisonError},
    task::{Context, Poll},
};

use crate::{
    backend::{Fill, PollRecv, PollSend, RawReceiver, RawRecvError, RawSendError, RawSender, Wait},
    error::{CreateError, HandoffError, OpenError},
    handoff::Handoff,
    transport::{Capabilities, ChannelConfig, Duplex, Transport},
};

/// The backend `T` with two-way ends made of two of its channels: end A
/// sends on the first and receives on the second, end B the other way
/// round.
///
/// It is a [`Transport`] (one-way channels are `T`'s own) and a
/// [`Duplex`] whose [`PairedEnd`] hands off to a child like any end. Both
/// channels are created with the same configuration. An end is gone for
/// its peer when both its halves are (dropping or killing the process that
/// holds it does both).
#[derive(Debug)]
pub struct Paired<T>(PhantomData<fn() -> T>);

impl<T: Transport> Transport for Paired<T> {
    const NAME: &'static str = T::NAME;
    type Sender = T::Sender;
    type Receiver = T::Receiver;

    fn capabilities() -> Capabilities {
        let mut caps = T::capabilities();
        caps.duplex = true;
        caps
    }

    fn channel(config: &ChannelConfig) -> Result<(T::Sender, T::Receiver), CreateError> {
        T::channel(config)
    }
}

impl<T: Transport> Duplex for Paired<T>
where
    T::Sender: Send,
    T::Receiver: Send,
{
    type End = PairedEnd<T::Sender, T::Receiver>;

    fn duplex(config: &ChannelConfig) -> Result<(Self::End, Self::End), CreateError> {
        let (a_tx, b_rx) = T::channel(config)?;
        let (b_tx, a_rx) = T::channel(config)?;
        Ok((PairedEnd::new(a_tx, a_rx), PairedEnd::new(b_tx, b_rx)))
    }
}

/// A two-way end made of a sender on one channel and a receiver on
/// another.
///
/// Each half sits behind its own lock, so the end is `Sync` even where the
/// backend's halves are not (a shared-memory sender keeps its positions in
/// cells): a send and a receive run at the same time, two sends take turns.
pub struct PairedEnd<S, R> {
    tx: Mutex<S>,
    rx: Mutex<R>,
}

impl<S: fmt::Debug, R: fmt::Debug> fmt::Debug for PairedEnd<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PairedEnd")
            .field("tx", &self.tx)
            .field("rx", &self.rx)
            .finish()
    }
}

impl<S, R> PairedEnd<S, R> {
    /// An end that sends with `tx` and receives with `rx`.
    pub fn new(tx: S, rx: R) -> Self {
        PairedEnd {
            tx: Mutex::new(tx),
            rx: Mutex::new(rx),
        }
    }

    /// The two halves.
    pub fn into_parts(self) -> (S, R) {
        (
            self.tx.into_inner().unwrap_or_else(PoisonError::into_inner),
            self.rx.into_inner().unwrap_or_else(PoisonError::into_inner),
        )
    }

    // A panic inside a backend call leaves the half as the backend left
    // it; the backends keep their state consistent at every return, so
    // poisoning is ignored.

    fn tx(&self) -> MutexGuard<'_, S> {
        self.tx.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn rx(&self) -> MutexGuard<'_, R> {
        self.rx.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<S: RawSender, R: Send> RawSender for PairedEnd<S, R> {
    fn send_frame(&self, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        self.tx().send_frame(wait, fill)
    }

    fn max_message_size(&self) -> usize {
        self.tx().max_message_size()
    }

    fn send_bytes(&self, bytes: &[u8], wait: Wait) -> Result<(), RawSendError> {
        self.tx().send_bytes(bytes, wait)
    }
}

impl<S: Send, R: RawReceiver> RawReceiver for PairedEnd<S, R> {
    type Frame = R::Frame;

    fn recv_frame(&self, wait: Wait) -> Result<R::Frame, RawRecvError> {
        self.rx().recv_frame(wait)
    }
}

impl<S: PollSend, R: Send> PollSend for PairedEnd<S, R> {
    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.tx().poll_send_ready(cx)
    }
}

impl<S: Send, R: PollRecv> PollRecv for PairedEnd<S, R> {
    fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.rx().poll_recv_ready(cx)
    }

    fn register_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.rx().register_recv_ready(cx)
    }

    fn recv_ready_now(&self) -> Option<bool> {
        self.rx().recv_ready_now()
    }
}

/// The kind written in a paired end's token; the halves' kinds follow in
/// the payload and are checked when it opens.
const KIND: &str = "paired.end";

impl<S: Handoff, R: Handoff> Handoff for PairedEnd<S, R> {
    const KIND: &'static str = KIND;

    /// The payload is `sender kind|receiver kind|N:` followed by the
    /// sender's payload (`N` bytes) and the receiver's.
    fn prepare(self, cmd: &mut Command) -> Result<String, HandoffError> {
        let (tx, rx) = self.into_parts();
        let tx = tx.prepare(cmd)?;
        let rx = rx.prepare(cmd)?;
        Ok(format!("{}|{}|{}:{tx}{rx}", S::KIND, R::KIND, tx.len()))
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        let (tx_kind, rx_kind, tx, rx) = split_payload(payload).ok_or_else(|| {
            OpenError::malformed(format!("expected `kind|kind|N:payloads`, found `{payload}`"))
        })?;
        if tx_kind != S::KIND || rx_kind != R::KIND {
            return Err(OpenError::malformed(format!(
                "the paired end holds `{tx_kind}` and `{rx_kind}`, not `{}` and `{}`",
                S::KIND,
                R::KIND
            )));
        }
        Ok(PairedEnd::new(S::open(tx)?, R::open(rx)?))
    }

    /// Tells each half's backend its child, where it wants to know it.
    fn child_watch() -> Option<fn(&str, &std::process::Child)> {
        (S::child_watch().is_some() || R::child_watch().is_some()).then_some(watch_halves::<S, R>)
    }
}

/// Hands each half's payload of a paired end's `payload` to its
/// backend's watch; a malformed payload is left alone (it would not open).
fn watch_halves<S: Handoff, R: Handoff>(payload: &str, child: &std::process::Child) {
    let Some((_, _, tx, rx)) = split_payload(payload) else {
        return;
    };
    if let Some(watch) = S::child_watch() {
        watch(tx, child);
    }
    if let Some(watch) = R::child_watch() {
        watch(rx, child);
    }
}

/// A paired end's payload as its sender's kind, its receiver's kind, the
/// sender's payload and the receiver's.
fn split_payload(payload: &str) -> Option<(&str, &str, &str, &str)> {
    let mut parts = payload.splitn(3, '|');
    let (tx_kind, rx_kind, rest) = (parts.next()?, parts.next()?, parts.next()?);
    let (len, payloads) = rest.split_once(':')?;
    let len: usize = len.parse().ok()?;
    if !payloads.is_char_boundary(len) || len > payloads.len() {
        return None;
    }
    let (tx, rx) = payloads.split_at(len);
    Some((tx_kind, rx_kind, tx, rx))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::{Connection, local::Local};

    use super::*;

    #[test]
    fn ends_talk_both_ways() {
        let (a, b) = Paired::<Local>::duplex(&ChannelConfig::default()).unwrap();
        let a: Connection<u32, String, _> = Connection::from_raw(a);
        let b: Connection<String, u32, _> = Connection::from_raw(b);
        a.send(7).unwrap();
        assert_eq!(*b.recv().unwrap(), 7);
        b.send("seven".to_string()).unwrap();
        assert_eq!(a.recv().unwrap().as_str(), "seven");
        drop(b);
        assert!(
            a.recv_timeout(Duration::from_secs(5))
                .unwrap_err()
                .is_disconnected()
        );
        assert!(a.send(8).unwrap_err().is_disconnected());
    }

    /// An end whose payload is its text, to test the token format.
    #[derive(Debug, PartialEq)]
    struct Probe<const K: u8>(String);

    impl<const K: u8> Handoff for Probe<K> {
        const KIND: &'static str = if K == 0 { "probe.tx" } else { "probe.rx" };

        fn prepare(self, _cmd: &mut Command) -> Result<String, HandoffError> {
            Ok(self.0)
        }

        fn open(payload: &str) -> Result<Self, OpenError> {
            Ok(Probe(payload.into()))
        }
    }

    /// A half whose backend asks to know its child: it notes the payloads
    /// it is told about.
    #[derive(Debug)]
    struct Watching(String);

    static TOLD: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

    impl Handoff for Watching {
        const KIND: &'static str = "probe.watching";

        fn prepare(self, _cmd: &mut Command) -> Result<String, HandoffError> {
            Ok(self.0)
        }

        fn open(payload: &str) -> Result<Self, OpenError> {
            Ok(Watching(payload.into()))
        }

        fn child_watch() -> Option<fn(&str, &std::process::Child)> {
            Some(|payload, _child| TOLD.lock().unwrap().push(payload.to_owned()))
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "starts a process")]
    fn a_half_that_watches_its_child_is_told_its_own_payload() {
        assert!(PairedEnd::<Probe<0>, Probe<1>>::child_watch().is_none());
        let watch = PairedEnd::<Probe<0>, Watching>::child_watch().expect("the receiver half watches");
        let end = PairedEnd::new(Probe::<0>("tx:1".into()), Watching("rx|2".into()));
        let payload = end.prepare(&mut Command::new("child")).unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .arg("--list")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        watch(&payload, &child);
        watch("not a paired payload", &child);
        child.wait().unwrap();
        assert_eq!(*TOLD.lock().unwrap(), ["rx|2"]);
    }

    #[test]
    fn payloads_split_where_they_were_joined() {
        let end = PairedEnd::new(Probe::<0>("a|b:c".into()), Probe::<1>("12:x".into()));
        let payload = end.prepare(&mut Command::new("child")).unwrap();
        assert_eq!(payload, "probe.tx|probe.rx|5:a|b:c12:x");
        let (tx, rx) = PairedEnd::<Probe<0>, Probe<1>>::open(&payload)
            .unwrap()
            .into_parts();
        assert_eq!((tx.0.as_str(), rx.0.as_str()), ("a|b:c", "12:x"));
        assert!(PairedEnd::<Probe<0>, Probe<1>>::open("probe.tx|probe.rx|99:ab").is_err());
        assert!(PairedEnd::<Probe<1>, Probe<0>>::open(&payload).is_err());
    }
}
