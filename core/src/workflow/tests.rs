//! The state machine, one event at a time, with no I/O at all.

use super::*;
use crate::cloudfront::{Invalidation, InvalidationStatus};
use crate::contentful::{LinkTarget, LinkedEntry, LinksPage};
use crate::retry::Failure;
use crate::settings::Policy;
use crate::testing::{ChangeBuilder, TestSettings};
use crate::webhook::{Action, Change, EntityKind};
use serde_json::json;

pub(crate) fn policy(extra: &[(&str, &str)]) -> Policy {
    TestSettings::new()
        .with_all(&[
            ("PATH_RULES", r#"{"page":["/{slug}","/{slug}/*"],"post":["/blog/{slug}"],"always":["/"]}"#),
            ("COLLECT_WINDOW_SECONDS", "2"),
            ("FRESHNESS_MAX_WAIT_SECONDS", "0"),
            // Path memory has its own tests (memory_tests.rs).
            ("PATH_MEMORY_ENTRIES", "0"),
        ])
        .with_all(extra)
        .policy()
}

pub(crate) fn change(id: &str, content_type: &str, slug: Option<&str>, action: Action) -> Change {
    let mut change = ChangeBuilder::new(action, id).content_type(content_type).revision(3);
    if let Some(slug) = slug {
        change = change.slug(slug);
    }
    change.build()
}

pub(super) fn entry(id: &str, content_type: &str, slug: &str) -> LinkedEntry {
    LinkedEntry {
        id: id.into(),
        content_type: Some(content_type.into()),
        fields: json!({"slug": {"en-US": slug}}).as_object().unwrap().clone(),
        revision: None,
    }
}

pub(super) fn page(items: Vec<LinkedEntry>) -> LinksPage {
    LinksPage { total: items.len() as u64, skip: 0, items }
}

pub(super) fn target(id: &str) -> LinkTarget {
    LinkTarget { kind: EntityKind::Entry, id: id.into() }
}

pub(super) fn invalidation(status: InvalidationStatus) -> Invalidation {
    Invalidation { id: "I1".into(), status, create_time: None }
}

/// Drives one workflow by hand.
pub(super) struct Sim {
    pub(super) wf: Workflow,
    pub(super) policy: Policy,
    pub(super) now: Timestamp,
    /// What the last step said comes next.
    pub(super) next: Next,
}

impl Sim {
    pub(super) fn new(policy: Policy) -> Self {
        let now = Timestamp::from_secs(1_800_000_000);
        Sim { wf: Workflow::new(vec!["E1".into()]), policy, now, next: Next::Finished }
    }
    pub(super) fn fire(&mut self, event: Event) -> Vec<Command> {
        let step = step(&mut self.wf, &self.policy, event, self.now, 7);
        // The state always survives a serde round trip: it is what bodies store.
        let text = serde_json::to_string(&self.wf).unwrap();
        assert_eq!(serde_json::from_str::<Workflow>(&text).unwrap(), self.wf);
        self.next = step.next;
        step.commands
    }
    /// When the last step asked to be woken.
    pub(super) fn wake_at(&self) -> Timestamp {
        match self.next {
            Next::WakeAt(at) => at,
            other => panic!("expected a wake-up, got {other:?}"),
        }
    }
    /// Delivers the `TimerFired` the last step asked for: at its wake-up, or now to go on.
    pub(super) fn sleep(&mut self) -> Vec<Command> {
        if self.next != Next::GoOn {
            self.now = self.wake_at();
        }
        self.fire(Event::TimerFired)
    }
    /// The `i`-th batch not finished yet.
    pub(super) fn batch(&self, i: usize) -> &Batch {
        self.wf.batches().nth(i).unwrap()
    }
    pub(super) fn created(&mut self, seq: u64, r: Result<Invalidation, Failure>) -> Vec<Command> {
        self.fire(Event::InvalidationCreated { sequence: seq, result: r })
    }
    pub(super) fn checked(&mut self, seq: u64, r: Result<Invalidation, Failure>) -> Vec<Command> {
        self.fire(Event::InvalidationChecked { sequence: seq, result: r })
    }
    pub(super) fn links(&mut self, id: &str, items: Vec<LinkedEntry>) -> Vec<Command> {
        self.fire(Event::LinksFetched { target: target(id), skip: 0, result: Ok(page(items)) })
    }
}

pub(super) fn create_paths(commands: &[Command]) -> Vec<String> {
    match commands.iter().find(|c| matches!(c, Command::CreateInvalidation { .. })) {
        Some(Command::CreateInvalidation { paths, .. }) => paths.clone(),
        _ => panic!("no CreateInvalidation in {commands:?}"),
    }
}

#[test]
fn webhook_to_completed_through_a_two_level_walk() {
    let mut sim = Sim::new(policy(&[]));
    let _ = sim.fire(Event::ChangeAccepted { change: change("child", "card", Some("x"), Action::Publish) });
    assert_eq!(sim.wf.phase(), Phase::Accepted);
    assert_eq!(sim.wake_at(), sim.now.plus(std::time::Duration::from_millis(500)));
    let c = sim.sleep();
    assert_eq!(c, vec![Command::FetchLinks { target: target("child"), skip: 0 }]);
    let c = sim.links("child", vec![entry("section", "section", "s")]);
    assert_eq!(c, vec![Command::FetchLinks { target: target("section"), skip: 0 }]);
    let c = sim.links("section", vec![entry("home", "page", "home")]);
    assert_eq!(c, vec![Command::FetchLinks { target: target("home"), skip: 0 }]);
    let c = sim.links("home", vec![]);
    assert_eq!(create_paths(&c), ["/", "/home", "/home/*"]);
    assert_eq!(sim.wf.phase(), Phase::Submitting);
    let _ = sim.created(1, Ok(invalidation(InvalidationStatus::InProgress)));
    assert_eq!(sim.wf.phase(), Phase::InProgress);
    assert!(matches!(sim.next, Next::WakeAt(_)));
    assert_eq!(sim.now.until(sim.wake_at()), std::time::Duration::from_secs(2));
    let c = sim.sleep();
    assert!(matches!(&c[..], [Command::GetInvalidation { invalidation_id, .. }] if invalidation_id == "I1"));
    let c = sim.checked(1, Ok(invalidation(InvalidationStatus::Completed)));
    assert!(c.is_empty() && sim.next == Next::Finished, "{c:?} {:?}", sim.next);
    assert_eq!(sim.wf.phase(), Phase::Completed);
    let done = &sim.wf.history[0];
    assert_eq!(done.state, BatchState::Completed);
    assert_eq!(done.polls, 1);
    assert_eq!(sim.wf.track("t-child-Publish").unwrap().state, Standing::Completed);
}

#[test]
fn polls_are_fast_through_cloudfronts_p95_then_grow_to_the_cap() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0"), ("PATH_RULES", r#"{"always":["/"]}"#)]));
    let c = sim.fire(Event::PathsRequested { tracking_id: "cli".into(), paths: vec!["/a".into()] });
    assert_eq!(create_paths(&c), ["/a"]);
    sim.created(1, Ok(invalidation(InvalidationStatus::InProgress)));
    let mut waits = Vec::new();
    for _ in 0..25 {
        waits.push(sim.now.until(sim.wake_at()).as_millis() as u64);
        sim.sleep();
        sim.checked(1, Ok(invalidation(InvalidationStatus::InProgress)));
    }
    // Every 2 s until 30 s after the submit (15 polls, so a 30 s completion
    // is seen on time), then 1.5 times longer each time, at most 60 s apart.
    let mut expected = vec![2000; 15];
    expected.extend([3000, 4500, 6750, 10125, 15187, 22780, 34170, 51255, 60000, 60000]);
    assert_eq!(waits, expected);
}

