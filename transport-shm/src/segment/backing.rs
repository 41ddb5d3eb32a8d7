//! The memory behind a segment: a named shared memory object of the
//! operating system (see `sys::Mapping`), or, for the fuzz targets and for
//! tests under Miri, a heap buffer laid out the same way.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::sys::{self, MapError};

/// A mapped segment's memory and name.
pub(crate) struct Backing {
    map: Map,
    name: String,
    unlink: AtomicBool,
}

enum Map {
    Os(sys::Mapping),
    #[cfg(any(miri, feature = "fuzzing"))]
    Heap(heap::Heap),
}

impl std::fmt::Debug for Backing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backing")
            .field("name", &self.name())
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl Backing {
    /// Creates the object `name` (with a leading `/`) of `size` bytes,
    /// exclusively and owner-only; its bytes are zero.
    pub(crate) fn create(name: &str, size: usize) -> Result<Backing, MapError> {
        Ok(Backing::new(Map::Os(sys::Mapping::create(name, size)?), name))
    }

    /// Opens the existing object `name`, which must be this user's.
    pub(crate) fn open(name: &str) -> Result<Backing, MapError> {
        Ok(Backing::new(Map::Os(sys::Mapping::open(name)?), name))
    }

    /// `size` zero bytes on the heap, page-aligned, named `name` (nothing
    /// of the operating system's: for the fuzz targets and Miri).
    #[cfg(any(miri, feature = "fuzzing"))]
    pub(crate) fn heap(name: &str, size: usize) -> Backing {
        Backing::new(Map::Heap(heap::Heap::zeroed(size)), name)
    }

    fn new(map: Map, name: &str) -> Backing {
        Backing {
            map,
            name: name.to_owned(),
            unlink: AtomicBool::new(false),
        }
    }

    /// The object's name, with its leading `/`.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The first byte of the mapping (page-aligned).
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        match &self.map {
            Map::Os(m) => m.as_ptr(),
            #[cfg(any(miri, feature = "fuzzing"))]
            Map::Heap(h) => h.as_ptr(),
        }
    }

    /// The mapping's length in bytes.
    pub(crate) fn len(&self) -> usize {
        match &self.map {
            Map::Os(m) => m.len(),
            #[cfg(any(miri, feature = "fuzzing"))]
            Map::Heap(h) => h.len(),
        }
    }

    /// Removes the name when this mapping is dropped (other processes keep
    /// their mappings; nobody can open the name any more).
    pub(crate) fn unlink_on_drop(&self) {
        self.unlink.store(true, Ordering::SeqCst);
    }
}

impl Drop for Backing {
    fn drop(&mut self) {
        if self.unlink.load(Ordering::SeqCst) {
            match &mut self.map {
                Map::Os(m) => m.unlink_on_drop(),
                #[cfg(any(miri, feature = "fuzzing"))]
                Map::Heap(_) => {}
            }
        }
    }
}

/// Removes the name of an object that cannot be mapped (one left empty by a
/// creator that died before sizing it).
pub(crate) fn remove_name(name: &str) {
    sys::Mapping::unlink(name);
}

#[cfg(any(miri, feature = "fuzzing"))]
mod heap {
    use std::{alloc::Layout, ptr::NonNull};

    /// Page-aligned zeroed heap memory.
    pub(super) struct Heap {
        ptr: NonNull<u8>,
        layout: Layout,
    }

    // SAFETY: owned memory, accessed like a shared mapping (atomics, or the
    // ring's protocol), from any thread.
    unsafe impl Send for Heap {}
    // SAFETY: as above.
    unsafe impl Sync for Heap {}

    impl Heap {
        pub(super) fn zeroed(size: usize) -> Heap {
            let layout = Layout::from_size_align(size.max(1), 4096).expect("a heap segment's size");
            // SAFETY: the layout has a non-zero size.
            let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
            let ptr = NonNull::new(ptr).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
            Heap { ptr, layout }
        }

        pub(super) fn as_ptr(&self) -> *mut u8 {
            self.ptr.as_ptr()
        }

        pub(super) fn len(&self) -> usize {
            self.layout.size()
        }
    }

    impl Drop for Heap {
        fn drop(&mut self) {
            // SAFETY: allocated in `zeroed` with this layout, freed once.
            unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) };
        }
    }
}
