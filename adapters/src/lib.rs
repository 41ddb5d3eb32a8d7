//! Adapters over the transport backends (to be built).
