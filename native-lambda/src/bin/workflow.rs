//! The workflow Lambda function: serves the Task states of
//! `state-machine.asl.json` (see `invalidator_lambda::task`).

use invalidator_core::io::Clock;
use invalidator_core::settings::Settings;
use invalidator_core::Timestamp;
use invalidator_lambda::dynamodb::DynamoDbSettings;
use invalidator_lambda::http_client::{entropy, ReqwestClient, SystemClock};
use invalidator_lambda::task::{handle, wait_budget, TaskInput};
use invalidator_lambda::{logging, secrets};
use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use std::time::Duration;

/// Time kept back from the invocation's deadline for answering.
const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let http = ReqwestClient::default();
    let map = secrets::load_environment(&http).await?;
    let settings = Settings::from_map(&map)?;
    let budget = wait_budget(&map)?;
    let memory = DynamoDbSettings::from_map(&map)?;
    let (settings, http, memory) = (&settings, &http, memory.as_ref());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<TaskInput>| async move {
        let task = event.payload.task.clone();
        let now = SystemClock.now();
        let entropy = entropy();
        let left = now.until(Timestamp::from_millis(event.context.deadline)).saturating_sub(DEADLINE_MARGIN);
        let state = handle(event.payload, settings, memory, http, &SystemClock, entropy, budget.min(left)).await.map_err(|e| {
            tracing::error!(task, error = %e, "task failed");
            Diagnostic::from(e)
        })?;
        tracing::info!(task, route = state.route.as_str(), wait_seconds = state.wait_seconds, phase = ?state.workflow.phase(), "task done");
        Ok::<_, Diagnostic>(state)
    }))
    .await
}
