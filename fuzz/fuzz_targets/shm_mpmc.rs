//! The multi-consumer ring's ends, fed a ring whose slot state words,
//! lengths and positions come from the fuzzer between real sends and
//! receives on two senders and two receivers (a heap segment laid out as a
//! shared one; see `transport_shm::fuzzing::mpmc`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| transport_shm::fuzzing::mpmc(data));
