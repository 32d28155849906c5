//! Runs native-lambda/state-machine.asl.json with the real ASL interpreter
//! (aws-local-stepfunctions, through tests/js/run-state-machine.mjs), its Task
//! states invoking the workflow function at a Runtime API. Bounded in time:
//! past the bound the node process is killed and the run fails with its output.

use crate::asl::ASL;
use crate::loopback::loopback_only;
use crate::require::{require, LOCAL_STEPFUNCTIONS};
use crate::toolkit::repo_root;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A finished run: whether the execution succeeded, and its events in order.
#[derive(Debug)]
pub struct Run {
    pub succeeded: bool,
    pub events: Vec<Value>,
}

/// Runs the state machine on `input`, calling `on_event` for each event as it
/// comes. Fails when node cannot start or the run takes longer than `bound`.
pub fn run(invoke_url: &str, input: &str, bound: Duration, mut on_event: impl FnMut(&Value)) -> Result<Run, String> {
    require(&[LOCAL_STEPFUNCTIONS]);
    let root = repo_root();
    let mut command = Command::new("node");
    command
        .arg("--require")
        .arg(root.join("tests/js/polyfill.cjs"))
        .arg(root.join("tests/js/run-state-machine.mjs"))
        .arg(root.join(ASL))
        .arg(invoke_url)
        .current_dir(&root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = loopback_only(&mut command).spawn().map_err(|e| format!("node: {e}"))?;
    let mut stdin = child.stdin.take().expect("piped");
    let (stdout, mut stderr) = (child.stdout.take().expect("piped"), child.stderr.take().expect("piped"));
    let child = Arc::new(Mutex::new(child));
    let (finished, timed_out) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let watchdog = {
        let (child, finished, timed_out) = (child.clone(), finished.clone(), timed_out.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + bound;
            while !finished.load(Ordering::SeqCst) {
                if Instant::now() >= deadline {
                    timed_out.store(true, Ordering::SeqCst);
                    let _ = child.lock().unwrap_or_else(|e| e.into_inner()).kill();
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    // A node that exits before reading its input is reported below, with its output.
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    let mut events = Vec::new();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        let event: Value = serde_json::from_str(&line).unwrap_or_else(|_| json!({"raw": line}));
        on_event(&event);
        events.push(event);
    }
    let status = child.lock().unwrap_or_else(|e| e.into_inner()).wait().map_err(|e| format!("node: {e}"))?;
    finished.store(true, Ordering::SeqCst);
    let _ = watchdog.join();
    let errors = errors.join().unwrap_or_default();
    if timed_out.load(Ordering::SeqCst) {
        return Err(format!("the state machine ran longer than {bound:?} and was stopped; its events: {events:#?}\nits stderr:\n{errors}"));
    }
    if !errors.is_empty() {
        eprint!("{errors}");
    }
    Ok(Run { succeeded: status.success(), events })
}
