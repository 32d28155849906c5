//! Cross-crate and end-to-end tests of invalidator, and the local stand-ins
//! for CloudFront and Contentful that the tests and the demo use.

pub mod asl;
pub mod big_graph;
pub mod binaries;
pub mod runtime_api;
pub mod sandbox;
pub mod toolkit;
pub mod virtual_time;
pub mod wrangler;
