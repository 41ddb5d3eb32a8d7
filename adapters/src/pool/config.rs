//! `Config`: the settings a pool's parts share.

use std::{sync::Arc, time::Duration};

use crate::process::{Setup, Spawner};

/// The settings of a pool, fixed when it is built.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub entry: &'static str,
    pub workers: usize,
    pub prefetch: usize,
    pub window: usize,
    pub chunksize: usize,
    /// Whether `map` and `map_async` pick their chunk size from the
    /// number of arguments, as Python's `map` does.
    pub auto_chunksize: bool,
    pub max_tasks_per_child: Option<usize>,
    pub task_timeout: Option<Duration>,
    pub retries: u32,
    pub spawner: Spawner,
    /// What every worker runs before its first task.
    pub init: Option<Arc<dyn Setup>>,
}
