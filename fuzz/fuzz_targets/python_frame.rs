//! Python's framing (and ours) on arbitrary bytes, cut into arbitrary
//! pieces: never a panic; every message is whole, no longer than the limit,
//! and made of bytes that were there; a refusal is final.
#![no_main]

use libfuzzer_sys::fuzz_target;
use transport_pipe::python::frame::{Deframer, Framing, Next};

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, stream)) = data.split_first() else {
        return;
    };
    let framing = if knobs & 1 == 0 { Framing::Python } else { Framing::Native };
    let piece = usize::from(knobs >> 1) + 1;
    let max = [0, 1, 16, 256, 4096, usize::MAX][usize::from(knobs) % 6];
    let mut d = Deframer::new(framing);
    let mut delivered = 0usize;
    let mut refused = false;
    for chunk in stream.chunks(piece) {
        d.push(chunk);
        loop {
            match d.next(max) {
                Next::Frame(f) => {
                    assert!(!refused, "a message after a refusal");
                    assert!(f.len() <= max);
                    delivered += f.len();
                    assert!(delivered <= stream.len(), "more bytes out than in");
                }
                Next::Need => break,
                Next::TooLarge { len } => {
                    assert!(len > max as u64);
                    refused = true;
                    break;
                }
                Next::Malformed(_) => {
                    refused = true;
                    break;
                }
            }
        }
        if refused {
            assert!(matches!(d.next(usize::MAX), Next::Malformed(_)));
            break;
        }
    }
});