#[test]
fn a_zero_fast_phase_grows_from_the_first_poll() {
    let mut sim = Sim::new(policy(&[
        ("COLLECT_WINDOW_SECONDS", "0"),
        ("POLL_FIRST_SECONDS", "5"),
        ("POLL_FAST_SECONDS", "0"),
        ("PATH_RULES", r#"{"always":["/"]}"#),
    ]));
    sim.fire(Event::PathsRequested { tracking_id: "cli".into(), paths: vec!["/a".into()] });
    sim.created(1, Ok(invalidation(InvalidationStatus::InProgress)));
    let mut waits = Vec::new();
    for _ in 0..9 {
        waits.push(sim.now.until(sim.wake_at()).as_millis() as u64);
        sim.sleep();
        sim.checked(1, Ok(invalidation(InvalidationStatus::InProgress)));
    }
    assert_eq!(waits, [5000, 7500, 11250, 16875, 25312, 37968, 56952, 60000, 60000]);
}

#[test]
fn a_lone_change_goes_when_the_stream_goes_quiet() {
    let mut sim = Sim::new(policy(&[]));
    let t0 = sim.now;
    sim.fire(Event::ChangeAccepted { change: change("a", "post", Some("a"), Action::Publish) });
    // Not the whole 2 s window: nothing else came within COLLECT_QUIET_SECONDS.
    assert_eq!(sim.wake_at(), t0.plus(std::time::Duration::from_millis(500)));
    let c = sim.sleep();
    assert_eq!(c, vec![Command::FetchLinks { target: target("a"), skip: 0 }]);
}

#[test]
fn a_steady_stream_is_cut_at_the_window() {
    let mut sim = Sim::new(policy(&[]));
    let t0 = sim.now;
    let ids = ["a", "b", "c", "d", "e"];
    for (i, id) in ids.iter().enumerate() {
        sim.now = t0.plus(std::time::Duration::from_millis(400 * i as u64));
        let c = sim.fire(Event::ChangeAccepted { change: change(id, "post", Some(id), Action::Publish) });
        assert!(c.is_empty(), "still collecting: {c:?}");
        // Each change keeps the window open a quiet gap longer, up to its end.
        let quiet = sim.now.plus(std::time::Duration::from_millis(500));
        assert_eq!(sim.wake_at(), quiet.min(t0.plus(std::time::Duration::from_secs(2))));
    }
    let c = sim.sleep();
    assert_eq!(sim.now, t0.plus(std::time::Duration::from_secs(2)));
    let walked: Vec<_> = ids.iter().map(|id| Command::FetchLinks { target: target(id), skip: 0 }).collect();
    assert_eq!(c, walked, "one walk from every change of the stream");
}

#[test]
fn a_cycle_in_the_graph_ends() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0")]));
    sim.fire(Event::ChangeAccepted { change: change("a", "post", Some("a"), Action::Publish) });
    let c = sim.links("a", vec![entry("b", "page", "b")]);
    assert_eq!(c, vec![Command::FetchLinks { target: target("b"), skip: 0 }]);
    // b is linked from a: already visited, so the walk ends here.
    let c = sim.links("b", vec![entry("a", "post", "a")]);
    assert_eq!(create_paths(&c), ["/", "/b", "/b/*", "/blog/a"]);
}

