//! The Lambda body's path memory: a DynamoDB table reached with raw SigV4
//! requests (service `dynamodb`, JSON protocol `DynamoDB_20120810.*`), like
//! every other AWS call here. One item per entry: partition key `pk` the
//! distribution id(s), sort key `sk` the entry id, the core's [`Memory`] as
//! JSON in `memory` and its `used_at` as a number; beside them one count item
//! (`sk` = [`COUNT_KEY`]). Past `PATH_MEMORY_ENTRIES` the least recently used
//! are dropped, down to nine tenths, so the listing this takes is paid once
//! per many writes. What to keep and answer is the core's [`Memory::update`].

use invalidator_core::io::{Clock, HttpClient, HttpRequest, HttpResponse};
use invalidator_core::memory::{Memory, PathMemory, Remember};
use invalidator_core::observed::Observed;
use invalidator_core::retry::Failure;
use invalidator_core::settings::{AwsCredentials, SettingsError, SettingsMap};
use invalidator_core::sigv4::sign_request;
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;

/// The count item's sort key: `#` starts no Contentful entry id.
pub const COUNT_KEY: &str = "#count";
/// BatchWriteItem's most requests per call (DynamoDB's limit).
const BATCH_WRITE_MAX: usize = 25;
/// BatchGetItem's most keys per call (DynamoDB's limit).
const BATCH_GET_MAX: usize = 100;
/// Calls made for one batch's `UnprocessedItems` before giving up.
const UNPROCESSED_ATTEMPTS: u32 = 5;

/// Where the memory lives: `PATH_MEMORY_TABLE` (unset: no memory) and
/// `DYNAMODB_ENDPOINT`.
#[derive(Debug, Clone)]
pub struct DynamoDbSettings {
    pub table: String,
    pub endpoint: String,
    pub credentials: AwsCredentials,
}

impl DynamoDbSettings {
    /// `None` when `PATH_MEMORY_TABLE` is unset: every recall then answers
    /// nothing remembered.
    pub fn from_map(map: &SettingsMap) -> Result<Option<Self>, SettingsError> {
        let get = |name: &str| map.get(name).map(|s| s.trim()).filter(|s| !s.is_empty());
        let Some(table) = get("PATH_MEMORY_TABLE") else {
            return Ok(None);
        };
        let valid =
            (3..=255).contains(&table.len()) && table.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        if !valid {
            return Err(SettingsError {
                name: "PATH_MEMORY_TABLE",
                problem: "a DynamoDB table name is 3 to 255 of a-z, A-Z, 0-9, '_', '-' and '.'".into(),
            });
        }
        let credentials = AwsCredentials::from_map(map)?;
        let default = format!("https://dynamodb.{}.amazonaws.com", credentials.region);
        let endpoint = get("DYNAMODB_ENDPOINT").unwrap_or(&default);
        if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
            return Err(SettingsError {
                name: "DYNAMODB_ENDPOINT",
                problem: format!("must be an http(s) URL, got {endpoint:?}"),
            });
        }
        Ok(Some(DynamoDbSettings {
            table: table.to_string(),
            endpoint: endpoint.trim_end_matches('/').to_string(),
            credentials,
        }))
    }
}

/// One DynamoDB call, signed.
pub fn request(
    s: &DynamoDbSettings,
    operation: &str,
    body: &Value,
    now: invalidator_core::Timestamp,
) -> Result<HttpRequest, Failure> {
    let mut request = http::Request::post(format!("{}/", s.endpoint))
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("DynamoDB_20120810.{operation}"))
        .body(serde_json::to_vec(body).expect("JSON"))
        .expect("a valid request");
    sign_request(&mut request, &s.credentials, "dynamodb", now).map_err(|e| Failure::permanent(e.to_string()))?;
    Ok(request)
}

/// The answer's JSON, or DynamoDB's error as a failure: throttling and 5xx
/// are transient, anything else (a missing table, a refused item) is not.
pub fn read(response: &HttpResponse) -> Result<Value, Failure> {
    let body: Value = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
    if response.status().is_success() {
        return Ok(body);
    }
    let kind = error_kind(&body);
    let message = body["message"].as_str().or(body["Message"].as_str()).unwrap_or_default();
    let reason = format!("DynamoDB answered {} {kind}: {message}", response.status().as_u16());
    let transient = response.status().is_server_error()
        || matches!(
            kind.as_str(),
            "ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded"
        );
    Err(if transient { Failure::transient(reason) } else { Failure::permanent(reason) })
}

/// DynamoDB's error kind in an answer's body: its `__type` without the prefix.
fn error_kind(body: &Value) -> String {
    body["__type"].as_str().unwrap_or_default().rsplit('#').next().unwrap_or_default().to_string()
}

/// The kind of error DynamoDB answers a write whose `ConditionExpression`
/// does not hold: someone else wrote the item since it was read.
pub const CONDITIONAL_CHECK_FAILED: &str = "ConditionalCheckFailedException";

