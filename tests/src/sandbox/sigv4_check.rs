//! An independent SigV4 verifier for the AWS stand-ins (CloudFront, Step Functions, SQS, Secrets Manager, SSM): the canonical
//! request rebuilt by hand from what arrived (not with the `aws-sigv4` crate
//! the core signs with), so a signing bug cannot hide behind itself.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// What the stand-in expects requests to be signed with: the keys, and the
/// scope (its region and service) a signature must name.
#[derive(Debug, Clone)]
pub struct Expected {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
    pub service: String,
}

/// An incoming request as the verifier needs it.
pub struct Incoming<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// Lowercased names.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    /// Now, in Unix seconds, for the clock-skew check.
    pub now_secs: u64,
}

/// Why an AWS stand-in refuses a request (a signature, a batch): an AWS
/// error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

pub(crate) fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal { code, message: message.into() }
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// `YYYYMMDDTHHMMSSZ` to Unix seconds.
fn parse_amz_date(s: &str) -> Option<u64> {
    if s.len() != 16 || &s[8..9] != "T" || !s.ends_with('Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(4..6)?, num(6..8)?, num(9..11)?, num(11..13)?, num(13..15)?);
    let days = super::days_from_civil(y, u32::try_from(mo).ok()?, u32::try_from(d).ok()?);
    debug_assert_eq!(super::civil_from_days(days), (y, mo as u32, d as u32));
    u64::try_from(days * 86_400 + h * 3600 + mi * 60 + se).ok()
}

/// Checks the `Authorization` header of `req` against `expected`.
pub fn verify(req: &Incoming, expected: &Expected) -> Result<(), Refusal> {
    let auth = header(req.headers, "authorization")
        .ok_or_else(|| refuse("MissingAuthenticationToken", "no Authorization header"))?;
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(|| refuse("IncompleteSignature", "Authorization is not AWS4-HMAC-SHA256"))?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',').map(str::trim) {
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed_headers = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let (credential, signed_headers, signature) = match (credential, signed_headers, signature) {
        (Some(c), Some(h), Some(s)) => (c, h, s),
        _ => return Err(refuse("IncompleteSignature", "Authorization lacks Credential, SignedHeaders or Signature")),
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [key_id, date, region, service, "aws4_request"] = scope[..] else {
        return Err(refuse("IncompleteSignature", format!("bad credential scope {credential}")));
    };
    if key_id != expected.access_key_id {
        return Err(refuse("InvalidClientTokenId", "the access key id is not known"));
    }
    // As AWS words it; the scope each stand-in expects is its own: a regional
    // service's region, `us-east-1` for CloudFront's global endpoint.
    if region != expected.region {
        return Err(refuse(
            "SignatureDoesNotMatch",
            format!(
                "Credential should be scoped to a valid region. (scope {region}, this endpoint is {})",
                expected.region
            ),
        ));
    }
    if service != expected.service {
        return Err(refuse(
            "SignatureDoesNotMatch",
            format!("Credential should be scoped to correct service: '{}'. (scope {service})", expected.service),
        ));
    }
    let amz_date = header(req.headers, "x-amz-date").ok_or_else(|| refuse("IncompleteSignature", "no x-amz-date"))?;
    let signed_at = parse_amz_date(amz_date).ok_or_else(|| refuse("IncompleteSignature", "x-amz-date is malformed"))?;
    if !amz_date.starts_with(date) {
        return Err(refuse("SignatureDoesNotMatch", "credential date and x-amz-date differ"));
    }
    if signed_at.abs_diff(req.now_secs) > 15 * 60 {
        return Err(refuse("RequestExpired", format!("signed at {amz_date}, more than 15 minutes from now")));
    }
    let names: Vec<&str> = signed_headers.split(';').collect();
    for must in ["host", "x-amz-date"] {
        if !names.contains(&must) {
            return Err(refuse("SignatureDoesNotMatch", format!("{must} is not signed")));
        }
    }
    if header(req.headers, "x-amz-security-token").is_some() && !names.contains(&"x-amz-security-token") {
        return Err(refuse("SignatureDoesNotMatch", "x-amz-security-token is not signed"));
    }
    let mut canonical_headers = String::new();
    for name in &names {
        let values: Vec<&str> = req.headers.iter().filter(|(n, _)| n == name).map(|(_, v)| v.trim()).collect();
        if values.is_empty() {
            return Err(refuse("SignatureDoesNotMatch", format!("signed header {name} is missing")));
        }
        let folded: Vec<String> = values.iter().map(|v| v.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
        canonical_headers.push_str(&format!("{name}:{}\n", folded.join(",")));
    }
    let mut query: Vec<(String, String)> = req
        .query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (uri_encode(k, false), uri_encode(v, false))
        })
        .collect();
    query.sort();
    let query: Vec<String> = query.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    let path = if req.path.is_empty() { "/" } else { req.path };
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        uri_encode(path, true),
        query.join("&"),
        canonical_headers,
        signed_headers,
        hex::encode(Sha256::digest(req.body))
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/{service}/aws4_request\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let k_date = hmac(format!("AWS4{}", expected.secret_access_key).as_bytes(), date);
    let k_region = hmac(&k_date, region);
    let k_service = hmac(&k_region, service);
    let k_signing = hmac(&k_service, "aws4_request");
    let expected_signature = hex::encode(hmac(&k_signing, &string_to_sign));
    if expected_signature != signature {
        return Err(refuse(
            "SignatureDoesNotMatch",
            format!("The request signature we calculated does not match the signature you provided. Canonical request:\n{canonical}"),
        ));
    }
    Ok(())
}

/// [`verify`] for a request as axum hands it over, checked against the clock now.
pub fn verify_received(
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    headers: &axum::http::HeaderMap,
    body: &[u8],
    expected: &Expected,
) -> Result<(), Refusal> {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let incoming = Incoming {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        headers: &headers,
        body,
        now_secs: super::now_millis() / 1000,
    };
    verify(&incoming, expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected(region: &str) -> Expected {
        Expected {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "secret".into(),
            region: region.into(),
            service: "cloudfront".into(),
        }
    }

    #[test]
    fn a_signature_scoped_to_another_region_is_refused_as_aws_refuses_it() {
        let now = parse_amz_date("20261124T123456Z").unwrap();
        let headers = |scope: &str| {
            vec![
                ("host".to_string(), "127.0.0.1".to_string()),
                ("x-amz-date".to_string(), "20261124T123456Z".to_string()),
                (
                    "authorization".to_string(),
                    format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261124/{scope}/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"),
                ),
            ]
        };
        let incoming = |h: &[(String, String)]| {
            verify(
                &Incoming { method: "GET", path: "/", query: "", headers: h, body: b"", now_secs: now },
                &expected("us-east-1"),
            )
        };
        let refused = incoming(&headers("eu-west-1/cloudfront")).unwrap_err();
        assert_eq!(refused.code, "SignatureDoesNotMatch");
        assert!(refused.message.starts_with("Credential should be scoped to a valid region."), "{refused:?}");
        let refused = incoming(&headers("us-east-1/sqs")).unwrap_err();
        assert!(refused.message.starts_with("Credential should be scoped to correct service: 'cloudfront'."));
        let refused = incoming(&headers("us-east-1/cloudfront")).unwrap_err();
        assert!(refused.message.starts_with("The request signature we calculated"), "the scope passes: {refused:?}");
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20261124T123456Z"), Some(1_795_523_696));
        assert_eq!(parse_amz_date("2026-11-24"), None);
    }
}
