//! Verification after Completed, one event at a time: what makes a page
//! fresh, invalidating again, the bounds, and the receipt.

use super::tests::{change, create_paths, invalidation, policy, Sim};
use super::verify::{judge, Verdict};
use super::*;
use crate::cloudfront::InvalidationStatus;
use crate::retry::Failure;
use crate::site::PageSeen;
use crate::webhook::Action;
use std::time::Duration;

pub(super) const SITE: (&str, &str) = ("SITE_URL", "https://www.example.com");

pub(super) fn seen(status: u16, x_cache: &str, age: Option<u64>) -> PageSeen {
    PageSeen { status, x_cache: Some(x_cache.into()), age, revisions: None, location: None }
}

fn wants(id: &str, revision: Option<u64>) -> Vec<ChangedTarget> {
    vec![ChangedTarget { target: super::tests::target(id), wants_revision: revision, revision, untold: false }]
}

fn is_fresh(v: &Verdict) -> bool {
    matches!(v, Verdict::Fresh(_))
}

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn fresh_means_fetched_from_the_origin_after_the_invalidation_completed() {
    let w = wants("home", Some(3));
    let since = 5 * SECOND;
    assert!(is_fresh(&judge(&Ok(seen(200, "Miss from cloudfront", None)), since, &w, false)));
    assert!(is_fresh(&judge(&Ok(seen(200, "RefreshHit from cloudfront", Some(100))), since, &w, false)));
    assert!(is_fresh(&judge(&Ok(seen(200, "Hit from cloudfront", Some(4))), since, &w, false)), "cached after");
    let old = judge(&Ok(seen(200, "Hit from cloudfront", Some(5))), since, &w, false);
    assert!(matches!(&old, Verdict::Stale(why) if why.contains("Age 5")), "{old:?}");
    let no_age = judge(&Ok(seen(200, "Hit from cloudfront", None)), since, &w, false);
    assert!(matches!(no_age, Verdict::Stale(_)), "a hit of unknown age proves nothing");
}

#[test]
fn the_revision_header_must_show_at_least_each_published_revision() {
    let w = wants("home", Some(3));
    let mut page = seen(200, "Miss from cloudfront", None);
    page.revisions = Some("nav:9, home:2".into());
    let old = judge(&Ok(page.clone()), SECOND, &w, true);
    assert!(matches!(&old, Verdict::Stale(why) if why.contains("home at revision 2, published 3")), "{old:?}");
    assert!(is_fresh(&judge(&Ok(page.clone()), SECOND, &w, false)), "not checked unless VERIFY_REVISION_HEADER is set");
    page.revisions = Some("nav:9,home:3".into());
    assert!(is_fresh(&judge(&Ok(page.clone()), SECOND, &w, true)));
    page.revisions = None;
    assert!(is_fresh(&judge(&Ok(page), SECOND, &w, true)), "a page that sends no header is judged by the cache alone");
}

#[test]
fn a_404_is_fresh_after_an_unpublish_and_a_misconfiguration_otherwise() {
    let gone = seen(404, "Error from cloudfront", None);
    assert!(is_fresh(&judge(&Ok(gone.clone()), SECOND, &wants("old", None), false)));
    let missing = judge(&Ok(gone), SECOND, &wants("home", Some(3)), false);
    assert!(matches!(&missing, Verdict::Broken(why) if why.contains("not served")), "{missing:?}");
    let mut moved = seen(301, "Miss from cloudfront", None);
    moved.location = Some("/about/".into());
    let moved = judge(&Ok(moved), SECOND, &wants("about", Some(3)), false);
    assert!(matches!(&moved, Verdict::Broken(why) if why.contains("redirects to /about/")), "{moved:?}");
    let failed = judge(&Ok(seen(503, "Error from cloudfront", None)), SECOND, &wants("a", Some(1)), false);
    assert!(matches!(&failed, Verdict::Broken(why) if why.contains("503")), "{failed:?}");
    let unreachable = judge(&Err(Failure::transient("could not connect")), SECOND, &wants("a", Some(1)), false);
    assert!(matches!(unreachable, Verdict::Broken(_)));
}

