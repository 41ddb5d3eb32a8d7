//! What the tests share: a real `nats-server` per test thread, and the two
//! delivery modes as `Transport`s on it.
#![allow(dead_code)]

use std::{cell::RefCell, marker::PhantomData};

use transport_core::{Capabilities, ChannelConfig, CreateError, Duplex, Transport};
use transport_nats::{
    AtLeastOnce, AtMostOnce, Client, Delivery, NatsEnd, NatsReceiver, NatsSender, options_for,
    server::LocalServer,
};

thread_local! {
    /// This test's server and client: started by the first channel the test
    /// makes, stopped (by process id) when the test's thread ends.
    static SERVER: RefCell<Option<(LocalServer, Client)>> = const { RefCell::new(None) };
}

/// The client of this test's own server, starting the server first.
///
/// # Panics
/// When `nats-server` cannot be started (the message says how to install
/// it).
pub fn client() -> Client {
    SERVER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if let Some((_, client)) = &*slot {
            return client.clone();
        }
        let server =
            LocalServer::start().unwrap_or_else(|e| panic!("starting nats-server for this test: {e}"));
        let client =
            Client::connect(&server.url()).unwrap_or_else(|e| panic!("connecting to {}: {e}", server.url()));
        *slot = Some((server, client.clone()));
        client
    })
}

/// Whether `nats-server` is installed; prints why a test is skipped if not.
pub fn server_available(test: &str) -> bool {
    let found = transport_nats::server::program().is_some();
    if !found {
        eprintln!("SKIP {test}: nats-server is not installed (Debian: `apt-get install nats-server`)");
    }
    found
}

/// A delivery mode as a type.
pub trait Mode: 'static {
    /// The mode.
    const DELIVERY: Delivery;
    /// The library's own `Transport` for it.
    type Real: Transport;
}

impl Mode for AtMostOnce {
    const DELIVERY: Delivery = Delivery::AtMostOnce;
    type Real = AtMostOnce;
}

impl Mode for AtLeastOnce {
    const DELIVERY: Delivery = Delivery::AtLeastOnce;
    type Real = AtLeastOnce;
}

/// The library's `Transport` for mode `M`, with the test's own server in
/// place of the process's default client.
pub struct OnTestServer<M>(PhantomData<M>);

impl<M: Mode> Transport for OnTestServer<M> {
    const NAME: &'static str = <M::Real as Transport>::NAME;
    type Sender = NatsSender;
    type Receiver = NatsReceiver;

    fn capabilities() -> Capabilities {
        <M::Real as Transport>::capabilities()
    }

    fn channel(config: &ChannelConfig) -> Result<(NatsSender, NatsReceiver), CreateError> {
        client().anonymous_channel(&options_for(M::DELIVERY, config))
    }
}

impl<M: Mode> Duplex for OnTestServer<M> {
    type End = NatsEnd;

    fn duplex(config: &ChannelConfig) -> Result<(NatsEnd, NatsEnd), CreateError> {
        client().anonymous_duplex(&options_for(M::DELIVERY, config))
    }
}

/// Runs `f` on this test's server (started by [`client`]).
///
/// # Panics
/// If the test has no server yet.
pub fn with_server<R>(f: impl FnOnce(&mut LocalServer) -> R) -> R {
    SERVER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let (server, _) = slot.as_mut().expect("the test started its server");
        f(server)
    })
}

/// Runs `case` as the cross-process test `name` (its path as libtest names
/// it: the harness re-runs this test binary for the children with it).
pub fn run(name: &str, case: transport_core::conformance::Case) {
    transport_core::conformance::run(name.to_owned(), "nats", true, case);
}
