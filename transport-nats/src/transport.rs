//! The two delivery modes as [`Transport`]s, on the process's default
//! client.

use std::sync::Mutex;

use transport_core::sync::LockExt;

use transport_core::{Capabilities, ChannelConfig, CreateError, Duplex, Readiness, Transport};

use crate::{
    channel::options_for,
    client::Client,
    duplex::NatsEnd,
    end::{NatsReceiver, NatsSender},
    options::Delivery,
};

/// The largest message any NATS server carries: `max_payload` is capped at
/// 64 MiB (the default is 1 MiB).
pub const MAX_MESSAGE_SIZE: usize = 64 << 20;

/// The environment variable naming the server of the default client (the
/// `nats` command-line tool's own).
pub const URL_VAR: &str = "NATS_URL";

/// The server of the default client when [`URL_VAR`] is not set.
pub const DEFAULT_URL: &str = "nats://127.0.0.1:4222";

static DEFAULT: Mutex<Option<Client>> = Mutex::new(None);

/// Makes `client` the one [`Transport::channel`] uses in this process.
pub fn set_default_client(client: Client) {
    *DEFAULT.lock_unpoisoned() = Some(client);
}

/// The client [`Transport::channel`] uses: the one given to
/// [`set_default_client`], or else a connection to [`URL_VAR`] (or
/// [`DEFAULT_URL`]) with credentials from the environment, made once.
///
/// # Errors
/// [`CreateError::Io`] when it cannot connect.
pub fn default_client() -> Result<Client, CreateError> {
    let mut default = DEFAULT.lock_unpoisoned();
    if let Some(client) = &*default {
        return Ok(client.clone());
    }
    let url = std::env::var(URL_VAR).unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let client = Client::connect(&url).map_err(|e| {
        CreateError::io(
            format!("the default nats server `{url}` (set {URL_VAR})"),
            e.into_io(),
        )
    })?;
    *default = Some(client.clone());
    Ok(client)
}

fn capabilities() -> Capabilities {
    let mut caps = Capabilities::default();
    caps.cross_process = true;
    caps.multi_producer = true;
    caps.multi_consumer = true;
    caps.duplex = true;
    caps.zero_copy = false;
    caps.bounded = true;
    caps.max_message_size = MAX_MESSAGE_SIZE;
    caps.readiness = Readiness::BridgeThread;
    caps
}

/// At most once: core NATS queue groups with credit-based flow control
/// (see [`Delivery::AtMostOnce`]), on the [default client](default_client).
#[derive(Clone, Copy, Debug, Default)]
pub struct AtMostOnce;

/// At least once: a JetStream work queue with acknowledgements (see
/// [`Delivery::AtLeastOnce`]), on the [default client](default_client).
#[derive(Clone, Copy, Debug, Default)]
pub struct AtLeastOnce;

// Threads share every end (`&tx` in scoped threads, `Arc<Sender<T>>`), as
// on every backend: this stops compiling if a change loses that.
const _: () = {
    const fn shared<E: Send + Sync>() {}
    shared::<NatsSender>();
    shared::<NatsReceiver>();
    shared::<NatsEnd>();
    shared::<transport_core::Sender<u64, NatsSender>>();
    shared::<transport_core::Receiver<u64, NatsReceiver>>();
};

impl Transport for AtMostOnce {
    const NAME: &'static str = "nats-at-most-once";
    type Sender = NatsSender;
    type Receiver = NatsReceiver;

    fn capabilities() -> Capabilities {
        capabilities()
    }

    fn channel(config: &ChannelConfig) -> Result<(NatsSender, NatsReceiver), CreateError> {
        default_client()?.anonymous_channel(&options_for(Delivery::AtMostOnce, config))
    }
}

impl Duplex for AtMostOnce {
    type End = NatsEnd;

    fn duplex(config: &ChannelConfig) -> Result<(NatsEnd, NatsEnd), CreateError> {
        default_client()?.anonymous_duplex(&options_for(Delivery::AtMostOnce, config))
    }
}

impl Transport for AtLeastOnce {
    const NAME: &'static str = "nats-at-least-once";
    type Sender = NatsSender;
    type Receiver = NatsReceiver;

    fn capabilities() -> Capabilities {
        capabilities()
    }

    fn channel(config: &ChannelConfig) -> Result<(NatsSender, NatsReceiver), CreateError> {
        default_client()?.anonymous_channel(&options_for(Delivery::AtLeastOnce, config))
    }
}

impl Duplex for AtLeastOnce {
    type End = NatsEnd;

    fn duplex(config: &ChannelConfig) -> Result<(NatsEnd, NatsEnd), CreateError> {
        default_client()?.anonymous_duplex(&options_for(Delivery::AtLeastOnce, config))
    }
}
