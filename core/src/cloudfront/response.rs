//! CloudFront answers: the `Invalidation` document and the `ErrorResponse`,
//! classified into retry-now, retry-later and permanent.

use crate::io::HttpResponse;
use crate::retry::Failure;
use quick_xml::events::Event;
use serde::{Deserialize, Serialize};

/// Where an invalidation stands, as CloudFront reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidationStatus {
    /// CloudFront is still removing the objects from its edges.
    InProgress,
    /// Every edge has removed them.
    Completed,
}

/// An invalidation as CloudFront describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invalidation {
    /// CloudFront's id for it (`I...`).
    pub id: String,
    /// Where it stands.
    pub status: InvalidationStatus,
    /// When CloudFront created it (ISO 8601), if it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
}

/// The text of each element named in `wanted`, found by its path of element
/// names from the root (`["Invalidation", "Id"]`); first occurrence wins.
/// Malformed XML is an error; unknown elements are skipped.
pub(super) fn texts<const N: usize>(body: &[u8], wanted: [&[&str]; N]) -> Result<[Option<String>; N], String> {
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut found: [Option<String>; N] = std::array::from_fn(|_| None);
    loop {
        match reader.read_event().map_err(|e| format!("malformed XML: {e}"))? {
            Event::Start(e) => path.push(e.local_name().as_ref().to_vec()),
            Event::End(_) => {
                path.pop();
            }
            Event::Text(t) => {
                for (slot, want) in found.iter_mut().zip(wanted.iter()) {
                    let here = path.len() == want.len() && path.iter().zip(want.iter()).all(|(a, b)| a == b.as_bytes());
                    if here && slot.is_none() {
                        *slot = Some(t.unescape().map_err(|e| format!("malformed XML text: {e}"))?.into_owned());
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !path.is_empty() {
        return Err("malformed XML: the document ends inside an element".into());
    }
    Ok(found)
}

/// Parses an `Invalidation` document. `Status` is compared case-insensitively
/// (an emulator answers `COMPLETED`).
pub fn parse_invalidation(body: &[u8]) -> Result<Invalidation, String> {
    std::str::from_utf8(body).map_err(|_| "Invalidation document is not UTF-8".to_string())?;
    let [id, status, create_time] =
        texts(body, [&["Invalidation", "Id"], &["Invalidation", "Status"], &["Invalidation", "CreateTime"]])
            .map_err(|e| format!("Invalidation document: {e}"))?;
    let id = id.unwrap_or_default().trim().to_string();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("Invalidation document has an unusable Id {id:?}"));
    }
    let status = match status.unwrap_or_default().trim().to_ascii_lowercase().as_str() {
        "inprogress" => InvalidationStatus::InProgress,
        "completed" => InvalidationStatus::Completed,
        other => return Err(format!("Invalidation document has an unknown Status {other:?}")),
    };
    Ok(Invalidation { id, status, create_time: create_time.map(|t| t.trim().to_string()) })
}

/// Classifies a non-success answer by its `ErrorResponse` code and status.
pub fn classify_error(status: u16, body: &[u8]) -> Failure {
    let [code, message] =
        texts(body, [&["ErrorResponse", "Error", "Code"], &["ErrorResponse", "Error", "Message"]]).unwrap_or_default();
    let code = code.unwrap_or_default();
    let code = code.trim();
    let reason = if code.is_empty() {
        format!("CloudFront answered HTTP {status}")
    } else {
        format!("CloudFront answered HTTP {status} {code}: {}", message.unwrap_or_default().trim())
    };
    match code {
        "TooManyInvalidationsInProgress" | "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => {
            Failure::busy(None, reason)
        }
        "ServiceUnavailable" | "InternalError" | "InternalFailure" => Failure::transient(reason),
        _ if status == 429 => Failure::busy(None, reason),
        _ if status >= 500 => Failure::transient(reason),
        // Something in the batch was refused: a part of it may still pass.
        "InvalidArgument" | "BatchTooLarge" => Failure::refused(reason),
        // NoSuchDistribution, AccessDenied, InconsistentQuantities, MissingBody,
        // InvalidationBatchAlreadyExists and any other 4xx.
        _ => Failure::permanent(reason),
    }
}

/// Reads a CreateInvalidation (201) or GetInvalidation (200) answer.
pub fn read_invalidation(response: &HttpResponse) -> Result<Invalidation, Failure> {
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(classify_error(status, response.body()));
    }
    // A 2xx whose body cannot be read is the server's fault: ask again.
    parse_invalidation(response.body()).map_err(Failure::transient)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::Class;

    #[test]
    fn parses_the_invalidation_document() {
        let body = br#"<?xml version="1.0"?><Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>I2J0I21PCUYOIK</Id><Status>InProgress</Status><CreateTime>2026-11-24T12:00:00Z</CreateTime><InvalidationBatch><Paths><Quantity>1</Quantity><Items><Path>/a</Path></Items></Paths><CallerReference>r</CallerReference></InvalidationBatch></Invalidation>"#;
        let inv = parse_invalidation(body).unwrap();
        assert_eq!(inv.id, "I2J0I21PCUYOIK");
        assert_eq!(inv.status, InvalidationStatus::InProgress);
        assert_eq!(inv.create_time.as_deref(), Some("2026-11-24T12:00:00Z"));
        let done = parse_invalidation(b"<Invalidation><Id>X1</Id><Status>COMPLETED</Status></Invalidation>").unwrap();
        assert_eq!(done.status, InvalidationStatus::Completed);
    }

    #[test]
    fn malformed_documents_are_errors() {
        for body in [
            &b""[..],
            b"<Invalidation>",
            b"<Invalidation><Status>Completed</Status></Invalidation>",
            b"<Invalidation><Id>../x</Id><Status>Completed</Status></Invalidation>",
            b"<Invalidation><Id>A</Id><Status>Paused</Status></Invalidation>",
            b"\xff",
        ] {
            assert!(parse_invalidation(body).is_err(), "{:?}", String::from_utf8_lossy(body));
        }
    }

    fn error(code: &str) -> Vec<u8> {
        format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>m</Message></Error><RequestId>r</RequestId></ErrorResponse>").into_bytes()
    }

    #[test]
    fn errors_are_classified() {
        assert_eq!(classify_error(400, &error("TooManyInvalidationsInProgress")).class, Class::Busy { after_ms: None });
        assert_eq!(classify_error(400, &error("Throttling")).class, Class::Busy { after_ms: None });
        assert_eq!(classify_error(503, b"").class, Class::Backoff);
        assert_eq!(classify_error(500, b"<garbage").class, Class::Backoff);
        for code in [
            "AccessDenied",
            "NoSuchDistribution",
            "InconsistentQuantities",
            "MissingBody",
            "InvalidationBatchAlreadyExists",
        ] {
            let f = classify_error(400, &error(code));
            assert_eq!(f.class, Class::Permanent, "{code}");
            assert!(f.reason.contains(code));
        }
        for code in ["InvalidArgument", "BatchTooLarge"] {
            let f = classify_error(400, &error(code));
            assert_eq!(f.class, Class::Refused, "{code}");
            assert!(f.reason.contains(code));
        }
    }
}
