//! [`Client`]: one connection to a NATS server (or cluster), shared by every
//! end that uses it, with its state as the ends need it.

use std::{
    collections::HashMap,
    fmt,
    future::Future,
    path::PathBuf,
    sync::{
        Arc, Mutex, OnceLock, Weak,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use transport_core::sync::LockExt;

use async_nats::{ConnectOptions, Event, HeaderMap, Subject, client::PublishError, jetstream};
use bytes::Bytes;
use tokio::sync::watch;

use crate::{error::ConnectError, options::Options, roster::Roster, runtime, signal::Signal};

/// How long [`Client::connect`] waits for a server to answer.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to a NATS server or cluster, shared by the channels and
/// queues made on it (cheap to clone).
///
/// It runs on the process's one `transport-nats` runtime thread and
/// reconnects by itself after a server restart or failover; operations
/// that find it disconnected wait up to [`Options::outage_limit`] for it to
/// come back, then return `Disconnected`.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("servers", &self.inner.servers)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) nats: async_nats::Client,
    pub(crate) js: jetstream::Context,
    /// The server list as given, credentials removed: what tokens carry.
    pub(crate) servers: String,
    pub(crate) link: Arc<Link>,
    rosters: Mutex<HashMap<String, Weak<Roster>>>,
}

/// Whether the connection is up, and since when it is down.
pub(crate) struct Link {
    down_since: Mutex<Option<Instant>>,
    /// Ends to wake when the connection goes down or comes back.
    watchers: Mutex<Vec<Weak<Signal>>>,
    /// Counts reconnections, for the rosters to announce their ends again.
    epoch: watch::Sender<u64>,
}

impl Link {
    fn new() -> Self {
        Link {
            down_since: Mutex::new(None),
            watchers: Mutex::new(Vec::new()),
            epoch: watch::Sender::new(0),
        }
    }

    fn on_event(&self, event: &Event) {
        match event {
            Event::Disconnected => {
                transport_core::event!(WARN, "nats server connection lost; reconnecting");
                *self.down_since.lock_unpoisoned() = Some(Instant::now());
            }
            Event::Connected => {
                transport_core::event!(INFO, "nats server connected");
                *self.down_since.lock_unpoisoned() = None;
                self.epoch.send_modify(|n| *n += 1);
            }
            _ => return,
        }
        let mut watchers = self.watchers.lock_unpoisoned();
        watchers.retain(|w| match w.upgrade() {
            Some(signal) => {
                signal.notify();
                true
            }
            None => false,
        });
    }

    /// When an operation waiting now must give up on a lost server: `None`
    /// while the connection is up.
    pub(crate) fn outage_deadline(&self, limit: Duration) -> Option<Instant> {
        let since = *self.down_since.lock_unpoisoned();
        since.map(|since| since + limit)
    }

    /// Whether the server has been unreachable for longer than `limit`.
    pub(crate) fn lost(&self, limit: Duration) -> bool {
        self.outage_deadline(limit).is_some_and(|d| Instant::now() >= d)
    }

    /// Whether the connection is up now.
    pub(crate) fn is_up(&self) -> bool {
        self.down_since.lock_unpoisoned().is_none()
    }

    /// Wakes `signal` whenever the connection goes down or comes back.
    pub(crate) fn watch(&self, signal: &Arc<Signal>) {
        self.watchers.lock_unpoisoned().push(Arc::downgrade(signal));
    }

    /// How many times the connection came back so far.
    pub(crate) fn epoch(&self) -> u64 {
        *self.epoch.borrow()
    }

    /// A receiver of the reconnection count.
    pub(crate) fn epochs(&self) -> watch::Receiver<u64> {
        self.epoch.subscribe()
    }
}

/// A publish that could not be handed to the client at once and runs on
/// the shared runtime; the sender's next message waits for it, so messages
/// leave in order.
#[derive(Debug, Default)]
pub(crate) struct Queued {
    done: AtomicBool,
}

impl Queued {
    pub(crate) fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }
}

impl Inner {
    /// Hands a message to the client's connection task without waiting:
    /// polled once here (the common case: room in the client's command
    /// channel), and otherwise finished on the shared runtime, which then
    /// notifies `signal`.
    pub(crate) fn publish(
        self: &Arc<Self>,
        subject: Subject,
        headers: Option<HeaderMap>,
        payload: Bytes,
        signal: Option<&Arc<Signal>>,
    ) -> Result<Option<Arc<Queued>>, PublishError> {
        self.publish_to(subject, None, headers, payload, signal)
    }

