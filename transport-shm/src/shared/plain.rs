//! [`Plain`]: the types that may live in shared memory.

/// A type that may live in shared memory and be read and written by several
/// processes: fixed layout, no pointers, no destructor, no padding, and
/// every bit pattern a valid value (so a peer, even a buggy one, cannot make
/// it invalid).
///
/// It is implemented for the integer and floating-point types, arrays of
/// `Plain` types and [`FixedBytes`](crate::FixedBytes); derive it for your
/// own structs with [`plain_struct!`](crate::plain_struct). Types that own
/// heap memory, hold pointers or references, or have a destructor are not
/// `Plain`, so putting them in shared memory does not compile:
///
/// ```compile_fail,E0277
/// // A `String` points into one process's heap.
/// let v = transport_shm::SharedValue::new(String::from("no"));
/// ```
///
/// ```compile_fail,E0277
/// let v = transport_shm::SharedValue::new(vec![1u8, 2, 3]);
/// ```
///
/// ```compile_fail,E0277
/// // A thread mutex does nothing across processes.
/// let v = transport_shm::SharedValue::new(std::sync::Mutex::new(0u32));
/// ```
///
/// ```compile_fail,E0277
/// let x = 5u32;
/// let v = transport_shm::SharedValue::new(&x as *const u32);
/// ```
///
/// ```compile_fail,E0277
/// static X: u32 = 5;
/// let v = transport_shm::SharedValue::new(&X);
/// ```
///
/// ```compile_fail,E0277
/// // `bool` and `char` have invalid bit patterns.
/// let v = transport_shm::SharedValue::new(true);
/// ```
///
/// # Safety
/// Implement it only for `#[repr(C)]` (or primitive) types with no padding
/// bytes, no pointers or references, no interior mutability, no `Drop`, and
/// for which every bit pattern of `size_of::<Self>()` bytes is a valid
/// value. [`plain_struct!`](crate::plain_struct) checks all of this.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot live in shared memory as it is: it is not `Plain`",
    label = "not `Plain`",
    note = "shared values hold only `repr(C)` data with no pointers, padding or invalid bit patterns: declare a struct with `transport_shm::plain_struct!`, use `FixedBytes<N>` for a string, or send `{Self}` through a channel instead"
)]
pub unsafe trait Plain: Copy + Send + Sync + 'static {}

macro_rules! plain {
    ($($t:ty),*) => {
        $(
            // SAFETY: a primitive number: no padding, no pointers, and every
            // bit pattern is a value.
            unsafe impl Plain for $t {}
        )*
    };
}

plain!(u8, u16, u32, u64, u128, i8, i16, i32, i64, i128, f32, f64);

// SAFETY: an array of `Plain` elements has no padding between them (the
// size of a type is a multiple of its alignment) and inherits the rest.
unsafe impl<T: Plain, const N: usize> Plain for [T; N] {}

/// Declares a `#[repr(C)]` struct whose fields are all [`Plain`] and
/// implements `Plain` for it, refusing at compile time any field that is not
/// `Plain` and any padding.
///
/// ```
/// transport_shm::plain_struct! {
///     /// A point in shared memory.
///     pub struct Point {
///         pub x: f64,
///         pub y: f64,
///         pub hits: u64,
///     }
/// }
/// let p = transport_shm::SharedValue::new(Point { x: 1.0, y: 2.0, hits: 0 }).unwrap();
/// p.lock().unwrap().hits += 1;
/// assert_eq!(p.get().unwrap().hits, 1);
/// ```
///
/// A field that is not `Plain` does not compile:
///
/// ```compile_fail,E0277
/// transport_shm::plain_struct! {
///     pub struct Bad {
///         pub name: String,
///     }
/// }
/// ```
///
/// Nor does padding (uninitialised bytes would be shared):
///
/// ```compile_fail,E0080
/// transport_shm::plain_struct! {
///     pub struct Padded {
///         pub a: u8,
///         pub b: u64,
///     }
/// }
/// ```
#[macro_export]
macro_rules! plain_struct {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, PartialEq)]
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field : $ty ),*
        }

        const _: () = {
            const fn assert_plain<T: $crate::Plain>() {}
            $( assert_plain::<$ty>(); )*
            assert!(
                ::core::mem::size_of::<$name>() == 0 $( + ::core::mem::size_of::<$ty>() )*,
                "a plain struct must have no padding: reorder or widen its fields"
            );
        };

        // SAFETY: `#[repr(C)]`, every field is `Plain` (checked above), and
        // the size is the sum of the fields' sizes, so there is no padding.
        unsafe impl $crate::Plain for $name {}
    };
}
