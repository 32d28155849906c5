//! A DynamoDB stand-in for the path memory, speaking DynamoDB's JSON protocol
//! (`x-amz-target: DynamoDB_20120810.<Operation>`) with its semantics where
//! they matter: every request's SigV4 signature (service `dynamodb`) is
//! checked; only configured tables exist (`ResourceNotFoundException`); keys
//! are the table's (`pk`, `sk`, strings); an item is at most 400 KB;
//! BatchGetItem takes at most 100 keys and BatchWriteItem at most 25
//! requests (`ValidationException` past that, or when one names an item
//! twice); errors carry DynamoDB's
//! `__type` shape; a PutItem's `ConditionExpression` is held against the
//! item it would replace ([`super::dynamodb_condition`]: refused with
//! `ConditionalCheckFailedException`, the item left as it was). GetItem,
//! PutItem, BatchGetItem, BatchWriteItem and Query
//! (`pk = :pk`, paged by `Limit` and `ExclusiveStartKey`). A test may ask the
//! next batch calls to leave some of their work in `UnprocessedItems` /
//! `UnprocessedKeys`, as a throttled table does.

use super::sigv4_check::{self, Expected};
use super::RequestLog;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// DynamoDB's largest item, attribute names and values included.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// BatchGetItem's most keys per call.
pub const MAX_BATCH_GET: usize = 100;
/// BatchWriteItem's most put and delete requests per call.
pub const MAX_BATCH_WRITE: usize = 25;
const TARGET_PREFIX: &str = "DynamoDB_20120810.";
const ERROR_PREFIX: &str = "com.amazonaws.dynamodb.v20120810#";

/// An item's key: (`pk`, `sk`).
type Key = (String, String);
/// A table's items by key.
type Table = BTreeMap<Key, Map<String, Value>>;

pub struct DynamoDbState {
    pub expected: Expected,
    pub tables: Mutex<BTreeMap<String, Table>>,
    /// Batch calls that are still to leave one request unprocessed.
    pub unprocessed_batches: AtomicU32,
    pub log: RequestLog,
}

impl DynamoDbState {
    /// The stand-in for the test credentials (`AKIDEXAMPLE`) in
    /// [`super::DEFAULT_REGION`], with `tables`.
    pub fn local(tables: &[&str]) -> Arc<DynamoDbState> {
        Self::in_region(super::DEFAULT_REGION, tables)
    }

    /// The same in `region`: a signature scoped to another is refused.
    pub fn in_region(region: &str, tables: &[&str]) -> Arc<DynamoDbState> {
        Arc::new(DynamoDbState {
            expected: super::expected_in(region, "dynamodb"),
            tables: Mutex::new(tables.iter().map(|t| (t.to_string(), Table::new())).collect()),
            unprocessed_batches: AtomicU32::new(0),
            log: RequestLog::default(),
        })
    }

    /// Every item of `table`, for assertions.
    pub fn items(&self, table: &str) -> Vec<Map<String, Value>> {
        self.tables.lock().unwrap().get(table).map(|t| t.values().cloned().collect()).unwrap_or_default()
    }
}

type Shared = Arc<DynamoDbState>;

/// Serves the stand-in on a free port of 127.0.0.1.
pub async fn serve(state: Shared) -> std::io::Result<(std::net::SocketAddr, Shared)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let app = Router::new().route("/", post(handle)).with_state(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((addr, state))
}

/// A refusal: status, `__type` (without its prefix) and message.
struct Refusal(StatusCode, &'static str, String);

fn invalid(message: impl Into<String>) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, "ValidationException", message.into())
}

async fn handle(State(s): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let answer = match answer(&s, &method, &uri, &headers, &body, &target) {
        Ok(v) => (StatusCode::OK, v),
        Err(Refusal(status, kind, message)) => {
            (status, json!({"__type": format!("{ERROR_PREFIX}{kind}"), "message": message}))
        }
    };
    s.log.record("dynamodb", &method, &uri, answer.0.as_u16(), target);
    (answer.0, [("content-type", "application/x-amz-json-1.0")], answer.1.to_string()).into_response()
}

