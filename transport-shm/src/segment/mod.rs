//! Shared memory segments: exclusive, owner-only, short-named, with a table
//! of participants whose liveness decides when the segment is removed.
//!
//! # Lifecycle
//! - A segment is created exclusively (`O_EXCL`), readable and writable by
//!   its user only (mode 0600 on Unix, set on the object whatever the
//!   umask), under a fresh name of at most 27 bytes. Opening one that
//!   another user owns is refused.
//! - Every process that uses it is a *participant* (an entry in the header
//!   with its process id and start time). A participant handed to a child
//!   process is *pending* until the child opens it; it stays alive through
//!   the child (Unix: its pid and start time are recorded before `exec`;
//!   Windows: once `transport_core::spawned` tells it, see `child_watch`)
//!   or, where the child is not known, through the process that handed it
//!   over.
//!   Only that child may claim it (where it is recorded); any other claim is
//!   refused and changes nothing.
//! - When a participant leaves (its last handle in that process is dropped)
//!   and no live participant remains, the name is removed. A process killed
//!   with `SIGKILL` leaves its entry behind, but the entry is dead: the last
//!   survivor to leave removes the name, and a segment whose participants are
//!   all dead is *stale* and is removed by [`cleanup_stale`] (this user's
//!   only), which a process's first segment creation runs, and later ones
//!   at most once per [`SWEEP_PERIOD`].
//! - Each segment carries a kind and a layout version; opening one of the
//!   wrong kind is an error, never a misread. Its size is read once when it
//!   is opened, checked against the mapping and kept.

pub(crate) mod backing;
mod cleanup;
pub(crate) mod header;
pub(crate) mod name;

use std::{
    collections::hash_map::RandomState,
    fmt,
    hash::{BuildHasher, Hasher},
    process::Command,
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

pub use cleanup::{SWEEP_PERIOD, cleanup_stale, list_segments};

use crate::{
    error::SegmentError,
    liveness::Identity,
    sys::{self, MapError},
};
use backing::Backing;
use header::{ClaimError, Header, MAGIC, MAX_PARTICIPANTS, PAYLOAD_OFFSET, Participant, State, VERSION};

/// What a segment holds; a segment is only opened as the kind it was
/// created as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A channel ring.
    Channel = 1,
    /// Shared state (values, arrays, locks).
    State = 2,
}

/// A mapped segment.
pub(crate) struct Segment {
    backing: Backing,
    /// The segment's size, read from its header once when it was opened
    /// and checked against the mapping (a peer may rewrite the header's
    /// word at any time; this one stays).
    len: usize,
    parker: sys::Parker,
}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Segment")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

fn nonce() -> u32 {
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    (h.finish() as u32) | 1
}

impl Segment {
    /// A segment over `backing`, of which `len` bytes (at least
    /// `PAYLOAD_OFFSET`, at most the mapping) are its own.
    fn from_backing(backing: Backing, len: usize) -> Segment {
        debug_assert!((PAYLOAD_OFFSET..=backing.len()).contains(&len));
        let base = backing.as_ptr();
        // SAFETY: the mapping is at least PAYLOAD_OFFSET bytes (checked by the
        // callers) and page-aligned, so the header's bucket words are in it.
        let buckets = unsafe { (*(base as *const Header)).wait_buckets.as_ptr() };
        let parker = sys::Parker::new(backing.name(), base, buckets);
        Segment { backing, len, parker }
    }

    /// Creates a segment of `kind` with `payload` bytes after the header,
    /// with this process as its first participant, in `role`.
    pub(crate) fn create(kind: Kind, payload: usize, role: u32) -> Result<Attachment, SegmentError> {
        let size = payload
            .checked_add(PAYLOAD_OFFSET)
            .filter(|s| *s <= isize::MAX as usize)
            .ok_or(SegmentError::TooLarge { size: payload })?;
        let backing = Self::create_backing(size)?;
        Self::init(backing, size, kind, role)
    }

