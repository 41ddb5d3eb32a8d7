//! Writes the seed corpus of every target this crate generates seeds for:
//! `cargo run --manifest-path fuzz/Cargo.toml --example seeds` (from the
//! workspace root) rewrites `fuzz/seeds/<target>/`.

use std::{fs, io, path::Path};

fn main() -> io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let targets = [
        ("message_validate", transport_fuzz::message::seeds()),
        ("handoff_token", transport_fuzz::token::seeds()),
        ("serde_message", transport_fuzz::serde_msg::seeds()),
    ];
    for (target, seeds) in targets {
        let dir = root.join(target);
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir)?;
        for (name, bytes) in &seeds {
            fs::write(dir.join(name), bytes)?;
        }
        println!("{}: {} seeds", dir.display(), seeds.len());
    }
    Ok(())
}
