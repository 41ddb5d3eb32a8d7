//! The backend on a `nats-server` of the calling thread's own, for tests
//! and examples that have no server to point at.
//!
//! [`OnThreadServer<M>`] is a [`Transport`] (and [`Duplex`]) of delivery
//! mode `M` whose channels live on a [`LocalServer`] that the thread starts
//! when it makes its first channel and that stops (by process id, with its
//! store directory removed) when the thread ends. A test gets a server no
//! other test shares; ends handed to child processes carry the server's
//! address in their token, so the children need nothing else.

use std::{cell::RefCell, marker::PhantomData};

use transport_core::{Capabilities, ChannelConfig, CreateError, Duplex, Transport};

use crate::{
    channel::options_for,
    client::Client,
    duplex::NatsEnd,
    end::{NatsReceiver, NatsSender},
    options::Delivery,
    server::LocalServer,
    transport::{AtLeastOnce, AtMostOnce},
};

thread_local! {
    /// This thread's server and its client.
    static SERVER: RefCell<Option<(LocalServer, Client)>> = const { RefCell::new(None) };
}

/// The client of this thread's own server, starting the server first.
///
/// # Errors
/// [`CreateError::Io`] when `nats-server` cannot be started (it is not
/// installed: see [`server::program`](crate::server::program)) or does not
/// take the connection.
pub fn thread_client() -> Result<Client, CreateError> {
    SERVER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if let Some((_, client)) = &*slot {
            return Ok(client.clone());
        }
        let server =
            LocalServer::start().map_err(|e| CreateError::io("starting this thread's nats-server", e))?;
        let client = Client::connect(&server.url()).map_err(|e| {
            CreateError::io(
                format!("connecting to this thread's nats-server {}", server.url()),
                e.into_io(),
            )
        })?;
        *slot = Some((server, client.clone()));
        Ok(client)
    })
}

/// Runs `f` on this thread's server (to stop, kill or restart it).
///
/// # Panics
/// If the thread has not started its server ([`thread_client`], or a
/// channel of [`OnThreadServer`]).
pub fn with_thread_server<R>(f: impl FnOnce(&mut LocalServer) -> R) -> R {
    SERVER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let (server, _) = slot.as_mut().expect("this thread has started its nats-server");
        f(server)
    })
}

/// A delivery mode as a type: [`AtMostOnce`] or [`AtLeastOnce`].
pub trait Mode: Transport + 'static {
    /// The mode.
    const DELIVERY: Delivery;
}

impl Mode for AtMostOnce {
    const DELIVERY: Delivery = Delivery::AtMostOnce;
}

impl Mode for AtLeastOnce {
    const DELIVERY: Delivery = Delivery::AtLeastOnce;
}

/// Delivery mode `M` on this thread's own server (see the module docs).
#[derive(Debug)]
pub struct OnThreadServer<M>(PhantomData<M>);

impl<M: Mode> Transport for OnThreadServer<M> {
    const NAME: &'static str = M::NAME;
    type Sender = NatsSender;
    type Receiver = NatsReceiver;

    fn capabilities() -> Capabilities {
        M::capabilities()
    }

    fn channel(config: &ChannelConfig) -> Result<(NatsSender, NatsReceiver), CreateError> {
        thread_client()?.anonymous_channel(&options_for(M::DELIVERY, config))
    }
}

impl<M: Mode> Duplex for OnThreadServer<M> {
    type End = NatsEnd;

    fn duplex(config: &ChannelConfig) -> Result<(NatsEnd, NatsEnd), CreateError> {
        thread_client()?.anonymous_duplex(&options_for(M::DELIVERY, config))
    }
}
