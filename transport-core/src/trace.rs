//! Events for `tracing` (feature `tracing`): hand-off, open, peer death,
//! clean-up and background threads, never one per message. Without the
//! feature the macro expands to nothing, so its arguments cost nothing.
//!
//! The backends use it too (their own `tracing` features turn this one
//! on), so a program sees the events of every transport crate it builds.

/// An event at `$level` (`ERROR`, `WARN`, `INFO`, `DEBUG`, `TRACE`), in
/// `tracing`'s syntax: `event!(INFO, peer = pid, "peer died")`. Nothing
/// when the `tracing` feature is off.
#[cfg(feature = "tracing")]
#[doc(hidden)]
#[macro_export]
macro_rules! event {
    ($level:ident, $($rest:tt)+) => {
        $crate::__private::tracing::event!($crate::__private::tracing::Level::$level, $($rest)+)
    };
}

/// An event at `$level`: nothing, since the `tracing` feature is off.
#[cfg(not(feature = "tracing"))]
#[doc(hidden)]
#[macro_export]
macro_rules! event {
    ($level:ident, $($rest:tt)+) => {};
}
