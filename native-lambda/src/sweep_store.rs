//! The catch-up sweep's record in DynamoDB: the same table as the path
//! memory (`PATH_MEMORY_TABLE`), reached with the same SigV4-signed calls
//! ([`crate::dynamodb::request`]). One item under its own key: partition
//! `sweep#<distribution ids>` (no entry's partition starts with `sweep#`, a
//! distribution id is upper-case letters and digits), sort key
//! [`RECORD_KEY`]; the [`SweepRecord`] as JSON in `record`, and a `version`
//! number. It stays small: the revisions taken are the core's
//! [`invalidator_core::sweep::Taken`], bounded at `TAKEN_LIMIT` entities
//! (2,048 × about 60 bytes, well under DynamoDB's 400 KB an item).
//!
//! Starters (one per batch the queue delivers, several at once) and the
//! sweep each read, change and write the record. Every write is conditional
//! on the `version` read (`attribute_not_exists` for no item, or one stored
//! before versions, which is read as version 0) and stores the next one; a
//! write DynamoDB refuses with `ConditionalCheckFailedException` (another
//! writer came between) reads the record again and applies its change to
//! that, at most [`WRITE_ATTEMPTS`] times. So no writer overwrites another's
//! taken marks, and no stale position is written back over a newer one.

use crate::dynamodb::{is_conditional_check_failed, read, request, DynamoDbSettings};
use crate::sweep::{SweepRecord, SweepStore};
use invalidator_core::io::{Clock, HttpClient, HttpResponse};
use invalidator_core::webhook::Change;
use serde_json::{json, Value};

/// The record's sort key (`#` starts no entry id, as the path memory's count item).
pub const RECORD_KEY: &str = "#sweep";
/// The attribute holding the record's version, which each write moves on by one.
pub const VERSION_ATTRIBUTE: &str = "version";
/// Writes of one change refused because another writer came between, before
/// giving up: each retry follows a write that did land, so this many in a
/// row means as many writers at once (starters of one batch each, and the sweep).
pub const WRITE_ATTEMPTS: u32 = 8;

/// The sweep's partition for a workflow's distributions.
pub fn partition(distribution_ids: &[String]) -> String {
    format!("sweep#{}", distribution_ids.join(","))
}

/// The sweep's record in the DynamoDB table.
pub struct DynamoSweepStore<'a, H, C> {
    pub http: &'a H,
    pub clock: &'a C,
    pub settings: &'a DynamoDbSettings,
    /// [`partition`] of the workflow's distributions.
    pub partition: String,
}

/// The record as read, and the version its write must find (`None`: no item,
/// or an item stored before versions).
struct Versioned {
    record: SweepRecord,
    version: Option<u64>,
}

impl<H: HttpClient, C: Clock> DynamoSweepStore<'_, H, C> {
    fn key(&self) -> Value {
        json!({"pk": {"S": self.partition}, "sk": {"S": RECORD_KEY}})
    }

    async fn send(&self, operation: &str, body: Value) -> Result<HttpResponse, String> {
        let request = request(self.settings, operation, &body, self.clock.now()).map_err(|f| f.reason)?;
        self.http.send(request).await.map_err(|e| e.to_string())
    }

    async fn load_versioned(&self) -> Result<Versioned, String> {
        let body = json!({"TableName": self.settings.table, "Key": self.key(), "ConsistentRead": true});
        let got = read(&self.send("GetItem", body).await?).map_err(|f| f.reason)?;
        let item = &got["Item"];
        let record = match item["record"]["S"].as_str() {
            Some(text) => {
                serde_json::from_str(text).map_err(|e| format!("the stored sweep record is not readable: {e}"))?
            }
            None => SweepRecord::default(),
        };
        let version = match &item[VERSION_ATTRIBUTE]["N"] {
            Value::Null => None,
            n => Some(
                n.as_str()
                    .and_then(|n| n.parse::<u64>().ok())
                    .ok_or_else(|| format!("the stored sweep record's version is not a number: {n}"))?,
            ),
        };
        Ok(Versioned { record, version })
    }

    /// Writes `record` if the stored version is still `read`; `Ok(false)`
    /// when another writer came between.
    async fn put_if_unchanged(&self, record: &SweepRecord, read_version: Option<u64>) -> Result<bool, String> {
        let mut item = self.key();
        item["record"] = json!({"S": serde_json::to_string(record).expect("JSON")});
        let next = read_version.unwrap_or(0) + 1;
        item[VERSION_ATTRIBUTE] = json!({"N": next.to_string()});
        let mut put = json!({"TableName": self.settings.table, "Item": item,
            "ExpressionAttributeNames": {"#v": VERSION_ATTRIBUTE}});
        match read_version {
            Some(v) => {
                put["ConditionExpression"] = json!("#v = :v");
                put["ExpressionAttributeValues"] = json!({":v": {"N": v.to_string()}});
            }
            None => put["ConditionExpression"] = json!("attribute_not_exists(#v)"),
        }
        let answer = self.send("PutItem", put).await?;
        if is_conditional_check_failed(&answer) {
            return Ok(false);
        }
        read(&answer).map(drop).map_err(|f| f.reason)?;
        Ok(true)
    }
}

impl<H: HttpClient, C: Clock> SweepStore for DynamoSweepStore<'_, H, C> {
    async fn load(&self) -> Result<SweepRecord, String> {
        Ok(self.load_versioned().await?.record)
    }

    async fn update(&self, change: &dyn Fn(&mut SweepRecord)) -> Result<SweepRecord, String> {
        for attempt in 1..=WRITE_ATTEMPTS {
            let Versioned { mut record, version } = self.load_versioned().await?;
            change(&mut record);
            if self.put_if_unchanged(&record, version).await? {
                return Ok(record);
            }
            tracing::info!(attempt, "the sweep's record changed since it was read: reading it again");
        }
        Err(format!("the sweep's record changed under each of {WRITE_ATTEMPTS} writes (as many writers at once)"))
    }
}

/// Records `changes` as taken in (the starter does, once their execution
/// started), so the sweep does not take a webhook's change a second time.
pub async fn record_taken<S: SweepStore>(store: &S, changes: &[Change]) -> Result<(), String> {
    store
        .update(&|record| {
            for change in changes {
                record.taken.record(change);
            }
        })
        .await
        .map(drop)
}