    /// A new, exclusive, owner-only shared memory object of `size` bytes.
    #[cfg(not(all(test, miri)))]
    fn create_backing(size: usize) -> Result<Backing, SegmentError> {
        cleanup::sweep_if_due();
        let mut tries = 0;
        let (backing, name) = loop {
            let name = name::fresh();
            sys::register(&name).map_err(|source| SegmentError::Create {
                name: name.clone(),
                source,
            })?;
            match Backing::create(&name, size) {
                Ok(b) => break (b, name),
                Err(MapError::Exists) if tries < 16 => {
                    sys::unregister(&name);
                    tries += 1;
                }
                Err(e) => {
                    sys::unregister(&name);
                    let source = match e {
                        MapError::Io(e) => e,
                        MapError::Exists => std::io::Error::from(std::io::ErrorKind::AlreadyExists),
                        MapError::NotFound => std::io::Error::from(std::io::ErrorKind::NotFound),
                        MapError::NotOwned { .. } => {
                            std::io::Error::from(std::io::ErrorKind::PermissionDenied)
                        }
                    };
                    return Err(SegmentError::Create { name, source });
                }
            }
        };
        if backing.len() < size {
            backing.unlink_on_drop();
            sys::unregister(&name);
            return Err(SegmentError::Invalid {
                name,
                reason: "the mapping is smaller than asked".into(),
            });
        }
        Ok(backing)
    }

    /// Under Miri, which cannot map shared memory, tests run on heap
    /// segments laid out the same way.
    #[cfg(all(test, miri))]
    fn create_backing(size: usize) -> Result<Backing, SegmentError> {
        Ok(Backing::heap(&name::fresh(), size))
    }

    /// A segment of `size` bytes on the heap, laid out as a shared one,
    /// with this process as its first participant in `role` (for the fuzz
    /// targets).
    #[cfg(feature = "fuzzing")]
    pub(crate) fn create_on_heap(kind: Kind, payload: usize, role: u32) -> Result<Attachment, SegmentError> {
        let size = payload
            .checked_add(PAYLOAD_OFFSET)
            .ok_or(SegmentError::TooLarge { size: payload })?;
        Self::init(Backing::heap(&name::fresh(), size), size, kind, role)
    }

    /// Writes the header of a new segment of `size` bytes into `backing`.
    fn init(backing: Backing, size: usize, kind: Kind, role: u32) -> Result<Attachment, SegmentError> {
        let segment = Arc::new(Segment::from_backing(backing, size));
        let h = segment.header();
        let me = Identity::current();
        h.version.store(VERSION, Ordering::Relaxed);
        h.kind.store(kind as u32, Ordering::Relaxed);
        h.size.store(size as u64, Ordering::Relaxed);
        h.creator_pid.store(me.pid, Ordering::Relaxed);
        h.creator_start.store(me.start, Ordering::Relaxed);
        let nonce = nonce();
        let taken = h.participants[0].take(role, me, State::Active, nonce);
        debug_assert!(taken, "a new segment's first entry is free");
        h.magic.store(MAGIC, Ordering::Release);
        Ok(Attachment {
            segment,
            index: 0,
            nonce,
            handed: false,
        })
    }

    /// Opens segment `name`, which must be this user's and of `kind`.
    pub(crate) fn open(name: &str, kind: Kind) -> Result<Arc<Segment>, SegmentError> {
        if !name::is_valid(name) {
            return Err(SegmentError::Invalid {
                name: name.into(),
                reason: "not a segment name of this crate".into(),
            });
        }
        let backing = Backing::open(name).map_err(|e| match e {
            MapError::NotFound | MapError::Exists => SegmentError::Gone { name: name.into() },
            MapError::NotOwned { owner } => SegmentError::Refused {
                name: name.into(),
                reason: format!("it belongs to user {owner}, not to this process's user"),
            },
            MapError::Io(source) => SegmentError::Open {
                name: name.into(),
                source,
            },
        })?;
        Self::adopt(backing, kind).map(Arc::new)
    }

