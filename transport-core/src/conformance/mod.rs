//! The conformance suite: one generic set of cases that every backend runs
//! across real processes (threads for the `local` backend).
//!
//! A backend instantiates it with one line in an integration test:
//!
//! ```ignore
//! transport_core::conformance_tests!(transport_pipe::Pipe);
//! // or, for a backend with two-way ends:
//! transport_core::conformance_tests!(transport_pipe::Pipe, duplex);
//! ```
//!
//! Every case is a function of a [`Harness`]. The parent creates the
//! channel and hands one end to a child, which is this test binary run again
//! for exactly this test, with its role in the environment (so a test cannot
//! pass without its child having run: the parent checks the data the child
//! sent or reported, and the child's final "done" report). Every wait has a
//! timeout; nothing sleeps to synchronise. A case that does not apply to a
//! backend says so on the standard error stream, with the reason taken from
//! the backend's [`Capabilities`](crate::Capabilities).
//!
//! The suite has two drivers, which read one case table
//! ([`conformance_case_table!`](crate::conformance_case_table)): this
//! blocking one, and the async one in `transport-adapters`' tests. A case
//! both run is written once, generic over a [`Drive`] (or a
//! [`DriveDuplex`]), which each driver implements with its own API; the
//! blocking driver is [`Blocking`].

mod blocking;
mod cases;
mod drive;
mod harness;

pub use blocking::Blocking;
pub use cases::*;
pub use drive::{Drive, DriveDuplex, EndFrameOf, FrameOf};
pub use harness::{Case, ChildBuilder, Harness, Mode, PEER_TIMEOUT, Peer, Role, retry_start, run};

/// The test name libtest gives a test function `case` written in the module
/// `module_path` (the crate name is not part of it).
pub fn test_name(module_path: &str, case: &str) -> String {
    match module_path.split_once("::") {
        Some((_crate, rest)) => format!("{rest}::{case}"),
        None => case.to_owned(),
    }
}

/// One `#[test]` per function named, each a case of the module `$cases`
/// (`fn(&Harness)`) run across real processes for backend `$backend` (see
/// [`run`]): for a crate's own cross-process tests beside the suite.
///
/// ```ignore
/// transport_core::cross_process_tests!("shm", cases; killed_producer_loses_nothing, stale_name_is_refused);
/// ```
#[macro_export]
macro_rules! cross_process_tests {
    ($backend:expr, $cases:ident; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::conformance::run(
                    $crate::conformance::test_name(module_path!(), stringify!($case)),
                    $backend,
                    true,
                    $cases::$case,
                );
            }
        )*
    };
}

/// Instantiates the conformance suite for a backend: one `#[test]` per case.
///
/// `conformance_tests!(Backend)` runs the channel cases;
/// `conformance_tests!(Backend, duplex)` adds the cases of
/// [`Duplex`](crate::Duplex) backends. A backend whose every message is a
/// round trip to a server (a stored, acknowledged publish) may run the two
/// FIFO cases with fewer items, `conformance_tests!(Backend, duplex, fifo =
/// 10_000)`, as long as that is still many times what it holds in flight.
/// The cases the table shares with the async driver run through
/// [`Blocking`].
///
/// `conformance_tests!(@select Backend)` adds the cases of
/// [`Select`](crate::Select) and [`wait`](crate::wait), for a backend whose
/// receiver implements [`PollRecv`](crate::backend::PollRecv);
/// `conformance_tests!(@select duplex Backend)` adds `Connection::poll` on
/// its two-way ends too.
#[macro_export]
macro_rules! conformance_tests {
    ($transport:ty) => {
        $crate::conformance_case_table!(@fifo blocking [$crate::conformance] $transport, $crate::conformance::Blocking);
        $crate::conformance_tests!(@channel $transport);
    };
    ($transport:ty, duplex) => {
        $crate::conformance_tests!($transport);
        $crate::conformance_tests!(@duplex $transport);
    };
    ($transport:ty, duplex, fifo = $count:expr) => {
        $crate::conformance_tests!(@fifo $transport; $count; fifo_from_child, fifo_from_child_of);
        $crate::conformance_tests!(@fifo $transport; $count; fifo_to_child, fifo_to_child_of);
        $crate::conformance_tests!(@channel $transport);
        $crate::conformance_tests!(@duplex $transport);
    };
    (@channel $transport:ty) => {
        $crate::conformance_case_table!(@channel blocking [$crate::conformance] $transport, $crate::conformance::Blocking);
    };
    (@duplex $transport:ty) => {
        $crate::conformance_case_table!(@duplex blocking [$crate::conformance] $transport, $crate::conformance::Blocking);
    };
    (@select duplex $transport:ty) => {
        $crate::conformance_tests!(@select $transport);
        $crate::conformance_tests!(@cases $transport; duplex_poll);
    };
    (@select $transport:ty) => {
        $crate::conformance_tests!(@cases $transport;
            select_message_index, select_disconnect, select_timeout, select_in_child,
        );
    };
    (@fifo $transport:ty; $count:expr; $case:ident, $with_count:ident) => {
        $crate::conformance_tests!(@test $case, $transport,
            |h| $crate::conformance::$with_count::<$transport, $crate::conformance::Blocking>(h, $count));
    };
    // One `#[test]`: case `$case` of backend `$transport`, run by `$run`.
    (@test $case:ident, $transport:ty, $run:expr) => {
        #[test]
        fn $case() {
            $crate::conformance::run(
                $crate::conformance::test_name(module_path!(), stringify!($case)),
                <$transport as $crate::Transport>::NAME,
                <$transport as $crate::Transport>::capabilities().cross_process,
                $run,
            );
        }
    };
    (@cases $transport:ty; $($case:ident),* $(,)?) => {
        $crate::conformance_tests!(@cases_in [$crate::conformance] $transport; $($case),*);
    };
    // One case at a time: the driver's path repeats inside each test.
    (@cases_in [$($driver:tt)*] $transport:ty; $case:ident $(, $rest:ident)* $(,)?) => {
        $crate::conformance_tests!(@test $case, $transport, $($driver)*::$case::<$transport>);
        $crate::conformance_tests!(@cases_in [$($driver)*] $transport; $($rest),*);
    };
    (@cases_in [$($driver:tt)*] $transport:ty; $(,)?) => {};
    // The cases both drivers share, written once in this module, through
    // the driver `$drive` (a `Drive` or `DriveDuplex` of the backend).
    (@shared $transport:ty, $drive:ty; $($case:ident),* $(,)?) => {
        $(
            $crate::conformance_tests!(@test $case, $transport, $crate::conformance::$case::<$transport, $drive>);
        )*
    };
}

