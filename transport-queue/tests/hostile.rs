//! A member that writes raw bytes to its sockets cannot hurt the hub: each
//! test joins a queue by hand (as a process of the same user can), sends
//! what no member of this crate sends, and checks that the hub dropped that
//! member and still serves everyone else (a well-behaved member in another
//! process, and gets in the creating process).

#![cfg(target_os = "linux")]

mod common;

use std::{os::fd::AsRawFd, time::Duration};

use common::{
    LONG,
    raw::{self, RawMember},
    run_case, unknown_role,
};
use transport_core::conformance::{Harness, Role};
use transport_queue::Queue;

const W: usize = size_of::<usize>();

/// How long a dropped member waits to see its channel closed.
const DROP_WAIT: Duration = Duration::from_secs(20);

/// A request as this crate's members encode it: `read`, `took`, then the
/// request itself.
fn request(up: &[u8]) -> Vec<u8> {
    let mut r = vec![0, 0];
    r.extend_from_slice(up);
    r
}

/// The attack of each test.
fn attack_of(test: &str) -> &'static str {
    match test {
        "adopt_without_channels" => "adopt",
        "lying_fragment_header" => "lying_fragment",
        "total_without_descriptor" => "total_without_descriptor",
        "huge_total" => "huge_total",
        "oversized_put_is_refused_from_its_header" => "oversized_put",
        "return_of_what_it_never_held" => "return",
        "too_many_parked_puts" => "pending",
        "an_unsealed_slab" => "unsealed_slab",
        "a_writable_slab" => "writable_slab",
        "an_oversized_slab" => "oversized_slab",
        "a_slab_that_is_no_memory" => "no_memory",
        "an_item_past_its_slab" => "past_slab",
        other => panic!("no attack for `{other}`"),
    }
}

/// Runs the test's attack from a member made by hand, then checks the
/// queue.
fn run(test: &str) {
    run_case(test, |h: &Harness| match h.role() {
        Role::Parent => {
            let q = Queue::<u64>::builder()
                .capacity(1)
                .max_message_size(1 << 20)
                .build::<u64>()
                .expect("a queue");
            q.put(1).expect("filling the queue");
            let bad = h.child("raw").endpoint("q", q.clone()).spawn();
            let mut bad = bad;
            let said = bad.expect_report(LONG);
            assert!(
                said.starts_with("dropped"),
                "the hub kept a member that broke the protocol: {said}"
            );
            if let Some(bytes) = said.strip_prefix("dropped after ") {
                let bytes: usize = bytes.parse().expect("a byte count");
                assert!(
                    bytes < 64 << 20,
                    "the hub read {bytes} bytes of a message past its limit"
                );
            }
            // Everyone else is still served.
            let good = h.child("good").endpoint("q", q.clone()).spawn();
            assert_eq!(good.wait(LONG), ["got 1"]);
            assert_eq!(
                q.get_timeout(LONG).expect("the good member's item").to_native(),
                2
            );
            drop(bad);
        }
        Role::Child("raw") => {
            let m = RawMember::join("q");
            let said = run_attack(&m, attack_of(&test_of(h)));
            h.report(said);
        }
        Role::Child("good") => {
            let q: Queue<u64> = h.endpoint("q");
            let got = q.get_timeout(LONG).expect("getting");
            q.put(2).expect("putting");
            h.report(format!("got {}", got.to_native()));
        }
        Role::Child(other) => unknown_role(other),
    });
}

/// The test this child process was started for.
fn test_of(_h: &Harness) -> String {
    std::env::var("TRANSPORT_CONFORMANCE_CHILD_OF").expect("a child of a test")
}

