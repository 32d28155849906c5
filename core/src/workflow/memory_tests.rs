//! The workflow with path memory: a rename invalidates the old path beside
//! the new, an unpublish its exact old paths instead of its rule's wildcard,
//! and a recall whose answer is lost falls back to the wildcard.

use super::tests::{change, create_paths, policy, Sim};
use super::{Command, Event};
use crate::memory::Memory;
use crate::webhook::Action;
use std::collections::BTreeMap;

/// A path memory as a body keeps one, deciding with [`Memory::update`].
#[derive(Default)]
struct Store(BTreeMap<String, Memory>);

impl Store {
    /// Answers every recall among `commands`, returning the commands that follow.
    fn answer(&mut self, sim: &mut Sim, commands: Vec<Command>) -> Vec<Command> {
        let mut out = Vec::new();
        for c in commands {
            match c {
                Command::Recall { entry_id, remember } => {
                    let (kept, recalled) = Memory::update(self.0.remove(&entry_id), remember, 1);
                    if let Some(m) = kept {
                        self.0.insert(entry_id.clone(), m);
                    }
                    out.extend(sim.fire(Event::Recalled { entry_id, result: Ok(recalled) }));
                }
                other => out.push(other),
            }
        }
        out
    }
}

fn memory_policy() -> crate::settings::Policy {
    policy(&[("COLLECT_WINDOW_SECONDS", "0"), ("PATH_MEMORY_ENTRIES", "100")])
}

/// Publishes (or unpublishes) `id` and runs the walk (nothing links to it)
/// until its CreateInvalidation; answers it Completed. Returns its items.
fn run(
    sim: &mut Sim,
    store: &mut Store,
    id: &str,
    ct: &str,
    slug: Option<&str>,
    action: Action,
    rev: u64,
) -> Vec<String> {
    let mut ch = change(id, ct, slug, action);
    ch.revision = Some(rev);
    ch.tracking_id = format!("t-{id}-{rev}-{action:?}");
    let c = sim.fire(Event::ChangeAccepted { change: ch });
    assert!(c.iter().any(|c| matches!(c, Command::Recall { .. })), "the walk asks the memory: {c:?}");
    assert!(c.iter().any(|c| matches!(c, Command::FetchLinks { .. })), "{c:?}");
    let c = store.answer(sim, c);
    assert!(c.iter().all(|c| matches!(c, Command::FetchLinks { .. })), "{c:?}");
    let c = sim.links(id, vec![]);
    let paths = create_paths(&c);
    let seq = sim.batch(0).sequence;
    sim.created(seq, Ok(super::tests::invalidation(crate::cloudfront::InvalidationStatus::Completed)));
    paths
}

#[test]
fn a_renamed_slug_invalidates_the_old_path_and_the_new() {
    let (mut sim, mut store) = (Sim::new(memory_policy()), Store::default());
    let first = run(&mut sim, &mut store, "ws", "page", Some("winter-sale"), Action::Publish, 1);
    assert_eq!(first, ["/", "/winter-sale", "/winter-sale/*"]);
    let renamed = run(&mut sim, &mut store, "ws", "page", Some("winter-deals"), Action::Publish, 2);
    assert_eq!(renamed, ["/", "/winter-deals", "/winter-deals/*", "/winter-sale", "/winter-sale/*"]);
    assert_eq!(sim.wf.billed_this_month(sim.now).items, 3 + 5, "every item of both invalidations is billed once");
}

#[test]
fn an_unpublish_invalidates_the_exact_old_paths_and_no_wildcard() {
    let (mut sim, mut store) = (Sim::new(memory_policy()), Store::default());
    run(&mut sim, &mut store, "p1", "post", Some("snow"), Action::Publish, 3);
    let unpublished = run(&mut sim, &mut store, "p1", "post", None, Action::Unpublish, 4);
    assert_eq!(unpublished, ["/", "/blog/snow"]);
    let notes = &sim.wf.history().iter().last().unwrap().notes;
    assert!(notes.iter().any(|n| n.contains("remembered") && n.contains("/blog/*")), "{notes:?}");
    let forgotten = run(&mut sim, &mut store, "p2", "post", None, Action::Unpublish, 4);
    assert_eq!(forgotten, ["/", "/blog/*"], "nothing remembered: the wildcard stays");
}