/// The suite's one case table, which both drivers read: the blocking one
/// here (through [`conformance_tests!`], driver [`Blocking`]) and the async
/// one in `transport-adapters`' tests (its own [`Drive`] over the async
/// API). A case in the shared rows is written once, in this module,
/// generic over the driver ([`Drive`], or [`DriveDuplex`] for two-way
/// ends), and every driver that reads the table runs it. A case in the
/// `@each` row checks what both APIs offer in shapes too different to
/// share one body (the deadline and iterator vocabulary, which is a
/// `Stream` in async code; a full channel's deadlines; the occupancy
/// counts; one sender shared by threads or by tasks; serde values): every
/// driver writes its own body, under the case's name, in its own place,
/// so a driver without one does not compile. A case in a `blocking` or
/// `async` row checks a part of the API only that driver has (a
/// `try_send` into a full channel, a capacity of zero; back-pressure,
/// cancelling a future, waiting on several receivers with their
/// futures), and is written in that driver's own place.
///
/// `conformance_case_table!(@channel blocking [path] Backend, Driver)`
/// gives one `#[test]` per channel case the blocking driver runs: a shared
/// case `case` calls `transport_core::conformance::case::<Backend,
/// Driver>`, a case of the `@each` and blocking rows
/// `path::case::<Backend>`; `@duplex`
/// the same for two-way ends; `async` in place of `blocking` the async
/// driver's cases. The two FIFO cases stand apart (`@fifo`), as a backend
/// may run them with fewer items.
#[macro_export]
macro_rules! conformance_case_table {
    (@fifo $driver:ident [$($path:tt)*] $transport:ty, $drive:ty) => {
        $crate::conformance_tests!(@shared $transport, $drive; fifo_from_child, fifo_to_child);
    };
    (@channel $driver:ident [$($path:tt)*] $transport:ty, $drive:ty) => {
        $crate::conformance_tests!(@shared $transport, $drive;
            payload_sizes, raw_bytes_roundtrip, try_recv_empty, timeouts,
            sender_drop_drains_then_disconnects, receiver_drop_disconnects_sender,
            peer_killed_while_sending, peer_killed_while_receiving,
            too_large, garbage_frames, many_producers, many_consumers,
        );
        $crate::conformance_case_table!(@each [$($path)*] $transport;
            deadlines_and_iterators, send_deadline_full, occupancy, shared_sender, serde_values,
        );
        $crate::conformance_case_table!(@only $driver blocking [$($path)*] $transport;
            try_send_full, ready_and_owned_iterators, zero_capacity,
        );
        $crate::conformance_case_table!(@only $driver async [$($path)*] $transport;
            owned_values, send_waits_for_room, cancelled_recv_loses_nothing, cancelled_send_leaves_nothing,
            select_receivers,
        );
    };
    (@duplex $driver:ident [$($path:tt)*] $transport:ty, $drive:ty) => {
        $crate::conformance_tests!(@shared $transport, $drive;
            duplex_ping_pong, duplex_peer_drop, duplex_peer_killed,
        );
        $crate::conformance_case_table!(@only $driver async [$($path)*] $transport;
            duplex_both_ways_at_once,
        );
    };
    // Every driver runs these, each through a body of its own in its own
    // place: a driver that lacks one does not compile.
    (@each [$($path:tt)*] $transport:ty; $($case:ident),* $(,)?) => {
        $crate::conformance_tests!(@cases_in [$($path)*] $transport; $($case),*);
    };
    (@only blocking blocking [$($path:tt)*] $transport:ty; $($case:ident),* $(,)?) => {
        $crate::conformance_tests!(@cases_in [$($path)*] $transport; $($case),*);
    };
    (@only async async [$($path:tt)*] $transport:ty; $($case:ident),* $(,)?) => {
        $crate::conformance_tests!(@cases_in [$($path)*] $transport; $($case),*);
    };
    (@only $driver:ident $other:ident [$($path:tt)*] $transport:ty; $($case:ident),* $(,)?) => {};
}
