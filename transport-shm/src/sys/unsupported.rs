//! Platforms without an implementation: everything fails at run time.

use std::{
    io,
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use super::{MapError, WaitWord};

/// Unknown: treated as dead.
pub(crate) fn process_start(_pid: u32) -> Option<u64> {
    None
}

/// Unknown.
pub(crate) fn current_start() -> Option<u64> {
    None
}

/// Waiting degrades to short sleeps.
#[derive(Debug, Default)]
pub(crate) struct Parker;

impl Parker {
    pub(crate) fn new(_name: &str, _base: *const u8, _buckets: *const AtomicU32) -> Parker {
        Parker
    }

    pub(crate) fn wait(&self, _word: &AtomicU32, _expected: u32, timeout: Option<Duration>) {
        std::thread::sleep(
            timeout
                .unwrap_or(Duration::from_millis(1))
                .min(Duration::from_millis(1)),
        );
    }

    pub(crate) fn wake(&self, _word: &AtomicU32, _all: bool) {}
}

/// No multi-word wait.
pub(crate) const MULTI_WAIT_MAX: usize = 0;

/// The bridge's wake-up degrades to short sleeps too.
#[derive(Debug, Default)]
pub(crate) struct Alarm {
    seq: AtomicU32,
}

impl Alarm {
    pub(crate) fn new() -> io::Result<Alarm> {
        Ok(Alarm::default())
    }

    pub(crate) fn seq(&self) -> u32 {
        self.seq.load(Ordering::SeqCst)
    }

    pub(crate) fn ring(&self) {
        self.seq.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn wait(&self, seq: u32, words: &[WaitWord<'_>], timeout: Option<Duration>) -> io::Result<()> {
        if !words.is_empty() {
            return Err(io::Error::from(io::ErrorKind::Unsupported));
        }
        if self.seq() == seq {
            Parker.wait(&self.seq, seq, timeout);
        }
        Ok(())
    }
}

pub(crate) fn list_segments(_prefix: &str) -> io::Result<Vec<String>> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

pub(crate) fn register(_name: &str) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

pub(crate) fn unregister(_name: &str) {}

pub(crate) fn record_child_pid<K: Send + Sync + 'static>(
    _cmd: &mut Command,
    _keep: Arc<K>,
    _slots: super::ChildSlots<'_>,
    _nonce: u32,
) {
}

/// Whether `record_child_pid` records the child's pid before it runs.
pub(crate) const RECORDS_CHILD_PID: bool = false;

/// Nothing is left behind by unlinking here.
pub(crate) fn sweep_unlinked(_prefix: &str) {}

/// No shared memory here.
#[derive(Debug)]
pub(crate) struct Mapping;

impl Mapping {
    pub(crate) fn create(_name: &str, _size: usize) -> Result<Mapping, MapError> {
        Err(MapError::Io(io::Error::from(io::ErrorKind::Unsupported)))
    }

    pub(crate) fn open(_name: &str) -> Result<Mapping, MapError> {
        Err(MapError::Io(io::Error::from(io::ErrorKind::Unsupported)))
    }

    pub(crate) fn as_ptr(&self) -> *mut u8 {
        std::ptr::null_mut()
    }

    pub(crate) fn len(&self) -> usize {
        0
    }

    pub(crate) fn unlink_on_drop(&mut self) {}

    pub(crate) fn unlink(_name: &str) {}
}
