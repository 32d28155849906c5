//! The webhook Lambda function (behind a Function URL): see `invalidator_lambda::webhook`.

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlResponse;
use invalidator_lambda::http_client::{ReqwestClient, SystemClock};
use invalidator_lambda::webhook::WebhookFunction;
use invalidator_lambda::{logging, secrets};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let http = ReqwestClient::default();
    let map = secrets::load_environment(&http).await?;
    let function = WebhookFunction::from_map(&map)?;
    let function = &function;
    let http = &http;
    // The event stays a JSON value up to the handler, which answers 400 to
    // one that is not a Function URL event instead of failing the invocation.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<LambdaFunctionUrlResponse, Error>(function.handle(event.payload, http, &SystemClock).await)
    }))
    .await
}
