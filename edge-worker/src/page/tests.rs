use super::view::{Billed, DistributionView, Search};
use super::{page, part, refreshes, Part};
use invalidator_core::time::Timestamp;
use invalidator_core::webhook::{Action, EntityKind};
use invalidator_core::workflow::{
    ChangeLabel, ChangeReport, GivenUp, Milestone, Phase, Retrying, Standing, TimelineStep, Tracked,
};

const NOW: Timestamp = Timestamp(1_796_409_903_000);

fn step(step: Milestone, at: u64, since: u64) -> TimelineStep {
    TimelineStep { step, at: Timestamp(NOW.0 - 60_000 + at), since_previous_ms: since, detail: None }
}

/// A change of `entry_id` in `state`, with a timeline and items.
fn change(entry_id: &str, state: Standing, paths: &[&str]) -> ChangeReport {
    let label = ChangeLabel {
        tracking_id: format!("{entry_id}-t"),
        kind: EntityKind::Entry,
        entry_id: entry_id.into(),
        content_type: Some("page".into()),
        action: Action::Publish,
        received_at: Timestamp(NOW.0 - 60_000),
    };
    let mut timeline = vec![step(Milestone::Received, 0, 0), step(Milestone::Planned, 700, 700)];
    if state == Standing::Completed {
        timeline.push(step(Milestone::Submitted, 900, 200));
        timeline.push(step(Milestone::Completed, 21_900, 21_000));
    }
    ChangeReport {
        change: Tracked {
            tracking_id: label.tracking_id.clone(),
            state,
            batch: Some(1),
            invalidation_id: Some("I2J3".into()),
            reason: None,
            label: Some(label),
            receipt: Vec::new(),
        },
        distribution_id: Some("EDEMO".into()),
        timeline,
        paths: paths.iter().map(|p| p.to_string()).collect(),
        path_count: paths.len(),
        tag_count: paths.iter().filter(|p| p.starts_with('#')).count(),
        notes: vec!["note <b>bold</b>".into()],
    }
}

/// The page of one distribution, as the Worker lays out its Durable Object's part.
fn parts(d: &DistributionView, found: &[ChangeReport]) -> Vec<Part> {
    vec![part("EDEMO", d, found, NOW)]
}

fn render(d: &DistributionView) -> String {
    page(NOW, None, &parts(d, &[]))
}

fn done(changes: Vec<ChangeReport>) -> DistributionView {
    DistributionView {
        phase: Some(Phase::Completed),
        changes,
        billed_this_month: Some(Billed { month: "2026-12".into(), items: 12, free_per_month: 1000 }),
        ..DistributionView::default()
    }
}

#[test]
fn a_completed_change_shows_its_entry_paths_and_timeline_in_order() {
    let html = render(&done(vec![change("hero-banner", Standing::Completed, &["/", "/home", "#entry:hero"])]));
    assert!(html.contains("hero-banner") && html.contains("/home") && html.contains("#entry:hero"), "{html}");
    let timeline = &html[html.find("<ol").expect("a timeline")..];
    let at = |s: &str| timeline.find(s).unwrap_or_else(|| panic!("{s} missing:\n{html}"));
    assert!(at(">received<") < at(">paths planned<"));
    assert!(at(">paths planned<") < at(">submitted to CloudFront<"));
    assert!(at(">submitted to CloudFront<") < at(">completed<"));
    assert!(html.contains("+21.0 s"), "each step says how long it took");
    assert!(html.contains("12 of 1,000"), "the month's billed items against the free ones");
    assert!(!html.contains("http-equiv=\"refresh\""), "nothing in flight: no refresh");
}

#[test]
fn every_value_from_contentful_is_text_never_markup() {
    let evil = "<script>alert(1)</script>";
    let found = change(evil, Standing::Completed, &["#page:<script>alert(1)</script>"]);
    let mut d = done(vec![found.clone()]);
    d.failures = vec![format!("batch 1: {evil}")];
    d.given_up = vec![GivenUp { reason: evil.into(), at: NOW, paths: vec![format!("/{evil}")], path_count: 1 }];
    let search = Search { entry_id: evil.into(), refused: None };
    let html = page(NOW, Some(&search), &parts(&d, &[found]));
    assert!(html.contains("Changes of entry"), "{html}");
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<b>bold"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
    assert!(html.contains("value=\"&lt;script&gt;"), "the search box's value is escaped too");
}

#[test]
fn the_page_refreshes_itself_only_while_something_is_in_flight() {
    let busy = DistributionView {
        phase: Some(Phase::InProgress),
        changes: vec![change("hero", Standing::InProgress, &["/"])],
        ..DistributionView::default()
    };
    assert!(refreshes(&parts(&busy, &[])));
    let html = render(&busy);
    assert!(html.contains("<meta http-equiv=\"refresh\" content=\"5\">"), "{html}");
    assert!(html.contains("CloudFront is invalidating"), "an in-flight change says what it waits for");
    let waiting = DistributionView { phase: Some(Phase::Completed), waiting_changes: 1, ..DistributionView::default() };
    assert!(refreshes(&parts(&waiting, &[])));
    assert!(!refreshes(&parts(&done(Vec::new()), &[])));
    assert!(!render(&done(Vec::new())).contains("<script"), "the page has no script");
}

#[test]
fn a_failed_change_says_why() {
    let mut c = change("hero", Standing::Failed, &["/"]);
    c.change.reason = Some("AccessDenied: not allowed".into());
    let html = render(&done(vec![c]));
    assert!(html.contains("Failed: AccessDenied: not allowed"), "{html}");
}

#[test]
fn a_search_says_when_no_change_is_known_or_the_id_cannot_be_one() {
    let d = done(Vec::new());
    let none = Search { entry_id: "hero".into(), refused: None };
    assert!(page(NOW, Some(&none), &parts(&d, &[])).contains("No change of this entry is known"));
    let bad = Search { entry_id: "a b".into(), refused: Some("an entry id is letters") };
    assert!(page(NOW, Some(&bad), &parts(&d, &[])).contains("an entry id is letters"));
}

#[test]
fn paths_waiting_to_be_retried_and_given_up_show_with_their_reasons() {
    let mut d = done(Vec::new());
    d.retrying = Some(Retrying {
        paths: vec!["/home".into()],
        reason: "CloudFront answered 503".into(),
        since: Some(NOW),
        due: Some(NOW),
        give_up_at: None,
        retries: 2,
    });
    d.given_up = vec![GivenUp { reason: "AccessDenied".into(), at: NOW, paths: vec!["/x".into()], path_count: 1 }];
    let html = render(&d);
    let section = &html[html.find("Waiting to be retried or given up").expect("the section")..];
    assert!(section.contains("CloudFront answered 503") && section.contains("planned again 2 time(s)"), "{section}");
    assert!(section.contains("/home") && section.contains("AccessDenied") && section.contains("/x"), "{section}");
    assert!(render(&done(Vec::new())).contains("Nothing."), "nothing waiting says so");
}