#[test]
fn pages_are_followed_until_total() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0")]));
    sim.fire(Event::ChangeAccepted { change: change("a", "post", Some("a"), Action::Publish) });
    let first = LinksPage { total: 3, skip: 0, items: vec![entry("p1", "page", "one"), entry("p2", "page", "two")] };
    let c = sim.fire(Event::LinksFetched { target: target("a"), skip: 0, result: Ok(first) });
    assert_eq!(c, vec![Command::FetchLinks { target: target("a"), skip: 2 }]);
    let second = LinksPage { total: 3, skip: 2, items: vec![entry("p3", "page", "three")] };
    let c = sim.fire(Event::LinksFetched { target: target("a"), skip: 2, result: Ok(second) });
    assert_eq!(c.len(), 3, "the next level's three requests go out together: {c:?}");
}

#[test]
fn a_server_that_ignores_skip_does_not_loop_the_walk() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0")]));
    sim.fire(Event::ChangeAccepted { change: change("a", "post", Some("a"), Action::Publish) });
    // Always the first page, whatever skip was asked for.
    let same = || LinksPage { total: 5, skip: 0, items: vec![entry("p1", "page", "one"), entry("p2", "page", "two")] };
    let c = sim.fire(Event::LinksFetched { target: target("a"), skip: 0, result: Ok(same()) });
    assert_eq!(c, vec![Command::FetchLinks { target: target("a"), skip: 2 }]);
    let c = sim.fire(Event::LinksFetched { target: target("a"), skip: 2, result: Ok(same()) });
    assert_eq!(c, vec![Command::FetchLinks { target: target("a"), skip: 4 }]);
    let c = sim.fire(Event::LinksFetched { target: target("a"), skip: 4, result: Ok(same()) });
    assert!(!c.contains(&Command::FetchLinks { target: target("a"), skip: 6 }), "{c:?}");
}

