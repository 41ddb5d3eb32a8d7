//! A library that uses the shared-memory backend by name, whatever else
//! the graph enables.

/// Sums `items` after a trip through a shared-memory channel.
pub fn sum(items: &[u32]) -> Result<u64, Box<dyn std::error::Error>> {
    let (tx, rx) = transport_adapters::shm::bounded::<u32>(items.len().max(1))?;
    for &item in items {
        tx.send(item)?;
    }
    drop(tx);
    let mut total = 0;
    while let Ok(item) = rx.recv() {
        total += u64::from(item.to_native());
    }
    Ok(total)
}

/// The backend's name, as the library sees it.
pub fn backend() -> &'static str {
    <transport_adapters::shm::Backend as transport_core::Transport>::NAME
}
