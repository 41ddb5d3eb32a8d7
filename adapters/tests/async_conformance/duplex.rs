//! Two-way ends through `AsyncConnection`.

use transport_adapters::AsyncConnection;
use transport_core::{
    ChannelConfig, Duplex, RecvError,
    backend::{PollRecv, PollSend},
    conformance::{Harness, Item, Mode, PEER_TIMEOUT, Role},
};

use crate::util::{block_on, send_until_disconnected, unknown_role, within};

/// A two-way backend the async API can drive.
pub trait AsyncDuplex: Duplex<End: PollSend + PollRecv> {}

impl<T: Duplex<End: PollSend + PollRecv>> AsyncDuplex for T {}

type End<T> = AsyncConnection<Item, Item, <T as Duplex>::End>;

fn pair<T: AsyncDuplex>() -> (End<T>, End<T>) {
    let (a, b) = T::duplex(&ChannelConfig::default())
        .unwrap_or_else(|e| panic!("creating a `{}` duplex pair: {e}", T::NAME));
    (AsyncConnection::from_raw(a), AsyncConnection::from_raw(b))
}

const ROUND_TRIPS: u64 = 1000;
const STREAM: u64 = 20_000;

/// 1,000 async round trips, then the child sees `Disconnected` when the
/// parent drops its end.
pub fn duplex_ping_pong<T: AsyncDuplex>(h: &Harness) {
    match h.role() {
        Role::Parent => block_on(async {
            let (mine, theirs) = pair::<T>();
            let peer = h.child("echo").endpoint("end", theirs).spawn();
            for seq in 0..ROUND_TRIPS {
                within("sending", mine.send(Item::new(12, seq)))
                    .await
                    .expect("sending a request");
                within("receiving", mine.recv())
                    .await
                    .unwrap_or_else(|e| panic!("receiving reply {seq}: {e}"))
                    .assert_is(13, seq + 1);
            }
            drop(mine);
            assert_eq!(peer.wait(PEER_TIMEOUT), [format!("answered {ROUND_TRIPS}")]);
        }),
        Role::Child("echo") => block_on(async {
            let end: End<T> = h.endpoint("end");
            let mut answered = 0;
            loop {
                match within("receiving", end.recv()).await {
                    Ok(request) => {
                        let seq = request.seq.to_native();
                        request.assert_is(12, seq);
                        within("replying", end.send(Item::new(13, seq + 1)))
                            .await
                            .expect("replying");
                        answered += 1;
                    }
                    Err(RecvError::Disconnected) => break,
                    Err(e) => panic!("echo receiving: {e}"),
                }
            }
            h.report(format!("answered {answered}"));
        }),
        Role::Child(other) => unknown_role(other),
    }
}

/// Both ends stream 20,000 items to each other at once, each end sending
/// from one task while another task receives on the same connection.
pub fn duplex_both_ways_at_once<T: AsyncDuplex>(h: &Harness) {
    async fn both_ways<E: PollSend + PollRecv + Sync>(
        end: &AsyncConnection<Item, Item, E>,
        out: u32,
        inn: u32,
    ) {
        let sending = async {
            for seq in 0..STREAM {
                within("sending", end.send(Item::new(out, seq)))
                    .await
                    .unwrap_or_else(|e| panic!("sending item {seq}: {e}"));
            }
        };
        let receiving = async {
            for seq in 0..STREAM {
                within("receiving", end.recv())
                    .await
                    .unwrap_or_else(|e| panic!("receiving item {seq}: {e}"))
                    .assert_is(inn, seq);
            }
        };
        tokio::join!(sending, receiving);
    }
    match h.role() {
        Role::Parent => block_on(async {
            let (mine, theirs) = pair::<T>();
            let peer = h.child("other").endpoint("end", theirs).spawn();
            both_ways(&mine, 17, 18).await;
            drop(mine);
            assert_eq!(peer.wait(PEER_TIMEOUT), [format!("streamed {STREAM}")]);
        }),
        Role::Child("other") => block_on(async {
            let end: End<T> = h.endpoint("end");
            both_ways(&end, 18, 17).await;
            h.report(format!("streamed {STREAM}"));
        }),
        Role::Child(other) => unknown_role(other),
    }
}

/// The child sends three items and drops its end; the parent receives the
/// three, then `Disconnected`, and its sends report `Disconnected`.
pub fn duplex_peer_drop<T: AsyncDuplex>(h: &Harness) {
    match h.role() {
        Role::Parent => block_on(async {
            let (mine, theirs) = pair::<T>();
            let peer = h.child("leaver").endpoint("end", theirs).spawn();
            for seq in 0..3 {
                within("receiving", mine.recv())
                    .await
                    .unwrap_or_else(|e| panic!("receiving item {seq}: {e}"))
                    .assert_is(14, seq);
            }
            match within("receiving", mine.recv()).await {
                Err(RecvError::Disconnected) => {}
                other => panic!("expected `Disconnected`, got {:?}", other.map(|_| ())),
            }
            peer.wait(PEER_TIMEOUT);
            send_until_disconnected(16, async |item, t| mine.send_timeout(item, t).await).await;
        }),
        Role::Child("leaver") => block_on(async {
            let end: End<T> = h.endpoint("end");
            for seq in 0..3 {
                within("sending", end.send(Item::new(14, seq)))
                    .await
                    .expect("sending");
            }
        }),
        Role::Child(other) => unknown_role(other),
    }
}

/// The child is killed while it waits in `recv().await`; the parent's end
/// reports `Disconnected`, in bounded time.
pub fn duplex_peer_killed<T: AsyncDuplex>(h: &Harness) {
    match h.role() {
        Role::Parent => block_on(async {
            if h.mode() == Mode::Thread {
                h.skip("peers are threads, which cannot be killed");
                return;
            }
            let (mine, theirs) = pair::<T>();
            let mut peer = h.child("victim").endpoint("end", theirs).spawn();
            within("receiving", mine.recv())
                .await
                .expect("the child's greeting")
                .assert_is(15, 0);
            peer.kill();
            match within("receiving", mine.recv()).await {
                Err(RecvError::Disconnected) => {}
                other => panic!("expected `Disconnected`, got {:?}", other.map(|_| ())),
            }
            send_until_disconnected(16, async |item, t| mine.send_timeout(item, t).await).await;
        }),
        Role::Child("victim") => block_on(async {
            let end: End<T> = h.endpoint("end");
            within("sending", end.send(Item::new(15, 0)))
                .await
                .expect("greeting");
            let _ = end.recv().await;
        }),
        Role::Child(other) => unknown_role(other),
    }
}
