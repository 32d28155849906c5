//! Secrets Manager (`secretsmanager.GetSecretValue`) and SSM Parameter Store
//! (`AmazonSSM.GetParameter`) stand-ins on one port, AWS JSON 1.1 protocol,
//! with the real services' semantics where the functions rely on them: an
//! independent SigV4 check whose scope must name the operation's service
//! (`secretsmanager` or `ssm`); a secret is found by name or ARN
//! (`ResourceNotFoundException` otherwise); a parameter by name
//! (`ParameterNotFound`), a SecureString's value decrypted only with
//! `WithDecryption`; errors are `{"__type", "message"}`. Every read is logged
//! with the id asked for, never the value.

use super::sigv4_check::{self, Expected};
use super::RequestLog;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A secret kept in Secrets Manager.
#[derive(Debug, Clone)]
pub struct StoredSecret {
    pub name: String,
    pub value: String,
}

impl StoredSecret {
    /// Its ARN, as Secrets Manager forms it (name, dash, six characters).
    pub fn arn(&self, region: &str) -> String {
        format!("arn:aws:secretsmanager:{region}:123456789012:secret:{}-AbCdEf", self.name)
    }
}

pub struct SecretsState {
    /// Credentials and region; the service is taken from the operation.
    pub expected: Expected,
    pub secrets: Vec<StoredSecret>,
    /// SSM parameters by name: (type, value).
    pub parameters: BTreeMap<String, (String, String)>,
    pub log: RequestLog,
}

type Shared = Arc<SecretsState>;

struct Refusal(StatusCode, String, String);

fn json_11(status: StatusCode, body: Value) -> Response {
    (status, [("content-type", "application/x-amz-json-1.1")], body.to_string()).into_response()
}

async fn call(State(s): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let (service, answer) = match answer(&s, &method, &uri, &headers, &body, &target) {
        Ok((service, value, asked)) => (service, (json_11(StatusCode::OK, value), format!("{target} {asked}"))),
        Err(Refusal(status, code, message)) => {
            ("secrets", (json_11(status, json!({"__type": code, "message": message})), format!("{target} {code}")))
        }
    };
    let (response, detail) = answer;
    s.log.record(service, &method, &uri, response.status().as_u16(), detail);
    response
}

fn answer(
    s: &SecretsState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    target: &str,
) -> Result<(&'static str, Value, String), Refusal> {
    let service = match target.split_once('.').map(|(p, _)| p) {
        Some("secretsmanager") => "secretsmanager",
        Some("AmazonSSM") => "ssm",
        _ => {
            let why = format!("unknown operation {target:?}");
            return Err(Refusal(StatusCode::BAD_REQUEST, "UnknownOperationException".into(), why));
        }
    };
    let expected = Expected { service: service.into(), ..s.expected.clone() };
    sigv4_check::verify_received(method, uri, headers, body, &expected)
        .map_err(|r| Refusal(StatusCode::FORBIDDEN, r.code.to_string(), r.message))?;
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type != "application/x-amz-json-1.1" {
        let why = format!("content-type {content_type:?} is not AWS JSON 1.1");
        return Err(Refusal(StatusCode::BAD_REQUEST, "SerializationException".into(), why));
    }
    let call: Value = serde_json::from_slice(body)
        .map_err(|e| Refusal(StatusCode::BAD_REQUEST, "SerializationException".into(), e.to_string()))?;
    let bad = |code: &str, message: String| Refusal(StatusCode::BAD_REQUEST, code.into(), message);
    match target {
        "secretsmanager.GetSecretValue" => {
            let id = call["SecretId"]
                .as_str()
                .ok_or_else(|| bad("InvalidParameterException", "SecretId is required".into()))?;
            let region = &s.expected.region;
            let secret = s.secrets.iter().find(|x| x.name == id || x.arn(region) == id).ok_or_else(|| {
                bad("ResourceNotFoundException", "Secrets Manager can't find the specified secret.".into())
            })?;
            let value = json!({"ARN": secret.arn(region), "Name": secret.name, "SecretString": secret.value,
                "VersionId": "00000000-0000-4000-8000-000000000001", "VersionStages": ["AWSCURRENT"]});
            Ok(("secretsmanager", value, id.to_string()))
        }
        "AmazonSSM.GetParameter" => {
            let name = call["Name"].as_str().ok_or_else(|| bad("ValidationException", "Name is required".into()))?;
            let (kind, value) = s.parameters.get(name).ok_or_else(|| bad("ParameterNotFound", String::new()))?;
            let decrypt = call["WithDecryption"].as_bool().unwrap_or(false);
            // Without decryption SSM hands back a SecureString's ciphertext.
            let value = if kind == "SecureString" && !decrypt {
                format!("AQICAH-encrypted-{}", value.len())
            } else {
                value.clone()
            };
            let answer = json!({"Parameter": {"Name": name, "Type": kind, "Value": value, "Version": 1,
                "ARN": format!("arn:aws:ssm:{}:123456789012:parameter{name}", s.expected.region)}});
            Ok(("ssm", answer, name.to_string()))
        }
        other => Err(bad("UnknownOperationException", format!("the stand-in does not answer {other:?}"))),
    }
}

/// Serves both stand-ins on a free 127.0.0.1 port, on the current runtime.
pub async fn serve(state: Shared) -> std::io::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let app = Router::new().route("/", post(call)).with_state(state);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}
