//! Faults across real processes: a consumer killed mid-task, a server
//! killed and restarted, a server that is gone, and bytes that are not
//! messages.

mod common;

use std::time::{Duration, Instant};

use transport_core::{
    RecvTimeoutError, SendError,
    backend::Frame,
    conformance::{Harness, LONG, PEER_TIMEOUT, Role},
};
use transport_nats::{Delivery, NatsReceiver, Options, Receiver, Sender};

use common::{client, run, server_available, with_server};

/// A unique channel name for a test.
fn name(h: &Harness, what: &str) -> String {
    let full = h.unique_name(what);
    full.chars()
        .rev()
        .take(60)
        .collect::<String>()
        .chars()
        .rev()
        .collect::<String>()
        .replace(':', "-")
}

/// Short leases and ack waits, so a fault shows within seconds.
fn quick(delivery: Delivery) -> Options {
    Options::new(delivery)
        .liveness(Duration::from_millis(250), Duration::from_secs(2))
        .ack_wait(Duration::from_secs(2))
        .outage_limit(Duration::from_secs(3))
}

/// A consumer SIGKILLed while it holds a message: the message is delivered
/// again to another consumer after the ack wait, and nothing is lost.
#[test]
fn killed_consumer_work_is_delivered_again() {
    if !server_available("killed_consumer_work_is_delivered_again") {
        return;
    }
    run("killed_consumer_work_is_delivered_again", |h| match h.role() {
        Role::Parent => {
            let c = client();
            // One message per pull: the victim holds exactly the one it took.
            let options = quick(Delivery::AtLeastOnce).prefetch(1);
            let (tx, rx) = c.channel(&name(h, "jobs"), &options).expect("channel");
            let tx: Sender<u64> = Sender::from_raw(tx);
            let rx2 = transport_core::backend::RawReceiver::try_clone(&rx).expect("a second consumer");
            for job in 0..20u64 {
                tx.send(job).expect("sending a job");
            }
            let mut victim = h.child("victim").endpoint("rx", rx).spawn();
            let held: u64 = victim
                .expect_report(LONG)
                .strip_prefix("holding ")
                .expect("holding")
                .parse()
                .expect("a job");
            victim.kill();
            let survivor = h.child("survivor").endpoint("rx", rx2).param("count", 20).spawn();
            drop(tx);
            let report = survivor.wait(PEER_TIMEOUT);
            let jobs: Vec<u64> = report[0].split(',').map(|j| j.parse().expect("a job")).collect();
            let mut sorted = jobs.clone();
            sorted.sort_unstable();
            assert_eq!(
                sorted,
                (0..20).collect::<Vec<_>>(),
                "every job exactly once: {jobs:?}"
            );
            assert_eq!(
                report[1],
                format!("redelivered {held}"),
                "the killed consumer's job came back"
            );
        }
        Role::Child("victim") => {
            let rx: Receiver<u64> = Receiver::from_raw(h.endpoint::<NatsReceiver>("rx"));
            let job = rx.recv_timeout(LONG).expect("a job");
            h.report(format!("holding {}", job.to_native()));
            // Hold it until killed.
            std::thread::sleep(Duration::from_secs(600));
        }
        Role::Child("survivor") => {
            let rx: Receiver<u64> = Receiver::from_raw(h.endpoint::<NatsReceiver>("rx"));
            let count: usize = h.param("count");
            let mut jobs = Vec::new();
            let mut redelivered = Vec::new();
            while jobs.len() < count {
                let frame = rx
                    .recv_bytes_timeout(LONG)
                    .unwrap_or_else(|e| panic!("a job after {jobs:?}: {e}"));
                let job = u64::from_le_bytes(frame.bytes()[..8].try_into().expect("eight bytes"));
                if frame.delivered() > Some(1) {
                    redelivered.push(job);
                }
                frame.ack().expect("acknowledging");
                jobs.push(job);
            }
            h.report(jobs.iter().map(u64::to_string).collect::<Vec<_>>().join(","));
            h.report(format!(
                "redelivered {}",
                redelivered
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ));
        }
        Role::Child(other) => panic!("no role {other}"),
    });
}