#[test]
fn depth_and_size_limits_fall_back_to_everything() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0"), ("WALK_MAX_DEPTH", "1")]));
    sim.fire(Event::ChangeAccepted { change: change("a", "post", Some("a"), Action::Publish) });
    let c = sim.links("a", vec![entry("b", "page", "b")]);
    assert_eq!(create_paths(&c), ["/*"]);
    assert!(sim.batch(0).notes.iter().any(|n| n.contains("WALK_MAX_DEPTH")), "{:?}", sim.batch(0).notes);

    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0"), ("WALK_MAX_ENTRIES", "2")]));
    sim.fire(Event::ChangeAccepted { change: change("a", "post", Some("a"), Action::Publish) });
    let c = sim.links("a", vec![entry("b", "page", "b"), entry("c", "page", "c")]);
    assert_eq!(create_paths(&c), ["/*"]);
}

#[test]
fn contentful_rate_limits_wait_for_the_reset() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0")]));
    sim.fire(Event::ChangeAccepted { change: change("a", "post", Some("a"), Action::Publish) });
    let limited = Failure::busy(Some(std::time::Duration::from_secs(4)), "429");
    let _ = sim.fire(Event::LinksFetched { target: target("a"), skip: 0, result: Err(limited) });
    assert_eq!(sim.now.until(sim.wake_at()), std::time::Duration::from_secs(4));
    let c = sim.sleep();
    assert_eq!(c, vec![Command::FetchLinks { target: target("a"), skip: 0 }]);
}

#[test]
fn busy_cloudfront_is_retried_later_without_losing_a_path() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0"), ("RETRY_MAX_ATTEMPTS", "2")]));
    sim.fire(Event::ChangeAccepted { change: change("a", "post", Some("a"), Action::Publish) });
    let c = sim.links("a", vec![]);
    let paths = create_paths(&c);
    for _ in 0..5 {
        // Busy is not counted against RETRY_MAX_ATTEMPTS.
        let _ = sim.created(1, Err(Failure::busy(None, "TooManyInvalidationsInProgress")));
        let c = sim.sleep();
        assert_eq!(create_paths(&c), paths);
    }
    let _ = sim.created(1, Err(Failure::transient("503")));
    let c = sim.sleep();
    assert_eq!(create_paths(&c), paths, "the same batch, with the same caller reference");
    sim.created(1, Ok(invalidation(InvalidationStatus::Completed)));
    assert_eq!(sim.wf.phase(), Phase::Completed);
}

