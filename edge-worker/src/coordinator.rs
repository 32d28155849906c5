//! The Durable Object `InvalidationCoordinator`, one per distribution: it
//! stores each accepted change before the webhook is answered, and its alarm
//! runs the core's workflow. No workflow decision is made here: storage,
//! alarms and fetch are turned into the core's events and commands.
//!
//! Webhooks only add `inbox:*` keys ([`inbox`]; and make sure an alarm is set), in one
//! storage write when the instance knows an alarm is set (see
//! [`StorageCache`]); only the
//! alarm reads and writes the workflow, so a webhook arriving while the alarm
//! awaits CloudFront cannot be overwritten by the alarm's older copy. Alarms
//! are delivered at least once: the core treats a repeated `TimerFired` as a
//! no-op, a redelivered change by its tracking id, and a resubmitted batch by
//! its CallerReference.
//!
//! An alarm takes one bounded page of the inbox ([`inbox::page_len`]); while
//! more waits it sets the next alarm at once and leaves the workflow's timer
//! for the alarm that takes the last page, so a backlog drains page by page
//! into one plan. An alarm the platform gave up on (it retries a failing one
//! a few times) is set again by the cron tick (`POST /arm`, [`crate::sweep`]).

use crate::clock::{entropy, WorkerClock};
use crate::fetch_client::FetchClient;
use crate::inbox;
use crate::memory::DurableMemory;
use crate::page::DistributionView;
use crate::settings;
use crate::storage_cache::StorageCache;
use crate::stored;
use invalidator_core::driver::{run, Setup, Stop, WORKER_CONNECTIONS};
use invalidator_core::io::Clock;
use invalidator_core::settings::Settings;
use invalidator_core::webhook::Change;
use invalidator_core::workflow::{step, Event, Workflow, RECENT_CHANGES_SHOWN};
use serde_json::json;
use std::time::Duration;
use worker::{durable_object, DurableObject, Env, Method, Request, Response, Result, State};

const WORKFLOW: &str = "workflow";
/// The distribution's name, stored by the first webhook: the alarm's workflow needs it.
const DISTRIBUTION: &str = "distribution";
/// When settings are broken, look again this much later (a fixed deploy resumes).
const RETRY_BROKEN_SETTINGS: Duration = Duration::from_secs(60);

#[durable_object]
pub struct InvalidationCoordinator {
    state: State,
    env: Env,
    /// What this instance knows of its storage, to spare webhooks round trips.
    cache: StorageCache,
}

