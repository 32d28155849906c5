//! CreateInvalidation and GetInvalidation requests, signed.

use super::{API_VERSION, XML_NAMESPACE};
use crate::io::HttpRequest;
use crate::settings::CloudFrontSettings;
use crate::sigv4::{sign_request, SignError};
use crate::time::Timestamp;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use sha2::{Digest, Sha256};

/// A CallerReference for one submission of a batch: derived from the batch
/// (distribution, sequence, paths) and `nonce`, which the planner draws once
/// and stores with the batch. Resending the stored reference returns the
/// invalidation already made instead of a second one; the same paths planned
/// again (another run, another day) get another nonce, so CloudFront makes a
/// new invalidation instead of answering with the old, finished one.
pub fn caller_reference(distribution_id: &str, paths: &[String], sequence: u64, nonce: &str) -> String {
    let mut sorted: Vec<&str> = paths.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let mut h = Sha256::new();
    h.update(distribution_id.as_bytes());
    h.update(b"\n");
    h.update(sequence.to_string().as_bytes());
    h.update(b"\n");
    h.update(nonce.as_bytes());
    for p in sorted {
        h.update(b"\n");
        h.update(p.as_bytes());
    }
    format!("invalidator-{sequence}-{}", &hex::encode(h.finalize())[..32])
}

/// The `InvalidationBatch` document. Paths are written as XML text, escaped by
/// quick-xml, never spliced in as strings.
pub fn invalidation_batch_xml(paths: &[String], caller_reference: &str) -> Vec<u8> {
    let mut w = Writer::new(Vec::new());
    let text = |w: &mut Writer<Vec<u8>>, name: &str, value: &str| {
        w.create_element(name).write_text_content(BytesText::new(value)).map(|_| ())
    };
    let result: std::io::Result<()> = (|| {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        w.create_element("InvalidationBatch").with_attribute(("xmlns", XML_NAMESPACE)).write_inner_content(|w| {
            w.create_element("Paths").write_inner_content(|w| {
                text(w, "Quantity", &paths.len().to_string())?;
                w.create_element("Items").write_inner_content(|w| {
                    for p in paths {
                        text(w, "Path", p)?;
                    }
                    Ok(())
                })?;
                Ok(())
            })?;
            text(w, "CallerReference", caller_reference)
        })?;
        Ok(())
    })();
    result.expect("writing XML into a Vec cannot fail");
    w.into_inner()
}

pub(super) fn url(settings: &CloudFrontSettings, distribution_id: &str, suffix: &str) -> String {
    format!("{}/{API_VERSION}/distribution/{distribution_id}/invalidation{suffix}", settings.endpoint)
}

/// `POST /2020-05-31/distribution/{id}/invalidation`, signed for `now`.
pub fn create_invalidation(
    settings: &CloudFrontSettings,
    distribution_id: &str,
    paths: &[String],
    caller_reference: &str,
    now: Timestamp,
) -> Result<HttpRequest, SignError> {
    let mut request = http::Request::post(url(settings, distribution_id, ""))
        .header("content-type", "application/xml")
        .body(invalidation_batch_xml(paths, caller_reference))
        .map_err(|e| SignError::from_http(e.to_string()))?;
    sign_request(&mut request, &settings.credentials, "cloudfront", now)?;
    Ok(request)
}

/// `GET /2020-05-31/distribution/{id}/invalidation/{invalidation id}`, signed for `now`.
pub fn get_invalidation(
    settings: &CloudFrontSettings,
    distribution_id: &str,
    invalidation_id: &str,
    now: Timestamp,
) -> Result<HttpRequest, SignError> {
    if invalidation_id.is_empty() || !invalidation_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(SignError::from_http(format!("{invalidation_id:?} is not an invalidation id")));
    }
    let mut request = http::Request::get(url(settings, distribution_id, &format!("/{invalidation_id}")))
        .body(Vec::new())
        .map_err(|e| SignError::from_http(e.to_string()))?;
    sign_request(&mut request, &settings.credentials, "cloudfront", now)?;
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_document_is_escaped_xml() {
        let xml = invalidation_batch_xml(&["/a&b".into(), "/c".into()], "ref<1>");
        let xml = String::from_utf8(xml).unwrap();
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><InvalidationBatch xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Paths><Quantity>2</Quantity><Items><Path>/a&amp;b</Path><Path>/c</Path></Items></Paths><CallerReference>ref&lt;1&gt;</CallerReference></InvalidationBatch>"
        );
    }

    #[test]
    fn requests_are_scoped_to_cloudfronts_region_when_the_function_runs_elsewhere() {
        let settings = crate::testing::TestSettings::new().with("AWS_REGION", "eu-west-1").settings();
        let now = Timestamp::from_millis(1_795_523_696_000);
        let create = create_invalidation(&settings.cloudfront, "E1", &["/a".into()], "ref", now).unwrap();
        let get = get_invalidation(&settings.cloudfront, "E1", "I1", now).unwrap();
        for request in [create, get] {
            let auth = request.headers()["authorization"].to_str().unwrap();
            assert!(auth.contains("/20261124/us-east-1/cloudfront/aws4_request"), "{auth}");
        }
    }

    #[test]
    fn caller_reference_depends_on_the_batch_not_its_order() {
        let a = caller_reference("E1", &["/b".into(), "/a".into()], 1, "n1");
        assert_eq!(a, caller_reference("E1", &["/a".into(), "/b".into()], 1, "n1"));
        assert_ne!(a, caller_reference("E2", &["/a".into(), "/b".into()], 1, "n1"));
        assert_ne!(a, caller_reference("E1", &["/a".into(), "/b".into()], 2, "n1"));
        assert_ne!(a, caller_reference("E1", &["/a".into()], 1, "n1"));
        assert_ne!(a, caller_reference("E1", &["/a".into(), "/b".into()], 1, "n2"), "another submission");
        assert!(a.len() <= 128, "CallerReference is at most 128 characters");
    }
}
