//! Serde types as messages ([`Serde`]) through the async ends: the async
//! form of the blocking driver's `serde_values`.

use futures::StreamExt;
use transport_adapters::AsyncSender;
use transport_core::{
    ChannelConfig, RecvError, Serde,
    conformance::{
        Harness, PEER_TIMEOUT, Role, SERDE_RECORDS as RECORDS, SerdeRecord as Record, serde_record as record,
    },
};

use crate::util::{AsyncTransport, block_on, channel, unknown_role, within};

/// A child sends 1,000 serde records with `send().await`, a frame whose
/// bytes are a well-formed archive but not a record (`send_bytes`), and one
/// record more. The parent takes the first half with `recv_owned().await`
/// and the rest from `stream_owned`, each equal and in order; the bad frame
/// is an `Invalid` item and the stream goes on; it ends at the disconnect.
pub fn serde_values<T: AsyncTransport>(h: &Harness) {
    match h.role() {
        Role::Parent => block_on(async {
            let (tx, mut rx) = channel::<T, Serde<Record>>(&ChannelConfig::default());
            let peer = h.child("sender").endpoint("tx", tx).spawn();
            for i in 0..RECORDS / 2 {
                let Serde(got) = within("receiving", rx.recv_owned())
                    .await
                    .unwrap_or_else(|e| panic!("receiving record {i}: {e}"));
                assert_eq!(got, record(i), "record {i} differs");
            }
            let mut stream = rx.stream_owned();
            for i in RECORDS / 2..RECORDS {
                match within("reading the owned stream", stream.next()).await {
                    Some(Ok(Serde(got))) => assert_eq!(got, record(i), "record {i} differs"),
                    other => panic!("record {i}: got {other:?}"),
                }
            }
            match within("reading the owned stream", stream.next()).await {
                Some(Err(RecvError::Invalid(_))) => {}
                other => panic!("a frame that is not a record: expected Invalid, got {other:?}"),
            }
            match within("reading the owned stream", stream.next()).await {
                Some(Ok(Serde(last))) => {
                    assert_eq!(last, record(RECORDS), "the record after the bad frame differs")
                }
                other => panic!("the record after the bad frame: got {other:?}"),
            }
            assert!(
                within("the stream's end", stream.next()).await.is_none(),
                "the stream ends at the disconnect"
            );
            drop(stream);
            assert!(matches!(rx.recv_owned().await, Err(RecvError::Disconnected)));
            peer.wait(PEER_TIMEOUT);
        }),
        Role::Child("sender") => block_on(async {
            let tx: AsyncSender<Serde<Record>, T::Sender> = h.endpoint("tx");
            for i in 0..RECORDS {
                within("sending", tx.send(Serde(record(i))))
                    .await
                    .unwrap_or_else(|e| panic!("sending record {i}: {e}"));
            }
            // The layout of every `Serde` archive (a byte string), holding
            // a name that is not UTF-8.
            let bogus =
                rkyv::to_bytes::<rkyv::rancor::Error>(&vec![3u8, 0xff, 0xfe, 0xfd]).expect("archiving");
            within("sending the bad frame", tx.send_bytes(&bogus))
                .await
                .expect("sending the bad frame");
            within("sending", tx.send(Serde(record(RECORDS))))
                .await
                .expect("sending the last record");
        }),
        Role::Child(other) => unknown_role(other),
    }
}