impl DurableObject for InvalidationCoordinator {
    fn new(state: State, env: Env) -> Self {
        InvalidationCoordinator { state, env, cache: StorageCache::default() }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        match (req.method(), path.as_str()) {
            (Method::Post, "/changes") => {
                let url = req.inner().url();
                let distribution = crate::request_target::query_param(&url, "distribution");
                let Some(distribution) = distribution else {
                    return Ok(Response::from_json(&json!({"error": "no distribution"}))?.with_status(400));
                };
                let Some(id) = crate::request_target::query_param(&url, "id").filter(|id| tracking_id_shape(id)) else {
                    return Ok(Response::from_json(&json!({"error": "no tracking id"}))?.with_status(400));
                };
                // A delivery already taken (its tracking id waits in the inbox
                // or the workflow knows it) is stored no second time.
                if self.taken(&id).await? {
                    return Response::from_json(&json!({"taken": id}));
                }
                // The Worker wrote this body from the change it parsed, as JSON
                // text, the form stored values take (stored.rs): it is stored as
                // it came, with no parse and no second serialisation here,
                // where every webhook of the distribution waits its turn.
                self.store_change(&id, req.text().await?, &distribution).await?;
                Response::from_json(&json!({"stored": id}))
            }
            (Method::Post, "/sweep") => self.sweep(&req).await,
            (Method::Post, "/arm") => self.arm().await,
            (Method::Get, "/invalidations") => {
                let wf = self.load().await?;
                // One page is counted: a backlog is not read whole for a status page.
                let counted = self.inbox_page().await?.len();
                let more = counted == self.page_len();
                Response::from_json(&json!({
                    "distributions": wf.as_ref().map(|w| w.distributions().to_vec()),
                    "phase": wf.as_ref().map(|w| w.phase()),
                    "waiting_changes": counted + wf.as_ref().map_or(0, |w| w.pending().count),
                    "waiting_changes_at_least": more,
                    "failures": wf.as_ref().map(|w| w.failures().to_vec()),
                    "not_invalidated": wf.as_ref().map(|w| w.not_invalidated().clone()),
                    // Failed paths kept past the run that failed them (core::workflow::Retries).
                    "retrying": wf.as_ref().and_then(|w| w.retries().retrying()),
                    "given_up": wf.as_ref().map(|w| w.retries().given_up().to_vec()).unwrap_or_default(),
                    // Notifications owed and those dropped (core::workflow::notices).
                    "notifications": wf.as_ref().map(|w| json!({
                        "waiting": w.notices().waiting().count(),
                        "dropped": w.notices().dropped(),
                    })),
                    // What the stored workflow value takes, as JSON: bounded by design.
                    "stored_bytes": wf.as_ref().map_or(0, |w| serde_json::to_vec(w).map_or(0, |v| v.len())),
                    "batches": wf.as_ref().map(|w| w.summaries()).unwrap_or_default(),
                    "changes": wf.as_ref().map(|w| w.recent_changes(RECENT_CHANGES_SHOWN)).unwrap_or_default(),
                    "billed_this_month": wf.as_ref().map(|w| billed_json(w.billed_this_month(WorkerClock.now()))),
                    "log": wf.as_ref().map(|w| w.log().collect::<Vec<_>>()).unwrap_or_default(),
                    "last_sweep": crate::sweep::status(&self.state.storage(), wf.as_ref()).await?,
                }))
            }
            (Method::Get, "/status-part") => {
                // This distribution's part of the status page, rendered here
                // from the stored workflow (the Worker lays the parts out).
                let wf = self.load().await?;
                let sweep = crate::sweep::last_report(&self.state.storage()).await?;
                let now = WorkerClock.now();
                // One page of the inbox is counted: a backlog is not read whole for a page.
                let view = DistributionView::of(wf.as_ref(), self.inbox_page().await?.len(), sweep, now);
                let url = req.inner().url();
                let entry = crate::request_target::query_param(&url, "entry");
                let found = match (&wf, entry) {
                    (Some(w), Some(entry)) => w.entry_report(&entry),
                    _ => Vec::new(),
                };
                let distribution = crate::request_target::query_param(&url, "distribution").unwrap_or_default();
                let part = crate::page::part(&distribution, &view, &found, now);
                Response::from_json(&json!({"busy": part.busy, "section": part.section,
                    "found": part.found, "found_count": part.found_count}))
            }
            (Method::Get, p) if p.starts_with("/entries/") => {
                let entry_id = &p["/entries/".len()..];
                let changes = self.load().await?.map(|w| w.entry_report(entry_id)).unwrap_or_default();
                Response::from_json(&json!({ "changes": changes }))
            }
            (Method::Get, p) if p.starts_with("/invalidations/") => {
                let id = &p["/invalidations/".len()..];
                let wf = self.load().await?;
                let in_inbox = inbox::holds(&self.state.storage(), id).await?;
                let found = match wf {
                    _ if in_inbox => Some(json!({"tracking_id": id, "state": "accepted"})),
                    Some(w) => match id.parse::<u64>() {
                        Ok(seq) => w.summary(seq).map(|s| json!(s)),
                        Err(_) => w.track(id).map(|t| json!(t)),
                    },
                    None => None,
                };
                match found {
                    Some(v) => Response::from_json(&v),
                    None => Ok(Response::from_json(&json!({"error": "no such change or batch"}))?.with_status(404)),
                }
            }
            _ => Ok(Response::from_json(&json!({"error": "no such route"}))?.with_status(404)),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        // A running alarm is no longer set: a webhook from now on sets one.
        self.cache.alarm_is(false);
        let storage = self.state.storage();
        let map = settings::from_env(&self.env);
        let settings = match Settings::from_map(&map) {
            Ok(s) => s,
            Err(e) => {
                worker::console_error!("invalidator: {e}; the alarm tries again in {RETRY_BROKEN_SETTINGS:?}");
                storage.set_alarm(RETRY_BROKEN_SETTINGS).await?;
                self.cache.alarm_is(true);
                return Response::ok("settings broken");
            }
        };
        let clock = WorkerClock;
        let mut wf = match self.load().await? {
            Some(wf) => wf,
            None => Workflow::new(vec![self.distribution(&settings).await?]),
        };
        // Take a page of the inbox into the workflow first, then let the timer send what is due.
        let page_len = inbox::page_len(settings.webhook.max_body_bytes);
        let page = inbox::page(&storage, page_len).await?;
        for change in &page {
            // Requests this step asks for are not sent here: once the workflow is
            // stored, the TimerFired below sends again whatever it marked sent.
            let accepted = Event::ChangeAccepted { change: change.clone() };
            let _ = step(&mut wf, &settings.policy, accepted, clock.now(), entropy());
        }
        stored::put(&storage, WORKFLOW, &wf).await?;
        crate::sweep::record_taken(&storage, &page).await?;
        inbox::remove(&storage, &page).await?;
        if page.len() == page_len {
            // More may wait: the next page at once, and the workflow's timer
            // (a walk, a submit) once the backlog is in, as one plan.
            storage.set_alarm(0i64).await?;
            self.cache.alarm_is(true);
            return Response::ok("inbox page taken, more waiting");
        }
        let http = FetchClient { timeout: Duration::from_secs(20) };
        let memory = DurableMemory::new(self.state.storage(), settings.policy.path_memory_entries);
        let services = Setup { memory: Some(&memory), ..Setup::new(&http, &clock, &settings, WORKER_CONNECTIONS) };
        let (mut wf, mut stop) = run(wf, Event::TimerFired, &services, entropy()).await;
        // Between batches: store the progress, then go on with the next.
        while stop == Stop::GoOn {
            stored::put(&storage, WORKFLOW, &wf).await?;
            (wf, stop) = run(wf, Event::TimerFired, &services, entropy()).await;
        }
        stored::put(&storage, WORKFLOW, &wf).await?;
        // Only storage calls from here on: no webhook can slip in between them.
        if inbox::any(&storage).await? {
            storage.set_alarm(0i64).await?;
            self.cache.alarm_is(true);
        } else if let Stop::SleepUntil(at) = stop {
            let offset = clock.now().until(at).as_millis() as i64;
            storage.set_alarm(offset).await?;
            self.cache.alarm_is(true);
        } else {
            storage.delete_alarm().await?;
            self.cache.alarm_is(false);
        }
        Response::ok("ok")
    }
}

/// The month's billed items against CloudFront's free allowance, for the status page.
fn billed_json(b: invalidator_core::workflow::billing::Billing) -> serde_json::Value {
    use invalidator_core::workflow::billing::FREE_ITEMS_PER_MONTH;
    json!({"month": b.month_text(), "items": b.items, "free_per_month": FREE_ITEMS_PER_MONTH,
        "beyond_free": b.items.saturating_sub(FREE_ITEMS_PER_MONTH)})
}

impl InvalidationCoordinator {
    async fn load(&self) -> Result<Option<Workflow>> {
        stored::get(&self.state.storage(), WORKFLOW).await
    }

