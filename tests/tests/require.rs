//! A missing tool fails the test that needs it, naming the file and the
//! `make` target that installs it, instead of passing without running.

use invalidator_tests::require::{first_missing, require, Tool, LOCAL_STEPFUNCTIONS, WORKER_BUNDLE};

const ABSENT: Tool = Tool { path: "node_modules/no-such-tool-for-this-test", make_target: "node-deps" };

#[test]
fn a_missing_tool_fails_naming_it_and_its_make_target() {
    let panic = std::panic::catch_unwind(|| require(&[ABSENT])).expect_err("a missing tool must fail the test");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert_eq!(message, "node_modules/no-such-tool-for-this-test missing: run `make node-deps`");
}

#[test]
fn the_first_missing_tool_is_named() {
    assert_eq!(
        first_missing(&[ABSENT, Tool { path: "absent/too", make_target: "x" }]).as_deref(),
        Some("node_modules/no-such-tool-for-this-test missing: run `make node-deps`")
    );
    assert_eq!(first_missing(&[Tool { path: "Cargo.toml", make_target: "none" }]), None);
}

#[test]
fn the_named_targets_are_the_ones_that_install_the_tools() {
    assert_eq!(LOCAL_STEPFUNCTIONS.make_target, "node-deps");
    assert_eq!(WORKER_BUNDLE.path, "edge-worker/build/index.js");
    assert_eq!(WORKER_BUNDLE.make_target, "edge-build");
    let makefile = std::fs::read_to_string(invalidator_tests::toolkit::repo_root().join("Makefile")).unwrap();
    let edge_mk = std::fs::read_to_string(invalidator_tests::toolkit::repo_root().join("mk/edge.mk")).unwrap();
    assert!(makefile.contains("\nnode-deps:"), "the Makefile has a node-deps target");
    assert!(edge_mk.contains("\nedge-build:"), "mk/edge.mk has an edge-build target");
}