    /// As [`publish`](Self::publish), with a reply subject.
    pub(crate) fn publish_to(
        self: &Arc<Self>,
        subject: Subject,
        reply: Option<Subject>,
        headers: Option<HeaderMap>,
        payload: Bytes,
        signal: Option<&Arc<Signal>>,
    ) -> Result<Option<Arc<Queued>>, PublishError> {
        // The connection shared, not a clone of the `async-nats` client (a
        // dozen reference counts, taken and dropped for every message).
        let inner = Arc::clone(self);
        // One future per kind of publish, not one that could be any of the
        // four: the future is moved whole into its box, and one that could
        // be any is near 1,000 bytes against some 600 for one kind (copying
        // it was the largest entry in the sending thread's profile of a
        // stream of 64-byte messages).
        match (reply, headers) {
            (None, None) => hand_over(async move { inner.nats.publish(subject, payload).await }, signal),
            (None, Some(headers)) => hand_over(
                async move { inner.nats.publish_with_headers(subject, headers, payload).await },
                signal,
            ),
            (Some(reply), None) => hand_over(
                async move { inner.nats.publish_with_reply(subject, reply, payload).await },
                signal,
            ),
            (Some(reply), Some(headers)) => hand_over(
                async move {
                    inner
                        .nats
                        .publish_with_reply_and_headers(subject, reply, headers, payload)
                        .await
                },
                signal,
            ),
        }
    }

    /// The roster of channel `name` in this process, made on first use.
    pub(crate) fn roster(self: &Arc<Self>, name: &str, options: &Options, origin: bool) -> Arc<Roster> {
        let mut rosters = self.rosters.lock_unpoisoned();
        if let Some(roster) = rosters.get(name).and_then(Weak::upgrade) {
            return roster;
        }
        rosters.retain(|_, r| r.strong_count() > 0);
        let roster = Roster::start(Arc::clone(self), name, options, origin);
        rosters.insert(name.to_owned(), Arc::downgrade(&roster));
        roster
    }
}

/// Polls a publish once here, and finishes it on the shared runtime if the
/// client's command channel is full: see [`Inner::publish`].
fn hand_over<F>(fut: F, signal: Option<&Arc<Signal>>) -> Result<Option<Arc<Queued>>, PublishError>
where
    F: Future<Output = Result<(), PublishError>> + Send + 'static,
{
    let mut fut = Box::pin(fut);
    match fut
        .as_mut()
        .poll(&mut Context::from_waker(std::task::Waker::noop()))
    {
        Poll::Ready(result) => result.map(|()| None),
        Poll::Pending => {
            let queued = Arc::new(Queued::default());
            let (mark, signal) = (Arc::clone(&queued), signal.cloned());
            runtime::spawn(async move {
                // A publish that fails here failed because the client is
                // closing: the ends see that through the link.
                let _ = fut.await;
                mark.done.store(true, Ordering::Release);
                if let Some(signal) = signal {
                    signal.notify();
                }
            });
            Ok(Some(queued))
        }
    }
}

impl Client {
    /// Connects to `servers` (one URL, or several separated by commas:
    /// `nats://a:4222,nats://b:4222`), with credentials and TLS files from
    /// the environment as the `nats` command-line tool reads them:
    /// `NATS_CREDS` (a credentials file), `NATS_NKEY` (an nkey seed file),
    /// `NATS_USER` and `NATS_PASSWORD`, `NATS_TOKEN`, `NATS_CA`,
    /// `NATS_CERT` and `NATS_KEY`. Credentials may also be in the URL
    /// (`nats://user:pass@host`); they are never written into a hand-off
    /// token.
    ///
    /// # Errors
    /// [`ConnectError`] when no server answers within [`CONNECT_TIMEOUT`],
    /// refuses the credentials, or a file named in the environment cannot
    /// be read.
    pub fn connect(servers: &str) -> Result<Client, ConnectError> {
        Self::connect_with(servers, env_options()?)
    }

