//! The pickle reader on arbitrary bytes: never a panic, a hang or an
//! allocation past its limits; what it reads, the writer writes, and reading
//! that again gives the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use transport_pipe::python::pickle::{dumps, loads};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = loads(data) else {
        return;
    };
    let written = dumps(&value).expect("a value that was read is within the writer's depth");
    let again = loads(&written).expect("the writer's pickle reads back");
    // Compared as bytes: a NaN is not equal to itself.
    assert_eq!(dumps(&again).expect("written again"), written);
});
