//! The CloudFront XML parsers on arbitrary bodies: never a panic.
#![no_main]
use invalidator_core::cloudfront::{classify_error, parse_invalidation};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_invalidation(data);
    let _ = classify_error(400, data);
    let _ = classify_error(503, data);
});
