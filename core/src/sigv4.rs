//! AWS Signature Version 4 for the requests the core builds, with the
//! `aws-sigv4` crate and the signing time passed in.

use crate::io::HttpRequest;
use crate::settings::AwsCredentials;
use crate::time::Timestamp;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

/// Why a request could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not sign the request: {0}")]
pub struct SignError(String);

impl SignError {
    pub(crate) fn from_http(message: String) -> Self {
        SignError(message)
    }
}

/// Adds `x-amz-date`, `x-amz-security-token` (with a session token) and
/// `authorization` to `request`, signing every header it already has.
pub fn sign_request(
    request: &mut HttpRequest,
    credentials: &AwsCredentials,
    service: &str,
    now: Timestamp,
) -> Result<(), SignError> {
    let identity: Identity = Credentials::new(
        credentials.access_key_id.expose(),
        credentials.secret_access_key.expose(),
        credentials.session_token.as_ref().map(|t| t.expose().to_string()),
        None,
        "invalidator-settings",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&credentials.region)
        .name(service)
        .time(now.to_system_time())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| SignError(e.to_string()))?
        .into();
    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .map(|(k, v)| Ok((k.as_str(), v.to_str().map_err(|_| SignError(format!("header {k} is not text")))?)))
        .collect::<Result<_, SignError>>()?;
    let uri = request.uri().to_string();
    let signable = SignableRequest::new(
        request.method().as_str(),
        uri.as_str(),
        headers.into_iter(),
        SignableBody::Bytes(request.body()),
    )
    .map_err(|e| SignError(e.to_string()))?;
    let (instructions, _signature) = sign(signable, &params).map_err(|e| SignError(e.to_string()))?.into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}