    /// Checks the header of a mapped segment, which must be of `kind`, and
    /// keeps its size. Every header word is read once: a peer may change
    /// them while we look.
    pub(crate) fn adopt(backing: Backing, kind: Kind) -> Result<Segment, SegmentError> {
        let invalid = |reason: &str| SegmentError::Invalid {
            name: backing.name().into(),
            reason: reason.into(),
        };
        if backing.len() < PAYLOAD_OFFSET {
            return Err(invalid("it is smaller than a header"));
        }
        // SAFETY: the mapping holds a header (checked above), page-aligned;
        // the header is all atomics, valid for any bytes.
        let h = unsafe { &*(backing.as_ptr() as *const Header) };
        let magic = h.magic.load(Ordering::Acquire);
        if magic != MAGIC {
            return Err(invalid(if header::is_magic_of_any_layout(magic) {
                "it has another layout version"
            } else {
                "it is not initialised"
            }));
        }
        if h.version.load(Ordering::Relaxed) != VERSION {
            return Err(invalid("it has another layout version"));
        }
        if h.kind.load(Ordering::Relaxed) != kind as u32 {
            return Err(invalid("it holds another kind of object"));
        }
        let size = h.size.load(Ordering::Relaxed);
        let Some(len) = usize::try_from(size)
            .ok()
            .filter(|n| (PAYLOAD_OFFSET..=backing.len()).contains(n))
        else {
            return Err(invalid("its recorded size does not match the mapping"));
        };
        Ok(Segment::from_backing(backing, len))
    }

    /// The segment's name.
    pub(crate) fn name(&self) -> &str {
        self.backing.name()
    }

    /// The header.
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: the mapping is at least PAYLOAD_OFFSET bytes (checked when it
        // was created or adopted), page-aligned,
        // and lives as long as `self`; `Header` is all atomics, valid for any
        // bytes, and only ever accessed through shared references.
        unsafe { &*(self.backing.as_ptr() as *const Header) }
    }

    /// The first payload byte (page-aligned).
    pub(crate) fn payload(&self) -> *mut u8 {
        // SAFETY: PAYLOAD_OFFSET is within the mapping (checked on create and
        // open).
        unsafe { self.backing.as_ptr().add(PAYLOAD_OFFSET) }
    }

    /// The payload's length in bytes, as recorded at creation and checked
    /// when the segment was opened.
    pub(crate) fn payload_len(&self) -> usize {
        self.len - PAYLOAD_OFFSET
    }

    /// Sleeps while `word` (in this segment) holds `expected`, at most
    /// `timeout`; may return early.
    pub(crate) fn wait(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
        self.parker.wait(word, expected, timeout);
    }

    /// Wakes waiters on `word` (in this segment).
    pub(crate) fn wake(&self, word: &AtomicU32, all: bool) {
        self.parker.wake(word, all);
    }

    /// The parker of this segment's words (for waits on several words).
    pub(crate) fn parker(&self) -> &sys::Parker {
        &self.parker
    }

    /// Whether any participant with `role` is alive.
    pub(crate) fn role_alive(&self, role: u32) -> bool {
        self.header().participants.iter().any(|p| {
            matches!(p.state().0, State::Active | State::Pending | State::Busy)
                && p.role() == role
                && p.is_alive()
        })
    }

    /// Whether entry `index` still belongs to the participant with `nonce`
    /// and that participant is alive.
    pub(crate) fn participant_alive(&self, index: usize, nonce: u32) -> bool {
        self.participant_alive_masked(index, nonce, u32::MAX)
    }

    /// As [`participant_alive`](Self::participant_alive), comparing only the
    /// nonce bits in `mask`.
    pub(crate) fn participant_alive_masked(&self, index: usize, nonce: u32, mask: u32) -> bool {
        let Some(p) = self.header().participants.get(index) else {
            return false;
        };
        let (state, n) = p.state();
        state != State::Free && n & mask == nonce & mask && p.is_alive()
    }

