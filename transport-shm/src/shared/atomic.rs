//! [`SharedAtomic`]: a lock-free counter or flag word in shared memory.

use std::{
    borrow::Cow,
    marker::PhantomData,
    ops::Deref,
    sync::{Arc, atomic},
};

use super::{
    handle::object_handle,
    object::{Object, ObjectKind, Shape},
};
use crate::error::SegmentError;

mod sealed {
    pub trait Sealed {}
}

/// The atomic integer types a [`SharedAtomic`] can hold (every bit pattern
/// is valid for them, and their operations are lock-free across processes).
pub trait AtomicPlain: sealed::Sealed + Send + Sync + 'static {
    /// The integer type it holds.
    type Value: Copy;
    /// A new atomic holding `v`.
    fn new(v: Self::Value) -> Self;
}

macro_rules! atomic_plain {
    ($($a:ident => $v:ty),*) => {
        $(
            impl sealed::Sealed for atomic::$a {}
            impl AtomicPlain for atomic::$a {
                type Value = $v;
                fn new(v: $v) -> Self {
                    atomic::$a::new(v)
                }
            }
        )*
    };
}

atomic_plain!(
    AtomicU8 => u8, AtomicU16 => u16, AtomicU32 => u32, AtomicU64 => u64,
    AtomicI8 => i8, AtomicI16 => i16, AtomicI32 => i32, AtomicI64 => i64
);

/// An atomic integer in shared memory, for lock-free counters: it derefs to
/// the atomic, so every access is an atomic operation.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use transport_shm::SharedAtomic;
///
/// let hits = SharedAtomic::new(AtomicU64::new(0)).unwrap();
/// hits.fetch_add(5, Ordering::Relaxed);
/// assert_eq!(hits.load(Ordering::Relaxed), 5);
/// ```
pub struct SharedAtomic<A> {
    obj: Arc<Object>,
    _type: PhantomData<A>,
}

object_handle!(SharedAtomic<A: AtomicPlain>, "shm.atomic", Shape::of::<A>(ObjectKind::Atomic, 1),
    typed = Some(Cow::Owned(transport_core::fingerprint::layout_fingerprint::<A>())));

impl<A: AtomicPlain> SharedAtomic<A> {
    /// Puts `atomic` in a new shared memory segment.
    ///
    /// # Errors
    /// [`SegmentError`] when the segment cannot be created.
    pub fn new(atomic: A) -> Result<Self, SegmentError> {
        let obj = Object::create(Shape::of::<A>(ObjectKind::Atomic, 1))?;
        // SAFETY: nobody else can reach the new segment yet; the data is
        // aligned and sized for A.
        unsafe { obj.data::<A>().write(atomic) };
        Ok(SharedAtomic {
            obj,
            _type: PhantomData,
        })
    }

    /// The name of the shared memory segment.
    pub fn segment_name(&self) -> &str {
        self.obj.name()
    }
}

impl<A: AtomicPlain> Deref for SharedAtomic<A> {
    type Target = A;

    fn deref(&self) -> &A {
        // SAFETY: the data is aligned and sized for A (checked at create and
        // open), lives as long as `obj`, and every bit pattern is a valid
        // atomic integer; atomics are only accessed through `&`.
        unsafe { &*self.obj.data::<A>() }
    }
}