/// The server is stopped (`SIGTERM`) and restarted on the same store: the
/// file-backed stream survives, both clients reconnect, and work
/// acknowledged before the stop is not done again.
#[test]
fn server_restart_keeps_the_stream_and_acknowledged_work() {
    if !server_available("server_restart_keeps_the_stream_and_acknowledged_work") {
        return;
    }
    run("server_restart_keeps_the_stream_and_acknowledged_work", |h| {
        restart_case(h, false)
    });
}

/// The server is SIGKILLed and restarted on the same store: the stream
/// survives, the clients reconnect and nothing is lost. Acknowledgements
/// the server had not written out when it was killed may be lost with it
/// (nats-server 2.9 writes a single server's consumer state lazily), so
/// that work may be done again: at least once. The test prints how much.
#[test]
fn server_killed_loses_nothing() {
    if !server_available("server_killed_loses_nothing") {
        return;
    }
    run("server_killed_loses_nothing", |h| restart_case(h, true));
}

fn restart_case(h: &Harness, kill: bool) {
    match h.role() {
        Role::Parent => {
            let c = client();
            let options = quick(Delivery::AtLeastOnce).outage_limit(Duration::from_secs(20));
            let (tx, rx) = c.channel(&name(h, "jobs"), &options).expect("channel");
            let tx: Sender<u64> = Sender::from_raw(tx);
            for job in 0..10u64 {
                tx.send(job).expect("sending a job");
            }
            let mut worker = h.child("worker").endpoint("rx", rx).spawn();
            assert_eq!(worker.expect_report(LONG), "acknowledged 5");
            with_server(|s| {
                let pid = s.pid();
                if kill {
                    s.kill();
                } else {
                    s.stop();
                }
                s.restart().expect("restarting the server");
                assert_ne!(s.pid(), pid, "a new server process");
            });
            // The sender reconnects and sends more.
            for job in 10..15u64 {
                tx.send(job).expect("sending a job after the restart");
            }
            drop(tx);
            let report = worker.wait(PEER_TIMEOUT);
            let jobs: Vec<u64> = report[0].split(',').map(|j| j.parse().expect("a job")).collect();
            if kill {
                let mut unique = jobs.clone();
                unique.sort_unstable();
                unique.dedup();
                assert!((5..15).all(|j| unique.contains(&j)), "nothing lost: {jobs:?}");
                let redone = jobs.iter().filter(|j| **j < 5).count();
                eprintln!("server SIGKILLed: {redone} of 5 acknowledged jobs were delivered again");
            } else {
                assert_eq!(
                    jobs,
                    (5..15).collect::<Vec<_>>(),
                    "after the restart: the rest, nothing redone"
                );
            }
        }
        Role::Child("worker") => {
            let rx: Receiver<u64> = Receiver::from_raw(h.endpoint::<NatsReceiver>("rx"));
            for expected in 0..5u64 {
                let frame = rx.recv_bytes_timeout(LONG).expect("a job");
                let job = u64::from_le_bytes(frame.bytes()[..8].try_into().expect("eight bytes"));
                assert_eq!(job, expected);
                frame.ack().expect("acknowledging before the restart");
            }
            h.report("acknowledged 5");
            let mut jobs = Vec::new();
            loop {
                match rx.recv_bytes_timeout(LONG) {
                    Ok(frame) => {
                        let job = u64::from_le_bytes(frame.bytes()[..8].try_into().expect("eight bytes"));
                        // After a SIGKILL the server may not confirm an
                        // acknowledgement of a delivery it lost track of:
                        // that message may then come again (at least once).
                        if let Err(e) = frame.ack() {
                            assert!(kill, "acknowledging after a clean restart: {e}");
                            eprintln!("job {job}: acknowledgement not confirmed: {e}");
                        }
                        jobs.push(job);
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                    Err(e) => panic!("receiving after the restart: {e}"),
                }
            }
            h.report(jobs.iter().map(u64::to_string).collect::<Vec<_>>().join(","));
        }
        Role::Child(other) => panic!("no role {other}"),
    }
}

/// A server that is gone: receives and sends return `Disconnected` within
/// the outage limit (3 s here), in both modes; connecting fails at once.
#[test]
fn a_server_that_is_gone_gives_disconnected() {
    if !server_available("a_server_that_is_gone_gives_disconnected") {
        return;
    }
    for delivery in [Delivery::AtMostOnce, Delivery::AtLeastOnce] {
        let c = client();
        let (tx, rx) = c
            .channel(&format!("gone-{}", delivery_name(delivery)), &quick(delivery))
            .expect("channel");
        let (tx, rx): (Sender<u64>, Receiver<u64>) = (Sender::from_raw(tx), Receiver::from_raw(rx));
        tx.send(1).expect("a message while the server is up");
        assert_eq!(rx.recv_timeout(LONG).expect("it arrives").to_native(), 1);
        let url = with_server(|s| {
            s.kill();
            s.url()
        });
        let start = Instant::now();
        match rx.recv_timeout(LONG) {
            Err(RecvTimeoutError::Disconnected) => {}
            other => panic!("{delivery:?}: expected Disconnected, got {:?}", other.map(|_| ())),
        }
        match tx.send_timeout(2, LONG) {
            Err(transport_core::SendTimeoutError::Disconnected(2)) => {}
            other => panic!("{delivery:?}: expected Disconnected for a send, got {other:?}"),
        }
        eprintln!("{delivery:?}: Disconnected after {:?}", start.elapsed());
        assert!(
            transport_nats::Client::connect(&url).is_err(),
            "connecting to a dead server fails"
        );
        with_server(|s| s.restart().expect("restarting for the next mode"));
    }
}

fn delivery_name(d: Delivery) -> &'static str {
    match d {
        Delivery::AtMostOnce => "amo",
        Delivery::AtLeastOnce => "alo",
    }
}

