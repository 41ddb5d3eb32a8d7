//! The `queue` backend (to be built).