/// Sends the attack; says whether the hub dropped the member.
fn run_attack(m: &RawMember, attack: &str) -> String {
    let up = m.up.as_raw_fd();
    let send = |d: &[u8], fds: &[i32]| {
        let _ = raw::send(up, d, fds);
    };
    match attack {
        "adopt" => {
            // An adoption naming channels 5 and 6 of the none it carries, as
            // this crate writes requests now and as it wrote them before
            // requests said what the member took.
            send(&raw::datagram(&request(&[11, 5, 6, 2])), &[]);
            send(&raw::datagram(&[0, 11, 5, 6, 2]), &[]);
        }
        "lying_fragment" => {
            let p = request(&[5, 1]);
            send(&raw::framed(2 * W + p.len() + 100, p.len(), &p), &[]);
        }
        "total_without_descriptor" => {
            let p = request(&[5, 1]);
            send(&raw::framed(2 * W + p.len(), p.len() + 100, &p), &[]);
        }
        "huge_total" => {
            let p = request(&[5, 1]);
            let (a, _b) = raw::pair();
            send(&raw::framed(2 * W + p.len(), 1 << 46, &p), &[a.as_raw_fd()]);
        }
        "oversized_put" => {
            // A put announcing 512 MiB against a 1 MiB limit, the rest
            // streamed on its dedicated socket.
            let p = request(&[0, 1, 0x80, 0x80, 0x80, 0x80, 0x02]);
            let (hub_end, rest) = raw::pair();
            send(
                &raw::framed(2 * W + p.len(), 512 << 20, &p),
                &[hub_end.as_raw_fd()],
            );
            drop(hub_end);
            let chunk = vec![0u8; 64 << 10];
            let mut sent = 0usize;
            while sent < 512 << 20 && raw::send(rest.as_raw_fd(), &chunk, &[]).is_ok() {
                sent += chunk.len();
            }
            return if raw::closes(m.down.as_raw_fd(), DROP_WAIT) {
                format!("dropped after {sent}")
            } else {
                format!("kept after {sent}")
            };
        }
        "return" => {
            // Gives back an item it was never given.
            send(&raw::datagram(&request(&[10, 1, 1, b'x'])), &[]);
        }
        "pending" => {
            // Parks more puts on the full queue than a member may.
            for id in 1..=40 {
                send(&raw::datagram(&request(&[0, id, 1, b'x', 1])), &[]);
            }
        }
        "unsealed_slab" => {
            let slab = raw::memfd(256 << 10, 0);
            send(&raw::datagram(&shared_put(100_000)), &[slab.as_raw_fd()]);
        }
        "writable_slab" => {
            let slab = raw::memfd(256 << 10, libc::F_SEAL_SHRINK | libc::F_SEAL_GROW);
            send(&raw::datagram(&shared_put(100_000)), &[slab.as_raw_fd()]);
        }
        "oversized_slab" => {
            // The queue's limit is 1 MiB.
            let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_FUTURE_WRITE;
            let slab = raw::memfd(2 << 20, seals);
            send(&raw::datagram(&shared_put(100_000)), &[slab.as_raw_fd()]);
        }
        "no_memory" => {
            let not_memory = raw::pipe_end();
            send(&raw::datagram(&shared_put(100_000)), &[not_memory.as_raw_fd()]);
        }
        "past_slab" => {
            let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_FUTURE_WRITE;
            let slab = raw::memfd(128 << 10, seals);
            send(&raw::datagram(&shared_put(200_000)), &[slab.as_raw_fd()]);
        }
        other => panic!("no attack `{other}`"),
    }
    if raw::closes(m.down.as_raw_fd(), DROP_WAIT) {
        "dropped".into()
    } else {
        "kept".into()
    }
}

/// Issue 11, item 6: an adoption naming channels it does not carry.
#[test]
fn adopt_without_channels() {
    run("adopt_without_channels");
}

/// Issue 11, item 7: a fragment header that says more than came.
#[test]
fn lying_fragment_header() {
    run("lying_fragment_header");
}

/// Issue 11, item 7: a total size past the datagram, with no descriptor.
#[test]
fn total_without_descriptor() {
    run("total_without_descriptor");
}

/// Issue 11, item 7: a total size of 2^46 with one descriptor.
#[test]
fn huge_total() {
    run("huge_total");
}

/// Issue 11, item 8: a put past the limit is refused from its header.
#[test]
fn oversized_put_is_refused_from_its_header() {
    run("oversized_put_is_refused_from_its_header");
}

/// Issue 11, item 8: `Return` may carry only what the member holds.
#[test]
fn return_of_what_it_never_held() {
    run("return_of_what_it_never_held");
}

/// Issue 11, item 8: what one member may park at the hub is bounded.
#[test]
fn too_many_parked_puts() {
    run("too_many_parked_puts");
}

