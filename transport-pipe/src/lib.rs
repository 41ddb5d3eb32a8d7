//! The `pipe` backend (to be built).