#[test]
fn permanent_errors_and_exhausted_retries_fail_with_the_paths_kept() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0")]));
    sim.fire(Event::ChangeAccepted { change: change("a", "post", Some("a"), Action::Publish) });
    sim.links("a", vec![]);
    let c = sim.created(1, Err(Failure::permanent("CloudFront answered HTTP 403 AccessDenied: no")));
    assert!(c.is_empty() && sim.next == Next::Finished, "{c:?} {:?}", sim.next);
    assert_eq!(sim.wf.phase(), Phase::Failed);
    assert!(sim.wf.failures()[0].contains("AccessDenied"));
    assert_eq!(sim.wf.outstanding_paths(), ["/", "/blog/a"]);
    assert_eq!(sim.wf.track("t-a-Publish").unwrap().reason.unwrap(), "CloudFront answered HTTP 403 AccessDenied: no");

    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0"), ("RETRY_MAX_ATTEMPTS", "3")]));
    sim.fire(Event::PathsRequested { tracking_id: "x".into(), paths: vec!["/x".into()] });
    for _ in 0..2 {
        let _ = sim.created(1, Err(Failure::transient("HTTP 503")));
        sim.sleep();
    }
    sim.created(1, Err(Failure::transient("HTTP 503")));
    assert_eq!(sim.wf.phase(), Phase::Failed);
    assert!(sim.wf.failures()[0].contains("after 3 attempts"), "{:?}", sim.wf.failures());
    assert_eq!(sim.wf.outstanding_paths(), ["/x"]);
}

#[test]
fn changes_during_a_batch_join_the_next_one() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0")]));
    sim.fire(Event::ChangeAccepted { change: change("a", "post", Some("a"), Action::Publish) });
    sim.links("a", vec![]);
    sim.created(1, Ok(invalidation(InvalidationStatus::InProgress)));
    for id in ["b", "c"] {
        let c = sim.fire(Event::ChangeAccepted { change: change(id, "post", Some(id), Action::Publish) });
        assert!(c.is_empty() && matches!(sim.next, Next::WakeAt(_)), "nothing new is sent mid-batch: {c:?}");
    }
    let c = sim.sleep();
    assert!(matches!(c[..], [Command::GetInvalidation { .. }]));
    let c = sim.checked(1, Ok(invalidation(InvalidationStatus::Completed)));
    assert_eq!(c.len(), 2, "both new changes are walked together: {c:?}");
    sim.links("b", vec![]);
    let c = sim.links("c", vec![]);
    assert_eq!(create_paths(&c), ["/", "/blog/b", "/blog/c"]);
    assert_eq!(sim.batch(0).change_count, 2);
}

#[test]
fn a_redelivery_is_ignored() {
    let mut sim = Sim::new(policy(&[]));
    let ch = change("a", "post", Some("a"), Action::Publish);
    sim.fire(Event::ChangeAccepted { change: ch.clone() });
    sim.fire(Event::ChangeAccepted { change: ch.clone() });
    assert_eq!(sim.wf.pending().count, 1);
}

#[test]
fn several_distributions_get_a_batch_each_one_after_another() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0")]));
    sim.wf = Workflow::new(vec!["E1".into(), "E2".into()]);
    sim.fire(Event::ChangeAccepted { change: change("a", "post", Some("a"), Action::Publish) });
    let c = sim.links("a", vec![]);
    assert!(matches!(&c[..], [Command::CreateInvalidation { distribution_id, .. }] if distribution_id == "E1"));
    let c = sim.created(1, Ok(invalidation(InvalidationStatus::Completed)));
    assert!(c.is_empty() && sim.next == Next::GoOn, "the step ends between batches: {c:?} {:?}", sim.next);
    let c = sim.fire(Event::TimerFired);
    assert!(
        matches!(&c[..], [Command::CreateInvalidation { distribution_id, sequence: 2, .. }] if distribution_id == "E2")
    );
}

#[test]
fn large_sets_become_several_batches() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0"), ("BATCH_MAX_PATHS", "2")]));
    let paths = vec!["/a".into(), "/b".into(), "/c".into()];
    let c = sim.fire(Event::PathsRequested { tracking_id: "x".into(), paths });
    assert_eq!(create_paths(&c), ["/a", "/b"]);
    assert_eq!(sim.wf.batches().count(), 2);
    assert_eq!(sim.batch(1).paths, ["/c"]);
}

