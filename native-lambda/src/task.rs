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
//!
//! The state stays under Step Functions' 256 KiB whatever the change:
//! - it is the workflow and three small fields, nothing copied beside it (the
//!   paths not invalidated are derived only for a failure's cause);
//! - the core bounds a planned workflow (its batches fit `PLAN_MAX_BYTES`);
//! - a walk in progress is never handed back: when the walk must wait (a
//!   rate-limited Delivery API), the task waits in-process if the wait ends
//!   within `TASK_WAIT_BUDGET_SECONDS` of the task's start (and before the
//!   invocation's own deadline); otherwise it drops the walk ([`Workflow::restart_walk`]) and the next
//!   task walks again, so a state never carries a visited set;
//! - a state that would still exceed [`STATE_MAX_BYTES`] fails the task with
//!   [`TaskError::StateTooLarge`], which `Catch` turns into
//!   `Describe-Task-Error` → `InvalidationFailed` with the reason and the
//!   paths, instead of Step Functions' uncatchable `States.DataLimitExceeded`.

use crate::cause::failure_cause;
use crate::dynamodb::{DynamoDbSettings, DynamoMemory};
use invalidator_core::driver::{run, Setup, Sleep, Stop, NATIVE_CONNECTIONS};
use invalidator_core::io::{Clock, HttpClient};
use invalidator_core::memory::PathMemory;
use invalidator_core::settings::{Settings, SettingsError, SettingsMap};
use invalidator_core::workflow::{Event, Phase, Workflow};
use invalidator_core::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The task names the ASL passes, and the state that passes each.
pub const TASKS: [(&str, &str); 3] = [
    ("resolve_and_submit", "Linked-Resource-Cache-Invalidation"),
    ("check_status", "Check-Invalidation-Status"),
    ("describe_failure", "Describe-Task-Error"),
];

/// The largest state a task hands back: Step Functions' 256 KiB, less room
/// for what the ASL adds to it (a caught error at `$.task_error`, whose cause
/// Step Functions caps at 32 KiB, and the failure's cause).
pub const STATE_MAX_BYTES: usize = 192 * 1024;

/// Where the state machine goes after a task: what its Choice states compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// `Wait-For-1-Min` for `wait_seconds`, then `Check-Invalidation-Status`.
    Wait,
    /// A batch ended and the next is ready: `Check-Invalidation-Completion`
    /// goes back to `Linked-Resource-Cache-Invalidation`.
    NextBatch,
    /// `EndInvalidation`.
    Done,
    /// `InvalidationFailed`, with the cause.
    Failed,
}

impl Route {
    /// The name the ASL's Choice states compare against.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Wait => "wait",
            Route::NextBatch => "next_batch",
            Route::Done => "done",
            Route::Failed => "failed",
        }
    }

    /// Where the driver's `stop` sends the state machine. A batch boundary
    /// ([`Stop::GoOn`]) is a state of its own in the ASL, so each batch's
    /// progress is in the execution's history.
    fn after(stop: Stop, workflow: &Workflow) -> Route {
        match stop {
            Stop::SleepUntil(_) => Route::Wait,
            Stop::GoOn => Route::NextBatch,
            Stop::Finished if workflow.phase() == Phase::Failed => Route::Failed,
            Stop::Finished => Route::Done,
        }
    }
}

/// What a Task receives.
#[derive(Debug, Deserialize)]
pub struct TaskInput {
    pub task: String,
    pub state: TaskState,
    /// For `describe_failure`: the error the `Catch` caught (`$.task_error`).
    #[serde(default)]
    pub error: Option<CaughtError>,
}

