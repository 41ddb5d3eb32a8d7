//! Bytes received as a message of a rich type: validation must reject
//! them with a reason or pass them as a message that reads, deserializes
//! and round-trips; never a panic, a hang or undefined behaviour.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| transport_fuzz::message::run(data));
