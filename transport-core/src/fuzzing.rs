//! Hooks for the fuzz targets in the workspace's `fuzz/` folder (feature
//! `fuzzing`). Nothing here is for applications.

/// Forgets which hand-off tokens this process has opened, so that a fuzz
/// target can open the same token again in its next run: each run then
/// starts from the same state, and the record does not grow with the
/// number of runs.
pub fn forget_opened_tokens() {
    crate::handoff::forget_opened();
}