/// An error as a `Catch` records it.
#[derive(Debug, Clone, Deserialize)]
pub struct CaughtError {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// The execution's state, as Step Functions carries it between states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskState {
    pub workflow: Workflow,
    /// Where the workflow is, for a reader of the execution's history (the
    /// workflow's own value keeps its stage, not this name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// `wait`, `next_batch`, `done` or `failed`: what the Choice states compare.
    pub route: Route,
    /// How long `Wait-For-1-Min` waits (whole seconds, as `SecondsPath` needs).
    pub wait_seconds: u64,
    /// Why the run failed, with what was not invalidated: the Fail state's cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl TaskState {
    /// The state after the driver stopped with `stop` at `now`.
    pub fn after(workflow: Workflow, stop: Stop, now: Timestamp) -> TaskState {
        let route = Route::after(stop, &workflow);
        // `SecondsPath` takes whole seconds: round up, never wake early.
        let wait_seconds = match stop {
            Stop::SleepUntil(at) => now.until(at).as_millis().div_ceil(1000) as u64,
            _ => 0,
        };
        let cause = (route == Route::Failed).then(|| failure_cause(&workflow.failures().join("; "), &workflow));
        TaskState { phase: Some(workflow.phase()), workflow, route, wait_seconds, cause }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("unknown task {0:?}: the state machine and the function disagree")]
    UnknownTask(String),
    #[error(
        "the state to hand back is {bytes} bytes, over the {limit} bytes a task may return \
         (Step Functions allows 262144 between states)"
    )]
    StateTooLarge { bytes: usize, limit: usize },
}

impl From<TaskError> for lambda_runtime::Diagnostic {
    fn from(e: TaskError) -> Self {
        let error_type = match e {
            TaskError::UnknownTask(_) => "UnknownTask",
            TaskError::StateTooLarge { .. } => "StateTooLarge",
        };
        lambda_runtime::Diagnostic { error_type: error_type.into(), error_message: e.to_string() }
    }
}

/// `TASK_WAIT_BUDGET_SECONDS`: a task waits in-process for a walk to go on
/// only while the wait ends within this much of the task's start (default 30,
/// at most 600; keep it well under the function's timeout).
pub fn wait_budget(map: &SettingsMap) -> Result<Duration, SettingsError> {
    const NAME: &str = "TASK_WAIT_BUDGET_SECONDS";
    let Some(raw) = map.get(NAME).map(|v| v.trim()).filter(|v| !v.is_empty()) else {
        return Ok(Duration::from_secs(30));
    };
    match raw.parse::<f64>() {
        Ok(secs) if (0.0..=600.0).contains(&secs) => Ok(Duration::from_millis((secs * 1000.0).round() as u64)),
        _ => Err(SettingsError { name: NAME, problem: format!("must be between 0 and 600 seconds, got {raw:?}") }),
    }
}

/// Runs one Task. In-process waits for a walk must end within `wait_budget`
/// of now (the caller has already bounded it by the invocation's deadline).
#[allow(clippy::too_many_arguments)]
pub async fn handle<H: HttpClient, C: Clock + Sleep>(
    input: TaskInput,
    settings: &Settings,
    memory: Option<&DynamoDbSettings>,
    http: &H,
    clock: &C,
    entropy: u64,
    wait_budget: Duration,
) -> Result<TaskState, TaskError> {
    let state = match input.task.as_str() {
        "describe_failure" => describe_failure(input.state.workflow, input.error),
        "resolve_and_submit" | "check_status" => {
            run_task(input.state.workflow, settings, memory, http, clock, entropy, wait_budget).await
        }
        _ => return Err(TaskError::UnknownTask(input.task)),
    };
    let bytes = serde_json::to_vec(&state).map(|v| v.len()).unwrap_or(usize::MAX);
    if bytes > STATE_MAX_BYTES {
        return Err(TaskError::StateTooLarge { bytes, limit: STATE_MAX_BYTES });
    }
    Ok(state)
}

