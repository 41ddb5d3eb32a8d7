//! `Config`: the settings a pool's parts share.

use std::time::Duration;

use crate::process::Spawner;

/// The settings of a pool, fixed when it is built.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub entry: &'static str,
    pub workers: usize,
    pub prefetch: usize,
    pub window: usize,
    pub max_tasks_per_child: Option<usize>,
    pub task_timeout: Option<Duration>,
    pub retries: u32,
    pub spawner: Spawner,
}
