//! Path memory in the Durable Object's storage: each entry's last planned
//! paths and tags under its own key (`memory/e/<entry id>`), never inside the
//! workflow value; at most `PATH_MEMORY_ENTRIES` of them, the least recently
//! used dropped first. What to keep and answer is the core's
//! [`Memory::update`]; this only reads and writes.

use crate::clock::WorkerClock;
use crate::stored;
use futures::future::LocalBoxFuture;
use invalidator_core::io::Clock;
use invalidator_core::memory::{Memory, PathMemory, Remember};
use invalidator_core::observed::Observed;
use invalidator_core::retry::Failure;
use std::collections::BTreeMap;
use worker::js_sys::{Object, Reflect};
use worker::wasm_bindgen::JsValue;
use worker::{ListOptions, Result, Storage};

/// Where every entry's memory key starts.
const ENTRY: &str = "memory/e/";
/// How many entry keys there are (kept beside them, so a write need not list them).
const COUNT: &str = "memory/count";

/// One distribution's path memory (the Durable Object is the distribution's).
pub struct DurableMemory {
    storage: Storage,
    max_entries: usize,
}

impl DurableMemory {
    /// The memory in `storage`, holding at most `max_entries` entries.
    pub fn new(storage: Storage, max_entries: usize) -> Self {
        DurableMemory { storage, max_entries }
    }

    async fn recall_from_storage(&self, entry_id: &str, remember: Option<Remember>) -> Result<Vec<String>> {
        let key = format!("{ENTRY}{entry_id}");
        let stored: Option<Memory> = stored::get(&self.storage, &key).await?;
        let was_new = stored.is_none();
        let (kept, recalled) = Memory::update(stored, remember, WorkerClock.now().as_millis());
        if let Some(memory) = kept {
            stored::put(&self.storage, &key, &memory).await?;
            if was_new {
                let count = stored::get::<u64>(&self.storage, COUNT).await?.unwrap_or(0) + 1;
                stored::put(&self.storage, COUNT, &count).await?;
                if count as usize > self.max_entries {
                    self.drop_least_recently_used().await?;
                }
            }
        }
        Ok(recalled)
    }

    /// Drops the least recently used entries down to nine tenths of the
    /// limit, so that the listing this takes is paid once per many writes.
    async fn drop_least_recently_used(&self) -> Result<()> {
        let listed = self.storage.list_with_options(ListOptions::new().prefix(ENTRY)).await?;
        // The listing carries the values: no read per key.
        let mut used: Vec<(u64, String)> =
            stored::entries::<Memory>(&listed)?.into_iter().map(|(key, memory)| (memory.used_at, key)).collect();
        used.sort();
        let keep = self.max_entries - self.max_entries / 10;
        let drop: Vec<String> = used.iter().take(used.len().saturating_sub(keep)).map(|(_, k)| k.clone()).collect();
        for chunk in drop.chunks(DELETE_AT_ONCE) {
            self.storage.delete_multiple(chunk.to_vec()).await?;
        }
        stored::put(&self.storage, COUNT, &((used.len() - drop.len()) as u64)).await
    }
}

/// Keys one `deleteMultiple`, `getMultiple` or `putMultiple` takes (the
/// Durable Object storage API's limit).
const DELETE_AT_ONCE: usize = 128;

impl DurableMemory {
    /// Keeps entries read elsewhere, 128 keys a read and a write, by the
    /// core's [`Memory::observe`]; new records count toward the bound.
    async fn observe_in_storage(&self, seen: Vec<Observed>) -> Result<()> {
        let now = WorkerClock.now().as_millis();
        let mut added = 0u64;
        for chunk in seen.chunks(DELETE_AT_ONCE) {
            let keys: Vec<String> = chunk.iter().map(|o| format!("{ENTRY}{}", o.entry_id)).collect();
            let stored: BTreeMap<String, Memory> =
                stored::entries(&self.storage.get_multiple(keys.clone()).await?)?.into_iter().collect();
            let writes = Object::new();
            let mut any = false;
            for (o, key) in chunk.iter().zip(&keys) {
                let old = stored.get(key);
                if let Some(memory) = Memory::observe(old, &o.remember, now) {
                    added += u64::from(old.is_none());
                    let text = serde_json::to_string(&memory)?;
                    Reflect::set(&writes, &JsValue::from_str(key), &JsValue::from_str(&text))?;
                    any = true;
                }
            }
            if any {
                self.storage.put_multiple_raw(writes).await?;
            }
        }
        if added > 0 {
            let count = stored::get::<u64>(&self.storage, COUNT).await?.unwrap_or(0) + added;
            stored::put(&self.storage, COUNT, &count).await?;
            if count as usize > self.max_entries {
                self.drop_least_recently_used().await?;
            }
        }
        Ok(())
    }
}

impl PathMemory for DurableMemory {
    fn recall<'a>(
        &'a self,
        entry_id: &'a str,
        remember: Option<Remember>,
    ) -> LocalBoxFuture<'a, std::result::Result<Vec<String>, Failure>> {
        Box::pin(async move {
            self.recall_from_storage(entry_id, remember)
                .await
                .map_err(|e| Failure::transient(format!("Durable Object storage: {e}")))
        })
    }

    fn observe<'a>(&'a self, seen: Vec<Observed>) -> LocalBoxFuture<'a, std::result::Result<(), Failure>> {
        Box::pin(async move {
            self.observe_in_storage(seen).await.map_err(|e| Failure::transient(format!("Durable Object storage: {e}")))
        })
    }
}
