//! When the workflow notifies: once per cause (a batch failed, paths given
//! up, pages not verified, the month's items past `BILLING_ALERT_ITEMS`, a
//! change live with `NOTIFY_ON=completed`), and a failing receiver is tried a
//! bounded number of times without holding anything up.

use super::notices::{NOTIFY_ATTEMPTS, QUEUED_KEPT};
use super::retries_tests::{failed_eight_times, FAILED_PATHS};
use super::tests::{change, create_paths, invalidation, policy, Sim};
use super::verify_tests::{answer, completed, seen, SITE};
use super::*;
use crate::cloudfront::InvalidationStatus;
use crate::notify::{Kind, Notice};
use crate::retry::Failure;
use crate::webhook::Action;

const URL: (&str, &str) = ("NOTIFY_URL", "http://127.0.0.1:9/hook");

fn notices(commands: &[Command]) -> Vec<(u64, Notice)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Notify { id, notice } => Some((*id, notice.clone())),
            _ => None,
        })
        .collect()
}

/// Publishes `a` (paths `/` and `/blog/a`); CloudFront refuses it for good.
fn failed_for_good(extra: &[(&str, &str)]) -> (Sim, Vec<Command>) {
    let mut all = vec![("COLLECT_WINDOW_SECONDS", "0")];
    all.extend_from_slice(extra);
    let mut sim = Sim::new(policy(&all));
    sim.fire(Event::ChangeAccepted { change: change("a", "post", Some("a"), Action::Publish) });
    sim.links("a", vec![]);
    let c = sim.created(1, Err(Failure::permanent("CloudFront answered HTTP 403 AccessDenied")));
    (sim, c)
}

#[test]
fn a_failed_batch_is_notified_once_with_its_reason_and_paths() {
    let (mut sim, c) = failed_for_good(&[URL]);
    assert_eq!(sim.wf.phase(), Phase::Failed);
    let sent = notices(&c);
    assert_eq!(sent.len(), 1, "{c:?}");
    let (id, n) = &sent[0];
    assert_eq!(n.kind, Kind::BatchFailed);
    assert!(n.reason.as_deref().unwrap().contains("AccessDenied"), "{n:?}");
    assert_eq!((n.paths.as_slice(), n.path_count), (&FAILED_PATHS.map(String::from)[..], 2));
    assert_eq!(n.distribution_id.as_deref(), Some("E1"));
    let c = sim.fire(Event::Notified { id: *id, result: Ok(()) });
    assert!(c.is_empty() && sim.next == Next::Finished, "{c:?} {:?}", sim.next);
    assert!(notices(&sim.fire(Event::TimerFired)).is_empty(), "sent once");
    assert_eq!(sim.wf.notices().waiting().count(), 0);
}

#[test]
fn without_notify_url_nothing_is_notified() {
    let (sim, c) = failed_for_good(&[]);
    assert!(notices(&c).is_empty(), "{c:?}");
    assert_eq!(sim.wf.notices().waiting().count(), 0);
}

#[test]
fn a_failing_receiver_is_tried_a_bounded_number_of_times_with_backoff_then_dropped() {
    let (mut sim, mut c) = failed_for_good(&[URL]);
    let mut tries = 0;
    let mut last_at = sim.now;
    while let Some((id, _)) = notices(&c).first().cloned() {
        tries += 1;
        assert!(tries == 1 || sim.now > last_at, "each try after a backoff");
        last_at = sim.now;
        c = sim.fire(Event::Notified { id, result: Err(Failure::transient("receiver answered 503")) });
        assert_eq!(sim.wf.phase(), Phase::Failed, "the workflow is not held up");
        if sim.next != Next::Finished {
            c = sim.sleep();
        }
    }
    assert_eq!(tries, NOTIFY_ATTEMPTS);
    assert_eq!(sim.next, Next::Finished);
    assert_eq!(sim.wf.notices().dropped(), 1);
    assert!(sim.wf.log().any(|l| l.contains("dropped after 5 tries")), "{:?}", sim.wf.log().collect::<Vec<_>>());
    // The next change is not held up either, and its batch goes out.
    sim.fire(Event::ChangeAccepted { change: change("b", "post", Some("b"), Action::Publish) });
    assert_eq!(create_paths(&sim.links("b", vec![])), ["/", "/blog/b"]);
}

#[test]
fn waiting_notices_are_capped_and_the_dropped_counted() {
    let mut sim = Sim::new(policy(&[URL, ("COLLECT_WINDOW_SECONDS", "0")]));
    for (i, id) in ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"].iter().enumerate() {
        sim.fire(Event::ChangeAccepted { change: change(id, "post", Some(id), Action::Publish) });
        sim.links(id, vec![]);
        let c = sim.created(i as u64 + 1, Err(Failure::permanent("AccessDenied")));
        assert!(notices(&c).len() <= 1, "{c:?}");
    }
    assert_eq!(sim.wf.notices().waiting().count(), QUEUED_KEPT);
    assert_eq!(sim.wf.notices().dropped(), 10 - QUEUED_KEPT as u64);
}