#[test]
fn the_freshness_gate_waits_then_gives_up_and_says_so() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0"), ("FRESHNESS_MAX_WAIT_SECONDS", "3")]));
    let c = sim.fire(Event::ChangeAccepted { change: change("a", "post", Some("a"), Action::Publish) });
    assert_eq!(c, vec![Command::FetchRevision { target: target("a") }]);
    let mut c = sim.fire(Event::RevisionFetched { target: target("a"), result: Ok(Some(2)) });
    // Served at revision 2, the webhook said 3: not yet.
    while !c.iter().any(|c| matches!(c, Command::FetchLinks { .. })) {
        c = sim.sleep();
        if c == vec![Command::FetchRevision { target: target("a") }] {
            c = sim.fire(Event::RevisionFetched { target: target("a"), result: Ok(Some(2)) });
        }
    }
    let c = sim.links("a", vec![]);
    assert_eq!(create_paths(&c), ["/", "/blog/a"]);
    assert!(sim.batch(0).notes.iter().any(|n| n.contains("did not confirm")));

    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0"), ("FRESHNESS_MAX_WAIT_SECONDS", "3")]));
    sim.fire(Event::ChangeAccepted { change: change("a", "post", None, Action::Unpublish) });
    let c = sim.fire(Event::RevisionFetched { target: target("a"), result: Ok(None) });
    assert_eq!(c, vec![Command::FetchLinks { target: target("a"), skip: 0 }], "no longer served: confirmed");
}

#[test]
fn timers_are_idempotent_and_lost_requests_are_resent() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0")]));
    sim.fire(Event::PathsRequested { tracking_id: "x".into(), paths: vec!["/x".into()] });
    let _ = sim.created(1, Ok(invalidation(InvalidationStatus::InProgress)));
    let wake = sim.wake_at();
    // An early or repeated alarm changes nothing.
    for _ in 0..2 {
        assert!(sim.fire(Event::TimerFired).is_empty());
        assert_eq!(sim.next, Next::WakeAt(wake));
    }
    let c = sim.sleep();
    assert!(matches!(c[..], [Command::GetInvalidation { .. }]));
    // The body died before the answer came: the next alarm asks again.
    let c = sim.fire(Event::TimerFired);
    assert!(matches!(c[..], [Command::GetInvalidation { .. }]), "{c:?}");
    // A stale answer for another batch is ignored.
    let before = sim.wf.clone();
    sim.checked(9, Ok(invalidation(InvalidationStatus::Completed)));
    assert!(sim.wf.batches().eq(before.batches()));
}

#[test]
fn unpublished_entries_fall_back_to_their_rules_wildcard() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0")]));
    sim.fire(Event::ChangeAccepted { change: change("a", "post", None, Action::Unpublish) });
    let c = sim.links("a", vec![]);
    assert_eq!(create_paths(&c), ["/", "/blog/*"]);
    let mut ch = change("b", "post", None, Action::Delete);
    ch.content_type = None;
    sim.fire(Event::ChangeAccepted { change: ch });
}

#[test]
fn changes_that_map_to_nothing_are_logged_not_dropped_silently() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0"), ("PATH_RULES", r#"{"page":["/{slug}"]}"#)]));
    sim.fire(Event::ChangeAccepted { change: change("a", "author", Some("x"), Action::Publish) });
    let c = sim.links("a", vec![]);
    assert!(c.is_empty() && sim.next == Next::Finished, "{c:?} {:?}", sim.next);
    assert!(sim.wf.log().any(|l| l.contains("map to no path")), "{:?}", sim.wf.log().collect::<Vec<_>>());
}

#[test]
fn batches_time_out_with_the_reason() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0"), ("BATCH_TIMEOUT_SECONDS", "20")]));
    sim.fire(Event::PathsRequested { tracking_id: "x".into(), paths: vec!["/x".into()] });
    sim.created(1, Ok(invalidation(InvalidationStatus::InProgress)));
    while sim.wf.phase() == Phase::InProgress {
        let c = sim.sleep();
        if matches!(c[..], [Command::GetInvalidation { .. }]) {
            sim.checked(1, Ok(invalidation(InvalidationStatus::InProgress)));
        }
    }
    assert_eq!(sim.wf.phase(), Phase::Failed);
    assert!(sim.wf.failures()[0].contains("I1"), "{:?}", sim.wf.failures());
}
