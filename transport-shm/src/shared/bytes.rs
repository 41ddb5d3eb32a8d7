//! [`FixedBytes`]: a fixed-capacity byte string for shared memory.

use std::fmt;

use super::plain::Plain;

/// A byte string of at most `N` bytes that lives inline (Python's
/// `Array('c', b"hello")`, done right): it keeps exactly the bytes it was
/// given, trailing zeros included, and refuses (never truncates) bytes that
/// do not fit.
///
/// ```
/// use transport_shm::FixedBytes;
///
/// let mut s = FixedBytes::<8>::new(b"ab\0\0").unwrap();
/// assert_eq!(s.as_bytes(), b"ab\0\0"); // trailing NULs are kept
/// assert!(s.set(b"far too long").is_err()); // refused, not truncated
/// assert_eq!(s.as_bytes(), b"ab\0\0"); // and left as it was
/// ```
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FixedBytes<const N: usize> {
    /// The length, little-endian (bytes, so the struct has no padding).
    len: [u8; 4],
    bytes: [u8; N],
}

// SAFETY: `#[repr(C)]` of two byte arrays (alignment 1, so no padding); every
// bit pattern is valid (a stored length above `N` is clamped when read).
unsafe impl<const N: usize> Plain for FixedBytes<N> {}

/// Bytes that do not fit a [`FixedBytes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapacityError {
    /// The length offered.
    pub len: usize,
    /// The capacity.
    pub capacity: usize,
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} bytes do not fit a fixed byte string of capacity {}",
            self.len, self.capacity
        )
    }
}

impl std::error::Error for CapacityError {}

impl<const N: usize> FixedBytes<N> {
    /// The capacity in bytes.
    pub const CAPACITY: usize = N;

    /// An empty string.
    pub const fn empty() -> Self {
        const { assert!(N <= u32::MAX as usize, "capacity too large") };
        FixedBytes {
            len: [0; 4],
            bytes: [0; N],
        }
    }

    /// A string holding exactly `bytes`.
    ///
    /// # Errors
    /// [`CapacityError`] if `bytes` is longer than `N`.
    pub fn new(bytes: &[u8]) -> Result<Self, CapacityError> {
        let mut s = Self::empty();
        s.set(bytes)?;
        Ok(s)
    }

    /// Replaces the contents with exactly `bytes`; on error nothing changes.
    ///
    /// # Errors
    /// [`CapacityError`] if `bytes` is longer than `N`.
    pub fn set(&mut self, bytes: &[u8]) -> Result<(), CapacityError> {
        if bytes.len() > N {
            return Err(CapacityError {
                len: bytes.len(),
                capacity: N,
            });
        }
        self.bytes[..bytes.len()].copy_from_slice(bytes);
        self.bytes[bytes.len()..].fill(0);
        self.len = (bytes.len() as u32).to_le_bytes();
        Ok(())
    }

    /// The stored bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len()]
    }

    /// The stored length.
    pub fn len(&self) -> usize {
        (u32::from_le_bytes(self.len) as usize).min(N)
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<const N: usize> Default for FixedBytes<N> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<const N: usize> fmt::Debug for FixedBytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FixedBytes<{N}>({:?})",
            self.as_bytes().escape_ascii().to_string()
        )
    }
}

impl<const N: usize> PartialEq for FixedBytes<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl<const N: usize> Eq for FixedBytes<N> {}
