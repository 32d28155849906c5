//! Secrets as AWS users keep them: a secret setting (`CONTENTFUL_DELIVERY_TOKEN`,
//! `CONTENTFUL_WEBHOOK_SECRET`) is read once at cold start from Secrets
//! Manager when `<NAME>_SECRET_ID` names a secret (its name or ARN;
//! `GetSecretValue`, SigV4 service `secretsmanager`), or from SSM Parameter
//! Store when `<NAME>_PARAMETER` names a parameter (`GetParameter` with
//! decryption, for a SecureString; service `ssm`). Without either, the plain
//! setting is used as before (the CLI, local runs). The calls are signed with
//! the function's own credentials (its role's, from the environment). A
//! secret that cannot be read stops start-up with an error naming the setting
//! and the secret, never its value.

use crate::aws_json;
use invalidator_core::io::HttpClient;
use invalidator_core::settings::{AwsCredentials, SettingsMap};
use invalidator_core::Timestamp;
use serde_json::{json, Value};

/// The settings that may come from a store.
pub const SECRET_SETTINGS: [&str; 4] =
    ["CONTENTFUL_DELIVERY_TOKEN", "CONTENTFUL_WEBHOOK_SECRET", "NOTIFY_URL", "NOTIFY_SECRET"];

/// Where a secret setting is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    SecretsManager { secret_id: String },
    ParameterStore { name: String },
}

/// Why a secret setting could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setting {setting}: {problem}")]
pub struct SecretError {
    pub setting: &'static str,
    /// What went wrong, naming the secret or parameter; never its value.
    pub problem: String,
}

/// Where `setting` is kept, if in a store.
pub fn store_of(map: &SettingsMap, setting: &'static str) -> Result<Option<Store>, SecretError> {
    let get =
        |suffix: &str| map.get(&format!("{setting}{suffix}")).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let plain = map.get(setting).is_some_and(|v| !v.trim().is_empty());
    let store = match (get("_SECRET_ID"), get("_PARAMETER")) {
        (Some(_), Some(_)) => {
            let problem = format!("both {setting}_SECRET_ID and {setting}_PARAMETER are set: name one store");
            return Err(SecretError { setting, problem });
        }
        (Some(secret_id), None) => Store::SecretsManager { secret_id },
        (None, Some(name)) => Store::ParameterStore { name },
        (None, None) => return Ok(None),
    };
    if plain {
        let problem = format!("is set, and also kept in a store ({store:?}): unset one of them");
        return Err(SecretError { setting, problem });
    }
    Ok(Some(store))
}

/// A function's settings as it starts: its environment, with every secret
/// setting kept in a store read into it.
pub async fn load_environment<H: HttpClient>(http: &H) -> Result<SettingsMap, SecretError> {
    use invalidator_core::io::Clock;
    load(crate::env::from_environment(), http, crate::http_client::SystemClock.now()).await
}

/// `map` with every secret setting kept in a store read into it.
pub async fn load<H: HttpClient>(mut map: SettingsMap, http: &H, now: Timestamp) -> Result<SettingsMap, SecretError> {
    for setting in SECRET_SETTINGS {
        let Some(store) = store_of(&map, setting)? else { continue };
        let value = read(&map, setting, &store, http, now).await?;
        map.insert(setting.to_string(), value);
    }
    Ok(map)
}

async fn read<H: HttpClient>(
    map: &SettingsMap,
    setting: &'static str,
    store: &Store,
    http: &H,
    now: Timestamp,
) -> Result<String, SecretError> {
    let fail = |problem: String| SecretError { setting, problem };
    let credentials = AwsCredentials::from_map(map).map_err(|e| fail(format!("cannot read it from a store: {e}")))?;
    let region = credentials.region.clone();
    let (service, endpoint_setting, target, call, what) = match store {
        Store::SecretsManager { secret_id } => (
            "secretsmanager",
            "SECRETSMANAGER_ENDPOINT",
            "secretsmanager.GetSecretValue",
            json!({"SecretId": secret_id}),
            format!("secret {secret_id:?} ({setting}_SECRET_ID)"),
        ),
        Store::ParameterStore { name } => (
            "ssm",
            "SSM_ENDPOINT",
            "AmazonSSM.GetParameter",
            json!({"Name": name, "WithDecryption": true}),
            format!("parameter {name:?} ({setting}_PARAMETER)"),
        ),
    };
    let endpoint = aws_json::endpoint(map, endpoint_setting, service, &region).map_err(|e| fail(e.to_string()))?;
    let request = aws_json::request(&endpoint, aws_json::JSON_1_1, target, &call, &credentials, service, now)
        .map_err(|e| fail(format!("cannot sign the request for {what}: {e}")))?;
    let answer = http.send(request).await.map_err(|e| fail(format!("cannot read {what}: {e}")))?;
    let answer = aws_json::read(&answer).map_err(|e| fail(format!("cannot read {what}: {e}")))?;
    let value = match store {
        Store::SecretsManager { .. } => answer.get("SecretString").and_then(Value::as_str),
        Store::ParameterStore { .. } => answer.pointer("/Parameter/Value").and_then(Value::as_str),
    };
    match value {
        Some(v) if !v.is_empty() => Ok(v.to_string()),
        _ => Err(fail(format!("{what} holds no string value"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> SettingsMap {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_setting_names_one_store_or_none() {
        let id = "arn:aws:secretsmanager:us-east-1:1:secret:token";
        let m = map(&[("CONTENTFUL_DELIVERY_TOKEN_SECRET_ID", id)]);
        assert_eq!(
            store_of(&m, "CONTENTFUL_DELIVERY_TOKEN").unwrap(),
            Some(Store::SecretsManager { secret_id: id.into() })
        );
        assert_eq!(store_of(&m, "CONTENTFUL_WEBHOOK_SECRET").unwrap(), None);
        let both = map(&[("CONTENTFUL_WEBHOOK_SECRET_SECRET_ID", "a"), ("CONTENTFUL_WEBHOOK_SECRET_PARAMETER", "/b")]);
        assert!(store_of(&both, "CONTENTFUL_WEBHOOK_SECRET").unwrap_err().to_string().contains("name one store"));
        let twice = map(&[("CONTENTFUL_WEBHOOK_SECRET_PARAMETER", "/b"), ("CONTENTFUL_WEBHOOK_SECRET", "plain-value")]);
        let e = store_of(&twice, "CONTENTFUL_WEBHOOK_SECRET").unwrap_err().to_string();
        assert!(e.contains("unset one") && !e.contains("plain-value"), "{e}");
    }
}
