//! The queue hub's decoding of what a member sends: one datagram's framing
//! (ipc-channel's header, checked against what came), then the request or
//! hand-off message in it, with its descriptors counted (an adoption's
//! channels, a shared put's slab); and a member's decoding of the hub's
//! messages with their shared items' descriptors.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    transport_queue::fuzzing::hub_datagram(data);
});
