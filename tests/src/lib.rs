//! Cross-crate and end-to-end tests of invalidator, and the local stand-ins
//! for CloudFront, Contentful, Step Functions, SQS, Secrets Manager and SSM
//! that the tests and the demo use.

pub mod asl;
pub mod big_graph;
pub mod binaries;
pub mod browser;
pub mod cache_tags;
pub mod event_source;
pub mod loopback;
pub mod notify_receiver;
pub mod queue_stack;
pub mod require;
pub mod runtime_api;
pub mod sandbox;
pub mod site_visit;
pub mod state_machine;
pub mod sweeps;
pub mod toolkit;
pub mod virtual_time;
pub mod wrangler;
