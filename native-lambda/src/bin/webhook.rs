//! The webhook Lambda function (behind a Function URL): see `invalidator_lambda::webhook`.

use invalidator_lambda::http_client::{ReqwestClient, SystemClock};
use invalidator_lambda::webhook::WebhookFunction;
use invalidator_lambda::{env, logging};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let function = WebhookFunction::from_map(&env::from_environment())?;
    let http = ReqwestClient::default();
    let function = &function;
    let http = &http;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(function.handle(&event.payload, http, &SystemClock).await)
    }))
    .await
}
