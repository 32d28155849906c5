//! invalidator on AWS: the Lambda functions (webhook behind a Function URL,
//! starter fed by the changes queue, workflow behind Step Functions), the
//! operator CLI, and the native I/O, settings and secrets they share.

pub mod aws_json;
pub mod cause;
pub mod cli;
pub mod dynamodb;
pub mod env;
pub mod execution_input;
pub mod function_url;
pub mod http_client;
pub mod logging;
pub mod secrets;
pub mod sqs;
pub mod starter;
pub mod stepfunctions;
pub mod sweep;
pub mod sweep_store;
pub mod task;
pub mod webhook;
