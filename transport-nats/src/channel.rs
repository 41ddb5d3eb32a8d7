//! Making channels on a [`Client`]: created here, joined by name, or
//! anonymous (the [`Transport`](transport_core::Transport) way).

use transport_core::{ChannelConfig, CreateError};

use crate::{
    alo,
    base::Origin,
    client::Client,
    duplex::NatsEnd,
    end::{NatsReceiver, NatsSender},
    id,
    names::Names,
    options::{Delivery, Options},
};

fn invalid(reason: String) -> CreateError {
    CreateError::InvalidConfig { reason }
}

fn io(what: &str, e: std::io::Error) -> CreateError {
    CreateError::io(what.to_owned(), e)
}

impl Client {
    fn prepare(&self, name: &str, options: &Options) -> Result<Names, CreateError> {
        let names = Names::new(name).map_err(invalid)?;
        options.check().map_err(invalid)?;
        if options.delivery == Delivery::AtLeastOnce {
            alo::setup(&self.inner, &names, options)
                .map_err(|e| io(&format!("jetstream stream `{}`", names.stream()), e))?;
        }
        Ok(names)
    }

    /// Creates channel `name` on the server (for at least once: its stream,
    /// dead-letter stream and consumer, unless they exist) and returns a
    /// sender and a receiver. Hand them to children with
    /// [`CommandExt::endpoint`](transport_core::CommandExt::endpoint); a
    /// process elsewhere joins with [`sender`](Self::sender) or
    /// [`receiver`](Self::receiver) and the same name and options.
    ///
    /// # Errors
    /// [`CreateError::InvalidConfig`] for a bad name or options,
    /// [`CreateError::Io`] when the server refuses or does not answer.
    pub fn channel(&self, name: &str, options: &Options) -> Result<(NatsSender, NatsReceiver), CreateError> {
        let names = self.prepare(name, options)?;
        self.pair(&names, options, false)
    }

    fn pair(
        &self,
        names: &Names,
        options: &Options,
        anonymous: bool,
    ) -> Result<(NatsSender, NatsReceiver), CreateError> {
        let rx = NatsReceiver::make(self, names, options, None, Origin::Created, anonymous)
            .map_err(|e| io("a nats receiver", e))?;
        let tx = NatsSender::make(self, names, options, None, Origin::Created, anonymous)
            .map_err(|e| io("a nats sender", e))?;
        Ok((tx, rx))
    }

    /// A channel with a random name, used only through its ends (what
    /// [`Transport::channel`](transport_core::Transport::channel) makes):
    /// for at least once, its streams are removed when its last end goes.
    ///
    /// # Errors
    /// As [`channel`](Self::channel).
    pub fn anonymous_channel(&self, options: &Options) -> Result<(NatsSender, NatsReceiver), CreateError> {
        let name = id::short();
        let names = self.prepare(&name, options)?;
        self.pair(&names, options, true)
    }

    /// Joins channel `name` as a sender, from any process that reaches the
    /// server (creating the channel if it is not there).
    ///
    /// Until this process has heard of a receiver, a send does not report
    /// `Disconnected`: at least once it stores the message for receivers to
    /// come; at most once it waits for a receiver to subscribe.
    ///
    /// # Errors
    /// As [`channel`](Self::channel).
    pub fn sender(&self, name: &str, options: &Options) -> Result<NatsSender, CreateError> {
        let names = self.prepare(name, options)?;
        NatsSender::make(self, &names, options, None, Origin::Joined, false)
            .map_err(|e| io("a nats sender", e))
    }

    /// Joins channel `name` as a receiver, from any process that reaches
    /// the server (creating the channel if it is not there).
    ///
    /// # Errors
    /// As [`channel`](Self::channel).
    pub fn receiver(&self, name: &str, options: &Options) -> Result<NatsReceiver, CreateError> {
        let names = self.prepare(name, options)?;
        NatsReceiver::make(self, &names, options, None, Origin::Joined, false)
            .map_err(|e| io("a nats receiver", e))
    }

    /// A two-way connection named `name` (Python's `Pipe()`): two channels,
    /// `name-ab` and `name-ba`, one each way, with the flow control of the
    /// delivery mode (at most once: credit).
    ///
    /// # Errors
    /// As [`channel`](Self::channel); the name must leave room for the
    /// suffix.
    pub fn duplex(&self, name: &str, options: &Options) -> Result<(NatsEnd, NatsEnd), CreateError> {
        let (ab, ba) = (format!("{name}-ab"), format!("{name}-ba"));
        let (a_tx, b_rx) = self.channel(&ab, options)?;
        let (b_tx, a_rx) = self.channel(&ba, options)?;
        Ok((NatsEnd::new(a_tx, a_rx), NatsEnd::new(b_tx, b_rx)))
    }

    /// As [`duplex`](Self::duplex), with a random name and the anonymous
    /// channels' clean-up.
    ///
    /// # Errors
    /// As [`channel`](Self::channel).
    pub fn anonymous_duplex(&self, options: &Options) -> Result<(NatsEnd, NatsEnd), CreateError> {
        let (ab, ba) = (id::short(), id::short());
        let ab = self.prepare(&ab, options)?;
        let ba = self.prepare(&ba, options)?;
        let (a_tx, b_rx) = self.pair(&ab, options, true)?;
        let (b_tx, a_rx) = self.pair(&ba, options, true)?;
        Ok((NatsEnd::new(a_tx, a_rx), NatsEnd::new(b_tx, b_rx)))
    }
}

/// [`Options`] for a `transport-core` channel configuration.
pub fn options_for(delivery: Delivery, config: &ChannelConfig) -> Options {
    let mut options = Options::new(delivery).max_message_size(config.max_message_size);
    options.capacity = config.capacity;
    options
}
