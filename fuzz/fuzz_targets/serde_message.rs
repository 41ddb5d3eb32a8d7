//! Bytes received as a serde message (`transport_core::Serde`): the
//! archive check and postcard's decode must refuse them with a reason or
//! give a value that travels again unchanged; never a panic, a hang or
//! undefined behaviour.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| transport_fuzz::serde_msg::run(data));
