//! invalidator on AWS: the Lambda functions (webhook behind a Function URL,
//! workflow behind Step Functions), the operator CLI, and the native I/O and
//! settings they share.

pub mod cause;
pub mod cli;
pub mod dynamodb;
pub mod env;
pub mod function_url;
pub mod http_client;
pub mod logging;
pub mod stepfunctions;
pub mod task;
pub mod webhook;
