//! The workflow Lambda function: serves the Task states of
//! `state-machine.asl.json` (see `invalidator_lambda::task`).

use invalidator_core::io::Clock;
use invalidator_core::settings::Settings;
use invalidator_lambda::http_client::{ReqwestClient, SystemClock};
use invalidator_lambda::task::{handle, TaskInput};
use invalidator_lambda::{env, logging};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let settings = Settings::from_map(&env::from_environment())?;
    let http = ReqwestClient::default();
    let (settings, http) = (&settings, &http);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<TaskInput>| async move {
        let task = event.payload.task.clone();
        let seed = SystemClock.now().as_millis() ^ u64::from(std::process::id());
        let state = handle(event.payload, settings, http, &SystemClock, seed).await?;
        tracing::info!(task, route = state.route.as_str(), wait_seconds = state.wait_seconds, phase = ?state.workflow.phase, "task done");
        Ok::<_, Error>(state)
    }))
    .await
}
