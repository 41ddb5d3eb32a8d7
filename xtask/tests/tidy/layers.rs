//! Crates depend downwards only: `transport-core` on no crate of ours, each
//! backend on core alone, the adapters on core and the backends, the tools
//! of `xtask/` and the fuzz crate on anything; no crate of ours carries OS
//! code in core.

use crate::source::{self, Crate};

/// The layer of each crate of ours: a crate may depend only on crates of
/// lower layers (tools may use any library).
fn layer(name: &str) -> Option<u8> {
    match name {
        "transport-core" => Some(0),
        "transport-queue" | "transport-pipe" | "transport-shm" | "transport-nats" => Some(1),
        "transport-adapters" => Some(2),
        "xtask" | "transport-bench" | "transport-chaos" | "transport-fuzz" => Some(3),
        _ => None,
    }
}

/// The dependencies of `krate` on crates of ours that point sideways or up.
fn upward(krate: &Crate) -> Vec<String> {
    let Some(own) = layer(&krate.name) else {
        return vec![format!(
            "`{}` has no layer: give it one in tidy's layers.rs",
            krate.name
        )];
    };
    let mut bad = Vec::new();
    for table in ["dependencies", "build-dependencies", "dev-dependencies"] {
        for dep in krate.dependencies(table) {
            match layer(&dep) {
                // A library's tests may use a library beside it (the
                // adapters' tests are the async side of every backend),
                // never a tool.
                Some(l) if table == "dev-dependencies" && own < 3 && l < 3 => {}
                Some(l) if l >= own && own < 3 => {
                    bad.push(format!(
                        "`{}` ({table}) depends on `{dep}`, which is not below it",
                        krate.name
                    ));
                }
                _ => {}
            }
        }
    }
    bad
}

#[test]
fn crates_depend_downwards() {
    let crates = source::crates();
    assert!(crates.len() >= 9, "the workspace's crates were not found");
    let bad: Vec<String> = crates.iter().flat_map(upward).collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn core_carries_no_os_code() {
    let core = source::crates()
        .into_iter()
        .find(|c| c.name == "transport-core")
        .expect("transport-core is a member");
    let deps = core.dependencies("dependencies");
    for os in ["libc", "windows-sys", "winapi", "nix", "rustix"] {
        assert!(!deps.contains(&os.to_owned()), "transport-core depends on `{os}`");
    }
    assert!(
        !core.src().join("sys").exists(),
        "transport-core has a sys/ module"
    );
}

#[test]
fn the_layer_rule_sees_an_upward_dependency() {
    let manifest: toml::Table =
        "[package]\nname = \"transport-core\"\n[dependencies]\ntransport-pipe = \"0.1\"\n"
            .parse()
            .unwrap();
    let krate = Crate {
        name: "transport-core".into(),
        dir: source::root().join("transport-core"),
        manifest,
    };
    assert_eq!(upward(&krate).len(), 1);
}
