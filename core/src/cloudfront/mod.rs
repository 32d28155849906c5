//! CloudFront's invalidation API, I/O-free: request builders (XML written with
//! quick-xml, signed with SigV4 for CloudFront's own signing region), response
//! parsing and error classification.

pub mod listing;
mod region;
mod request;
mod response;

pub use region::{is_region, signing_region, GLOBAL_SIGNING_REGION};
pub use request::{caller_reference, create_invalidation, get_invalidation, invalidation_batch_xml};
pub use response::{classify_error, parse_invalidation, read_invalidation, Invalidation, InvalidationStatus};

/// The API version in every CloudFront path.
pub const API_VERSION: &str = "2020-05-31";
/// The XML namespace of CloudFront's 2020-05-31 API documents.
pub const XML_NAMESPACE: &str = "http://cloudfront.amazonaws.com/doc/2020-05-31/";
