//! Finished batches as the status pages show them: each keeps a sample of
//! its paths (the count is whole) and its first notes, and the whole history
//! is bounded by `HISTORY_LIMIT` and by bytes, the oldest going first.

use super::pending::shorten;
use super::types::Batch;
use crate::paths;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Paths a finished batch keeps for status pages.
const PATHS_KEPT: usize = 20;
/// Bytes of sample paths a finished batch keeps.
const PATH_BYTES_KEPT: usize = 2 << 10;
/// Notes a finished batch keeps.
const NOTES_KEPT: usize = 5;
/// Bytes the whole history may take (roughly).
const MAX_BYTES: usize = 96 << 10;

/// Finished batches, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct History(VecDeque<Batch>);

impl History {
    /// Keeps `batch`, compacted, dropping the oldest past `limit` or the byte bound.
    pub(super) fn push(&mut self, batch: Batch, limit: usize) {
        self.0.push_back(compact(batch));
        let mut bytes: usize = self.0.iter().map(stored_bytes).sum();
        while self.0.len() > limit || (bytes > MAX_BYTES && self.0.len() > 1) {
            if let Some(old) = self.0.pop_front() {
                bytes -= stored_bytes(&old);
            }
        }
    }

    /// Finished batches, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Batch> {
        self.0.iter()
    }

    /// How many finished batches are kept.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The newest finished batch.
    pub fn last(&self) -> Option<&Batch> {
        self.0.back()
    }
}

impl std::ops::Index<usize> for History {
    type Output = Batch;
    fn index(&self, i: usize) -> &Batch {
        &self.0[i]
    }
}

fn compact(mut batch: Batch) -> Batch {
    let mut kept = 0;
    let mut bytes = 0;
    for p in &batch.paths {
        if kept == PATHS_KEPT || (kept > 0 && bytes + p.len() > PATH_BYTES_KEPT) {
            break;
        }
        kept += 1;
        bytes += p.len();
    }
    batch.paths.truncate(kept);
    if let Some(first) = batch.paths.first_mut().filter(|p| p.len() > PATH_BYTES_KEPT) {
        *first = shorten(std::mem::take(first));
    }
    batch.notes.truncate(NOTES_KEPT);
    // Only a batch being verified needs the changed entries.
    batch.revisions = Vec::new();
    batch
}

/// Roughly what a history entry takes when stored.
fn stored_bytes(b: &Batch) -> usize {
    const FIXED: usize = 400;
    let labels: usize = b.labels.iter().map(|l| l.stored_bytes()).sum();
    FIXED + paths::bytes(&b.paths) + paths::bytes(&b.notes) + paths::bytes(&b.changes) + labels + b.receipt.bytes()
}