    /// Changes one alarm takes from the inbox, under the settings as they
    /// load (the default when they do not).
    fn page_len(&self) -> usize {
        let max_body = Settings::from_map(&settings::from_env(&self.env)).map(|s| s.webhook.max_body_bytes);
        inbox::page_len(max_body.unwrap_or(invalidator_core::settings::DEFAULT_MAX_BODY_BYTES))
    }

    /// The first page of the inbox.
    async fn inbox_page(&self) -> Result<Vec<Change>> {
        inbox::page(&self.state.storage(), self.page_len()).await
    }

    /// `POST /arm`, from the cron tick: sets an alarm when none is set and
    /// work is stored (a change waits, or the workflow is not finished).
    /// An alarm that failed the platform's few retries is not delivered
    /// again, and a webhook that sees its cache say "set" sets none: without
    /// this, such changes would wait for the next webhook.
    async fn arm(&self) -> Result<Response> {
        let storage = self.state.storage();
        if storage.get_alarm().await?.is_some() {
            self.cache.alarm_is(true);
            return Response::from_json(&json!({"armed": false, "reason": "an alarm is set"}));
        }
        let waiting = inbox::any(&storage).await?;
        let unfinished = self.load().await?.is_some_and(|w| !w.is_finished());
        if !waiting && !unfinished {
            return Response::from_json(&json!({"armed": false, "reason": "no work stored"}));
        }
        worker::console_warn!(
            "invalidator: no alarm was set with work stored (changes waiting: {waiting}, workflow unfinished: \
             {unfinished}); the alarm is set again"
        );
        storage.set_alarm(0i64).await?;
        self.cache.alarm_is(true);
        Response::from_json(&json!({"armed": true}))
    }

