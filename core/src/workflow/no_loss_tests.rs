//! "Accepted means invalidated": a new submission is never mistaken for an
//! old one, an editor's value never widens a rule, a refused path fails alone,
//! and the stored workflow stays bounded under any load.

use super::tests::{change, create_paths, entry, invalidation, page, policy, target, Sim};
use super::*;
use crate::cloudfront::InvalidationStatus;
use crate::contentful::LinksPage;
use crate::paths::{covers, normalize, MAX_PATH_LEN};
use crate::retry::Failure;
use crate::webhook::Action;
use serde_json::json;

fn caller_reference(commands: &[Command]) -> String {
    match commands.iter().find(|c| matches!(c, Command::CreateInvalidation { .. })) {
        Some(Command::CreateInvalidation { caller_reference, .. }) => caller_reference.clone(),
        _ => panic!("no CreateInvalidation in {commands:?}"),
    }
}

fn request_paths(sim: &mut Sim, tracking_id: &str) -> Vec<Command> {
    let paths = vec!["/home".to_string(), "/about-us".to_string()];
    let _ = sim.fire(Event::PathsRequested { tracking_id: tracking_id.into(), paths });
    sim.sleep()
}

#[test]
fn the_same_paths_in_a_new_run_get_a_new_caller_reference() {
    // Two fresh workflows (two CLI runs, two Lambda executions, a Durable
    // Object before and after its storage was wiped), each at sequence 1.
    let mut first = Sim::new(policy(&[]));
    let a = caller_reference(&request_paths(&mut first, "run-1"));
    let mut second = Sim::new(policy(&[]));
    second.now = second.now.plus(std::time::Duration::from_secs(86_400));
    let b = caller_reference(&request_paths(&mut second, "run-2"));
    assert_ne!(a, b, "a second run must make a second invalidation");

    // Even the same tracking id at the same instant differs by the entropy
    // drawn when the change was taken in.
    let accept = |entropy: u64| {
        let policy = policy(&[("COLLECT_WINDOW_SECONDS", "0")]);
        let mut wf = Workflow::new(vec!["E1".into()]);
        let paths = vec!["/home".to_string()];
        let now = Timestamp::from_secs(1_800_000_000);
        let step = step(&mut wf, &policy, Event::PathsRequested { tracking_id: "run-1".into(), paths }, now, entropy);
        caller_reference(&step.commands)
    };
    assert_ne!(accept(7), accept(8));
}

#[test]
fn a_plan_made_again_from_the_same_state_sends_the_same_caller_reference() {
    // A retried Lambda task, or an alarm that crashed after submitting,
    // plans again from the state it stored: with other entropy, later.
    let mut sim = Sim::new(policy(&[]));
    sim.fire(Event::PathsRequested { tracking_id: "run-1".into(), paths: vec!["/home".into()] });
    let at = sim.wake_at();
    let first = step(&mut sim.wf.clone(), &sim.policy, Event::TimerFired, at, 1).commands;
    let later = at.plus(std::time::Duration::from_secs(90));
    let again = step(&mut sim.wf.clone(), &sim.policy, Event::TimerFired, later, 2).commands;
    assert_eq!(caller_reference(&first), caller_reference(&again));
}

#[test]
fn a_retried_submit_resends_the_same_caller_reference() {
    let mut sim = Sim::new(policy(&[]));
    let c = request_paths(&mut sim, "run-1");
    let first = caller_reference(&c);
    let _ = sim.created(1, Err(Failure::transient("HTTP 503")));
    let c = sim.sleep();
    assert_eq!(caller_reference(&c), first, "a retry must get the same invalidation back, never a second");
}