    /// Whether any entry belongs to a participant that died without
    /// leaving.
    pub(crate) fn any_dead(&self) -> bool {
        self.header()
            .participants
            .iter()
            .any(|p| matches!(p.state().0, State::Active | State::Pending) && !p.is_alive())
    }

    fn participant(&self, index: usize) -> &Participant {
        &self.header().participants[index]
    }

    /// Leaves entry `index`; the last live participant removes the name.
    fn leave(&self, index: usize, nonce: u32) {
        self.participant(index).free_if((State::Active, nonce));
        let me = Identity::current();
        if sys::RECORDS_CHILD_PID && !self.header().participants.iter().any(|p| p.is_active_of(me)) {
            // This process is leaving the segment: its hand-offs to commands
            // that were never spawned would keep the segment alive as long
            // as the process lives.
            for p in &self.header().participants {
                if let Some(st) = p.is_unspawned_hand_off_of(me) {
                    p.free_if(st);
                }
            }
        }
        if !self.header().any_alive() {
            self.backing.unlink_on_drop();
            sys::unregister(self.name());
        }
    }
}

/// What [`Handoff::child_watch`](transport_core::Handoff::child_watch)
/// gives for an end whose hand-off payload ends in a [`Token`] of a
/// segment of `kind`: where the system does not record the child before it
/// runs (`sys::RECORDS_CHILD_PID`), a function that records it once it has
/// started, so that a child that exits without claiming its entry no
/// longer keeps it (and the segment's peers' wait for it) alive for as
/// long as the handing process lives.
pub(crate) fn child_watch(kind: Kind) -> Option<fn(&str, &std::process::Child)> {
    if sys::RECORDS_CHILD_PID {
        return None;
    }
    Some(match kind {
        Kind::Channel => |payload, child| record_child(payload, Kind::Channel, child.id()),
        Kind::State => |payload, child| record_child(payload, Kind::State, child.id()),
    })
}

/// Records process `pid` as the child the entry named at the end of
/// `payload` (`…:name:index:nonce`) was handed to; see [`child_watch`]. A
/// payload or segment that cannot be read is left alone: the entry then
/// stays tied to this process, as without the watch.
fn record_child(payload: &str, kind: Kind, pid: u32) {
    let mut fields = payload.rsplitn(4, ':');
    let (Some(nonce), Some(index), Some(name)) = (fields.next(), fields.next(), fields.next()) else {
        return;
    };
    let Ok(token) = format!("{name}:{index}:{nonce}").parse::<Token>() else {
        return;
    };
    let Ok(segment) = Segment::open(&token.name, kind) else {
        return;
    };
    let start = sys::process_start(pid).unwrap_or(0);
    segment
        .participant(token.index)
        .record_child(token.nonce, pid, start);
}

/// A hand-off of a participant entry to another process: `name:index:nonce`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) name: String,
    pub(crate) index: usize,
    pub(crate) nonce: u32,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{:x}", self.name, self.index, self.nonce)
    }
}

impl FromStr for Token {
    type Err = String;

    fn from_str(s: &str) -> Result<Token, String> {
        let mut parts = s.split(':');
        let (Some(name), Some(index), Some(nonce), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("expected `segment:index:nonce`, got `{s}`"));
        };
        let index: usize = index
            .parse()
            .map_err(|_| format!("bad participant index `{index}`"))?;
        if index >= MAX_PARTICIPANTS {
            return Err(format!("participant index {index} is out of range"));
        }
        let nonce = u32::from_str_radix(nonce, 16).map_err(|_| format!("bad nonce `{nonce}`"))?;
        if !name::is_valid(name) {
            return Err(format!("`{name}` is not a segment name of this crate"));
        }
        Ok(Token {
            name: name.into(),
            index,
            nonce,
        })
    }
}

/// This process's participation in a segment; dropping it leaves.
pub(crate) struct Attachment {
    segment: Arc<Segment>,
    index: usize,
    nonce: u32,
    /// Handed to another process: dropping it must not leave.
    handed: bool,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("segment", &self.segment.name())
            .field("index", &self.index)
            .finish()
    }
}