/// Whether `response` refuses a write because its condition does not hold.
pub fn is_conditional_check_failed(response: &HttpResponse) -> bool {
    let body: Value = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
    response.status().as_u16() == 400 && error_kind(&body) == CONDITIONAL_CHECK_FAILED
}

/// The path memory of one workflow's distributions in the table.
pub struct DynamoMemory<'a, H, C> {
    pub http: &'a H,
    pub clock: &'a C,
    pub settings: &'a DynamoDbSettings,
    /// The partition: the workflow's distribution ids, comma-separated.
    pub partition: String,
    pub max_entries: usize,
}

fn key(pk: &str, sk: &str) -> Value {
    json!({"pk": {"S": pk}, "sk": {"S": sk}})
}

impl<H: HttpClient, C: Clock> DynamoMemory<'_, H, C> {
    async fn call(&self, operation: &str, body: Value) -> Result<Value, Failure> {
        let request = request(self.settings, operation, &body, self.clock.now())?;
        let response = self.http.send(request).await?;
        read(&response)
    }

    async fn recall_from_table(&self, entry_id: &str, remember: Option<Remember>) -> Result<Vec<String>, Failure> {
        let table = &self.settings.table;
        let got = self
            .call("GetItem", json!({"TableName": table, "Key": key(&self.partition, entry_id), "ConsistentRead": true}))
            .await?;
        let stored: Option<Memory> = match got["Item"]["memory"]["S"].as_str() {
            Some(text) => Some(
                serde_json::from_str(text)
                    .map_err(|e| Failure::permanent(format!("a stored memory is not readable: {e}")))?,
            ),
            None => None,
        };
        let was_new = stored.is_none();
        let (kept, recalled) = Memory::update(stored, remember, self.clock.now().as_millis());
        if let Some(memory) = kept {
            self.call("PutItem", json!({"TableName": table, "Item": self.item(entry_id, &memory)})).await?;
            if was_new {
                self.count_more(1).await?;
            }
        }
        Ok(recalled)
    }

    async fn count_more(&self, added: usize) -> Result<(), Failure> {
        let table = &self.settings.table;
        let got = self
            .call(
                "GetItem",
                json!({"TableName": table, "Key": key(&self.partition, COUNT_KEY), "ConsistentRead": true}),
            )
            .await?;
        let count = got["Item"]["count"]["N"].as_str().and_then(|n| n.parse::<usize>().ok()).unwrap_or(0) + added;
        if count > self.max_entries {
            return self.drop_least_recently_used().await;
        }
        self.put_count(count).await
    }

    async fn put_count(&self, count: usize) -> Result<(), Failure> {
        let mut item = key(&self.partition, COUNT_KEY);
        item["count"] = json!({"N": count.to_string()});
        self.call("PutItem", json!({"TableName": self.settings.table, "Item": item})).await.map(drop)
    }

    async fn drop_least_recently_used(&self) -> Result<(), Failure> {
        let mut used: Vec<(u64, String)> = Vec::new();
        let mut start: Option<Value> = None;
        loop {
            let mut query = json!({"TableName": self.settings.table, "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": self.partition}},
                "ProjectionExpression": "sk, used_at", "ConsistentRead": true});
            if let Some(s) = start.take() {
                query["ExclusiveStartKey"] = s;
            }
            let page = self.call("Query", query).await?;
            for item in page["Items"].as_array().into_iter().flatten() {
                let sk = item["sk"]["S"].as_str().unwrap_or_default();
                if sk != COUNT_KEY {
                    let at = item["used_at"]["N"].as_str().and_then(|n| n.parse().ok()).unwrap_or(0);
                    used.push((at, sk.to_string()));
                }
            }
            match page.get("LastEvaluatedKey") {
                Some(k) => start = Some(k.clone()),
                None => break,
            }
        }
        used.sort();
        let keep = self.max_entries - self.max_entries / 10;
        let drop = used.len().saturating_sub(keep);
        for chunk in used[..drop].chunks(BATCH_WRITE_MAX) {
            let deletes: Vec<Value> =
                chunk.iter().map(|(_, sk)| json!({"DeleteRequest": {"Key": key(&self.partition, sk)}})).collect();
            self.batch_write(deletes).await?;
        }
        self.put_count(used.len() - drop).await
    }

    /// Keeps entries read elsewhere: their records read 100 keys a
    /// BatchGetItem, decided by the core's [`Memory::observe`], written 25 a
    /// BatchWriteItem; new records count toward the bound.
    async fn observe_in_table(&self, seen: Vec<Observed>) -> Result<(), Failure> {
        let now = self.clock.now().as_millis();
        let mut added = 0;
        for chunk in seen.chunks(BATCH_GET_MAX) {
            let stored = self.batch_get(chunk.iter().map(|o| o.entry_id.as_str())).await?;
            let mut writes = Vec::new();
            for o in chunk {
                let old = stored.get(&o.entry_id);
                if let Some(memory) = Memory::observe(old, &o.remember, now) {
                    added += usize::from(old.is_none());
                    writes.push(json!({"PutRequest": {"Item": self.item(&o.entry_id, &memory)}}));
                }
            }
            for batch in writes.chunks(BATCH_WRITE_MAX) {
                self.batch_write(batch.to_vec()).await?;
            }
        }
        if added > 0 {
            self.count_more(added).await?;
        }
        Ok(())
    }

    /// The records of `entry_ids` (at most 100, distinct), asking again for
    /// what comes back unprocessed.
    async fn batch_get<'k>(
        &self,
        entry_ids: impl Iterator<Item = &'k str>,
    ) -> Result<std::collections::BTreeMap<String, Memory>, Failure> {
        let table = self.settings.table.clone();
        let mut keys: Vec<Value> = entry_ids.map(|id| key(&self.partition, id)).collect();
        let mut found = std::collections::BTreeMap::new();
        for _ in 0..UNPROCESSED_ATTEMPTS {
            let asked = json!({"RequestItems": {table.clone(): {"Keys": keys, "ConsistentRead": true}}});
            let answer = self.call("BatchGetItem", asked).await?;
            for item in answer["Responses"][&table].as_array().into_iter().flatten() {
                if let (Some(sk), Some(text)) = (item["sk"]["S"].as_str(), item["memory"]["S"].as_str()) {
                    let memory = serde_json::from_str(text)
                        .map_err(|e| Failure::permanent(format!("a stored memory is not readable: {e}")))?;
                    found.insert(sk.to_string(), memory);
                }
            }
            keys = answer["UnprocessedKeys"][&table]["Keys"].as_array().cloned().unwrap_or_default();
            if keys.is_empty() {
                return Ok(found);
            }
        }
        Err(Failure::transient(format!("DynamoDB left {} key(s) unprocessed {UNPROCESSED_ATTEMPTS} times", keys.len())))
    }

    fn item(&self, entry_id: &str, memory: &Memory) -> Value {
        let mut item = key(&self.partition, entry_id);
        item["memory"] = json!({"S": serde_json::to_string(memory).expect("JSON")});
        item["used_at"] = json!({"N": memory.used_at.to_string()});
        item
    }

    /// One BatchWriteItem, sending again what comes back unprocessed.
    async fn batch_write(&self, mut writes: Vec<Value>) -> Result<(), Failure> {
        for _ in 0..UNPROCESSED_ATTEMPTS {
            let answer =
                self.call("BatchWriteItem", json!({"RequestItems": {self.settings.table.clone(): writes}})).await?;
            writes = answer["UnprocessedItems"][&self.settings.table].as_array().cloned().unwrap_or_default();
            if writes.is_empty() {
                return Ok(());
            }
        }
        Err(Failure::transient(format!(
            "DynamoDB left {} write(s) unprocessed {UNPROCESSED_ATTEMPTS} times",
            writes.len()
        )))
    }
}