#[test]
fn a_lost_recall_is_asked_again_then_falls_back_and_a_redelivery_recalls_nothing() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "1"), ("PATH_MEMORY_ENTRIES", "100")]));
    let ch = change("p1", "post", None, Action::Unpublish);
    assert!(sim.fire(Event::ChangeAccepted { change: ch.clone() }).is_empty(), "the window collects first");
    assert!(sim.fire(Event::ChangeAccepted { change: ch }).is_empty(), "a redelivery sends nothing");
    let c = sim.sleep();
    let recalls = |c: &[Command]| c.iter().filter(|c| matches!(c, Command::Recall { .. })).count();
    assert_eq!(recalls(&c), 1, "{c:?}");
    let mut c = sim.links("p1", vec![]);
    assert!(c.is_empty(), "the plan waits for the recall: {c:?}");
    // The body restarted and lost the answer, three times: the wildcard stands in.
    for _ in 0..3 {
        c = sim.fire(Event::TimerFired);
        if create_paths_in(&c).is_some() {
            break;
        }
        assert_eq!(recalls(&c), 1, "asked again: {c:?}");
    }
    assert_eq!(create_paths_in(&c).unwrap(), ["/", "/blog/*"]);
}

fn create_paths_in(c: &[Command]) -> Option<Vec<String>> {
    c.iter().any(|c| matches!(c, Command::CreateInvalidation { .. })).then(|| create_paths(c))
}

#[test]
fn a_bulk_publish_waits_for_at_most_a_hundred_recalls_and_says_so() {
    let mut sim = Sim::new(memory_policy());
    sim.policy.collect_window = std::time::Duration::from_secs(1);
    for i in 0..150 {
        sim.fire(Event::ChangeAccepted {
            change: change(&format!("p{i}"), "page", Some(&format!("s{i}")), Action::Publish),
        });
    }
    let c = sim.sleep();
    let recalls = c.iter().filter(|c| matches!(c, Command::Recall { .. })).count();
    assert_eq!(recalls, super::pending::RECALLS_KEPT);
    let bytes = serde_json::to_vec(&sim.wf).unwrap().len();
    assert!(bytes < 64 << 10, "the stored workflow stays small: {bytes} bytes");
    assert!(sim.wf.walk().unwrap().changes().notes.iter().any(|n| n.contains("more than 100")));
}

/// Answers every command (recalls from `store`, links with nothing above)
/// until the CreateInvalidation; answers it Completed and returns its paths.
fn run_to_invalidation(sim: &mut Sim, store: &mut Store, mut c: Vec<Command>) -> Vec<String> {
    loop {
        if let Some(paths) = create_paths_in(&c) {
            let seq = sim.batch(0).sequence;
            sim.created(seq, Ok(super::tests::invalidation(crate::cloudfront::InvalidationStatus::Completed)));
            return paths;
        }
        let mut next = Vec::new();
        for command in store.answer(sim, c) {
            match command {
                Command::FetchLinks { target, .. } => next.extend(sim.links(&target.id, vec![])),
                other => next.push(other),
            }
        }
        if next.is_empty() {
            next = sim.sleep();
        }
        c = next;
    }
}

