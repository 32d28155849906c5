//! What a distribution was billed this month, from CloudFront's own record:
//! ListInvalidations (paged by `Marker`) for the invalidations made, and the
//! `Paths/Quantity` of each (every path, wildcard and tag bills one item).

use super::request::url;
use super::response::{classify_error, texts};
use crate::io::{HttpRequest, HttpResponse};
use crate::retry::Failure;
use crate::settings::CloudFrontSettings;
use crate::sigv4::{sign_request, SignError};
use crate::time::Timestamp;
use quick_xml::events::Event;

/// One invalidation in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// CloudFront's id for it.
    pub id: String,
    /// When it was created (ISO 8601, UTC).
    pub create_time: String,
}

/// One page of ListInvalidations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// The invalidations on this page.
    pub items: Vec<Summary>,
    /// Where the next page starts, when there is one.
    pub next_marker: Option<String>,
}

/// `GET /2020-05-31/distribution/{id}/invalidation`, from `marker`, signed for `now`.
pub fn list_invalidations(
    settings: &CloudFrontSettings,
    distribution_id: &str,
    marker: Option<&str>,
    now: Timestamp,
) -> Result<HttpRequest, SignError> {
    let query = match marker {
        Some(m) if m.bytes().all(|b| b.is_ascii_alphanumeric()) => format!("?Marker={m}&MaxItems=100"),
        Some(m) => return Err(SignError::from_http(format!("{m:?} is not a listing marker"))),
        None => "?MaxItems=100".to_string(),
    };
    let mut request = http::Request::get(url(settings, distribution_id, &query))
        .body(Vec::new())
        .map_err(|e| SignError::from_http(e.to_string()))?;
    sign_request(&mut request, &settings.credentials, "cloudfront", now)?;
    Ok(request)
}

/// Reads an `InvalidationList`.
pub fn read_listing(response: &HttpResponse) -> Result<Listing, Failure> {
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(classify_error(status, response.body()));
    }
    parse_listing(response.body()).map_err(Failure::transient)
}

fn parse_listing(body: &[u8]) -> Result<Listing, String> {
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut path: Vec<String> = Vec::new();
    let mut listing = Listing::default();
    let (mut id, mut created) = (String::new(), String::new());
    let mut truncated = false;
    loop {
        match reader.read_event().map_err(|e| format!("InvalidationList: malformed XML: {e}"))? {
            Event::Start(e) => path.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned()),
            Event::End(_) => {
                if path.last().is_some_and(|p| p == "InvalidationSummary") {
                    listing
                        .items
                        .push(Summary { id: std::mem::take(&mut id), create_time: std::mem::take(&mut created) });
                }
                path.pop();
            }
            Event::Text(t) => {
                let text = t.unescape().map_err(|e| format!("InvalidationList: {e}"))?.trim().to_string();
                match path.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
                    [.., "InvalidationSummary", "Id"] => id = text,
                    [.., "InvalidationSummary", "CreateTime"] => created = text,
                    ["InvalidationList", "IsTruncated"] => truncated = text == "true",
                    ["InvalidationList", "NextMarker"] => listing.next_marker = Some(text).filter(|m| !m.is_empty()),
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !path.is_empty() {
        return Err("InvalidationList: malformed XML: the document ends inside an element".into());
    }
    if !truncated {
        listing.next_marker = None;
    }
    Ok(listing)
}

/// The items an `Invalidation` document bills: its `Paths/Quantity`.
pub fn read_billed_items(response: &HttpResponse) -> Result<u64, Failure> {
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(classify_error(status, response.body()));
    }
    let [quantity] = texts(response.body(), [&["Invalidation", "InvalidationBatch", "Paths", "Quantity"]])
        .map_err(Failure::transient)?;
    quantity
        .and_then(|q| q.trim().parse().ok())
        .ok_or_else(|| Failure::transient("Invalidation document without Paths/Quantity"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_page_gives_its_invalidations_and_where_the_next_starts() {
        let body = br#"<?xml version="1.0"?><InvalidationList xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Marker></Marker><NextMarker>I2</NextMarker><MaxItems>1</MaxItems><IsTruncated>true</IsTruncated><Quantity>1</Quantity><Items><InvalidationSummary><Id>I3</Id><CreateTime>2026-11-27T07:00:00Z</CreateTime><Status>Completed</Status></InvalidationSummary></Items></InvalidationList>"#;
        let listing = parse_listing(body).unwrap();
        assert_eq!(listing.items, [Summary { id: "I3".into(), create_time: "2026-11-27T07:00:00Z".into() }]);
        assert_eq!(listing.next_marker.as_deref(), Some("I2"));
        assert!(parse_listing(b"<InvalidationList><Items>").is_err());
    }
}
