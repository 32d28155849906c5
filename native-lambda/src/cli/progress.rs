//! The CLI's progress display: one line per change of a batch's state, polls
//! and elapsed time, then a summary. Plain lines, so it reads the same in a
//! terminal and in CI logs.

use invalidator_core::workflow::{Standing, Workflow};
use invalidator_core::Timestamp;

pub struct Progress {
    started: Timestamp,
    last: Vec<String>,
}

impl Progress {
    pub fn new(started: Timestamp) -> Self {
        Progress { started, last: Vec::new() }
    }

    /// Prints the batches whose line changed since the last call.
    pub fn show(&mut self, wf: &Workflow, now: Timestamp) {
        let elapsed = self.started.until(now).as_secs_f64();
        let mut lines = Vec::new();
        for b in wf.all_batches() {
            let id = b.invalidation_id.as_deref().unwrap_or("-");
            let key = format!("{} {} {} {} {}", b.sequence, Standing::of(&b.state), id, b.polls, b.attempts);
            lines.push((key, b));
        }
        let keys: Vec<String> = lines.iter().map(|(k, _)| k.clone()).collect();
        for (key, b) in lines {
            if !self.last.contains(&key) {
                println!(
                    "[{elapsed:6.1}s] batch {} {}: {} ({} paths, invalidation {}, polls {}, retries {})",
                    b.sequence,
                    b.distribution_id,
                    Standing::of(&b.state),
                    b.path_count,
                    b.invalidation_id.as_deref().unwrap_or("-"),
                    b.polls,
                    b.attempts
                );
            }
        }
        self.last = keys;
    }

    pub fn finish(&mut self, wf: &Workflow) {
        for b in wf.all_batches() {
            println!(
                "batch {} on {}: {} {}",
                b.sequence,
                b.distribution_id,
                Standing::of(&b.state),
                b.invalidation_id.as_deref().unwrap_or("")
            );
        }
        for f in wf.failures() {
            println!("failed: {f}");
        }
    }
}
