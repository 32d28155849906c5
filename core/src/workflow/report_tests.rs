//! A change as people ask after it: its label (entry, content type, when
//! received) travels from the webhook into its batch and the history, and
//! the reports by entry id and of recent changes find it with its timeline.

use super::tests::{change, invalidation, policy, Sim};
use super::*;
use crate::cloudfront::InvalidationStatus;
use crate::webhook::Action;

/// A publish of `id` (a page), walked with no parent, through to Completed.
fn publish_to_completed(sim: &mut Sim, id: &str, seq: u64) {
    let received = sim.now;
    let _ = sim.fire(Event::ChangeAccepted { change: change(id, "page", Some(id), Action::Publish) });
    let waiting = sim.wf.entry_report(id);
    assert_eq!(waiting.len(), 1, "a change not walked yet is found by its entry");
    assert_eq!(waiting[0].change.state, Standing::Accepted);
    assert_eq!(waiting[0].change.label.as_ref().unwrap().received_at, received);
    let _ = sim.sleep();
    let _ = sim.links(id, vec![]);
    sim.now = sim.now.plus(std::time::Duration::from_millis(300));
    let _ = sim.created(seq, Ok(invalidation(InvalidationStatus::InProgress)));
    let _ = sim.sleep();
    let _ = sim.checked(seq, Ok(invalidation(InvalidationStatus::Completed)));
    assert!(sim.wf.is_finished(), "{:?}", sim.wf.phase());
}

#[test]
fn a_change_is_found_by_its_entry_id_with_its_content_type_paths_and_timeline() {
    let mut sim = Sim::new(policy(&[]));
    publish_to_completed(&mut sim, "hero", 1);
    let found = sim.wf.entry_report("hero");
    assert_eq!(found.len(), 1);
    let report = &found[0];
    let label = report.change.label.as_ref().unwrap();
    assert_eq!((label.entry_id.as_str(), label.content_type.as_deref()), ("hero", Some("page")));
    assert_eq!(report.change.state, Standing::Completed);
    assert_eq!(report.paths, ["/", "/hero", "/hero/*"]);
    assert_eq!((report.path_count, report.distribution_id.as_deref()), (3, Some("E1")));
    let steps: Vec<Milestone> = report.timeline.iter().map(|s| s.step).collect();
    assert_eq!(steps, [Milestone::Received, Milestone::Planned, Milestone::Submitted, Milestone::Completed]);
    assert!(report.timeline.windows(2).all(|w| w[0].at <= w[1].at), "{:?}", report.timeline);
    assert_eq!(sim.wf.track(&report.change.tracking_id).unwrap().label.as_ref(), Some(label));
    assert!(sim.wf.entry_report("other").is_empty());
}

#[test]
fn recent_changes_list_the_newest_first_each_once() {
    let mut sim = Sim::new(policy(&[]));
    publish_to_completed(&mut sim, "first", 1);
    publish_to_completed(&mut sim, "second", 2);
    let recent = sim.wf.recent_changes(RECENT_CHANGES_SHOWN);
    let names: Vec<&str> = recent.iter().map(|r| r.change.label.as_ref().unwrap().entry_id.as_str()).collect();
    assert_eq!(names, ["second", "first"]);
    assert_eq!(sim.wf.recent_changes(1).len(), 1, "bounded by the limit asked for");
}

#[test]
fn an_operators_paths_show_as_a_change_without_a_label() {
    let mut sim = Sim::new(policy(&[]));
    let _ = sim.fire(Event::PathsRequested { tracking_id: "cli-1".into(), paths: vec!["/x".into()] });
    let _ = sim.sleep();
    let recent = sim.wf.recent_changes(RECENT_CHANGES_SHOWN);
    assert_eq!(recent.len(), 1, "{recent:?}");
    assert_eq!((recent[0].change.tracking_id.as_str(), recent[0].change.label.as_ref()), ("cli-1", None));
}

#[test]
fn a_workflow_stored_before_labels_still_reads() {
    let mut sim = Sim::new(policy(&[]));
    publish_to_completed(&mut sim, "hero", 1);
    let mut stored = serde_json::to_value(&sim.wf).unwrap();
    for batch in stored["history"].as_array_mut().unwrap() {
        batch.as_object_mut().unwrap().remove("labels");
    }
    stored["pending"].as_object_mut().unwrap().remove("labels");
    let old: Workflow = serde_json::from_value(stored).unwrap();
    assert!(old.entry_report("hero").is_empty(), "no label, nothing to find by entry");
    assert_eq!(old.recent_changes(RECENT_CHANGES_SHOWN).len(), 1, "the change still shows, by tracking id");
}