#[allow(clippy::too_many_arguments)]
async fn run_task<H: HttpClient, C: Clock + Sleep>(
    workflow: Workflow,
    settings: &Settings,
    memory: Option<&DynamoDbSettings>,
    http: &H,
    clock: &C,
    entropy: u64,
    wait_budget: Duration,
) -> TaskState {
    let memory = memory.map(|table| DynamoMemory {
        http,
        clock,
        settings: table,
        partition: workflow.distributions().join(","),
        max_entries: settings.policy.path_memory_entries,
    });
    let services = Setup {
        memory: memory.as_ref().map(|m| m as &dyn PathMemory),
        ..Setup::new(http, clock, settings, NATIVE_CONNECTIONS)
    };
    let wait_until = clock.now().plus(wait_budget);
    let (mut workflow, mut stop) = run(workflow, Event::TimerFired, &services, entropy).await;
    let mut round = 0u64;
    while let Stop::SleepUntil(at) = stop {
        if !is_walking(&workflow) {
            break;
        }
        if at > wait_until {
            tracing::info!(
                wait_ms = clock.now().until(at).as_millis() as u64,
                "the walk must wait past TASK_WAIT_BUDGET_SECONDS: it starts again in the next task"
            );
            workflow.restart_walk();
            break;
        }
        clock.sleep(clock.now().until(at)).await;
        round += 1;
        (workflow, stop) = run(workflow, Event::TimerFired, &services, entropy.wrapping_add(round)).await;
    }
    TaskState::after(workflow, stop, clock.now())
}

/// A walk is under way: its visited set and paths would travel in the state.
fn is_walking(workflow: &Workflow) -> bool {
    workflow.walk().is_some_and(|w| w.reading_links())
}

/// `Describe-Task-Error`: the state the failed task was given, ending failed
/// with the caught error and what was not invalidated.
fn describe_failure(workflow: Workflow, error: Option<CaughtError>) -> TaskState {
    let reason = match error {
        Some(e) => format!("{}: {}", e.error, e.cause),
        None => "a task failed (no error was passed to describe_failure)".to_string(),
    };
    let cause = Some(failure_cause(&reason, &workflow));
    TaskState { phase: Some(workflow.phase()), workflow, route: Route::Failed, wait_seconds: 0, cause }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_client::{ReqwestClient, SystemClock};
    use invalidator_core::testing::TestSettings;

    fn settings() -> Settings {
        TestSettings::new().unsigned().with("PATH_RULES", r#"{"always":["/"]}"#).settings()
    }

    fn describe(workflow: Workflow) -> Result<TaskState, TaskError> {
        let state = TaskState { workflow, phase: None, route: Route::Wait, wait_seconds: 0, cause: None };
        let error = Some(CaughtError { error: "Runtime.ExitError".into(), cause: "killed".into() });
        let input = TaskInput { task: "describe_failure".into(), state, error };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(handle(input, &settings(), None, &ReqwestClient::default(), &SystemClock, 0, Duration::ZERO))
    }

    #[test]
    fn a_state_too_large_for_step_functions_fails_the_task_naming_its_size() {
        let workflow = Workflow::new(vec!["E".repeat(STATE_MAX_BYTES)]);
        let error = describe(workflow).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, TaskError::StateTooLarge { bytes, .. } if bytes > STATE_MAX_BYTES));
        assert!(message.contains(&STATE_MAX_BYTES.to_string()) && message.contains("262144"), "{message}");
        assert_eq!(lambda_runtime::Diagnostic::from(error).error_type, "StateTooLarge");
    }

    #[test]
    fn describe_failure_ends_failed_with_the_caught_error() {
        let state = describe(Workflow::new(vec!["E1".into()])).unwrap();
        assert_eq!(state.route, Route::Failed);
        assert_eq!(state.cause.as_deref(), Some("Runtime.ExitError: killed"));
    }

    #[test]
    fn the_wait_budget_is_a_bounded_number_of_seconds() {
        let map = |v: &str| SettingsMap::from([("TASK_WAIT_BUDGET_SECONDS".to_string(), v.to_string())]);
        assert_eq!(wait_budget(&SettingsMap::new()).unwrap(), Duration::from_secs(30));
        assert_eq!(wait_budget(&map("2.5")).unwrap(), Duration::from_millis(2500));
        let error = wait_budget(&map("forever")).unwrap_err();
        assert_eq!(error.name, "TASK_WAIT_BUDGET_SECONDS");
        assert!(wait_budget(&map("601")).is_err());
    }
}