fn answer(
    s: &DynamoDbState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    target: &str,
) -> Result<Value, Refusal> {
    sigv4_check::verify_received(method, uri, headers, body, &s.expected).map_err(|r| {
        // DynamoDB's names for the refusals: an unknown key, or a signature
        // (its scope's region included) that does not match.
        let kind = match r.code {
            "InvalidClientTokenId" => "UnrecognizedClientException",
            "MissingAuthenticationToken" => "MissingAuthenticationTokenException",
            "IncompleteSignature" => "IncompleteSignatureException",
            _ => "InvalidSignatureException",
        };
        Refusal(StatusCode::BAD_REQUEST, kind, format!("{}: {}", r.code, r.message))
    })?;
    let request: Value = serde_json::from_slice(body).map_err(|e| {
        Refusal(StatusCode::BAD_REQUEST, "SerializationException", format!("the body is not JSON: {e}"))
    })?;
    let mut tables = s.tables.lock().unwrap();
    match target.strip_prefix(TARGET_PREFIX).unwrap_or_default() {
        "GetItem" => {
            let table = table(&mut tables, &request["TableName"])?;
            let key = key_of(&request["Key"])?;
            Ok(match table.get(&key) {
                Some(item) => json!({"Item": item}),
                None => json!({}),
            })
        }
        "PutItem" => {
            let table = table(&mut tables, &request["TableName"])?;
            let item = request["Item"].as_object().ok_or_else(|| invalid("Item is required"))?.clone();
            let key = key_of(&Value::Object(item.clone()))?;
            check_size(&item)?;
            super::dynamodb_condition::check(&request, table.get(&key))
                .map_err(|r| Refusal(StatusCode::BAD_REQUEST, r.kind, r.message))?;
            let old = table.insert(key, item);
            let wants_old = request["ReturnValues"] == "ALL_OLD";
            Ok(match old {
                Some(old) if wants_old => json!({"Attributes": old}),
                _ => json!({}),
            })
        }
        "BatchGetItem" => {
            let asked = request["RequestItems"].as_object().ok_or_else(|| invalid("RequestItems is required"))?;
            let count: usize = asked.values().map(|t| t["Keys"].as_array().map_or(0, Vec::len)).sum();
            if count > MAX_BATCH_GET {
                return Err(invalid(format!(
                    "Too many items requested for the BatchGetItem call: {count}, at most {MAX_BATCH_GET}"
                )));
            }
            for spec in asked.values() {
                no_duplicate_keys(spec["Keys"].as_array().into_iter().flatten())?;
            }
            let mut leave_one = take_unprocessed(s);
            let (mut responses, mut unprocessed) = (Map::new(), Map::new());
            for (name, spec) in asked {
                let table = table(&mut tables, &json!(name))?;
                let mut found = Vec::new();
                for k in spec["Keys"].as_array().into_iter().flatten() {
                    if leave_one {
                        leave_one = false;
                        unprocessed.insert(name.clone(), json!({"Keys": [k]}));
                        continue;
                    }
                    if let Some(item) = table.get(&key_of(k)?) {
                        found.push(Value::Object(item.clone()));
                    }
                }
                responses.insert(name.clone(), Value::Array(found));
            }
            Ok(json!({"Responses": responses, "UnprocessedKeys": unprocessed}))
        }
        "BatchWriteItem" => {
            let asked = request["RequestItems"].as_object().ok_or_else(|| invalid("RequestItems is required"))?;
            let count: usize = asked.values().map(|r| r.as_array().map_or(0, Vec::len)).sum();
            if count == 0 || count > MAX_BATCH_WRITE {
                return Err(invalid(format!("BatchWriteItem takes 1 to {MAX_BATCH_WRITE} requests, this has {count}")));
            }
            for writes in asked.values() {
                let keys = writes.as_array().into_iter().flatten().map(|w| match w["PutRequest"]["Item"].is_object() {
                    true => &w["PutRequest"]["Item"],
                    false => &w["DeleteRequest"]["Key"],
                });
                no_duplicate_keys(keys)?;
            }
            let mut leave_one = take_unprocessed(s);
            let mut unprocessed = Map::new();
            for (name, writes) in asked {
                let table = table(&mut tables, &json!(name))?;
                for w in writes.as_array().into_iter().flatten() {
                    if leave_one {
                        leave_one = false;
                        unprocessed.insert(name.clone(), json!([w]));
                        continue;
                    }
                    if let Some(item) = w["PutRequest"]["Item"].as_object() {
                        check_size(item)?;
                        table.insert(key_of(&Value::Object(item.clone()))?, item.clone());
                    } else if w["DeleteRequest"]["Key"].is_object() {
                        table.remove(&key_of(&w["DeleteRequest"]["Key"])?);
                    } else {
                        return Err(invalid("each write is a PutRequest or a DeleteRequest"));
                    }
                }
            }
            Ok(json!({"UnprocessedItems": unprocessed}))
        }
        "Query" => {
            let table = table(&mut tables, &request["TableName"])?;
            if request["KeyConditionExpression"] != "pk = :pk" {
                return Err(invalid("the stand-in answers the KeyConditionExpression \"pk = :pk\" only"));
            }
            let pk = request["ExpressionAttributeValues"][":pk"]["S"]
                .as_str()
                .ok_or_else(|| invalid("ExpressionAttributeValues :pk must be a string"))?;
            let start = match request.get("ExclusiveStartKey") {
                Some(k) => Some(key_of(k)?),
                None => None,
            };
            let limit = request["Limit"].as_u64().unwrap_or(u64::MAX) as usize;
            let matching: Vec<(&Key, &Map<String, Value>)> = table
                .iter()
                .filter(|((p, _), _)| p == pk)
                .filter(|(k, _)| start.as_ref().is_none_or(|s| *k > s))
                .collect();
            let page: Vec<Value> = matching.iter().take(limit).map(|(_, i)| Value::Object((*i).clone())).collect();
            let mut out = json!({"Items": page, "Count": page.len()});
            if matching.len() > limit {
                let (p, s) = matching[limit - 1].0;
                out["LastEvaluatedKey"] = json!({"pk": {"S": p}, "sk": {"S": s}});
            }
            Ok(out)
        }
        other => Err(Refusal(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            format!("the stand-in does not answer {other:?} ({target:?})"),
        )),
    }
}

