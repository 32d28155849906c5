//! The workspace's binaries for tests that run them as processes: built once
//! per test run (so a stale binary is never tested), found next to the test
//! executable.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);

/// Builds `package`'s binary `name` with cargo (debug profile, like the tests)
/// and returns its path. Panics with cargo's output when the build fails.
pub fn binary(package: &str, name: &str) -> PathBuf {
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out =
        Command::new(cargo).args(["build", "--quiet", "-p", package, "--bin", name]).output().expect("cargo runs");
    assert!(out.status.success(), "building {name} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    // target/<profile>/deps/<test> or target/<profile>/<bin> → target/<profile>/<name>
    let exe = std::env::current_exe().expect("executable path");
    let mut dir = exe.parent().expect("target/<profile>");
    if dir.ends_with("deps") {
        dir = dir.parent().expect("target/<profile>");
    }
    let path = dir.join(name);
    assert!(path.exists(), "{} was not built", path.display());
    built.insert(name.to_string(), path.clone());
    path
}
