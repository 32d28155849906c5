//! The sweep Lambda function (an EventBridge schedule, every
//! `SWEEP_INTERVAL_MINUTES`): one catch-up sweep per invocation, its record
//! in the `PATH_MEMORY_TABLE` table; see `invalidator_lambda::sweep`.

use invalidator_core::settings::Settings;
use invalidator_lambda::dynamodb::DynamoDbSettings;
use invalidator_lambda::http_client::{ReqwestClient, SystemClock};
use invalidator_lambda::stepfunctions::StepFunctionsSettings;
use invalidator_lambda::sweep::SweepFunction;
use invalidator_lambda::sweep_store::{partition, DynamoSweepStore};
use invalidator_lambda::{logging, secrets};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let http = ReqwestClient::default();
    let map = secrets::load_environment(&http).await?;
    let settings = Settings::from_map(&map)?;
    let table = DynamoDbSettings::from_map(&map)?
        .ok_or("PATH_MEMORY_TABLE: not set; the sweep keeps its position and the revisions taken in that table")?;
    let partition = partition(&settings.cloudfront.distribution_ids);
    let stepfunctions = StepFunctionsSettings::from_map(&map)?;
    let function = SweepFunction { settings, stepfunctions, memory: Some(table.clone()) };
    let (function, http, table, partition) = (&function, &http, &table, &partition);
    // The scheduled event carries nothing the sweep needs: it reads its position from the table.
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        let store = DynamoSweepStore { http, clock: &SystemClock, settings: table, partition: partition.clone() };
        let report = function.handle(http, &SystemClock, &store).await.map_err(Error::from)?;
        Ok::<_, Error>(report)
    }))
    .await
}
