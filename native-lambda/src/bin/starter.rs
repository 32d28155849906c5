//! The starter Lambda function (fed by the changes queue): see `invalidator_lambda::starter`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use invalidator_lambda::http_client::{ReqwestClient, SystemClock};
use invalidator_lambda::starter::StarterFunction;
use invalidator_lambda::{env, logging};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let function = StarterFunction::from_map(&env::from_environment())?;
    let http = ReqwestClient::default();
    let (function, http) = (&function, &http);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(function.handle(event.payload, http, &SystemClock).await)
    }))
    .await
}
