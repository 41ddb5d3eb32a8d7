//! Received frames: the bytes of one message, owned by the receiver.

use rkyv::util::AlignedVec;

use crate::message::FRAME_ALIGN;

/// The bytes of one received message.
///
/// A frame owns its bytes (or, for shared memory, the slot that holds them)
/// until it is dropped; the typed [`Received`](crate::Received) guard reads
/// the archived message straight out of it.
///
/// # Safety
///
/// Implementations promise that, for as long as the frame lives:
/// - [`bytes`](Frame::bytes) returns the same slice at every call;
/// - nothing writes to those bytes (no other thread, and no other process
///   that the backend's trust model trusts to follow its protocol).
///
/// Alignment is *not* part of the promise: the guard checks it and copies a
/// misaligned frame once into an aligned buffer.
pub unsafe trait Frame: Send + 'static {
    /// The message bytes.
    fn bytes(&self) -> &[u8];
}

// SAFETY: an `AlignedVec` owns its heap buffer; only `&mut` access could
// change it, and the frame gives out shared references only.
unsafe impl Frame for AlignedVec<FRAME_ALIGN> {
    fn bytes(&self) -> &[u8] {
        self.as_slice()
    }
}

// SAFETY: as for `AlignedVec`: an owned heap buffer behind shared references.
unsafe impl Frame for Vec<u8> {
    fn bytes(&self) -> &[u8] {
        self.as_slice()
    }
}

/// Whether `bytes` starts on a [`FRAME_ALIGN`] boundary.
pub(crate) fn is_aligned(bytes: &[u8]) -> bool {
    (bytes.as_ptr() as usize) % FRAME_ALIGN == 0
}

/// A frame as the guard keeps it: the backend's own, or an aligned copy of
/// a frame that arrived misaligned.
#[derive(Debug)]
pub(crate) enum Stored<F> {
    Backend(F),
    Copied(AlignedVec<FRAME_ALIGN>),
}

impl<F: Frame> Stored<F> {
    pub(crate) fn new(frame: F) -> Self {
        if is_aligned(frame.bytes()) {
            Stored::Backend(frame)
        } else {
            let mut copy = AlignedVec::with_capacity(frame.bytes().len());
            copy.extend_from_slice(frame.bytes());
            Stored::Copied(copy)
        }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Stored::Backend(frame) => frame.bytes(),
            Stored::Copied(copy) => copy.as_slice(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame that deliberately starts one byte into an aligned buffer.
    struct Misaligned(AlignedVec<FRAME_ALIGN>);

    // SAFETY: an owned buffer behind shared references, as for `AlignedVec`.
    unsafe impl Frame for Misaligned {
        fn bytes(&self) -> &[u8] {
            &self.0[1..]
        }
    }

    #[test]
    fn misaligned_frames_are_copied_aligned() {
        let mut buf = AlignedVec::new();
        buf.extend_from_slice(&[7u8; 65]);
        let frame = Misaligned(buf);
        assert!(!is_aligned(frame.bytes()));
        let stored = Stored::new(frame);
        assert!(matches!(stored, Stored::Copied(_)));
        assert!(is_aligned(stored.bytes()));
        assert_eq!(stored.bytes(), &[7u8; 64][..]);
    }

    #[test]
    fn aligned_frames_are_kept() {
        let mut buf = AlignedVec::<FRAME_ALIGN>::new();
        buf.extend_from_slice(b"abc");
        assert!(matches!(Stored::new(buf), Stored::Backend(_)));
    }
}
