//! Operating-system code: only what starting a local server needs.
//!
//! Every platform provides `tie_to_parent(&mut Command)`: the started
//! process dies with the thread that started it where the system can
//! arrange that (Linux), and is left to its owner's `Drop` elsewhere; and
//! `terminate(&Child)`: ask it to exit (Unix `SIGTERM`; elsewhere nothing,
//! and the caller kills it).

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux::{terminate, tie_to_parent};

#[cfg(not(target_os = "linux"))]
mod other;
#[cfg(not(target_os = "linux"))]
pub(crate) use other::{terminate, tie_to_parent};