/// A publish of `home` (revision 3) through to Completed, the site set.
pub(super) fn completed(extra: &[(&str, &str)]) -> (Sim, Vec<Command>) {
    let mut settings = vec![SITE, ("COLLECT_WINDOW_SECONDS", "0"), ("PATH_RULES", r#"{"page":["/{slug}"]}"#)];
    settings.extend_from_slice(extra);
    let mut sim = Sim::new(policy(&settings));
    let c = sim.fire(Event::ChangeAccepted { change: change("home", "page", Some("home"), Action::Publish) });
    let c = if c.is_empty() { sim.sleep() } else { c };
    let c = match &c[..] {
        [Command::FetchRevision { target }] => {
            sim.fire(Event::RevisionFetched { target: target.clone(), result: Ok(Some(3)) })
        }
        _ => c,
    };
    let c = match &c[..] {
        [Command::FetchLinks { .. }] => sim.links("home", vec![]),
        _ => c,
    };
    assert_eq!(create_paths(&c), ["/home"]);
    sim.now = sim.now.plus(SECOND);
    sim.created(1, Ok(invalidation(InvalidationStatus::InProgress)));
    let c = sim.sleep();
    assert!(matches!(c[..], [Command::GetInvalidation { .. }]));
    let c = sim.checked(1, Ok(invalidation(InvalidationStatus::Completed)));
    (sim, c)
}

fn pages(commands: &[Command]) -> Vec<&str> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::CheckPage { path, .. } => Some(path.as_str()),
            _ => None,
        })
        .collect()
}

pub(super) fn answer(sim: &mut Sim, sequence: u64, path: &str, page: PageSeen) -> Vec<Command> {
    sim.fire(Event::PageChecked { sequence, path: path.into(), result: Ok(page) })
}

fn steps(sim: &Sim) -> Vec<StepName> {
    sim.wf.track("t-home-Publish").unwrap().receipt.iter().map(|s| s.step).collect()
}

#[test]
fn no_site_url_no_verification() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0"), ("PATH_RULES", r#"{"page":["/{slug}"]}"#)]));
    let c = sim.fire(Event::ChangeAccepted { change: change("home", "page", Some("home"), Action::Publish) });
    assert!(matches!(c[..], [Command::FetchLinks { .. }]));
    assert_eq!(create_paths(&sim.links("home", vec![])), ["/home"]);
    sim.created(1, Ok(invalidation(InvalidationStatus::Completed)));
    assert_eq!(sim.wf.phase(), Phase::Completed);
    use StepName::*;
    assert_eq!(steps(&sim), [Received, Submitted, Completed]);
}

#[test]
fn a_completed_batch_is_requested_through_the_site_and_verified_with_its_receipt() {
    let (mut sim, c) = completed(&[]);
    assert_eq!(sim.wf.phase(), Phase::Verifying);
    assert_eq!(pages(&c), ["/home"]);
    assert_eq!(sim.wf.track("t-home-Publish").unwrap().state, Standing::Verifying);
    sim.now = sim.now.plus(Duration::from_millis(250));
    let c = answer(&mut sim, 1, "/home", seen(200, "Miss from cloudfront", None));
    assert!(c.is_empty() && sim.next == Next::Finished, "{c:?}");
    assert_eq!(sim.wf.phase(), Phase::Completed);
    let tracked = sim.wf.track("t-home-Publish").unwrap();
    assert_eq!(tracked.state, Standing::Completed);
    use StepName::*;
    let got: Vec<_> = tracked.receipt.iter().map(|s| (s.step, s.since_previous_ms)).collect();
    assert_eq!(got, [(Received, 0), (Submitted, 1_000), (Completed, 2_000), (Verified, 250)]);
    assert_eq!(tracked.receipt[3].detail.as_deref(), Some("1 page(s) fresh"));
    let json = serde_json::to_value(&tracked).unwrap();
    assert_eq!(json["receipt"][3]["step"], "verified");
    assert_eq!(json["receipt"][3]["since_previous_ms"], 250);
}

