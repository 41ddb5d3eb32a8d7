//! Shared state: plain values and arrays behind robust locks, atomics, and
//! fixed-capacity byte strings.

mod array;
mod atomic;
mod bytes;
mod handle;
pub(crate) mod object;
mod plain;
mod value;

pub use array::{ArrayGuard, SharedArray};
pub use atomic::{AtomicPlain, SharedAtomic};
pub use bytes::{CapacityError, FixedBytes};
pub use plain::Plain;
pub use value::{SharedValue, ValueGuard};

pub(crate) use handle::object_handle;

use object::Object;

pub(crate) mod sealed {
    /// Gives the lock object of a held guard.
    pub trait Sealed<'a> {
        /// The object whose lock the guard holds.
        fn object(&self) -> &'a super::Object;
    }
}

/// A held guard of one of this crate's locks, which a
/// [`SharedCondvar`](crate::SharedCondvar) can release and retake.
pub trait GuardOf<'a>: sealed::Sealed<'a> {}

impl<'a, T> GuardOf<'a> for ValueGuard<'a, T> {}
impl<'a, T> GuardOf<'a> for ArrayGuard<'a, T> {}
impl<'a> GuardOf<'a> for crate::sync::MutexGuard<'a> {}
