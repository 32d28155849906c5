//! The Delivery API response parsers on arbitrary bodies and statuses: never a panic.
#![no_main]
use invalidator_core::contentful::{read_entry, read_links_page, read_revision};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data.split_first() {
        Some((s, rest)) => (if *s < 128 { 200 } else { 300 + u16::from(*s) }, rest),
        None => (200, data),
    };
    let response = http::Response::builder()
        .status(status.min(599))
        .header("x-contentful-ratelimit-reset", String::from_utf8_lossy(&body[..body.len().min(8)]).replace(|c: char| !c.is_ascii_graphic(), ""))
        .body(body.to_vec())
        .unwrap();
    if let Ok(page) = read_links_page(&response) {
        let _ = page.next_skip(page.skip);
    }
    let _ = read_revision(&response);
    let _ = read_entry(&response);
});
