//! [`Base`]: what every end has: its client, its channel's roster, its
//! identity and settings, and the signal its waits use.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::Waker,
    time::Instant,
};

use transport_core::{OpenError, backend::Wait};

use crate::{
    client::{Client, Inner},
    id,
    names::Names,
    options::{Delivery, Options},
    roster::{Role, Roster, Side},
    signal::{self, Signal},
};

/// The identity and surroundings of one end.
pub(crate) struct Base {
    pub(crate) client: Client,
    pub(crate) roster: Arc<Roster>,
    pub(crate) names: Names,
    /// The end's identity on the roster (kept across a hand-off).
    pub(crate) id: String,
    pub(crate) options: Options,
    pub(crate) role: Role,
    /// The channel was made by [`Transport::channel`]: its stream goes when
    /// its last end does.
    ///
    /// [`Transport::channel`]: transport_core::Transport::channel
    pub(crate) anonymous: bool,
    pub(crate) signal: Arc<Signal>,
    pub(crate) waker: Waker,
    handed_off: AtomicBool,
}

/// How an end comes to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Made with the channel, in the process that creates it.
    Created,
    /// Opened from a hand-off token: the other side existed when it was
    /// handed off.
    HandedOff,
    /// Joined by name: nothing is known of the other side yet.
    Joined,
}

impl Base {
    pub(crate) fn new(
        client: &Client,
        names: &Names,
        options: &Options,
        role: Role,
        id: Option<String>,
        origin: Origin,
        anonymous: bool,
    ) -> Base {
        let roster = client
            .inner
            .roster(&names.name, options, origin == Origin::Created);
        if origin != Origin::Joined {
            if role == Role::Sender || role == Role::Both {
                roster.assume_seen(Side::Receivers);
            }
            if role == Role::Receiver || role == Role::Both {
                roster.assume_seen(Side::Senders);
            }
        }
        let signal = Arc::new(Signal::new());
        client.inner.link.watch(&signal);
        Base {
            client: client.clone(),
            roster,
            names: names.clone(),
            id: id.unwrap_or_else(id::random),
            options: options.clone(),
            role,
            anonymous,
            waker: signal::waker(&signal),
            signal,
            handed_off: AtomicBool::new(false),
        }
    }

    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.client.inner
    }

    /// Puts the end on the roster: call once it can work (a receiver once
    /// its subscription reached the server).
    pub(crate) fn join(&self) {
        self.roster.register(&self.id, self.role, &self.signal);
    }

    /// Whether the server has been unreachable past the outage limit.
    pub(crate) fn lost(&self) -> bool {
        self.client.inner.link.lost(self.options.outage_limit)
    }

    /// Waits for a notification after generation `seen`, no longer than
    /// `wait` allows, and wakes early for a lease or an outage that runs out.
    /// For a sender: it sleeps at once, leaving the CPUs to the receivers
    /// whose progress it waits for.
    pub(crate) fn pause(&self, seen: u64, wait: Wait) {
        let deadline = self.deadline(wait, None);
        self.signal.wait(seen, deadline);
    }

    /// As [`pause`](Self::pause), for a receiver, waking at `also` at the
    /// latest too: it looks for the message for a while before it sleeps
    /// (a reply through the server, or a JetStream delivery, often comes
    /// within the spin, which shortens itself where it does not).
    pub(crate) fn pause_receiving(&self, seen: u64, wait: Wait, also: Option<Instant>) {
        let deadline = self.deadline(wait, also);
        self.signal.wait_spinning(seen, deadline);
    }

    /// The earliest of `wait`'s deadline, `also`, a lease's expiry and the
    /// outage limit.
    fn deadline(&self, wait: Wait, also: Option<Instant>) -> Option<Instant> {
        let limits = [
            also,
            wait.deadline(),
            self.roster.next_expiry(),
            self.client.inner.link.outage_deadline(self.options.outage_limit),
        ];
        limits.into_iter().flatten().min()
    }

    /// Marks the end as handed to a child: it stays on the roster in
    /// transit, and its drop does not announce it gone.
    pub(crate) fn hand_off(&self) {
        self.handed_off.store(true, Ordering::Release);
        self.roster.hand_off(&self.id);
    }

    pub(crate) fn is_handed_off(&self) -> bool {
        self.handed_off.load(Ordering::Acquire)
    }

    /// The token payload for this end.
    pub(crate) fn token(&self) -> String {
        let mut words = vec![
            "v1".to_owned(),
            format!("servers={}", self.client.servers()),
            format!("name={}", self.names.name),
            format!("id={}", self.id),
            format!("anon={}", u8::from(self.anonymous)),
        ];
        words.extend(self.options.to_words());
        words.join(" ")
    }
}

impl Drop for Base {
    fn drop(&mut self) {
        if self.is_handed_off() {
            return;
        }
        self.roster.leave(&self.id, self.options.outage_limit);
        // An anonymous at-least-once channel's streams go with its last end
        // (in every process this one knows of).
        if self.anonymous && self.options.delivery == Delivery::AtLeastOnce && !self.roster.others(&self.id) {
            crate::alo::remove(self.inner(), &self.names);
        }
    }
}

/// A parsed hand-off token.
pub(crate) struct Token {
    pub(crate) servers: String,
    pub(crate) names: Names,
    pub(crate) id: String,
    pub(crate) anonymous: bool,
    pub(crate) options: Options,
    /// A queue's receiver (acknowledged by `task_done`).
    pub(crate) explicit: bool,
}

impl Token {
    pub(crate) fn parse(payload: &str) -> Result<Token, OpenError> {
        let mut words = payload.split(' ');
        if words.next() != Some("v1") {
            return Err(OpenError::malformed("not a transport-nats token of version 1"));
        }
        let (mut servers, mut name, mut id, mut anonymous, mut explicit) = (None, None, None, false, false);
        let mut options = Options::default();
        for word in words {
            let Some((key, value)) = word.split_once('=') else {
                return Err(OpenError::malformed(format!("`{word}` is not `key=value`")));
            };
            match key {
                "servers" => servers = Some(value.to_owned()),
                "name" => name = Some(value.to_owned()),
                "id" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                    id = Some(value.to_owned());
                }
                "anon" => anonymous = value == "1",
                "explicit" => explicit = value == "1",
                _ if options.set_word(key, value) => {}
                _ => return Err(OpenError::malformed(format!("bad setting `{word}`"))),
            }
        }
        let (Some(servers), Some(name), Some(id)) = (servers, name, id) else {
            return Err(OpenError::malformed("servers, name and id are required"));
        };
        let names = Names::new(&name).map_err(OpenError::malformed)?;
        options.check().map_err(OpenError::malformed)?;
        Ok(Token {
            servers,
            names,
            id,
            anonymous,
            options,
            explicit,
        })
    }

    pub(crate) fn client(&self) -> Result<Client, OpenError> {
        Client::for_token(&self.servers)
            .map_err(|e| OpenError::io(format!("nats server `{}`", self.servers), e.into_io()))
    }
}

/// `deadline` for setting-up work (subscribing, creating a stream).
pub(crate) fn setup_deadline() -> Option<Instant> {
    Some(Instant::now() + std::time::Duration::from_secs(15))
}
