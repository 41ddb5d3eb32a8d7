//! What the benchmark needs from the operating system, one module per
//! platform: pinning the current thread to a CPU, CPU time used by a
//! process and by the whole machine (to flag runs disturbed by other
//! processes), and the machine facts the report records.
//!
//! Every platform provides the same functions; where a platform cannot
//! answer, the function says so (`Ok(false)`, `None`) and the report
//! prints "unknown" rather than a made-up figure.

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use self::windows::*;

#[cfg(not(any(target_os = "linux", windows)))]
mod other;
#[cfg(not(any(target_os = "linux", windows)))]
pub use other::*;
