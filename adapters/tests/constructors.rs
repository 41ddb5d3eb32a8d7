//! Every backend crate makes channels with the same three functions,
//! `bounded(n)`, `unbounded()` and `with_config(&config)`, all returning a
//! `Result`, and refuses a capacity of 0 with `InvalidConfig` (there is no
//! rendezvous channel anywhere); generic code has
//! `transport_core::channel::<T, B>`. One macro checks each crate this
//! build enables, so the crates cannot drift apart without this failing.

use std::time::Duration;

use transport_core::{ChannelConfig, CreateError, Receiver, RecvTimeoutError, Sender, TrySendError};

const LONG: Duration = Duration::from_secs(60);

/// Sends `count` items and receives them in order.
fn round_trip<S, R>(tx: &Sender<u64, S>, rx: &Receiver<u64, R>, count: u64)
where
    S: transport_core::RawSender,
    R: transport_core::RawReceiver,
{
    for i in 0..count {
        tx.send_timeout(i, LONG).expect("a send within the minute");
    }
    for i in 0..count {
        let got = rx.recv_timeout(LONG).expect("a receive within the minute");
        assert_eq!(got.to_native(), i);
    }
    assert!(matches!(rx.try_recv(), Err(transport_core::TryRecvError::Empty)));
}

/// A channel bounded to `capacity` messages takes exactly that many.
fn holds_exactly<S, R>(tx: &Sender<u64, S>, rx: &Receiver<u64, R>, capacity: usize)
where
    S: transport_core::RawSender,
    R: transport_core::RawReceiver,
{
    for i in 0..capacity as u64 {
        tx.try_send(i).expect("room below the capacity");
    }
    assert!(matches!(tx.try_send(99), Err(TrySendError::Full(99))));
    assert_eq!(rx.recv_timeout(LONG).expect("the first item").to_native(), 0);
}

fn refuses_zero<T>(made: Result<T, CreateError>) {
    match made {
        Err(CreateError::InvalidConfig { reason }) => assert!(reason.contains('0'), "{reason}"),
        Err(e) => panic!("a capacity of 0 gave {e}, not InvalidConfig"),
        Ok(_) => panic!("a capacity of 0 made a channel"),
    }
}

/// The checks for crate `$krate`; `$counts` says whether its bound counts
/// messages (the pipe's counts bytes).
macro_rules! trio {
    ($name:ident, $krate:path, counts = $counts:expr) => {
        mod $name {
            use super::*;
            use $krate as krate;

            #[test]
            fn bounded_refuses_zero() {
                refuses_zero(krate::bounded::<u64>(0));
                refuses_zero(krate::with_config::<u64>(&ChannelConfig::bounded(0)));
            }

            #[test]
            fn bounded_unbounded_and_with_config_deliver() {
                let (tx, rx) = krate::bounded::<u64>(4).expect("a bounded channel");
                round_trip(&tx, &rx, 4);
                if $counts {
                    holds_exactly(&tx, &rx, 4);
                }
                let (tx, rx) = krate::unbounded::<u64>().expect("an unbounded channel");
                round_trip(&tx, &rx, 100);
                let config = ChannelConfig::bounded(2).max_message_size(64);
                let (tx, rx) = krate::with_config::<Vec<u8>>(&config).expect("a configured channel");
                assert!(
                    tx.send(vec![0u8; 1024]).is_err(),
                    "a message past the limit is refused"
                );
                tx.send(vec![1u8; 8]).expect("a small message");
                assert_eq!(rx.recv_timeout(LONG).expect("the small message").len(), 8);
                drop(tx);
                assert!(matches!(
                    rx.recv_timeout(LONG),
                    Err(RecvTimeoutError::Disconnected)
                ));
            }
        }
    };
}

trio!(local, transport_core::local, counts = true);
#[cfg(feature = "queue")]
trio!(queue, transport_queue, counts = true);
#[cfg(feature = "pipe")]
trio!(pipe, transport_pipe, counts = false);
#[cfg(feature = "shm")]
trio!(shm, transport_shm, counts = true);

/// NATS's functions run on the default client; this test points it at a
/// server of its own first.
#[cfg(feature = "nats")]
mod nats {
    use super::*;

    #[test]
    fn bounded_unbounded_and_with_config_deliver() {
        let client = transport_nats::testing::thread_client().expect("a nats-server of the test's own");
        transport_nats::set_default_client(client);
        refuses_zero(transport_nats::bounded::<u64>(0));
        let (tx, rx) = transport_nats::bounded::<u64>(4).expect("a bounded channel");
        round_trip(&tx, &rx, 4);
        let (tx, rx) = transport_nats::unbounded::<u64>().expect("an unbounded channel");
        round_trip(&tx, &rx, 100);
        let (tx, rx) =
            transport_nats::with_config::<u64>(&ChannelConfig::bounded(2)).expect("a configured channel");
        round_trip(&tx, &rx, 2);
    }
}

/// The generic constructor makes the same channel as the backend's own.
#[test]
fn generic_channel_is_the_backends() {
    let (tx, rx) = transport_core::channel::<u64, transport_core::local::Local>(&ChannelConfig::bounded(3))
        .expect("a local channel");
    holds_exactly(&tx, &rx, 3);
    refuses_zero(transport_core::channel::<u64, transport_core::local::Local>(
        &ChannelConfig::bounded(0),
    ));
}
