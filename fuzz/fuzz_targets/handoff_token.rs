//! Text opened as a hand-off token: the parser accepts exactly the tokens
//! whose fields are right, refuses the others with the error that names the
//! wrong field, and never opens one token twice.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| transport_fuzz::token::run(data));
