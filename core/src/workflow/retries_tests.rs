//! A failed batch's paths outlive the run that failed them: retried with the
//! next change or on a long backoff, given up after `RETRY_FAILED_FOR_SECONDS`
//! or at once for a permanent reason, and listed all along.

use super::tests::{change, create_paths, invalidation, policy, Sim};
use super::*;
use crate::cloudfront::InvalidationStatus;
use crate::retry::Failure;
use crate::webhook::Action;

pub(super) const FAILED_PATHS: [&str; 2] = ["/", "/blog/a"];

/// Publishes `a`, and CloudFront answers its CreateInvalidation with a 503
/// `RETRY_MAX_ATTEMPTS` (8) times: the batch fails for a transient reason.
pub(super) fn failed_eight_times(extra: &[(&str, &str)]) -> Sim {
    let mut all = vec![("COLLECT_WINDOW_SECONDS", "0")];
    all.extend_from_slice(extra);
    let mut sim = Sim::new(policy(&all));
    sim.fire(Event::ChangeAccepted { change: change("a", "post", Some("a"), Action::Publish) });
    let mut c = sim.links("a", vec![]);
    for _ in 0..sim.policy.retry_max_attempts {
        assert_eq!(create_paths(&c), FAILED_PATHS);
        let _ = sim.created(1, Err(Failure::transient("CloudFront answered HTTP 503")));
        if sim.wf.phase() == Phase::Failed {
            break;
        }
        c = sim.sleep();
    }
    assert_eq!(sim.wf.phase(), Phase::Failed);
    sim
}

fn retrying(sim: &Sim) -> Vec<String> {
    sim.wf.retries().retrying().map(|r| r.paths).unwrap_or_default()
}

/// Completes the batch `sequence` made by `c`; returns its paths.
fn complete(sim: &mut Sim, sequence: u64, c: &[Command]) -> Vec<String> {
    let paths = create_paths(c);
    sim.created(sequence, Ok(invalidation(InvalidationStatus::Completed)));
    paths
}

#[test]
fn a_new_webhook_after_eight_failures_keeps_every_failed_path_and_invalidates_it_in_its_batch() {
    let mut sim = failed_eight_times(&[]);
    assert_eq!(retrying(&sim), FAILED_PATHS);
    let r = sim.wf.retries().retrying().unwrap();
    assert!(r.reason.contains("after 8 attempts") && r.reason.contains("503"), "{r:?}");
    assert_eq!(r.give_up_at, r.since.map(|s| s.plus(sim.policy.retry_failed_for)));
    // Nothing else comes yet: the workflow wakes itself for the retry.
    assert!(matches!(sim.next, Next::WakeAt(at) if at > sim.now), "{:?}", sim.next);

    sim.now = sim.now.plus(std::time::Duration::from_secs(10));
    sim.fire(Event::ChangeAccepted { change: change("b", "post", Some("b"), Action::Publish) });
    assert!(sim.wf.failures().is_empty(), "a new run");
    let c = sim.links("b", vec![]);
    let paths = complete(&mut sim, 2, &c);
    for p in FAILED_PATHS.iter().chain(&["/blog/b"]) {
        assert!(paths.iter().any(|q| q == p), "{p} not in the later batch {paths:?}");
    }
    assert_eq!(sim.wf.phase(), Phase::Completed);
    assert!(retrying(&sim).is_empty() && sim.wf.retries().given_up().is_empty());
    assert_eq!(sim.next, Next::Finished);
}

#[test]
fn with_no_change_coming_the_failed_paths_are_planned_again_after_a_long_backoff() {
    let mut sim = failed_eight_times(&[]);
    let failed_at = sim.now;
    let c = sim.sleep();
    // The batch's own retries spent the short waits: at least 5 x RETRY_MAX_SECONDS / 2 later.
    assert!(failed_at.until(sim.now) >= sim.policy.retry_max * 5 / 2, "{:?}", failed_at.until(sim.now));
    assert_eq!(complete(&mut sim, 2, &c), FAILED_PATHS);
    assert_eq!(sim.wf.phase(), Phase::Completed);
    assert!(sim.wf.history().iter().any(|b| b.changes.iter().any(|t| t.starts_with("retry-"))));
    assert!(retrying(&sim).is_empty());
}

