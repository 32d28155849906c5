//! The tools an end-to-end test needs: present, or the test fails naming the
//! missing file and the `make` target that provides it. A test never passes
//! without having run.

use crate::toolkit::repo_root;

/// A file the tests need (relative to the repository root) and the `make`
/// target that puts it there.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    pub path: &'static str,
    pub make_target: &'static str,
}

pub const WRANGLER: Tool = Tool { path: "node_modules/.bin/wrangler", make_target: "node-deps" };
pub const WASM_OPT: Tool = Tool { path: "node_modules/.bin/wasm-opt", make_target: "node-deps" };
pub const LOCAL_STEPFUNCTIONS: Tool = Tool { path: "node_modules/aws-local-stepfunctions", make_target: "node-deps" };
pub const ASL_VALIDATOR: Tool = Tool { path: "node_modules/.bin/asl-validator", make_target: "node-deps" };
pub const TOOLKIT: Tool = Tool { path: "node_modules/@contentful/node-apps-toolkit", make_target: "node-deps" };
pub const WORKER_BUNDLE: Tool = Tool { path: "edge-worker/build/index.js", make_target: "edge-build" };

/// The message for a missing tool.
pub fn missing_message(tool: Tool) -> String {
    format!("{} missing: run `make {}`", tool.path, tool.make_target)
}

/// The first of `tools` that is missing, as the message a test fails with.
pub fn first_missing(tools: &[Tool]) -> Option<String> {
    let root = repo_root();
    tools.iter().find(|t| !root.join(t.path).exists()).map(|t| missing_message(*t))
}

/// Panics (fails the test) naming the first missing tool and its make target.
pub fn require(tools: &[Tool]) {
    if let Some(message) = first_missing(tools) {
        panic!("{message}");
    }
}