#[test]
fn a_field_value_never_widens_a_rule() {
    let rules = policy(&[("PATH_RULES", r#"{"page":["/{slug}"],"post":["/blog/{slug}","/blog/{slug}/*"]}"#)]).rules;
    let render = |ct: &str, slug: &str| -> Vec<String> {
        let fields = json!({"slug": {"en-US": slug}}).as_object().unwrap().clone();
        rules.render(ct, "e1", &fields).paths.iter().map(|p| normalize(p).unwrap()).collect()
    };
    assert_eq!(render("page", "*"), ["/%2A"]);
    assert_eq!(render("post", "sale*2026"), ["/blog/sale%2A2026", "/blog/sale%2A2026/*"]);
    assert_eq!(render("page", "a?b#c%d"), ["/a%3Fb%23c%25d"]);
    for p in render("post", "*/*?*") {
        assert!(p.find('*').is_none_or(|i| i == p.len() - 1 && p.ends_with("/*")), "{p} widened");
    }
}

#[test]
fn an_overlong_path_is_invalidated_through_its_covering_wildcard() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0")]));
    let slug = "x".repeat(4_000);
    let c = sim.fire(Event::ChangeAccepted { change: change("a", "post", Some(&slug), Action::Publish) });
    assert!(c.is_empty() || matches!(c[..], [Command::FetchLinks { .. }]), "{c:?}");
    let c = sim.links("a", vec![]);
    let planned = create_paths(&c);
    let long = format!("/blog/{slug}");
    assert!(
        planned.iter().all(|p| p.len() <= MAX_PATH_LEN),
        "{:?}",
        planned.iter().map(String::len).collect::<Vec<_>>()
    );
    assert!(planned.iter().any(|p| p.ends_with('*') && covers(p, &long)), "the long path is still covered");
    assert!(sim.batch(0).notes.iter().any(|n| n.contains("over CloudFront's 4000")), "{:?}", sim.batch(0).notes);
}

/// CloudFront refuses any batch that holds `/bad`.
fn answer_refusing_bad(sim: &mut Sim, commands: Vec<Command>) -> Vec<Command> {
    let mut c = commands;
    for _ in 0..50 {
        match c.iter().find(|c| matches!(c, Command::CreateInvalidation { .. } | Command::GetInvalidation { .. })) {
            Some(Command::CreateInvalidation { sequence, paths, .. }) => {
                let seq = *sequence;
                c = if paths.iter().any(|p| p == "/bad") {
                    sim.created(seq, Err(Failure::refused("CloudFront answered HTTP 400 InvalidArgument: bad path")))
                } else {
                    sim.created(seq, Ok(invalidation(InvalidationStatus::Completed)))
                };
            }
            Some(_) => panic!("no polls expected: {c:?}"),
            None if sim.wf.is_finished() => return c,
            None => c = sim.sleep(),
        }
    }
    panic!("did not finish: {:?}", sim.wf.phase());
}

#[test]
fn a_refused_batch_is_split_until_the_bad_path_fails_alone() {
    let mut sim = Sim::new(policy(&[]));
    let paths: Vec<String> = ["/a", "/b", "/bad", "/c", "/d", "/e"].map(String::from).to_vec();
    let _ = sim.fire(Event::PathsRequested { tracking_id: "t".into(), paths });
    let c = sim.sleep();
    answer_refusing_bad(&mut sim, c);
    assert_eq!(sim.wf.phase(), Phase::Failed);
    let failed: Vec<&Batch> =
        sim.wf.history().iter().filter(|b| matches!(b.state, BatchState::Failed { .. })).collect();
    assert_eq!(failed.len(), 1, "only the bad path fails: {:?}", sim.wf.history);
    assert_eq!(failed[0].paths, ["/bad"]);
    assert!(
        matches!(&failed[0].state, BatchState::Failed { reason } if reason.contains("/bad") && reason.contains("InvalidArgument"))
    );
    assert_eq!(sim.wf.outstanding_paths(), ["/bad"]);
    let completed: usize =
        sim.wf.history().iter().filter(|b| b.state == BatchState::Completed).map(|b| b.path_count).sum();
    assert_eq!(completed, 5, "every other path is invalidated");
    assert!(sim.wf.log().any(|l| l.contains("split into batches")), "{:?}", sim.wf.log);
}

#[test]
fn a_walk_fed_visited_entries_forever_is_cut_short() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0"), ("WALK_MAX_ENTRIES", "3")]));
    sim.fire(Event::ChangeAccepted { change: change("a", "post", Some("a"), Action::Publish) });
    // Honours skip, claims a huge total, and only ever names an entry already visited.
    let mut c = Vec::new();
    for skip in 0..1_000u64 {
        let result = Ok(LinksPage { total: 1_000_000_000, skip, items: vec![entry("a", "post", "a")] });
        c = sim.fire(Event::LinksFetched { target: target("a"), skip, result });
        if !c.contains(&Command::FetchLinks { target: target("a"), skip: skip + 1 }) {
            break;
        }
    }
    assert_eq!(create_paths(&c), ["/*"], "the walk falls back to everything");
    let notes = &sim.batch(0).notes;
    assert!(notes.iter().any(|n| n.contains("links") && n.contains("WALK_MAX_ENTRIES")), "{notes:?}");
}

#[test]
fn notes_do_not_multiply_when_plans_are_merged() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0"), ("BATCH_MAX_PATHS", "1")]));
    // A change without fields: every template falls back, with a note each.
    sim.fire(Event::ChangeAccepted { change: change("p0", "post", None, Action::Unpublish) });
    let c = sim.links("p0", vec![]);
    assert!(matches!(c[..], [Command::CreateInvalidation { .. }]));
    for i in 1..6 {
        let id = format!("p{i}");
        sim.fire(Event::ChangeAccepted { change: change(&id, "post", None, Action::Unpublish) });
        // Nothing more is walked while the first batch is in flight; plans merge later.
    }
    let c = sim.created(1, Ok(invalidation(InvalidationStatus::Completed)));
    let mut c = c;
    for i in 1..6 {
        c = sim.links(&format!("p{i}"), vec![]);
    }
    let _ = c;
    for b in sim.wf.all_batches() {
        let mut unique = b.notes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), b.notes.len(), "repeated notes: {:?}", b.notes);
    }
}

