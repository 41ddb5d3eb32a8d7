//! The frame format on the wire: a 16-byte header, then the message.
//!
//! ```text
//! offset  size  field
//!      0     4  magic `b"TPF1"`: catches a stream that lost its place
//!      4     4  flags, little-endian; none are defined, so it must be 0
//!      8     8  message length in bytes, little-endian
//!     16   len  the message (rkyv archive or raw bytes)
//! ```
//!
//! The header is fixed-size so a receiver knows a frame's length before
//! it allocates anything, and checks it against its limit first.

use transport_core::MalformedFrame;

/// The length of a frame header.
pub(crate) const HEADER_LEN: usize = 16;

/// The first four bytes of every frame.
const MAGIC: [u8; 4] = *b"TPF1";

/// The header of a frame carrying `len` message bytes.
pub(crate) fn header(len: usize) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(&MAGIC);
    h[8..].copy_from_slice(&(len as u64).to_le_bytes());
    h
}

/// The message length a header announces, or why it is not a header.
pub(crate) fn parse(h: &[u8; HEADER_LEN]) -> Result<u64, MalformedFrame> {
    if h[..4] != MAGIC {
        return Err(MalformedFrame::new(format!(
            "frame header starts with {:02x?}, not the pipe magic {MAGIC:02x?}",
            &h[..4]
        )));
    }
    let flags = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
    if flags != 0 {
        return Err(MalformedFrame::new(format!(
            "frame header has unknown flags {flags:#x}"
        )));
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&h[8..]);
    Ok(u64::from_le_bytes(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        assert_eq!(parse(&header(0)), Ok(0));
        assert_eq!(parse(&header(1 << 30)), Ok(1 << 30));
    }

    #[test]
    fn bad_headers_are_named() {
        let mut h = header(5);
        h[0] = b'X';
        assert!(parse(&h).unwrap_err().reason().contains("magic"));
        let mut h = header(5);
        h[5] = 1;
        assert!(parse(&h).unwrap_err().reason().contains("flags"));
    }
}
