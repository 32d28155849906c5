#![warn(missing_docs, unreachable_pub)]
//! invalidator-core: the one brain both deployments share.
//!
//! No I/O of its own: every module is a pure function of its inputs, and the
//! [`io`] traits are implemented by the bodies (the Cloudflare Worker and the
//! AWS Lambda functions). Builds for `wasm32-unknown-unknown`.

pub mod cloudfront;
pub mod contentful;
pub mod driver;
pub mod entropy;
pub mod io;
pub mod items;
mod json;
pub mod time;

pub use time::Timestamp;
pub mod memory;
pub mod notify;
pub mod observed;
pub mod paths;
pub mod retry;
pub mod revision;
pub mod rules;
pub mod secret;
pub mod settings;
pub mod sigv4;
pub mod site;
pub mod sweep;
pub mod sync;
pub mod tags;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
pub mod webhook;
pub mod workflow;