#[test]
fn a_rename_in_a_bulk_publish_over_the_recall_bound_leaves_no_stale_record_for_the_unpublish() {
    let (mut sim, mut store) = (Sim::new(memory_policy()), Store::default());
    assert_eq!(run(&mut sim, &mut store, "e", "post", Some("a"), Action::Publish, 1), ["/", "/blog/a"]);
    // 101 publishes at once, the rename of `e` last: its recall is over the bound.
    sim.policy.collect_window = std::time::Duration::from_secs(1);
    for i in 0..super::pending::RECALLS_KEPT {
        sim.fire(Event::ChangeAccepted {
            change: change(&format!("p{i}"), "post", Some(&format!("s{i}")), Action::Publish),
        });
    }
    let mut renamed = change("e", "post", Some("b"), Action::Publish);
    renamed.revision = Some(2);
    sim.fire(Event::ChangeAccepted { change: renamed });
    let c = sim.sleep();
    let bulk = run_to_invalidation(&mut sim, &mut store, c);
    assert!(bulk.contains(&"/blog/b".to_string()), "{bulk:?}");
    assert!(bulk.contains(&"/blog/a".to_string()), "the old path is still recalled: {bulk:?}");
    // The unpublish of `e` must not trust `/blog/a` alone: `/blog/b` is served.
    let mut unpublish = change("e", "post", None, Action::Unpublish);
    unpublish.revision = Some(3);
    let c = sim.fire(Event::ChangeAccepted { change: unpublish });
    let paths = run_to_invalidation(&mut sim, &mut store, c);
    assert!(paths.iter().any(|p| p == "/blog/*" || p == "/blog/b"), "{paths:?}");
}

#[test]
fn a_publish_the_memory_failed_to_keep_is_asked_again() {
    let (mut sim, mut store) = (Sim::new(memory_policy()), Store::default());
    run(&mut sim, &mut store, "e", "post", Some("a"), Action::Publish, 1);
    let mut renamed = change("e", "post", Some("b"), Action::Publish);
    renamed.revision = Some(2);
    let c = sim.fire(Event::ChangeAccepted { change: renamed });
    assert!(c.iter().any(|c| matches!(c, Command::Recall { .. })), "{c:?}");
    let failed = crate::retry::Failure::transient("storage: overloaded");
    let again = sim.fire(Event::Recalled { entry_id: "e".into(), result: Err(failed) });
    assert!(
        again.iter().any(|c| matches!(c, Command::Recall { remember: Some(r), .. } if r.revision == 2)),
        "{again:?}"
    );
    let rest = c.into_iter().filter(|c| !matches!(c, Command::Recall { .. })).chain(again).collect();
    let paths = run_to_invalidation(&mut sim, &mut store, rest);
    assert!(paths.contains(&"/blog/a".to_string()) && paths.contains(&"/blog/b".to_string()), "{paths:?}");
}

#[test]
fn deleting_or_archiving_what_is_not_served_invalidates_nothing() {
    let (mut sim, mut store) = (Sim::new(memory_policy()), Store::default());
    // A draft never published, deleted: nothing is walked, nothing invalidated.
    let c = sim.fire(Event::ChangeAccepted { change: change("draft", "page", None, Action::Delete) });
    let c = store.answer(&mut sim, c);
    assert!(c.is_empty() && sim.wf.is_finished(), "{c:?}");
    assert!(sim.wf.all_batches().next().is_none(), "no invalidation");
    // Published, unpublished, then archived: the unpublish invalidates, the archive nothing.
    run(&mut sim, &mut store, "p1", "page", Some("sale"), Action::Publish, 3);
    assert_eq!(run(&mut sim, &mut store, "p1", "page", None, Action::Unpublish, 4), ["/", "/sale", "/sale/*"]);
    let mut archive = change("p1", "page", Some("sale"), Action::Archive);
    archive.revision = Some(5);
    let c = sim.fire(Event::ChangeAccepted { change: archive });
    let c = store.answer(&mut sim, c);
    assert!(c.is_empty() && sim.wf.is_finished(), "{c:?}");
    assert_eq!(sim.wf.all_batches().count(), 2, "the publish's and the unpublish's invalidations only");
}

#[test]
fn a_delete_after_an_unpublish_that_never_came_invalidates_the_remembered_paths() {
    let (mut sim, mut store) = (Sim::new(memory_policy()), Store::default());
    run(&mut sim, &mut store, "p1", "post", Some("snow"), Action::Publish, 3);
    let c = sim.fire(Event::ChangeAccepted { change: change("p1", "post", None, Action::Delete) });
    let c = store.answer(&mut sim, c);
    assert_eq!(create_paths(&c), ["/blog/snow"], "the exact old path, no wildcard and no walk");
}
