//! The sweep's decisions, page by page, without I/O.

use super::*;
use crate::io::{HttpResponse, TransportError};
use crate::testing::{ChangeBuilder, TestSettings, SPACE};
use crate::webhook::{parse, Parsed};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::VecDeque;

fn entry(id: &str, revision: u64, slug: &str) -> Value {
    json!({"sys": {"type": "Entry", "id": id, "revision": revision,
        "space": {"sys": {"type": "Link", "linkType": "Space", "id": SPACE}},
        "environment": {"sys": {"id": "master", "type": "Link", "linkType": "Environment"}},
        "contentType": {"sys": {"type": "Link", "linkType": "ContentType", "id": "page"}}},
        "fields": {"slug": {"en-US": slug}}})
}

fn deleted(id: &str, revision: u64) -> Value {
    json!({"sys": {"type": "DeletedEntry", "id": id, "revision": revision,
        "space": {"sys": {"id": SPACE}}, "deletedAt": "2026-11-27T07:00:00.000Z"}})
}

/// A sync page: `next` is `("page" | "sync", token)`.
fn page(items: Vec<Value>, next: (&str, &str)) -> Result<SyncPage, Failure> {
    let url = format!("https://cdn.contentful.com/spaces/{SPACE}/environments/master/sync?sync_token={}", next.1);
    let key = if next.0 == "page" { "nextPageUrl" } else { "nextSyncUrl" };
    let body = json!({"sys": {"type": "Array"}, "items": items, key: url});
    read_sync_page(&http::Response::builder().status(200).body(body.to_string().into_bytes()).unwrap())
}

fn failed() -> Result<SyncPage, Failure> {
    Err(Failure::transient("Contentful Delivery API answered HTTP 503"))
}

#[test]
fn the_first_sweep_only_records_where_the_space_stands() {
    let mut sweep = Sweep::start(Position::Start, Timestamp(1_000));
    let first = sweep.request(&TestSettings::new().settings().contentful);
    assert!(first.uri().query().unwrap().contains("initial=true"));
    assert_eq!(sweep.on_page(page(vec![entry("e1", 1, "a")], ("page", "p2")), &Taken::default()), None);
    let next = sweep.request(&TestSettings::new().settings().contentful);
    assert_eq!(next.uri().query(), Some("sync_token=p2"));
    let outcome = sweep.on_page(page(vec![entry("e2", 1, "b")], ("sync", "s1")), &Taken::default()).unwrap();
    assert_eq!(outcome.position, Position::Sync("s1".into()));
    assert!(outcome.changes.is_empty(), "the initial sync is the space as it stands, not changes");
    let r = &outcome.report;
    assert_eq!((r.first, r.complete, r.requests, r.items, r.missed), (true, true, 2, 2, 0));
    assert_eq!(r.warning(), None);
}

#[test]
fn a_change_no_webhook_brought_becomes_a_change_and_one_that_came_does_not() {
    let mut taken = Taken::default();
    taken.record(&ChangeBuilder::publish("came").revision(3).build());
    let mut sweep = Sweep::start(Position::Sync("s1".into()), Timestamp(1_000));
    let items = vec![entry("came", 3, "came"), entry("missed", 5, "hello"), deleted("gone", 2)];
    let outcome = sweep.on_page(page(items, ("sync", "s2")), &taken).unwrap();
    assert_eq!(outcome.position, Position::Sync("s2".into()));
    let ids: Vec<(&str, Action)> = outcome.changes.iter().map(|c| (c.id.as_str(), c.action)).collect();
    assert_eq!(ids, [("missed", Action::Publish), ("gone", Action::Unpublish)]);
    let r = &outcome.report;
    assert_eq!((r.first, r.items, r.missed), (false, 3, 2));
    assert_eq!(r.missed_changes, ["entry missed publish revision 5", "entry gone unpublish revision 2"]);
    assert_eq!(r.tracking_ids, outcome.changes.iter().map(|c| c.tracking_id.clone()).collect::<Vec<_>>());
    let warning = r.warning().unwrap();
    assert!(warning.contains("entry missed publish") && warning.contains("webhook"), "{warning}");
}

#[test]
fn a_sweep_change_is_the_change_a_webhook_brings() {
    let webhook_body = entry("e1", 7, "hello").to_string();
    let Ok(Parsed::Change(from_webhook)) = parse(Some("ContentManagement.Entry.publish"), webhook_body.as_bytes())
    else {
        panic!("the webhook body parses");
    };
    let mut sweep = Sweep::start(Position::Sync("s1".into()), Timestamp(0));
    let outcome = sweep.on_page(page(vec![entry("e1", 7, "hello")], ("sync", "s2")), &Taken::default()).unwrap();
    let from_sweep = outcome.changes.into_iter().next().unwrap();
    assert_ne!(from_sweep.tracking_id, from_webhook.tracking_id);
    assert_eq!(
        Change { tracking_id: String::new(), ..from_sweep },
        Change { tracking_id: String::new(), ..from_webhook }
    );
    // A deletion is the change an unpublish webhook brings: no content type,
    // no fields (archive and delete alone take nothing off the Delivery API).
    let delete_body = deleted("e1", 8).to_string();
    let Ok(Parsed::Change(delete_webhook)) = parse(Some("ContentManagement.Entry.unpublish"), delete_body.as_bytes())
    else {
        panic!("the unpublish body parses");
    };
    let swept = change_of(read_item(deleted("e1", 8)));
    assert_eq!(Change { tracking_id: String::new(), ..swept }, Change { tracking_id: String::new(), ..delete_webhook });
}