/// A message longer than the server's `max_payload` is `TooLarge` with
/// the server's limit, before anything is sent; the channel stays usable.
#[test]
fn too_large_for_the_server() {
    if !server_available("too_large_for_the_server") {
        return;
    }
    let server = transport_nats::server::LocalServer::start_with(transport_nats::server::ServerConfig {
        max_payload: 1 << 20,
        ..Default::default()
    })
    .expect("a server with a 1 MiB max_payload");
    let c = transport_nats::Client::connect(&server.url()).expect("connecting");
    for delivery in [Delivery::AtMostOnce, Delivery::AtLeastOnce] {
        let (tx, rx) = c
            .channel(
                &format!("big-{}", delivery_name(delivery)),
                &Options::new(delivery),
            )
            .expect("channel");
        let (tx, rx): (Sender<Vec<u8>>, Receiver<Vec<u8>>) = (Sender::from_raw(tx), Receiver::from_raw(rx));
        match tx.send(vec![7u8; 2 << 20]) {
            Err(SendError::TooLarge { len, limit, .. }) => {
                assert!(len > 2 << 20);
                assert!(limit <= 1 << 20, "{delivery:?}: the server's limit, got {limit}");
            }
            other => panic!("{delivery:?}: expected TooLarge, got {:?}", other.err()),
        }
        tx.send(vec![1u8; 1000]).expect("a small message after");
        assert_eq!(rx.recv_timeout(LONG).expect("it arrives").len(), 1000);
    }
}