    /// Connects with the client options the caller built (credentials,
    /// nkeys, JWT callbacks, TLS configuration, timeouts: everything
    /// `async-nats` offers). This crate installs its own event callback on
    /// them (it tracks whether the connection is up), replacing any set
    /// before.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub fn connect_with(servers: &str, options: ConnectOptions) -> Result<Client, ConnectError> {
        let list: Vec<String> = servers
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let redacted = redact(servers);
        if list.is_empty() {
            return Err(ConnectError::InvalidServers { servers: redacted });
        }
        let link = Arc::new(Link::new());
        let events = Arc::clone(&link);
        let options = options.event_callback(move |event| {
            events.on_event(&event);
            async {}
        });
        let deadline = Instant::now() + CONNECT_TIMEOUT + Duration::from_secs(1);
        let connecting = runtime::wait_for(async move { options.connect(list).await }, Some(deadline));
        let nats = match connecting {
            Some(Ok(nats)) => nats,
            Some(Err(source)) => {
                return Err(ConnectError::Connect {
                    servers: redacted,
                    source,
                });
            }
            None => return Err(ConnectError::TimedOut { servers: redacted }),
        };
        // The JetStream context starts a task of its own: on our runtime.
        let js = {
            let _runtime = runtime::handle().enter();
            jetstream::new(nats.clone())
        };
        let inner = Arc::new(Inner {
            nats,
            js,
            servers: redacted.clone(),
            link,
            rosters: Mutex::new(HashMap::new()),
        });
        pool()
            .lock_unpoisoned()
            .entry(redacted)
            .or_insert_with(|| Arc::downgrade(&inner));
        Ok(Client { inner })
    }

    /// A client for a hand-off token: one already connected in this
    /// process to the same servers, or a new one made with
    /// [`connect`](Self::connect).
    pub(crate) fn for_token(servers: &str) -> Result<Client, ConnectError> {
        let found = pool().lock_unpoisoned().get(servers).and_then(Weak::upgrade);
        match found {
            Some(inner) => Ok(Client { inner }),
            None => Self::connect(servers),
        }
    }

    /// The servers this client was given, credentials removed.
    pub fn servers(&self) -> &str {
        &self.inner.servers
    }

    /// The `async-nats` client underneath, for what this crate does not
    /// wrap.
    pub fn nats(&self) -> &async_nats::Client {
        &self.inner.nats
    }

    /// The largest message the server accepts (its `max_payload`), in bytes.
    pub fn max_payload(&self) -> usize {
        self.inner.nats.max_payload()
    }
}

fn pool() -> &'static Mutex<HashMap<String, Weak<Inner>>> {
    static POOL: OnceLock<Mutex<HashMap<String, Weak<Inner>>>> = OnceLock::new();
    POOL.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The client options every connection of this crate starts from: a
/// reconnect that keeps trying, quickly, and pings often enough to notice a
/// server that vanished without closing its connection.
fn base_options() -> ConnectOptions {
    ConnectOptions::new()
        .name("transport-nats")
        .connection_timeout(CONNECT_TIMEOUT)
        .ping_interval(Duration::from_secs(2))
        .max_reconnects(None)
        .reconnect_delay_callback(|attempts| Duration::from_millis((attempts as u64 * 50).min(1000)))
        // Room for every sender's credit window (see `Options::window`).
        .subscription_capacity(1 << 18)
}

/// [`base_options`] with credentials and TLS files named in the
/// environment.
fn env_options() -> Result<ConnectOptions, ConnectError> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut options = base_options();
    if let Some(path) = var("NATS_CREDS") {
        let text = std::fs::read_to_string(&path).map_err(|source| ConnectError::Credentials {
            var: "NATS_CREDS",
            source,
        })?;
        options = options
            .credentials(&text)
            .map_err(|source| ConnectError::Credentials {
                var: "NATS_CREDS",
                source,
            })?;
    }
    if let Some(path) = var("NATS_NKEY") {
        let seed = std::fs::read_to_string(&path).map_err(|source| ConnectError::Credentials {
            var: "NATS_NKEY",
            source,
        })?;
        options = options.nkey(seed.trim().to_owned());
    }
    if let (Some(user), Some(password)) = (var("NATS_USER"), var("NATS_PASSWORD")) {
        options = options.user_and_password(user, password);
    }
    if let Some(token) = var("NATS_TOKEN") {
        options = options.token(token);
    }
    if let Some(ca) = var("NATS_CA") {
        options = options.add_root_certificates(PathBuf::from(ca)).require_tls(true);
    }
    if let (Some(cert), Some(key)) = (var("NATS_CERT"), var("NATS_KEY")) {
        options = options.add_client_certificate(PathBuf::from(cert), PathBuf::from(key));
    }
    Ok(options)
}

/// `servers` with the user information (`user:pass@`) of every URL removed.
pub(crate) fn redact(servers: &str) -> String {
    servers
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|url| {
            let (scheme, rest) = match url.split_once("://") {
                Some((scheme, rest)) => (Some(scheme), rest),
                None => (None, url),
            };
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let rest = match rest[..authority_end].rfind('@') {
                Some(at) => &rest[at + 1..],
                None => rest,
            };
            match scheme {
                Some(scheme) => format!("{scheme}://{rest}"),
                None => rest.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_leave_the_url_list() {
        assert_eq!(
            redact("nats://alice:s3cret@a:4222, tls://tok@b:4223,c:4224"),
            "nats://a:4222,tls://b:4223,c:4224"
        );
        assert_eq!(redact("nats://h:1/p@x"), "nats://h:1/p@x");
    }
}
