//! The contract between the Step Functions state machine
//! (`state-machine.asl.json`) and the workflow function: the whole execution
//! state is one [`TaskState`]. A Task passes `{"task": <name>, "state": $}`
//! and its output replaces `$`; the Choice states read `$.route`, the Wait
//! state reads `$.wait_seconds`, the Fail state `$.cause`.
//!
//! Every task is the same move: deliver `TimerFired` to the core's workflow
//! and run it until it must wait, has a next batch ready, or is finished. The
//! core decides what that means in each phase (resolve and submit in
//! `Linked-Resource-Cache-Invalidation`, GetInvalidation in
//! `Check-Invalidation-Status`); nothing is decided here.

use invalidator_core::driver::{run, Services, Stop};
use invalidator_core::io::{Clock, HttpClient};
use invalidator_core::settings::Settings;
use invalidator_core::workflow::{Event, Route, Workflow};
use serde::{Deserialize, Serialize};

/// The task names the ASL passes, one per seed Task state.
pub const TASKS: [(&str, &str); 2] =
    [("resolve_and_submit", "Linked-Resource-Cache-Invalidation"), ("check_status", "Check-Invalidation-Status")];

/// What a Task receives.
#[derive(Debug, Deserialize)]
pub struct TaskInput {
    pub task: String,
    pub state: TaskState,
}

/// The execution's state, as Step Functions carries it between states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskState {
    pub workflow: Workflow,
    /// `wait`, `next_batch`, `done` or `failed`: what the Choice states compare.
    pub route: Route,
    /// How long `Wait-For-1-Min` waits (whole seconds, as `SecondsPath` needs).
    pub wait_seconds: u64,
    /// Why the run failed, with the paths not invalidated: the Fail state's cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Paths not (yet) invalidated.
    pub pending_paths: Vec<String>,
}

impl TaskState {
    /// The state after the driver stopped with `stop` at `now`.
    pub fn after(workflow: Workflow, stop: Stop, now: invalidator_core::Timestamp) -> TaskState {
        let (route, wait_seconds) = match stop {
            Stop::SleepUntil(at) => (Route::Wait, now.until(at).as_millis().div_ceil(1000) as u64),
            Stop::NextBatch => (Route::NextBatch, 0),
            Stop::Finished => (workflow.route(), 0),
        };
        let pending_paths = workflow.outstanding_paths();
        let cause = (route == Route::Failed)
            .then(|| format!("{}; paths not invalidated: {}", workflow.failures.join("; "), pending_paths.join(" ")));
        TaskState { workflow, route, wait_seconds, cause, pending_paths }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("unknown task {0:?}: the state machine and the function disagree")]
    UnknownTask(String),
}

/// Runs one Task.
pub async fn handle<H: HttpClient, C: Clock>(
    input: TaskInput,
    settings: &Settings,
    http: &H,
    clock: &C,
    seed: u64,
) -> Result<TaskState, TaskError> {
    if !TASKS.iter().any(|(name, _)| *name == input.task) {
        return Err(TaskError::UnknownTask(input.task));
    }
    let services = Services {
        http,
        clock,
        cloudfront: &settings.cloudfront,
        contentful: Some(&settings.contentful),
        policy: &settings.policy,
        concurrency: 8,
    };
    let (workflow, stop) = run(input.state.workflow, Event::TimerFired, &services, seed).await;
    Ok(TaskState::after(workflow, stop, clock.now()))
}