#[test]
fn a_stale_page_waits_checks_the_delivery_api_and_goes_again_until_verified() {
    let (mut sim, c) = completed(&[("FRESHNESS_MAX_WAIT_SECONDS", "5"), ("VERIFY_RETRY_WAIT_SECONDS", "7")]);
    assert_eq!(pages(&c), ["/home"]);
    let c = answer(&mut sim, 1, "/home", seen(200, "Hit from cloudfront", Some(60)));
    assert!(c.is_empty());
    assert_eq!(sim.now.until(sim.wake_at()), 7 * SECOND, "VERIFY_RETRY_WAIT_SECONDS first");
    let c = sim.sleep();
    assert!(matches!(&c[..], [Command::FetchRevision { target }] if target.id == "home"), "{c:?}");
    let c = sim.fire(Event::RevisionFetched { target: super::tests::target("home"), result: Ok(Some(2)) });
    assert!(c.is_empty(), "not served yet: asked again later");
    let c = sim.sleep();
    assert!(matches!(&c[..], [Command::FetchRevision { .. }]));
    let c = sim.fire(Event::RevisionFetched { target: super::tests::target("home"), result: Ok(Some(3)) });
    assert!(c.is_empty() && sim.next == Next::GoOn, "a body may persist before the next batch");
    let c = sim.sleep();
    assert_eq!(create_paths(&c), ["/home"], "the stale path alone, planned again");
    let again = sim.wf.batches().next().unwrap().sequence;
    assert_eq!(again, 2);
    sim.created(again, Ok(invalidation(InvalidationStatus::Completed)));
    let c = sim.fire(Event::TimerFired);
    let c = if c.is_empty() { sim.sleep() } else { c };
    assert_eq!(pages(&c), ["/home"]);
    answer(&mut sim, again, "/home", seen(200, "Miss from cloudfront", None));
    assert_eq!(sim.wf.phase(), Phase::Completed);
    use StepName::*;
    assert_eq!(
        steps(&sim),
        [Received, Fresh, Submitted, Completed, Reinvalidated, Fresh, Submitted, Completed, Verified]
    );
    let receipt = sim.wf.track("t-home-Publish").unwrap().receipt;
    assert!(receipt[4].detail.as_deref().unwrap().contains("X-Cache Hit from cloudfront, Age 60"), "{receipt:?}");
}

#[test]
fn retries_are_bounded_then_the_page_is_reported_with_what_it_showed() {
    let (mut sim, mut c) = completed(&[("VERIFY_RETRIES", "2"), ("VERIFY_RETRY_WAIT_SECONDS", "1")]);
    let mut creates = 1;
    for _ in 0..20 {
        if sim.wf.is_finished() {
            break;
        }
        if let Some(Command::CheckPage { sequence, path }) = c.first().cloned() {
            c = answer(&mut sim, sequence, &path, seen(200, "Hit from cloudfront", Some(3600)));
        } else if let Some(Command::CreateInvalidation { sequence, .. }) = c.first().cloned() {
            creates += 1;
            c = sim.created(sequence, Ok(invalidation(InvalidationStatus::Completed)));
        } else {
            c = sim.sleep();
        }
    }
    assert_eq!(sim.wf.phase(), Phase::Completed, "not verified is no failure of the invalidation");
    assert_eq!(creates, 3, "the first invalidation and VERIFY_RETRIES more");
    let receipt = sim.wf.track("t-home-Publish").unwrap().receipt;
    let last = receipt.last().unwrap();
    assert_eq!(last.step, StepName::NotVerified);
    let why = last.detail.as_deref().unwrap();
    assert!(why.contains("/home") && why.contains("Age 3600") && why.contains("still stale"), "{why}");
    assert_eq!(receipt.iter().filter(|s| s.step == StepName::Reinvalidated).count(), 2);
}