/// Runs the workflow, answering every request with success, until it is
/// finished; returns the largest serialized size seen.
fn run_to_end(sim: &mut Sim, mut c: Vec<Command>, mut largest: usize) -> usize {
    for _ in 0..100_000 {
        largest = largest.max(serde_json::to_vec(&sim.wf).unwrap().len());
        c = match c.first().cloned() {
            Some(Command::FetchLinks { target, skip }) => {
                sim.fire(Event::LinksFetched { target, skip, result: Ok(page(vec![])) })
            }
            Some(Command::FetchRevision { target }) => sim.fire(Event::RevisionFetched { target, result: Ok(Some(9)) }),
            Some(Command::Recall { entry_id, .. }) => sim.fire(Event::Recalled { entry_id, result: Ok(Vec::new()) }),
            Some(Command::CreateInvalidation { sequence, .. }) => {
                sim.created(sequence, Ok(invalidation(InvalidationStatus::InProgress)))
            }
            Some(Command::GetInvalidation { sequence, .. }) => {
                sim.checked(sequence, Ok(invalidation(InvalidationStatus::Completed)))
            }
            Some(Command::Notify { id, .. }) => sim.fire(Event::Notified { id, result: Ok(()) }),
            Some(Command::CheckPage { sequence, path }) => sim.fire(Event::PageChecked {
                sequence,
                path,
                result: Ok(crate::site::PageSeen {
                    status: 200,
                    x_cache: Some("Miss from cloudfront".into()),
                    age: None,
                    revisions: None,
                    location: None,
                }),
            }),
            None if sim.wf.is_finished() => return largest,
            None => sim.sleep(),
        };
    }
    panic!("did not finish: {:?}", sim.wf.phase());
}

