//! The notifications a workflow owes: queued once per cause, sent as
//! [`Command::Notify`], retried with backoff a bounded number of times, then
//! dropped with a log line. Nothing here can fail, hold up or stop an
//! invalidation: a notice never enters a batch, and the workflow's own
//! phases never wait for one.
//!
//! Bounded like every stored value: at most [`QUEUED_KEPT`] notices wait
//! (past it the newest is dropped and counted), and the keys of the last
//! [`KEYS_KEPT`] causes are remembered so that none is sent twice.

use super::outstanding::Outstanding;
use super::types::Command;
use crate::notify::Notice;
use crate::retry::{self, Failure};
use crate::settings::Policy;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Notices waiting to be sent at most: each is at most a few KiB (a
/// bounded list of paths), in a value a Durable Object caps at 128 KiB.
pub const QUEUED_KEPT: usize = 8;
/// Causes remembered as notified: more than one run can produce.
const KEYS_KEPT: usize = 64;
/// Tries of one notice before it is dropped: with `RETRY_BASE_SECONDS` and
/// `RETRY_MAX_SECONDS` between them, about half a minute by default.
pub const NOTIFY_ATTEMPTS: u32 = 5;

/// The notices owed, and what was dropped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Notices {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    queued: Vec<Queued>,
    /// Keys of the causes already queued, newest last.
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    keys: VecDeque<String>,
    /// Notices dropped: the queue was full, or their tries ran out.
    #[serde(default)]
    dropped: u64,
    #[serde(default)]
    next_id: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Queued {
    id: u64,
    notice: Notice,
    request: Outstanding,
}

impl Notices {
    /// Queues `notice` unless its cause was notified already; a line for
    /// the log when it cannot be kept.
    pub(super) fn push(&mut self, notice: Notice, policy: &Policy, now: Timestamp) -> Option<String> {
        if !policy.notify.enabled || self.keys.contains(&notice.key) {
            return None;
        }
        self.keys.push_back(notice.key.clone());
        while self.keys.len() > KEYS_KEPT {
            self.keys.pop_front();
        }
        if self.queued.len() >= QUEUED_KEPT {
            self.dropped += 1;
            return Some(format!("notification dropped, {QUEUED_KEPT} already waiting: {}", notice.key));
        }
        self.next_id += 1;
        self.queued.push(Queued { id: self.next_id, notice, request: Outstanding::due(now) });
        None
    }

    /// Sends every notice due by `now`.
    pub(super) fn poll(&mut self, now: Timestamp, commands: &mut Vec<Command>) {
        for q in &mut self.queued {
            if q.request.send_if_due(now) {
                commands.push(Command::Notify { id: q.id, notice: q.notice.clone() });
            }
        }
    }

    /// The answer to notice `id`: sent, or tried again after a backoff, or
    /// dropped after [`NOTIFY_ATTEMPTS`] tries (a line for the log then).
    pub(super) fn on_answer(
        &mut self,
        id: u64,
        result: Result<(), Failure>,
        now: Timestamp,
        policy: &Policy,
        entropy: u64,
    ) -> Option<String> {
        let i = self.queued.iter().position(|q| q.id == id)?;
        let Err(failure) = result else {
            self.queued.remove(i);
            return None;
        };
        let q = &mut self.queued[i];
        let attempt = q.request.failures + 1;
        if attempt >= NOTIFY_ATTEMPTS || failure.class == retry::Class::Permanent {
            let q = self.queued.remove(i);
            self.dropped += 1;
            return Some(format!("notification {} dropped after {attempt} tries: {}", q.notice.key, failure.reason));
        }
        let wait = retry::delay(&failure, attempt, policy.retry_base, policy.retry_max, entropy);
        q.request.failed(now.plus(wait));
        None
    }

    /// A notice marked sent at a `TimerFired` lost its answer (a restart): it goes again.
    pub(super) fn recover(&mut self, now: Timestamp) {
        for q in &mut self.queued {
            q.request.recover(now);
        }
    }

    /// When the next notice is due, if one waits.
    pub(super) fn due(&self) -> Option<Timestamp> {
        self.queued.iter().filter_map(|q| q.request.due_at()).min()
    }

    /// Notices waiting to be sent.
    pub fn waiting(&self) -> impl Iterator<Item = &Notice> {
        self.queued.iter().map(|q| &q.notice)
    }

    /// Notices dropped, all of them.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}