#[test]
fn a_failing_site_is_reported_and_never_invalidated_again() {
    let (mut sim, _) = completed(&[]);
    let c = answer(&mut sim, 1, "/home", seen(503, "Error from cloudfront", None));
    assert!(c.is_empty());
    assert_eq!(sim.wf.phase(), Phase::Completed);
    let receipt = sim.wf.track("t-home-Publish").unwrap().receipt;
    let last = receipt.last().unwrap();
    assert_eq!(last.step, StepName::NotVerified);
    assert!(last.detail.as_deref().unwrap().contains("status 503"), "{last:?}");
    assert!(!receipt.iter().any(|s| s.step == StepName::Reinvalidated));
}

#[test]
fn only_exact_paths_are_requested_at_most_verify_max_paths_a_few_per_wake() {
    let paths: Vec<String> =
        (0..30).map(|i| format!("/p{i:02}")).chain(["/blog/*".into(), "#entry:home".into()]).collect();
    let mut sim = Sim::new(policy(&[SITE, ("COLLECT_WINDOW_SECONDS", "0"), ("VERIFY_MAX_PATHS", "12")]));
    let c = sim.fire(Event::PathsRequested { tracking_id: "cli".into(), paths });
    assert_eq!(create_paths(&c).len(), 32);
    let c = sim.created(1, Ok(invalidation(InvalidationStatus::Completed)));
    let first = pages(&c);
    assert_eq!(first.len(), verify::PAGES_PER_WAKE, "a wake's share, within a Worker alarm's subrequests");
    assert!(first.iter().all(|p| !p.contains('*') && !p.starts_with('#')));
    let first: Vec<String> = first.into_iter().map(String::from).collect();
    let mut c = Vec::new();
    for p in &first {
        c = answer(&mut sim, 1, p, seen(200, "Miss from cloudfront", None));
    }
    assert!(c.is_empty());
    let c = sim.sleep();
    assert_eq!(pages(&c), ["/p10", "/p11"], "the rest at the next wake, VERIFY_MAX_PATHS in all");
    for p in ["/p10", "/p11"] {
        answer(&mut sim, 1, p, seen(200, "Miss from cloudfront", None));
    }
    let receipt = sim.wf.track("cli").unwrap().receipt;
    let last = receipt.last().unwrap();
    assert_eq!(last.step, StepName::Verified);
    assert!(last.detail.as_deref().unwrap().contains("18 more exact path(s) past VERIFY_MAX_PATHS"), "{last:?}");
}

#[test]
fn a_batch_of_wildcards_and_tags_only_says_it_could_not_be_checked() {
    let mut sim = Sim::new(policy(&[SITE, ("COLLECT_WINDOW_SECONDS", "0")]));
    let c = sim.fire(Event::PathsRequested { tracking_id: "cli".into(), paths: vec!["/blog/*".into()] });
    assert_eq!(create_paths(&c), ["/blog/*"]);
    let c = sim.created(1, Ok(invalidation(InvalidationStatus::Completed)));
    assert!(pages(&c).is_empty());
    assert_eq!(sim.wf.phase(), Phase::Completed);
    let last = sim.wf.track("cli").unwrap().receipt.last().cloned().unwrap();
    assert_eq!(last.step, StepName::NotVerified);
    assert!(last.detail.unwrap().contains("wildcards and tags are never checked"));
}

#[test]
fn a_lost_page_answer_is_asked_again_at_the_timer() {
    let (mut sim, c) = completed(&[]);
    assert_eq!(pages(&c), ["/home"]);
    assert_eq!(sim.next, Next::AwaitAnswers);
    let c = sim.fire(Event::TimerFired);
    assert_eq!(pages(&c), ["/home"], "a restarted body sends it again");
}
