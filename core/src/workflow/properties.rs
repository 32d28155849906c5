//! Property: whatever the services answer and whenever changes arrive, no path
//! that entered the workflow is lost: at every step each accepted change is
//! pending, being resolved, or covered by a batch; at the end every one of its
//! paths is covered by a completed batch or by a failed one with its reason.
//! Finished batches keep only a sample of their paths, so what each batch
//! carried is taken from the CreateInvalidation it sent, and what failed from
//! the workflow's `not_invalidated`, as an operator would read them.

use super::tests::{change, policy};
use super::*;
use crate::cloudfront::{Invalidation, InvalidationStatus};
use crate::contentful::{LinkedEntry, LinksPage};
use crate::paths::covers;
use crate::retry::Failure;
use crate::webhook::Action;
use proptest::prelude::*;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// Who links to whom (with a cycle: home → child → section → home).
fn parents(id: &str) -> Vec<LinkedEntry> {
    let list: &[(&str, &str)] = match id {
        "child" => &[("section", "section")],
        "section" => &[("home", "page"), ("about", "page")],
        "home" => &[("child", "card")],
        "leaf" => &[("about", "page")],
        _ => &[],
    };
    list.iter()
        .map(|(id, ct)| LinkedEntry {
            id: id.to_string(),
            content_type: Some(ct.to_string()),
            fields: json!({"slug": {"en-US": id}}).as_object().unwrap().clone(),
            revision: None,
        })
        .collect()
}

fn failure(pick: u8) -> Failure {
    match pick % 4 {
        0 => Failure::transient("HTTP 503"),
        1 => Failure::busy(None, "TooManyInvalidationsInProgress"),
        2 => Failure::refused("HTTP 400 InvalidArgument"),
        _ => Failure::permanent("HTTP 403 AccessDenied"),
    }
}

/// What was seen of the run from outside: each batch's paths as sent, and
/// every path the workflow ever reported as not invalidated.
#[derive(Default)]
struct Seen {
    sent: BTreeMap<u64, Vec<String>>,
    not_invalidated: BTreeSet<String>,
}

impl Seen {
    /// The paths batch `b` stands for: as sent, or as it holds them while unsent.
    fn paths<'a>(&'a self, b: &'a Batch) -> &'a [String] {
        match self.sent.get(&b.sequence) {
            Some(p) if b.finished_at.is_some() => p,
            _ => &b.paths,
        }
    }
}

fn answer(command: &Command, pick: u8, ok_bias: u8) -> Event {
    let ok = pick % 10 < ok_bias;
    match command {
        Command::FetchRevision { target } => {
            Event::RevisionFetched { target: target.clone(), result: if ok { Ok(Some(5)) } else { Err(failure(pick)) } }
        }
        Command::FetchLinks { target, skip } => Event::LinksFetched {
            target: target.clone(),
            skip: *skip,
            result: if ok {
                let items = parents(&target.id);
                Ok(LinksPage { total: items.len() as u64, skip: 0, items })
            } else {
                Err(failure(pick))
            },
        },
        // Nothing remembered, or the memory failed: either way the fallback stands.
        Command::Recall { entry_id, .. } => {
            Event::Recalled { entry_id: entry_id.clone(), result: if ok { Ok(Vec::new()) } else { Err(failure(pick)) } }
        }
        Command::CreateInvalidation { sequence, .. } => Event::InvalidationCreated {
            sequence: *sequence,
            result: if ok {
                let status = if pick % 2 == 0 { InvalidationStatus::InProgress } else { InvalidationStatus::Completed };
                Ok(Invalidation { id: format!("I{sequence}"), status, create_time: None })
            } else {
                Err(failure(pick))
            },
        },
        Command::Notify { id, .. } => Event::Notified { id: *id, result: if ok { Ok(()) } else { Err(failure(pick)) } },
        Command::CheckPage { sequence, path } => Event::PageChecked {
            sequence: *sequence,
            path: path.clone(),
            result: if ok {
                let x_cache = if pick % 2 == 0 { "Miss from cloudfront" } else { "Hit from cloudfront" };
                Ok(crate::site::PageSeen {
                    status: 200,
                    x_cache: Some(x_cache.into()),
                    age: Some(600),
                    revisions: None,
                    location: None,
                })
            } else {
                Err(failure(pick))
            },
        },
        Command::GetInvalidation { sequence, .. } => Event::InvalidationChecked {
            sequence: *sequence,
            result: if ok {
                let status = if pick % 3 == 0 { InvalidationStatus::InProgress } else { InvalidationStatus::Completed };
                Ok(Invalidation { id: format!("I{sequence}"), status, create_time: None })
            } else {
                Err(failure(pick))
            },
        },
    }
}