#[test]
fn ten_thousand_changes_during_a_batch_keep_the_stored_workflow_bounded() {
    const LIMIT: usize = 512 << 10;
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0"), ("HISTORY_LIMIT", "50")]));
    sim.fire(Event::ChangeAccepted { change: change("first", "post", Some("first"), Action::Publish) });
    let c = sim.links("first", vec![]);
    assert!(matches!(c[..], [Command::CreateInvalidation { .. }]));
    let mut largest = 0;
    // 10,000 distinct entries, each with long localized slugs, while batch 1 is in flight.
    for i in 0..10_000 {
        let slug = format!("{i:05}-{}", "ü".repeat(60));
        let mut ch = change(&format!("entry-{i:05}"), "post", Some(&slug), Action::Publish);
        ch.tracking_id = format!("tracking-{i:05}-{}", "0".repeat(40));
        // Straight through the step (Sim::fire also round-trips every state through serde).
        step(&mut sim.wf, &sim.policy, Event::ChangeAccepted { change: ch }, sim.now, i);
        if i % 500 == 0 {
            largest = largest.max(serde_json::to_vec(&sim.wf).unwrap().len());
        }
    }
    assert_eq!(sim.wf.pending().count, 10_000);
    let c = sim.created(1, Ok(invalidation(InvalidationStatus::InProgress)));
    let largest = run_to_end(&mut sim, c, largest);
    assert!(largest < LIMIT, "the workflow value reached {largest} bytes");
    // Nothing was lost on the way: the walk could not take 10,000 entries, so
    // the plan fell back to everything.
    let last = sim.wf.history().last().unwrap();
    assert_eq!(last.state, BatchState::Completed);
    assert!(sim.wf.history().iter().any(|b| b.paths.iter().any(|p| p == "/*")), "{:?}", sim.wf.history);
    eprintln!("largest stored workflow: {largest} bytes");
}

/// Every number in `value` fits a JavaScript number exactly.
fn assert_js_safe(value: &serde_json::Value) {
    match value {
        serde_json::Value::Number(n) => {
            let ok =
                n.as_u64().is_none_or(|u| u < (1 << 53)) && n.as_i64().is_none_or(|i| i.unsigned_abs() < (1 << 53));
            assert!(ok, "{n} is not a JavaScript-safe integer");
        }
        serde_json::Value::Array(items) => items.iter().for_each(assert_js_safe),
        serde_json::Value::Object(map) => map.values().for_each(assert_js_safe),
        _ => {}
    }
}

#[test]
fn a_stored_workflow_holds_only_numbers_a_javascript_value_can_hold() {
    // The Worker stores the workflow as a JavaScript value: a u64 past 2^53 cannot be stored.
    let mut sim = Sim::new(policy(&[]));
    for (i, entropy) in [0, 1, u64::MAX, 0xDEAD_BEEF_DEAD_BEEF].into_iter().enumerate() {
        let ch = change(&format!("e{i}"), "post", Some("s"), Action::Publish);
        step(&mut sim.wf, &sim.policy, Event::ChangeAccepted { change: ch }, sim.now, entropy);
        assert_js_safe(&serde_json::to_value(&sim.wf).unwrap());
    }
}

#[test]
fn a_walk_put_back_keeps_its_changes_and_walks_again() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0")]));
    let c = sim.fire(Event::ChangeAccepted { change: change("a", "post", Some("a"), Action::Publish) });
    assert_eq!(c, [Command::FetchLinks { target: target("a"), skip: 0 }]);
    sim.links("a", vec![entry("b", "page", "b")]);
    assert!(sim.wf.walk().is_some_and(|w| w.reading_links()));
    sim.wf.restart_walk();
    assert_eq!(sim.wf.phase(), Phase::Accepted);
    assert!(sim.wf.walk().is_none() && sim.wf.pending().holds("t-a-Publish"));
    // The next wake-up walks from the change again, and nothing it had found is lost.
    let c = sim.fire(Event::TimerFired);
    assert_eq!(c, [Command::FetchLinks { target: target("a"), skip: 0 }]);
    sim.links("a", vec![entry("b", "page", "b")]);
    let c = sim.links("b", vec![]);
    assert_eq!(create_paths(&c), ["/", "/b", "/b/*", "/blog/a"]);
}
