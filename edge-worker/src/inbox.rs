//! The Durable Object's inbox: the changes stored by webhooks and the sweep
//! (`inbox:<tracking id>` keys) and not yet taken into the workflow, read in
//! bounded pages. A backlog (alarms that failed for a while, a bulk publish)
//! can hold tens of thousands of changes, each up to `WEBHOOK_MAX_BODY_BYTES`:
//! listed at once they would pass the object's memory (128 MB an isolate) and
//! its CPU time, and the alarm would fail every time it retried.

use crate::stored;
use invalidator_core::webhook::Change;
use worker::{ListOptions, Result, Storage};

/// The prefix of every inbox key.
pub const PREFIX: &str = "inbox:";

/// Keys one storage call may name (`get`, `put` and `delete` of several
/// keys take at most 128: Durable Objects storage limits).
const KEYS_PER_CALL: usize = 128;

/// Bytes of changes one page may hold at most: a quarter of the 128 MB an
/// isolate has, which leaves room for the workflow, the walk and their copies.
const PAGE_MAX_BYTES: usize = 32 << 20;

/// Changes one alarm takes from the inbox: as many of the largest change a
/// webhook can store (`max_body_bytes`) as fit in [`PAGE_MAX_BYTES`], at
/// least one and at most [`KEYS_PER_CALL`], so that the page's keys are
/// deleted in one call.
pub fn page_len(max_body_bytes: usize) -> usize {
    (PAGE_MAX_BYTES / max_body_bytes.max(1)).clamp(1, KEYS_PER_CALL)
}

/// The key of a change's inbox entry.
pub fn key(tracking_id: &str) -> String {
    format!("{PREFIX}{tracking_id}")
}

/// The first `limit` changes waiting, in key order (the listing carries the
/// values: no read per key).
pub async fn page(storage: &Storage, limit: usize) -> Result<Vec<Change>> {
    let listed = storage.list_with_options(ListOptions::new().prefix(PREFIX).limit(limit)).await?;
    Ok(stored::entries::<Change>(&listed)?.into_iter().map(|(_, change)| change).collect())
}

/// True when any change waits.
pub async fn any(storage: &Storage) -> Result<bool> {
    Ok(storage.list_with_options(ListOptions::new().prefix(PREFIX).limit(1)).await?.size() > 0)
}

/// True when the change `tracking_id` waits.
pub async fn holds(storage: &Storage, tracking_id: &str) -> Result<bool> {
    Ok(stored::get_raw(storage, &key(tracking_id)).await?.is_some())
}

/// Deletes the entries of `changes` (taken into the workflow), a call per
/// [`KEYS_PER_CALL`] keys.
pub async fn remove(storage: &Storage, changes: &[Change]) -> Result<()> {
    for chunk in changes.chunks(KEYS_PER_CALL) {
        storage.delete_multiple(chunk.iter().map(|c| key(&c.tracking_id)).collect()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{page_len, KEYS_PER_CALL};

    #[test]
    fn a_page_holds_what_fits_in_memory_and_what_one_delete_can_name() {
        assert_eq!(page_len(1 << 20), 32, "the default 1 MiB body");
        assert_eq!(page_len(64 << 10), KEYS_PER_CALL, "small bodies: one delete's worth");
        assert_eq!(page_len(usize::MAX), 1, "never zero");
        assert_eq!(page_len(0), KEYS_PER_CALL);
    }
}