#[test]
fn paths_still_failing_after_retry_failed_for_seconds_are_given_up_and_stay_listed() {
    let mut sim = failed_eight_times(&[("RETRY_FAILED_FOR_SECONDS", "1800")]);
    let mut runs = 1;
    while sim.next != Next::Finished {
        let mut c = sim.sleep();
        while let Some(Command::CreateInvalidation { sequence, .. }) = c.first().cloned() {
            c = sim.created(sequence, Err(Failure::transient("CloudFront answered HTTP 503")));
            if c.is_empty() && sim.wf.phase() != Phase::Failed {
                c = sim.sleep();
            }
        }
        runs += 1;
        assert!(runs < 20, "never given up");
    }
    assert!(runs > 2, "retried on its own before giving up: {runs} runs");
    assert!(retrying(&sim).is_empty());
    let given_up = sim.wf.retries().given_up();
    assert_eq!(given_up.len(), 1, "{given_up:?}");
    assert_eq!(given_up[0].paths, FAILED_PATHS);
    assert!(given_up[0].reason.contains("RETRY_FAILED_FOR_SECONDS"), "{:?}", given_up[0]);
    // A later change neither retries them nor clears them.
    sim.fire(Event::ChangeAccepted { change: change("b", "post", Some("b"), Action::Publish) });
    let c = sim.links("b", vec![]);
    assert_eq!(create_paths(&c), ["/", "/blog/b"]);
    assert_eq!(sim.wf.retries().given_up()[0].paths, FAILED_PATHS);
}

#[test]
fn a_permanent_failure_is_given_up_at_once_with_its_reason_and_never_cleared() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0")]));
    sim.fire(Event::ChangeAccepted { change: change("a", "post", Some("a"), Action::Publish) });
    sim.links("a", vec![]);
    sim.created(1, Err(Failure::permanent("CloudFront answered HTTP 403 AccessDenied")));
    assert_eq!(sim.next, Next::Finished, "nothing to retry");
    for id in ["b", "c"] {
        sim.fire(Event::ChangeAccepted { change: change(id, "post", Some(id), Action::Publish) });
        let c = sim.links(id, vec![]);
        assert!(!create_paths(&c).contains(&"/blog/a".to_string()), "a permanent failure is not retried");
        let seq = sim.wf.batches().next().unwrap().sequence;
        complete(&mut sim, seq, &c);
    }
    let given_up = sim.wf.retries().given_up();
    assert_eq!(given_up.len(), 1);
    assert_eq!(given_up[0].paths, FAILED_PATHS);
    assert_eq!(given_up[0].path_count, 2);
    assert!(given_up[0].reason.contains("AccessDenied"), "{:?}", given_up[0]);
}

#[test]
fn given_up_sets_past_the_cap_are_merged_never_dropped() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0")]));
    for i in 0..30 {
        let id = format!("p{i}");
        sim.fire(Event::ChangeAccepted { change: change(&id, "post", Some(&id), Action::Publish) });
        sim.links(&id, vec![]);
        let seq = sim.wf.batches().next().unwrap().sequence;
        sim.created(seq, Err(Failure::permanent("CloudFront answered HTTP 404 NoSuchDistribution")));
    }
    let given_up = sim.wf.retries().given_up();
    assert!(given_up.len() <= 10, "{}", given_up.len());
    assert_eq!(given_up.iter().map(|g| g.path_count).sum::<usize>(), 60, "every failed path is counted");
    for i in 0..30 {
        let p = format!("/blog/p{i}");
        assert!(given_up.iter().any(|g| g.paths.iter().any(|q| crate::paths::covers(q, &p))), "{p} dropped");
    }
}

#[test]
fn a_workflow_stored_before_retries_existed_is_read() {
    let sim = failed_eight_times(&[]);
    let mut stored = serde_json::to_value(&sim.wf).unwrap();
    stored.as_object_mut().unwrap().remove("retries");
    let read: Workflow = serde_json::from_value(stored).unwrap();
    assert!(read.retries().retrying().is_none() && read.phase() == Phase::Failed);
}