/// Issue 11, item 8: a queue allows a bounded number of members.
///
/// The member is handed a sender, so the item it puts can only go to the
/// parent (a whole queue handle's own waiting get could take it back), and
/// it stays a member until the parent says so on a second queue.
#[test]
fn members_are_limited() {
    run_case("members_are_limited", |h: &Harness| match h.role() {
        Role::Parent => {
            let q = Queue::<u64>::builder()
                .max_members(1)
                .build::<u64>()
                .expect("a queue");
            let done = Queue::<u64>::builder().build::<u64>().expect("a queue");
            let first = h
                .child("member")
                .endpoint("q", q.sender())
                .endpoint("done", done.clone())
                .spawn();
            assert_eq!(
                q.get_timeout(LONG)
                    .map(|v| v.to_native())
                    .expect("the first member's item"),
                1
            );
            let second = h.child("refused").endpoint("q", q.clone()).spawn();
            let said = second.wait(LONG);
            assert_eq!(said.len(), 1);
            assert!(
                said[0].contains("refused") && said[0].contains("limit"),
                "{said:?}"
            );
            done.put(0).expect("telling the member it may go");
            first.wait(LONG);
        }
        Role::Child("member") => {
            let tx: transport_queue::Sender<u64> = h.endpoint("q");
            let done: Queue<u64> = h.endpoint("done");
            tx.send(1).expect("sending");
            // Stay a member until the parent is done.
            done.get_timeout(LONG).expect("the parent's word");
        }
        Role::Child("refused") => {
            let err = transport_core::from_env::<Queue<u64>>("q").expect_err("a second member");
            let source = std::error::Error::source(&err)
                .map(|s| s.to_string())
                .unwrap_or_default();
            h.report(source);
        }
        Role::Child(other) => unknown_role(other),
    });
}

/// A shared put as a member of this crate writes it: `PutShared` (request
/// 12) with its slab as descriptor 0, an item of `len` bytes.
fn shared_put(len: u64) -> Vec<u8> {
    let mut up = vec![12, 1, 0, 0];
    up.extend(raw::varint(len));
    up.push(0);
    request(&up)
}

/// Issue 13: a slab whose size nothing holds (a consumer's mapping of it
/// could fault).
#[test]
fn an_unsealed_slab() {
    run("an_unsealed_slab");
}

/// Issue 13: a slab anyone holding it may write to.
#[test]
fn a_writable_slab() {
    run("a_writable_slab");
}

/// Issue 13: a slab past the queue's message limit.
#[test]
fn an_oversized_slab() {
    run("an_oversized_slab");
}

/// Issue 13: a slab that is not shared memory.
#[test]
fn a_slab_that_is_no_memory() {
    run("a_slab_that_is_no_memory");
}

/// Issue 13: an item longer than its slab.
#[test]
fn an_item_past_its_slab() {
    run("an_item_past_its_slab");
}

/// The attacks above fail for what they break: a slab as this crate's
/// members make it, sent by hand, is taken, and its bytes reach a get.
#[test]
fn a_well_formed_slab_is_taken() {
    run_case("a_well_formed_slab_is_taken", |h: &Harness| match h.role() {
        Role::Parent => {
            let q = Queue::<u64>::builder()
                .max_message_size(1 << 20)
                .build::<u64>()
                .expect("a queue");
            let child = h.child("raw").endpoint("q", q.clone()).spawn();
            let got = q.get_bytes().expect("the item in the slab");
            assert_eq!(got.len(), 100_000);
            assert!(got.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
            assert_eq!(child.wait(LONG), ["kept"]);
        }
        Role::Child("raw") => {
            let m = RawMember::join("q");
            let slab = raw::memfd(256 << 10, 0);
            let bytes: Vec<u8> = (0..100_000).map(|i| (i % 251) as u8).collect();
            // SAFETY: `bytes` is valid for reads of its length.
            let wrote = unsafe { libc::pwrite(slab.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), 0) };
            assert_eq!(wrote, 100_000);
            let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_FUTURE_WRITE;
            // SAFETY: plain system call on a descriptor made here.
            let sealed = unsafe { libc::fcntl(slab.as_raw_fd(), libc::F_ADD_SEALS, seals) };
            assert_eq!(sealed, 0);
            raw::send(
                m.up.as_raw_fd(),
                &raw::datagram(&shared_put(100_000)),
                &[slab.as_raw_fd()],
            )
            .expect("sending the put");
            // The answer comes; the member is still served after it: a
            // `Len` (request 5) is answered too.
            for what in ["the put", "the len"] {
                match raw::recv(m.down.as_raw_fd(), LONG) {
                    raw::Got::Datagram(_) => {}
                    other => panic!("no answer to {what}: {other:?}"),
                }
                if what == "the put" {
                    raw::send(m.up.as_raw_fd(), &raw::datagram(&request(&[5, 2])), &[]).expect("asking");
                }
            }
            h.report("kept");
        }
        Role::Child(other) => unknown_role(other),
    });
}
