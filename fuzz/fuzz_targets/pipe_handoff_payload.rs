//! Text read as the payload of a pipe end's hand-off token, in its Unix
//! form (`fd=N,dev=N,ino=N`) and its Windows form
//! (`pid=N,handle=N,server=N,claim=N,pipe=NAME`): read or refused as
//! malformed, never a panic, and what is read writes back to the same
//! payload.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        transport_pipe::fuzzing::handoff_payload(text);
    }
});
