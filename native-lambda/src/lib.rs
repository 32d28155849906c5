//! invalidator on AWS: the Lambda functions, the operator CLI, and the native
//! I/O they share.

pub mod http_client;