impl<H: HttpClient, C: Clock> PathMemory for DynamoMemory<'_, H, C> {
    fn recall<'a>(
        &'a self,
        entry_id: &'a str,
        remember: Option<Remember>,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<String>, Failure>> + 'a>> {
        Box::pin(self.recall_from_table(entry_id, remember))
    }

    fn observe<'a>(&'a self, seen: Vec<Observed>) -> Pin<Box<dyn Future<Output = Result<(), Failure>> + 'a>> {
        Box::pin(self.observe_in_table(seen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> SettingsMap {
        let mut m: SettingsMap = [("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"), ("AWS_SECRET_ACCESS_KEY", "secret")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        m.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        m
    }

    #[test]
    fn the_table_is_optional_and_checked_when_given() {
        assert!(DynamoDbSettings::from_map(&map(&[])).unwrap().is_none());
        let s = DynamoDbSettings::from_map(&map(&[("PATH_MEMORY_TABLE", "invalidator-memory")])).unwrap().unwrap();
        assert_eq!(s.endpoint, "https://dynamodb.us-east-1.amazonaws.com");
        let bad = DynamoDbSettings::from_map(&map(&[("PATH_MEMORY_TABLE", "no spaces")])).unwrap_err();
        assert_eq!(bad.name, "PATH_MEMORY_TABLE");
    }

    #[test]
    fn errors_are_transient_only_when_retrying_can_help() {
        let answer = |status: u16, kind: &str| {
            let body = json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": "m"});
            http::Response::builder().status(status).body(serde_json::to_vec(&body).unwrap()).unwrap()
        };
        let throttled = read(&answer(400, "ProvisionedThroughputExceededException")).unwrap_err();
        assert_eq!(throttled.class, Failure::transient("").class);
        let missing = read(&answer(400, "ResourceNotFoundException")).unwrap_err();
        assert_eq!(missing.class, Failure::permanent("").class);
        assert!(missing.reason.contains("ResourceNotFoundException"));
    }
}