#[test]
fn paths_failing_on_every_retry_are_notified_failed_once_then_given_up_once() {
    let mut sim = failed_eight_times(&[URL, ("RETRY_FAILED_FOR_SECONDS", "1800")]);
    let mut kinds = Vec::new();
    let mut c = Vec::new();
    for _ in 0..500 {
        for (id, n) in notices(&c) {
            kinds.push(n.kind);
            if n.kind == Kind::GivenUp {
                assert!(n.reason.as_deref().unwrap().contains("RETRY_FAILED_FOR_SECONDS"), "{n:?}");
                assert_eq!(n.paths, FAILED_PATHS);
            }
            sim.fire(Event::Notified { id, result: Ok(()) });
        }
        c = match c.iter().find(|c| matches!(c, Command::CreateInvalidation { .. })) {
            Some(Command::CreateInvalidation { sequence, .. }) => {
                sim.created(*sequence, Err(Failure::transient("CloudFront answered HTTP 503")))
            }
            _ if sim.next == Next::Finished => break,
            _ => sim.sleep(),
        };
    }
    assert!(!sim.wf.retries().given_up().is_empty(), "given up in the end");
    // The first failure was fired before the loop (failed_eight_times); its notice is still waiting.
    let waiting: Vec<Kind> = sim.wf.notices().waiting().map(|n| n.kind).collect();
    kinds.extend(waiting);
    kinds.sort_by_key(|k| *k as u8);
    assert_eq!(kinds, [Kind::BatchFailed, Kind::GivenUp], "once each, not once per retry");
}

#[test]
fn pages_not_verified_live_are_notified() {
    let (mut sim, _) = completed(&[URL]);
    let c = answer(&mut sim, 1, "/home", seen(503, "Error from cloudfront", None));
    let sent = notices(&c);
    assert_eq!(sent.len(), 1, "{c:?}");
    assert_eq!(sent[0].1.kind, Kind::NotVerified);
    assert!(sent[0].1.paths[0].contains("/home") && sent[0].1.paths[0].contains("503"), "{:?}", sent[0].1);
}

#[test]
fn notify_on_completed_sends_one_message_per_batch_verified_live_and_none_without_it() {
    let (mut sim, _) = completed(&[URL, ("NOTIFY_ON", "completed")]);
    let c = answer(&mut sim, 1, "/home", seen(200, "Miss from cloudfront", None));
    let sent = notices(&c);
    assert_eq!(sent.len(), 1, "{c:?}");
    assert_eq!(sent[0].1.kind, Kind::Live);
    assert_eq!(sent[0].1.changes, ["t-home-Publish"]);

    let (mut sim, _) = completed(&[URL]);
    assert!(notices(&answer(&mut sim, 1, "/home", seen(200, "Miss from cloudfront", None))).is_empty());
    assert_eq!(SITE.0, "SITE_URL");
}

#[test]
fn the_month_crossing_billing_alert_items_is_notified_once() {
    let mut sim = Sim::new(policy(&[URL, ("COLLECT_WINDOW_SECONDS", "0"), ("BILLING_ALERT_ITEMS", "3")]));
    let mut alerts = Vec::new();
    for (seq, id) in ["a", "b", "c"].iter().enumerate() {
        sim.fire(Event::ChangeAccepted { change: change(id, "post", Some(id), Action::Publish) });
        sim.links(id, vec![]);
        let c = sim.created(seq as u64 + 1, Ok(invalidation(InvalidationStatus::Completed)));
        alerts.extend(notices(&c).into_iter().map(|(_, n)| (seq, n)));
    }
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let (seq, n) = &alerts[0];
    assert_eq!((*seq, n.kind), (1, Kind::BillingAlert), "2 items, then 4: the second batch crosses 3");
    assert!(n.summary.contains("4 invalidation items") && n.summary.contains("BILLING_ALERT_ITEMS"), "{n:?}");
}

#[test]
fn a_workflow_stored_before_notifications_existed_is_read() {
    let (sim, _) = failed_for_good(&[]);
    let mut json = serde_json::to_value(&sim.wf).unwrap();
    json.as_object_mut().unwrap().remove("notices");
    let read: Workflow = serde_json::from_value(json).unwrap();
    assert_eq!(read.notices().dropped(), 0);
}

#[test]
fn a_sweep_that_found_missed_changes_is_notified_through_the_workflow_once() {
    let mut report = crate::sweep::SweepReport {
        at: Timestamp::from_secs(1_800_000_000),
        first: false,
        complete: true,
        requests: 1,
        items: 3,
        missed: 2,
        missed_changes: vec!["entry a publish revision 3".into(), "entry b publish revision 1".into()],
        tracking_ids: vec!["sweep-a".into(), "sweep-b".into()],
        error: None,
        unreadable: 0,
        unreadable_items: Vec::new(),
    };
    let notice = report.notice().unwrap();
    assert_eq!(notice.kind, Kind::SweepMissed);
    assert!(notice.summary.contains("2 change(s) no webhook brought"), "{notice:?}");
    let mut sim = Sim::new(policy(&[URL]));
    sim.wf.take_notice(notice.clone(), &sim.policy, sim.now);
    sim.wf.take_notice(notice, &sim.policy, sim.now);
    let sent = notices(&sim.fire(Event::TimerFired));
    assert_eq!(sent.len(), 1, "once per sweep run: {sent:?}");
    assert_eq!(sent[0].1.changes, ["entry a publish revision 3", "entry b publish revision 1"]);
    report.missed = 0;
    assert!(report.notice().is_none(), "nothing missed, nothing to tell");
}