impl Attachment {
    /// The segment.
    pub(crate) fn segment(&self) -> &Arc<Segment> {
        &self.segment
    }

    /// This participant's entry index.
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// This participant's nonce.
    pub(crate) fn nonce(&self) -> u32 {
        self.nonce
    }

    /// Hands this participation to the child `cmd` will spawn: the entry
    /// becomes pending (kept alive by this process, and by the child once
    /// its pid is recorded) until the child claims it with the token.
    pub(crate) fn hand_off(mut self, cmd: &mut Command) -> Result<Token, SegmentError> {
        let p = self.segment.participant(self.index);
        if !p.hand_off(self.nonce, Identity::current()) {
            return Err(SegmentError::Gone {
                name: self.segment.name().into(),
            });
        }
        self.handed = true;
        sys::record_child_pid(cmd, Arc::clone(&self.segment), p.child_slots(), self.nonce);
        Ok(Token {
            name: self.segment.name().into(),
            index: self.index,
            nonce: self.nonce,
        })
    }

    /// Joins the segment as a new active participant in `role` (another
    /// handle of this process that must outlive independently).
    pub(crate) fn join(segment: &Arc<Segment>, role: u32) -> Result<Attachment, SegmentError> {
        let me = Identity::current();
        let (index, nonce) = Self::take_entry(segment, role, me, State::Active)?;
        Ok(Attachment {
            segment: Arc::clone(segment),
            index,
            nonce,
            handed: false,
        })
    }

    fn take_entry(
        segment: &Arc<Segment>,
        role: u32,
        me: Identity,
        state: State,
    ) -> Result<(usize, u32), SegmentError> {
        let nonce = nonce();
        for _ in 0..2 {
            for (i, p) in segment.header().participants.iter().enumerate() {
                if p.take(role, me, state, nonce) {
                    return Ok((i, nonce));
                }
            }
            // Full: free the entries of dead processes and try once more.
            for p in &segment.header().participants {
                let st = p.state();
                if matches!(st.0, State::Active | State::Pending) && !p.is_alive() {
                    p.free_if(st);
                }
            }
        }
        Err(SegmentError::TooManyParticipants {
            name: segment.name().into(),
            limit: MAX_PARTICIPANTS,
        })
    }

    /// Reserves a pending entry in `role` for the child that `cmd` will
    /// spawn, and returns its token.
    pub(crate) fn reserve(&self, role: u32, cmd: &mut Command) -> Result<Token, SegmentError> {
        let (index, nonce) = Self::take_entry(&self.segment, role, Identity::current(), State::Pending)?;
        let slots = self.segment.participant(index).child_slots();
        sys::record_child_pid(cmd, Arc::clone(&self.segment), slots, nonce);
        Ok(Token {
            name: self.segment.name().into(),
            index,
            nonce,
        })
    }

    /// Claims the pending entry `token` names in `segment`, as this
    /// process. Only the child the entry was handed to may (where the
    /// system records it); a refused claim changes nothing.
    pub(crate) fn claim_in(segment: Arc<Segment>, token: &Token) -> Result<Attachment, SegmentError> {
        let name = || token.name.clone();
        let me = Identity::current();
        segment
            .participant(token.index)
            .claim(token.nonce, me)
            .map_err(|e| match e {
                ClaimError::Gone => SegmentError::Gone { name: name() },
                ClaimError::AlreadyUsed => SegmentError::AlreadyUsed { name: name() },
                ClaimError::NotTheChild(0) => SegmentError::Refused {
                    name: name(),
                    reason: format!(
                        "its hand-off is for the child of a command that has not started, not for process {}",
                        me.pid
                    ),
                },
                ClaimError::NotTheChild(pid) => SegmentError::Refused {
                    name: name(),
                    reason: format!("its hand-off is for process {pid}, not for process {}", me.pid),
                },
            })?;
        Ok(Attachment {
            segment,
            index: token.index,
            nonce: token.nonce,
            handed: false,
        })
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        if !self.handed {
            self.segment.leave(self.index, self.nonce);
        }
    }
}