    /// `POST /sweep`: runs the catch-up sweep, stores every change it found
    /// in the inbox as a webhook's change is stored, then its position.
    async fn sweep(&self, req: &Request) -> Result<Response> {
        let Some(distribution) = crate::request_target::query_param(&req.inner().url(), "distribution") else {
            return Ok(Response::from_json(&json!({"error": "no distribution"}))?.with_status(400));
        };
        let settings = match Settings::from_map(&settings::from_env(&self.env)) {
            Ok(s) => s,
            Err(e) => return Ok(Response::from_json(&json!({"error": e.to_string()}))?.with_status(500)),
        };
        if settings.policy.sweep_interval_minutes == 0 {
            return Response::from_json(&json!({"sweep": "off"}));
        }
        let storage = self.state.storage();
        let memory = DurableMemory::new(self.state.storage(), settings.policy.path_memory_entries);
        // The inbox's first page counts as taken; a change past it that the
        // sweep also finds is stored again, and joins the same plan.
        let waiting = inbox::page(&storage, inbox::page_len(settings.webhook.max_body_bytes)).await?;
        let outcome = crate::sweep::run(&storage, &memory, &settings, &waiting).await?;
        for change in &outcome.changes {
            self.store_change(&change.tracking_id, serde_json::to_string(change)?, &distribution).await?;
        }
        crate::sweep::finish(&storage, &outcome).await?;
        Response::from_json(&outcome.report)
    }

    /// True when the change `tracking_id` was already taken: it waits in the
    /// inbox, or the workflow holds or remembers it (`seen`, the batches).
    async fn taken(&self, tracking_id: &str) -> Result<bool> {
        if inbox::holds(&self.state.storage(), tracking_id).await? {
            return Ok(true);
        }
        Ok(self.load().await?.is_some_and(|w| w.track(tracking_id).is_some()))
    }

    /// Stores a change for the alarm to pick up, and makes sure an alarm is
    /// set, in one write: the inbox key, joined by the distribution's name the
    /// first time and by `set_alarm` when no alarm is set. Every call goes out
    /// before any is awaited, so the runtime commits them as one atomic write
    /// (Durable Objects coalesce writes with no await between them).
    async fn store_change(&self, tracking_id: &str, change_json: String, distribution: &str) -> Result<()> {
        let storage = self.state.storage();
        let key = inbox::key(tracking_id);
        let alarm_set = match self.cache.alarm_set() {
            Some(set) => set,
            None => storage.get_alarm().await?.is_some(),
        };
        let name = async {
            if self.cache.distribution_stored() {
                return Ok(());
            }
            // A plain JavaScript string, as every Worker so far stored it.
            storage.put_raw(DISTRIBUTION, distribution).await
        };
        let alarm = async {
            if alarm_set {
                return Ok(());
            }
            storage.set_alarm(0i64).await
        };
        let (stored, named, armed) = futures::join!(storage.put_raw(&key, change_json), name, alarm);
        stored?;
        named?;
        armed?;
        self.cache.stored_distribution();
        self.cache.alarm_is(true);
        Ok(())
    }

    /// The distribution this object serves: its name, which the Worker gave it.
    async fn distribution(&self, settings: &Settings) -> Result<String> {
        let stored = stored::get_raw(&self.state.storage(), DISTRIBUTION).await?.and_then(|name| name.as_string());
        Ok(stored.unwrap_or_else(|| settings.cloudfront.distribution_ids[0].clone()))
    }
}

/// A tracking id as the core makes them (SHA-256, hex): anything else is not
/// a key this object writes.
fn tracking_id_shape(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::tracking_id_shape;

    #[test]
    fn only_tracking_ids_the_core_makes_become_inbox_keys() {
        assert!(tracking_id_shape(&"ab12".repeat(16)));
        for refused in ["", "a/b", "x:y", "a b", &"a".repeat(129)] {
            assert!(!tracking_id_shape(refused), "{refused:?}");
        }
    }
}