fn read_item(item: Value) -> SyncItem {
    page(vec![item], ("sync", "t")).unwrap().items.remove(0)
}

#[test]
fn a_sweep_that_fails_mid_way_keeps_its_position_and_feeds_nothing() {
    let mut sweep = Sweep::start(Position::Sync("s1".into()), Timestamp(0));
    assert_eq!(sweep.on_page(page(vec![entry("e1", 2, "a")], ("page", "p2")), &Taken::default()), None);
    let outcome = sweep.on_page(failed(), &Taken::default()).unwrap();
    assert_eq!(outcome.position, Position::Sync("s1".into()), "the next sweep starts where this one did");
    assert!(outcome.changes.is_empty());
    assert_eq!(outcome.report.missed, 0);
    assert!(outcome.report.error.as_deref().unwrap().contains("503"));
    assert!(!outcome.report.complete);
    // The same from the very start: a failed first sweep is a first sweep again.
    let outcome = Sweep::start(Position::Start, Timestamp(0)).on_page(failed(), &Taken::default()).unwrap();
    assert_eq!(outcome.position, Position::Start);
}

#[test]
fn a_long_sweep_stops_at_its_page_limit_and_goes_on_next_time() {
    let mut sweep = Sweep::start(Position::Sync("s1".into()), Timestamp(0));
    let mut outcome = None;
    for n in 0..MAX_PAGES {
        let token = format!("p{n}");
        outcome = sweep.on_page(page(vec![entry(&format!("e{n}"), 1, "a")], ("page", &token)), &Taken::default());
        if outcome.is_some() {
            break;
        }
    }
    let outcome = outcome.expect("stopped at the limit");
    let last = format!("p{}", MAX_PAGES - 1);
    assert_eq!(outcome.position, Position::Page { token: last, initial: false });
    assert_eq!(outcome.changes.len(), MAX_PAGES as usize, "what was read is fed");
    assert!(!outcome.report.complete);
    // Inside the initial sync, the position says so: its items stay uncounted as changes.
    let inside = Position::Page { token: "p".into(), initial: true };
    let outcome = Sweep::start(inside, Timestamp(0))
        .on_page(page(vec![entry("e1", 1, "a")], ("sync", "s")), &Taken::default())
        .unwrap();
    assert!(outcome.changes.is_empty());
}

/// Answers from a list, and remembers what was asked.
struct Scripted {
    answers: RefCell<VecDeque<Result<HttpResponse, TransportError>>>,
    asked: RefCell<Vec<String>>,
}

impl HttpClient for Scripted {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.asked.borrow_mut().push(request.uri().query().unwrap_or_default().to_string());
        self.answers.borrow_mut().pop_front().expect("a scripted answer")
    }
}

fn ok(body: Value) -> Result<HttpResponse, TransportError> {
    Ok(http::Response::builder().status(200).body(body.to_string().into_bytes()).unwrap())
}

#[test]
fn run_follows_pages_and_a_transport_failure_keeps_the_position() {
    let settings = TestSettings::new().settings().contentful;
    let http = Scripted {
        answers: RefCell::new(VecDeque::from([
            ok(json!({"items": [entry("e1", 2, "a")], "nextPageUrl": "https://x/sync?sync_token=p2"})),
            ok(json!({"items": [deleted("e2", 3)], "nextSyncUrl": "https://x/sync?sync_token=s2"})),
            Err(TransportError::Timeout(20_000)),
        ])),
        asked: RefCell::new(Vec::new()),
    };
    let (taken, policy) = (Taken::default(), TestSettings::new().policy());
    let run_once = |position| {
        let sweep = run(&http, &settings, &policy, position, &taken, Timestamp(0));
        futures::FutureExt::now_or_never(sweep).expect("scripted answers are ready at once")
    };
    let outcome = run_once(Position::Sync("s1".into()));
    assert_eq!(outcome.position, Position::Sync("s2".into()));
    assert_eq!(outcome.changes.len(), 2);
    let outcome = run_once(outcome.position);
    assert_eq!(outcome.position, Position::Sync("s2".into()));
    assert!(outcome.report.error.unwrap().contains("20000"));
    assert_eq!(*http.asked.borrow(), ["sync_token=s1", "sync_token=p2", "sync_token=s2"]);
}

