//! The native handle traits of the public ends: `AsFd`/`AsRawFd` on Unix,
//! `AsHandle`/`AsRawHandle` on Windows, for async runtimes and for code
//! that waits on the socket itself (`poll`, `epoll`, a `Select`); such code
//! must also try the non-blocking receive before each wait, since an end
//! may hold messages already read.

#[cfg(unix)]
mod imp {
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

    use crate::{NamedEnd, PipeEnd, PipeReceiver, PipeSender, named::end::Link};

    impl AsFd for PipeEnd {
        fn as_fd(&self) -> BorrowedFd<'_> {
            self.socket().as_fd()
        }
    }

    impl AsFd for NamedEnd {
        fn as_fd(&self) -> BorrowedFd<'_> {
            match self.link() {
                Link::Pipe(end) => end.as_fd(),
                Link::Stream(end) => end.socket().as_fd(),
            }
        }
    }

    macro_rules! forward {
        ($($ty:ty),*) => {$(
            impl AsFd for $ty {
                fn as_fd(&self) -> BorrowedFd<'_> {
                    self.0.as_fd()
                }
            }
        )*};
    }
    forward!(PipeSender, PipeReceiver);

    macro_rules! raw {
        ($($ty:ty),*) => {$(
            impl AsRawFd for $ty {
                fn as_raw_fd(&self) -> RawFd {
                    self.as_fd().as_raw_fd()
                }
            }
        )*};
    }
    raw!(PipeEnd, PipeSender, PipeReceiver, NamedEnd);
}

#[cfg(windows)]
mod imp {
    use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle, RawHandle};

    use crate::{PipeEnd, PipeReceiver, PipeSender};

    impl AsHandle for PipeEnd {
        fn as_handle(&self) -> BorrowedHandle<'_> {
            self.socket().as_handle()
        }
    }

    macro_rules! forward {
        ($($ty:ty),*) => {$(
            impl AsHandle for $ty {
                fn as_handle(&self) -> BorrowedHandle<'_> {
                    self.0.as_handle()
                }
            }
        )*};
    }
    forward!(PipeSender, PipeReceiver);

    macro_rules! raw {
        ($($ty:ty),*) => {$(
            impl AsRawHandle for $ty {
                fn as_raw_handle(&self) -> RawHandle {
                    self.as_handle().as_raw_handle()
                }
            }
        )*};
    }
    raw!(PipeEnd, PipeSender, PipeReceiver);
}
