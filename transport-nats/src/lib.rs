//! The `nats` backend: the workspace's messages, channels and `Queue`
//! across machines, on a NATS server (or cluster) and its JetStream store.
//!
//! Every other backend stops at the edge of one machine. This one puts the
//! same rkyv messages (validated on receipt: the network is not trusted)
//! through [NATS], in one of two named [`Delivery`] modes:
//!
//! | | [`AtMostOnce`] | [`AtLeastOnce`] |
//! |---|---|---|
//! | NATS mechanism | core queue group | JetStream work-queue stream, durable pull consumer, explicit ack |
//! | a send returns | when the client has the message | when the stream stored it |
//! | a receiver killed holding messages | they are lost | they are delivered again after the ack wait |
//! | the server restarts | messages in flight are lost | the (file) stream survives; nothing acknowledged is redone |
//! | bounded | per-sender credit window (`Full` when it is used up) | stream `max_msgs` + `discard: new` (`Full` when full) |
//! | order | per sender | per sender, except a message delivered again |
//! | poison messages | — | after `max_deliver` deliveries, moved to the dead-letter stream |
//!
//! ```no_run
//! use transport_nats::{Client, Delivery, Options, Receiver, Sender};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::connect("nats://127.0.0.1:4222")?;
//! let (tx, rx) = client.channel("jobs", &Options::new(Delivery::AtLeastOnce))?;
//! let (tx, rx): (Sender<String>, Receiver<String>) = (Sender::from_raw(tx), Receiver::from_raw(rx));
//! tx.send("resize a.png".to_string())?;
//! let job = rx.recv()?; // validated, read in place (or copied once to align it)
//! assert_eq!(job.as_str(), "resize a.png");
//! drop(job); // acknowledged: it will not be delivered again
//! # Ok(()) }
//! ```
//!
//! # Three ways in
//! - **As a `Transport`**: [`AtMostOnce`] and [`AtLeastOnce`] make
//!   anonymous channels on the process's [default client](default_client)
//!   (`NATS_URL`, or [`set_default_client`]), so generic code, the
//!   conformance suite and the adapters run on NATS unchanged. A child gets
//!   its end with `CommandExt::endpoint` / `from_env`, as with every
//!   backend: the token carries the server list (credentials removed), the
//!   channel's name, the end's identity and the settings, never a secret.
//!   The child connects with credentials from its own environment
//!   (`NATS_CREDS`, `NATS_NKEY`, `NATS_USER`/`NATS_PASSWORD`, `NATS_TOKEN`,
//!   `NATS_CA`/`NATS_CERT`/`NATS_KEY`: see [`Client::connect`]), which the
//!   parent passes explicitly if it wants to.
//! - **By name, from anywhere**: [`Client::channel`], [`Client::sender`],
//!   [`Client::receiver`] and [`Client::queue`] name the channel; a process
//!   on another machine joins with the server's URL and the same name and
//!   options.
//! - **As a queue**: [`Queue`] is Python's `JoinableQueue` (put, get,
//!   `len`, `task_done`, `join`).
//!
//! # Who is there
//! NATS does not tell a client who else uses a subject, so every end
//! announces itself on the channel (see the `roster` module's
//! documentation in the source): an end dropped in order is seen leaving
//! at once, and its drop returns once the server has taken everything its
//! process sent before (at most [`Options::outage_limit`]), so a process
//! may exit right after; a killed end is seen leaving after
//! [`Options::lease`] (5 s), a server
//! unreachable for [`Options::outage_limit`] (10 s) gives `Disconnected`.
//! The client reconnects by itself; after a reconnection every lease starts
//! again.
//!
//! # Acknowledgement
//! See [`NatsFrame`]: a raw receiver's message is acknowledged when its
//! guard is dropped (negatively if its thread is panicking);
//! [`NatsFrame::ack`] waits for the server's confirmation; a [`Queue`]
//! acknowledges by [`Queue::task_done`], and gives back what it holds
//! unfinished when it is dropped.
//!
//! # Threads and async
//! The client runs on one runtime thread per process (`transport-nats`),
//! started by the first connection; there is no thread or runtime per
//! channel. The blocking calls poll the client's channels themselves and
//! wait on a condition variable that the client's task wakes; the ends
//! implement transport-core's [`PollRecv`](transport_core::backend::PollRecv) and
//! [`PollSend`](transport_core::backend::PollSend) with the same wake-ups, for the
//! async adapters.
//!
//! # Limits
//! A message is at most the channel's `max_message_size` and the server's
//! `max_payload` (1 MiB unless the server sets more, at most 64 MiB); a
//! longer one is `TooLarge` before anything is sent. A received message
//! longer than the receiver's limit is `TooLarge` and consumed; one that is
//! not a valid archive is `Invalid` and consumed; neither stops the
//! channel.
//!
//! # Features
//! - `serde`: transport-core's `Serde<T>`, re-exported here, so
//!   that any serde type travels as a message (transport-core's `serde`
//!   feature).
//! - `tracing`: events through the `tracing` crate on hand-off and open
//!   (transport-core's `tracing` feature); none per message.
//!
//! [NATS]: https://nats.io
#![deny(missing_docs)]

#[cfg(feature = "serde")]
pub use transport_core::Serde;

mod alo;
mod amo;
mod base;
mod channel;
mod client;
mod done;
mod duplex;
mod end;
mod error;
mod frame;
mod id;
mod make;
mod names;
mod options;
mod queue;
mod roster;
mod runtime;
pub mod server;
mod signal;
mod sys;
pub mod testing;
mod transport;

pub use channel::options_for;
pub use client::{CONNECT_TIMEOUT, Client};
pub use duplex::NatsEnd;
pub use end::{NatsReceiver, NatsSender};
pub use error::{ConnectError, QueueError};
pub use frame::{ACK_TIMEOUT, AckError, NatsFrame};
pub use make::{bounded, unbounded, with_config};
pub use names::MAX_NAME_LEN;
pub use options::{Delivery, Options};
pub use queue::{Queue, Receiver, Sender};
pub use transport::{
    AtLeastOnce, AtMostOnce, DEFAULT_URL, MAX_MESSAGE_SIZE, URL_VAR, default_client, set_default_client,
};

/// The `async-nats` crate this backend is built on, for
/// [`Client::connect_with`]'s options.
pub use async_nats;

/// The README's examples, compiled (and run) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
