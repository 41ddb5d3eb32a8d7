//! The `shm` backend (to be built).