/// Bytes that are not messages, from a plain NATS client on the channel's
/// own subjects (data, presence, credit): each bad message is `Invalid`
/// or ignored, never a panic, and the channel keeps working.
#[test]
fn hostile_bytes_on_every_subject() {
    if !server_available("hostile_bytes_on_every_subject") {
        return;
    }
    let c = client();
    let nats = c.nats().clone();
    for delivery in [Delivery::AtMostOnce, Delivery::AtLeastOnce] {
        let channel = format!("hostile-{}", delivery_name(delivery));
        let (tx, rx) = c
            .channel(&channel, &Options::new(delivery).max_message_size(4096))
            .expect("channel");
        let (tx, rx): (Sender<String>, Receiver<String>) = (Sender::from_raw(tx), Receiver::from_raw(rx));
        let data = match delivery {
            Delivery::AtMostOnce => format!("transport.{channel}.d.intruder"),
            Delivery::AtLeastOnce => format!("transport.{channel}.j"),
        };
        let junk: Vec<Vec<u8>> = vec![
            vec![],
            vec![0xff; 3],
            b"v1\nx y z w\n\xff\xfe".to_vec(),
            vec![0x41; 5000], // past the receiver's limit
            transport_core::conformance::garbage(7)[5].clone(),
            transport_core::conformance::garbage(7)[70].clone(),
        ];
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async {
            for bytes in &junk {
                for subject in [
                    format!("transport.{channel}.p"),
                    format!("transport.{channel}.a"),
                    format!("transport.{channel}.c.anything"),
                ] {
                    nats.publish(subject, bytes.clone().into())
                        .await
                        .expect("publishing junk");
                }
            }
            if delivery == Delivery::AtLeastOnce {
                let js = async_nats_jetstream(&nats);
                // The stream itself refuses what is past its limit.
                for bytes in junk.iter().filter(|b| b.len() <= 4096) {
                    js.publish(data.clone(), bytes.clone().into())
                        .await
                        .expect("publishing")
                        .await
                        .expect("stored");
                }
            } else {
                for bytes in &junk {
                    nats.publish(data.clone(), bytes.clone().into())
                        .await
                        .expect("publishing junk");
                }
            }
            nats.flush().await.expect("flushing");
        });
        tx.send("after the junk".to_string()).expect("sending");
        let mut invalid = 0;
        let mut too_large = 0;
        loop {
            match rx.recv_timeout(LONG) {
                Ok(msg) => {
                    assert_eq!(msg.as_str(), "after the junk");
                    break;
                }
                Err(RecvTimeoutError::Invalid(_)) => invalid += 1,
                Err(RecvTimeoutError::TooLarge { len, limit }) => {
                    assert_eq!((len, limit), (5000, 4096));
                    too_large += 1;
                }
                Err(e) => panic!("{delivery:?}: a bad message gave {e}"),
            }
        }
        let expected = match delivery {
            Delivery::AtMostOnce => (junk.len() - 1, 1),
            Delivery::AtLeastOnce => (junk.len() - 1, 0),
        };
        assert_eq!((invalid, too_large), expected, "{delivery:?}");
    }
}

fn async_nats_jetstream(
    nats: &transport_nats::async_nats::Client,
) -> transport_nats::async_nats::jetstream::Context {
    transport_nats::async_nats::jetstream::new(nats.clone())
}

/// Sends `sig` to the test's server.
#[cfg(unix)]
fn signal(pid: i32, sig: libc::c_int) {
    // SAFETY: kill(2) with a process id and a signal number; it touches no
    // memory of this process.
    let r = unsafe { libc::kill(pid, sig) };
    assert_eq!(r, 0, "signalling the server: {}", std::io::Error::last_os_error());
}