fn accepted_paths(wf: &Workflow, accepted: &BTreeMap<String, Vec<String>>, seen: &Seen) -> Result<(), String> {
    for (tracking, paths) in accepted {
        let waiting = wf.pending().holds(tracking) || wf.walk().is_some_and(|w| w.holds(tracking));
        if waiting {
            continue;
        }
        for p in paths {
            let in_batch = wf.all_batches().any(|b| seen.paths(b).iter().any(|q| covers(q, p)));
            if !in_batch && !seen.not_invalidated.iter().any(|q| covers(q, p)) {
                return Err(format!("path {p} of {tracking} is in no batch"));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn no_accepted_path_is_lost(
        picks in proptest::collection::vec(any::<u8>(), 50..400),
        arrivals in proptest::collection::vec((0usize..5, 0u8..4, 0usize..40), 1..6),
        distributions in 1usize..3,
        ok_bias in 5u8..10,
    ) {
        let policy = policy(&[
            ("HISTORY_LIMIT", "10000"),
            ("FRESHNESS_MAX_WAIT_SECONDS", "3"),
            ("BATCH_MAX_PATHS", "3"),
            ("RETRY_MAX_ATTEMPTS", "3"),
            ("BATCH_TIMEOUT_SECONDS", "600"),
            ("PATH_MEMORY_ENTRIES", "100"),
            // Notifications on, answered like every request: failing ones lose no path either.
            ("NOTIFY_URL", "http://127.0.0.1:9/hook"),
            ("NOTIFY_ON", "completed"),
        ]);
        let ids = ["child", "section", "home", "leaf", "about"];
        let mut wf = Workflow::new((0..distributions).map(|d| format!("E{d}")).collect());
        let mut now = Timestamp::from_secs(1_800_000_000);
        let mut accepted: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut outbox: Vec<Command> = Vec::new();
        let mut seen = Seen::default();
        let mut wake: Option<Timestamp> = None;
        let mut arrivals = arrivals;
        let mut i = 0usize;
        for round in 0..5000usize {
            let pick = picks[i % picks.len()];
            i += 1;
            let event = if let Some(pos) = arrivals.iter().position(|a| a.2 <= round) {
                let (who, action, _) = arrivals.remove(pos);
                let action = [Action::Publish, Action::Unpublish, Action::Archive, Action::Delete][action as usize];
                let slug = action.is_publish().then_some(ids[who]);
                let c = change(ids[who], "page", slug, action);
                // Archive and delete change nothing served: they owe no path.
                let own = match action.changes_delivery() {
                    true => policy.rules.render("page", ids[who], &c.fields.clone().unwrap_or_default()).paths,
                    false => Vec::new(),
                };
                accepted.entry(c.tracking_id.clone()).or_insert(own);
                Event::ChangeAccepted { change: c }
            } else if !outbox.is_empty() {
                let command = outbox.remove(pick as usize % outbox.len());
                answer(&command, picks[(i * 7) % picks.len()], ok_bias)
            } else if let Some(at) = wake.take() {
                now = now.max(at);
                Event::TimerFired
            } else if arrivals.is_empty() {
                break;
            } else {
                // Idle: let time pass until the next arrival.
                arrivals.iter_mut().for_each(|a| a.2 = 0);
                continue;
            };
            let step = step(&mut wf, &policy, event, now, pick as u64);
            seen.not_invalidated.extend(wf.not_invalidated().iter().cloned());
            for c in step.commands {
                if let Command::CreateInvalidation { sequence, paths, .. } = &c {
                    seen.sent.insert(*sequence, paths.clone());
                }
                outbox.push(c);
            }
            match step.next {
                Next::WakeAt(at) => wake = Some(at),
                Next::GoOn => wake = Some(now),
                Next::Finished => wake = None,
                Next::AwaitAnswers => {}
            }
            if let Err(lost) = accepted_paths(&wf, &accepted, &seen) {
                prop_assert!(false, "round {}: {}", round, lost);
            }
        }
        prop_assert!(wf.is_finished(), "did not finish: {:?}", wf.phase());
        // Only archives and deletes owe nothing, and make no batch.
        let owed = accepted.values().any(|p| !p.is_empty());
        prop_assert!(!accepted.is_empty() && (!wf.history().is_empty() || !owed), "nothing was exercised");
        for (tracking, paths) in &accepted {
            for p in paths {
                for d in wf.distributions() {
                    let ended = wf.history().iter().filter(|b| &b.distribution_id == d).any(|b| match &b.state {
                        BatchState::Completed => seen.paths(b).iter().any(|q| covers(q, p)),
                        BatchState::Failed { reason } => {
                            !reason.is_empty() && seen.not_invalidated.iter().any(|q| covers(q, p))
                        }
                        _ => false,
                    });
                    prop_assert!(ended, "{} of {} never ended on {}", p, tracking, d);
                }
            }
        }
    }
}