/// DynamoDB refuses a batch that names one item twice.
fn no_duplicate_keys<'a>(items: impl Iterator<Item = &'a Value>) -> Result<(), Refusal> {
    let mut seen = std::collections::BTreeSet::new();
    for item in items {
        if !seen.insert(key_of(item)?) {
            return Err(invalid("Provided list of item keys contains duplicates"));
        }
    }
    Ok(())
}

fn take_unprocessed(s: &DynamoDbState) -> bool {
    s.unprocessed_batches.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
}

fn table<'a>(tables: &'a mut BTreeMap<String, Table>, name: &Value) -> Result<&'a mut Table, Refusal> {
    let name = name.as_str().ok_or_else(|| invalid("TableName is required"))?;
    tables.get_mut(name).ok_or_else(|| {
        Refusal(
            StatusCode::BAD_REQUEST,
            "ResourceNotFoundException",
            format!("Requested resource not found: Table: {name} not found"),
        )
    })
}

/// The table's key: `pk` and `sk`, both strings, as DynamoDB checks a key
/// against the table's key schema.
fn key_of(item: &Value) -> Result<Key, Refusal> {
    let part = |name: &str| {
        item[name]["S"].as_str().filter(|s| !s.is_empty()).map(str::to_string).ok_or_else(|| {
            invalid(format!("One or more parameter values were invalid: Missing the key {name} in the item"))
        })
    };
    Ok((part("pk")?, part("sk")?))
}

fn check_size(item: &Map<String, Value>) -> Result<(), Refusal> {
    // Attribute names and values, as DynamoDB counts an item's size.
    let bytes: usize = item.iter().map(|(k, v)| k.len() + v.to_string().len()).sum();
    if bytes > MAX_ITEM_BYTES {
        return Err(invalid("Item size has exceeded the maximum allowed size"));
    }
    Ok(())
}
