//! CloudFront answers: the `Invalidation` document and the `ErrorResponse`,
//! classified into retry-now, retry-later and permanent.

use crate::io::HttpResponse;
use crate::retry::Failure;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidationStatus {
    InProgress,
    Completed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invalidation {
    pub id: String,
    pub status: InvalidationStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
}

#[derive(Deserialize)]
struct InvalidationXml {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Status")]
    status: String,
    #[serde(rename = "CreateTime", default)]
    create_time: Option<String>,
}

/// Parses an `Invalidation` document. `Status` is compared case-insensitively
/// (an emulator answers `COMPLETED`).
pub fn parse_invalidation(body: &[u8]) -> Result<Invalidation, String> {
    let text = std::str::from_utf8(body).map_err(|_| "Invalidation document is not UTF-8".to_string())?;
    let doc: InvalidationXml =
        quick_xml::de::from_str(text).map_err(|e| format!("Invalidation document is malformed: {e}"))?;
    let id = doc.id.trim().to_string();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("Invalidation document has an unusable Id {id:?}"));
    }
    let status = match doc.status.trim().to_ascii_lowercase().as_str() {
        "inprogress" => InvalidationStatus::InProgress,
        "completed" => InvalidationStatus::Completed,
        other => return Err(format!("Invalidation document has an unknown Status {other:?}")),
    };
    Ok(Invalidation { id, status, create_time: doc.create_time.map(|t| t.trim().to_string()) })
}

#[derive(Deserialize, Default)]
struct ErrorXml {
    #[serde(rename = "Code", default)]
    code: String,
    #[serde(rename = "Message", default)]
    message: String,
}

#[derive(Deserialize)]
struct ErrorResponseXml {
    #[serde(rename = "Error", default)]
    error: ErrorXml,
}

/// Classifies a non-success answer by its `ErrorResponse` code and status.
pub fn classify_error(status: u16, body: &[u8]) -> Failure {
    let parsed = std::str::from_utf8(body)
        .ok()
        .and_then(|t| quick_xml::de::from_str::<ErrorResponseXml>(t).ok())
        .map(|e| e.error)
        .unwrap_or_default();
    let code = parsed.code.trim();
    let reason = if code.is_empty() {
        format!("CloudFront answered HTTP {status}")
    } else {
        format!("CloudFront answered HTTP {status} {code}: {}", parsed.message.trim())
    };
    match code {
        "TooManyInvalidationsInProgress" | "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => {
            Failure::retry_later(None, reason)
        }
        "ServiceUnavailable" | "InternalError" | "InternalFailure" => Failure::retry_now(reason),
        _ if status == 429 => Failure::retry_later(None, reason),
        _ if status >= 500 => Failure::retry_now(reason),
        // NoSuchDistribution, AccessDenied, InvalidArgument, InconsistentQuantities,
        // BatchTooLarge, MissingBody, InvalidationBatchAlreadyExists and any other 4xx.
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
    parse_invalidation(response.body()).map_err(Failure::retry_now)
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
        assert_eq!(
            classify_error(400, &error("TooManyInvalidationsInProgress")).class,
            Class::RetryLater { after_ms: None }
        );
        assert_eq!(classify_error(400, &error("Throttling")).class, Class::RetryLater { after_ms: None });
        assert_eq!(classify_error(503, b"").class, Class::RetryNow);
        assert_eq!(classify_error(500, b"<garbage").class, Class::RetryNow);
        for code in [
            "AccessDenied",
            "NoSuchDistribution",
            "InvalidArgument",
            "InconsistentQuantities",
            "BatchTooLarge",
            "MissingBody",
            "InvalidationBatchAlreadyExists",
        ] {
            let f = classify_error(400, &error(code));
            assert_eq!(f.class, Class::Permanent, "{code}");
            assert!(f.reason.contains(code));
        }
    }
}
