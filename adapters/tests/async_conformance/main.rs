//! The conformance suite's cases through the async API (tokio in every
//! process), plus cancel safety: for the `local` backend (threads) and for
//! the backend this build's feature chooses (processes), one-way and
//! two-way.

mod bad_input;
mod blocking;
mod cancel;
mod close;
mod duplex;
mod many;
mod order;
#[path = "../support/chosen.rs"]
mod support;
mod util;

/// One `#[test]` per case of `$module`, for backend `$backend`.
macro_rules! cases {
    ($backend:ty; $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                transport_core::conformance::run(
                    transport_core::conformance::test_name(module_path!(), stringify!($case)),
                    <$backend as transport_core::Transport>::NAME,
                    <$backend as transport_core::Transport>::capabilities().cross_process,
                    crate::$module::$case::<$backend>,
                );
            }
        )*
    };
}

/// The one-way cases.
macro_rules! channel_cases {
    ($backend:ty) => {
        cases!($backend;
            order::fifo_from_child, order::fifo_to_child, order::payload_sizes, order::raw_bytes_roundtrip,
            order::owned_values,
            blocking::try_recv_empty, blocking::send_waits_for_room, blocking::timeouts,
            close::sender_drop_drains_then_disconnects, close::receiver_drop_disconnects_sender,
            close::peer_killed_while_sending, close::peer_killed_while_receiving,
            bad_input::too_large, bad_input::garbage_frames,
            many::many_producers, many::many_consumers,
            cancel::cancelled_recv_loses_nothing, cancel::cancelled_send_leaves_nothing,
        );
    };
}

/// The two-way cases.
macro_rules! duplex_cases {
    ($backend:ty) => {
        cases!($backend;
            duplex::duplex_ping_pong, duplex::duplex_both_ways_at_once,
            duplex::duplex_peer_drop, duplex::duplex_peer_killed,
        );
    };
}

mod local {
    channel_cases!(transport_core::local::Local);
}

mod local_duplex {
    duplex_cases!(transport_core::local::Local);
}

#[cfg(any(feature = "queue", feature = "pipe", feature = "shm", feature = "nats"))]
mod backend {
    channel_cases!(crate::support::Chosen);
}

#[cfg(any(feature = "queue", feature = "pipe", feature = "shm", feature = "nats"))]
mod backend_duplex {
    duplex_cases!(crate::support::ChosenDuplex);
}