/// A sender's process sends while the server cannot read (stopped with
/// `SIGSTOP`), drops its sender and exits at once: everything it sent
/// arrives, in order, and then `Disconnected`. The drop waits until the
/// server has taken what was sent before it; a process that exited with
/// bytes still in its buffers or its socket would lose them (a socket
/// closed with unread input is reset, its unsent output dropped).
#[cfg(unix)]
#[test]
fn a_sender_that_exits_after_its_drop_loses_nothing() {
    const BLOBS: u8 = 32;
    const BLOB: usize = 512 << 10;
    if !server_available("a_sender_that_exits_after_its_drop_loses_nothing") {
        return;
    }
    run("a_sender_that_exits_after_its_drop_loses_nothing", |h| {
        match h.role() {
            Role::Parent => {
                let c = client();
                let (tx, rx) = c
                    .channel(
                        &name(h, "exit"),
                        // The drop waits for the stopped server (up to this).
                        &Options::new(Delivery::AtMostOnce).outage_limit(Duration::from_secs(60)),
                    )
                    .expect("channel");
                let rx: Receiver<u64> = Receiver::from_raw(rx);
                let pid = with_server(|s| s.pid()).expect("the server runs");
                let mut peer = h.child("sender").endpoint("tx", tx).param("server", pid).spawn();
                assert_eq!(peer.expect_report(LONG), "dropping");
                // Time for a drop that does not wait for the server to finish
                // anyway (and its process to exit with the messages unsent);
                // one that waits reports nothing before the server goes on.
                let early = peer.report_within(Duration::from_secs(2));
                signal(pid as i32, libc::SIGCONT);
                let first = rx.recv_bytes_timeout(LONG).expect("the first message");
                assert_eq!(first.bytes(), b"first");
                for n in 0..BLOBS {
                    let blob = rx
                        .recv_bytes_timeout(LONG)
                        .unwrap_or_else(|e| panic!("blob {n} of {BLOBS}: {e}"));
                    assert!(
                        blob.bytes().len() == BLOB && blob.bytes().iter().all(|b| *b == n),
                        "blob {n} differs"
                    );
                }
                assert!(matches!(
                    rx.recv_bytes_timeout(LONG),
                    Err(RecvTimeoutError::Disconnected)
                ));
                assert_eq!(early, None, "the drop returned while the server was stopped");
                assert_eq!(peer.wait(PEER_TIMEOUT), ["dropped"]);
            }
            Role::Child("sender") => {
                let tx: Sender<u64> = Sender::from_raw(h.endpoint::<transport_nats::NatsSender>("tx"));
                // Waits for the receiver: the channel is set up.
                tx.send_bytes(b"first").expect("sending the first message");
                let server: i32 = h.param("server");
                signal(server, libc::SIGSTOP);
                for n in 0..BLOBS {
                    tx.send_bytes(&vec![n; BLOB])
                        .unwrap_or_else(|e| panic!("sending blob {n}: {e}"));
                }
                h.report("dropping");
                drop(tx);
                h.report("dropped");
            }
            Role::Child(other) => panic!("no role {other}"),
        }
    });
}

/// A process that is not a child joins by URL and name alone.
#[test]
fn a_process_joins_by_url_and_name() {
    if !server_available("a_process_joins_by_url_and_name") {
        return;
    }
    run("a_process_joins_by_url_and_name", |h| match h.role() {
        Role::Parent => {
            let c = client();
            let name = name(h, "joined");
            let options = Options::new(Delivery::AtLeastOnce);
            let tx: Sender<u64> = Sender::from_raw(c.sender(&name, &options).expect("joining as a sender"));
            for n in 0..100u64 {
                tx.send(n).expect("sending");
            }
            let peer = h
                .child("worker")
                .param("url", c.servers())
                .param("name", &name)
                .spawn();
            drop(tx);
            assert_eq!(peer.wait(PEER_TIMEOUT), ["sum 4950"]);
        }
        Role::Child("worker") => {
            let url: String = h.param("url");
            let name: String = h.param("name");
            let c = transport_nats::Client::connect(&url).expect("connecting by url");
            let rx: Receiver<u64> = Receiver::from_raw(
                c.receiver(&name, &Options::new(Delivery::AtLeastOnce))
                    .expect("joining"),
            );
            let mut sum = 0;
            for _ in 0..100 {
                sum += rx.recv_timeout(LONG).expect("a message").to_native();
            }
            h.report(format!("sum {sum}"));
        }
        Role::Child(other) => panic!("no role {other}"),
    });
}
