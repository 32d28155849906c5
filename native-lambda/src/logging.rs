//! Logs for the Lambda functions: JSON lines through `tracing`, level from
//! `RUST_LOG` (default `info`). Only ids, routes and counts are logged, never a
//! setting's value.

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().json().with_env_filter(filter).with_target(false).without_time().try_init();
}
