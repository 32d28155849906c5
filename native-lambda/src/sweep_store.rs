//! The catch-up sweep's record in DynamoDB: the same table as the path
//! memory (`PATH_MEMORY_TABLE`), reached with the same SigV4-signed calls
//! ([`crate::dynamodb::request`]). One item under its own key: partition
//! `sweep#<distribution ids>` (no entry's partition starts with `sweep#`, a
//! distribution id is upper-case letters and digits), sort key
//! [`RECORD_KEY`]; the [`SweepRecord`] as JSON in `record`. It stays small:
//! the revisions taken are the core's [`invalidator_core::sweep::Taken`],
//! bounded at `TAKEN_LIMIT` entities (2,048 × about 60 bytes, well under
//! DynamoDB's 400 KB an item).

use crate::dynamodb::{read, request, DynamoDbSettings};
use crate::sweep::{SweepRecord, SweepStore};
use invalidator_core::io::{Clock, HttpClient};
use invalidator_core::webhook::Change;
use serde_json::{json, Value};

/// The record's sort key (`#` starts no entry id, as the path memory's count item).
pub const RECORD_KEY: &str = "#sweep";

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

impl<H: HttpClient, C: Clock> DynamoSweepStore<'_, H, C> {
    fn key(&self) -> Value {
        json!({"pk": {"S": self.partition}, "sk": {"S": RECORD_KEY}})
    }

    async fn call(&self, operation: &str, body: Value) -> Result<Value, String> {
        let request = request(self.settings, operation, &body, self.clock.now()).map_err(|f| f.reason)?;
        let response = self.http.send(request).await.map_err(|e| e.to_string())?;
        read(&response).map_err(|f| f.reason)
    }
}

impl<H: HttpClient, C: Clock> SweepStore for DynamoSweepStore<'_, H, C> {
    async fn load(&self) -> Result<SweepRecord, String> {
        let got = self
            .call("GetItem", json!({"TableName": self.settings.table, "Key": self.key(), "ConsistentRead": true}))
            .await?;
        match got["Item"]["record"]["S"].as_str() {
            Some(text) => {
                serde_json::from_str(text).map_err(|e| format!("the stored sweep record is not readable: {e}"))
            }
            None => Ok(SweepRecord::default()),
        }
    }

    async fn save(&self, record: &SweepRecord) -> Result<(), String> {
        let mut item = self.key();
        item["record"] = json!({"S": serde_json::to_string(record).expect("JSON")});
        self.call("PutItem", json!({"TableName": self.settings.table, "Item": item})).await.map(drop)
    }
}

/// Records `changes` as taken in (the starter does, once their execution
/// started), so the sweep does not take a webhook's change a second time.
pub async fn record_taken<S: SweepStore>(store: &S, changes: &[Change]) -> Result<(), String> {
    let mut record = store.load().await?;
    for change in changes {
        record.taken.record(change);
    }
    store.save(&record).await
}