#[test]
fn the_interval_defaults_to_five_minutes_zero_turns_it_off_and_a_bad_value_is_named() {
    assert_eq!(TestSettings::new().policy().sweep_interval_minutes, 5);
    assert_eq!(TestSettings::new().with("SWEEP_INTERVAL_MINUTES", "0").policy().sweep_interval_minutes, 0);
    for bad in ["-1", "five", "1441", "2.5"] {
        let map = TestSettings::new().with("SWEEP_INTERVAL_MINUTES", bad).map();
        let e = crate::settings::Policy::from_map(&map).unwrap_err();
        assert_eq!(e.name, "SWEEP_INTERVAL_MINUTES", "{bad}");
    }
}

#[test]
fn the_initial_sync_keeps_every_published_entry_for_the_path_memory_and_a_delta_none() {
    let policy = TestSettings::new().with_all(&[("PATH_RULES", r#"{"page":["/{slug}"]}"#)]).policy();
    let mut sweep = Sweep::start(Position::Start, Timestamp(1_000)).observing(&policy);
    assert_eq!(sweep.on_page(page(vec![entry("e1", 3, "a")], ("page", "p2")), &Taken::default()), None);
    let outcome = sweep.on_page(page(vec![entry("e2", 1, "b")], ("sync", "s1")), &Taken::default()).unwrap();
    let kept: Vec<(&str, u64, &[String])> = outcome
        .observed
        .iter()
        .map(|o| (o.entry_id.as_str(), o.remember.revision, o.remember.items.as_slice()))
        .collect();
    assert_eq!(kept, [("e1", 3, &["/a".to_string()][..]), ("e2", 1, &["/b".to_string()][..])]);
    assert!(outcome.changes.is_empty());
    let mut delta = Sweep::start(Position::Sync("s1".into()), Timestamp(2_000)).observing(&policy);
    let outcome = delta.on_page(page(vec![entry("e3", 1, "c")], ("sync", "s2")), &Taken::default()).unwrap();
    assert!(outcome.observed.is_empty(), "a delta's entries are changes, remembered when walked");
    let off = TestSettings::new().with_all(&[("PATH_MEMORY_ENTRIES", "0")]).policy();
    let mut sweep = Sweep::start(Position::Start, Timestamp(1_000)).observing(&off);
    assert!(sweep
        .on_page(page(vec![entry("e1", 3, "a")], ("sync", "s1")), &Taken::default())
        .unwrap()
        .observed
        .is_empty());
}

/// A value nested `depth` arrays deep: past serde_json's recursion limit (128) at 130.
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!("bottom"), |inner, _| Value::Array(vec![inner]))
}

#[test]
fn an_item_too_deep_to_read_is_gone_past_with_a_note_and_the_others_are_taken() {
    let mut deep = entry("deep", 4, "deep");
    deep["fields"]["body"] = json!({"en-US": nested(130)});
    // Too deep where even its `sys` cannot be read: named by its place.
    let deep_sys = json!({"sys": nested(130), "fields": {}});
    let items = vec![entry("before", 2, "before"), deep, deep_sys, entry("after", 3, "after")];
    let mut sweep = Sweep::start(Position::Sync("s1".into()), Timestamp(1_000));
    let outcome = sweep.on_page(page(items, ("sync", "s2")), &Taken::default()).unwrap();
    assert_eq!(outcome.position, Position::Sync("s2".into()), "the position moves past the page");
    let ids: Vec<&str> = outcome.changes.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["before", "after"]);
    let r = &outcome.report;
    assert_eq!(r.error, None);
    assert!(r.complete);
    assert_eq!((r.items, r.missed, r.unreadable), (4, 2, 2));
    assert!(r.unreadable_items[0].starts_with("page 1: Entry deep skipped"), "{:?}", r.unreadable_items);
    assert!(r.unreadable_items[0].contains("recursion limit"), "{:?}", r.unreadable_items);
    assert!(r.unreadable_items[1].starts_with("page 1: item 3 of its page skipped"), "{:?}", r.unreadable_items);
    let warning = r.warning().unwrap();
    assert!(warning.contains("could not read") && warning.contains("Entry deep"), "{warning}");
    let json = serde_json::to_value(r).unwrap();
    assert_eq!(json["unreadable"], 2);
}

#[test]
fn unreadable_items_are_counted_whole_and_named_up_to_a_bound() {
    let mut sweep = Sweep::start(Position::Sync("s1".into()), Timestamp(1_000));
    let items: Vec<Value> = (0..UNREADABLE_SHOWN + 5)
        .map(|i| {
            let mut e = entry(&format!("d{i}"), 1, "d");
            e["fields"]["body"] = json!({"en-US": nested(130)});
            e
        })
        .collect();
    let r = sweep.on_page(page(items, ("sync", "s2")), &Taken::default()).unwrap().report;
    assert_eq!((r.unreadable, r.unreadable_items.len()), ((UNREADABLE_SHOWN + 5) as u64, UNREADABLE_SHOWN));
    assert!(r.warning().unwrap().contains("and 5 more"));
}
