//! invalidator on AWS: the Lambda functions, the operator CLI, and the native
//! I/O and settings they share.

pub mod cli;
pub mod env;
pub mod http_client;
