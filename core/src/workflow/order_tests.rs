//! Changes of one entry folded out of revision order (the Durable Object's
//! inbox is listed by key, SQS does not order a batch): the highest revision
//! is what the freshness gate waits for and what the path memory keeps.

use super::tests::{change, policy, Sim};
use super::{Command, Event};
use crate::memory::Remember;
use crate::webhook::{Action, Change};

fn publish(rev: u64) -> Change {
    let mut ch = change("ws", "page", Some(&format!("slug-{rev}")), Action::Publish);
    ch.revision = Some(rev);
    ch.tracking_id = format!("t-{rev}");
    ch
}

fn gated_memory_sim() -> Sim {
    Sim::new(policy(&[
        ("COLLECT_WINDOW_SECONDS", "1"),
        ("PATH_MEMORY_ENTRIES", "100"),
        ("FRESHNESS_MAX_WAIT_SECONDS", "30"),
    ]))
}

fn remembered(commands: &[Command]) -> Remember {
    let found = commands.iter().find_map(|c| match c {
        Command::Recall { remember: Some(r), .. } => Some(r.clone()),
        _ => None,
    });
    found.unwrap_or_else(|| panic!("no recall keeping items in {commands:?}"))
}

#[test]
fn two_revisions_folded_in_either_order_wait_for_and_remember_the_higher() {
    for order in [[5, 6], [6, 5]] {
        let mut sim = gated_memory_sim();
        for rev in order {
            sim.fire(Event::ChangeAccepted { change: publish(rev) });
        }
        let c = sim.sleep();
        let kept = remembered(&c);
        assert_eq!((kept.revision, kept.items.as_slice()), (6, &["/slug-6".to_string(), "/slug-6/*".into()][..]));
        let targets = &sim.wf.walk().unwrap().changes().targets;
        assert_eq!(targets.len(), 1);
        assert_eq!(targets[0].wants_revision, Some(6), "{order:?}: the gate waits for revision 6");
    }
}

#[test]
fn a_walk_put_back_keeps_the_higher_revision_of_the_changes_that_waited_behind_it() {
    let mut sim = gated_memory_sim();
    sim.fire(Event::ChangeAccepted { change: publish(6) });
    sim.sleep();
    assert!(sim.wf.walk().is_some());
    sim.fire(Event::ChangeAccepted { change: publish(5) });
    sim.wf.restart_walk();
    // (Both recalls may go out: the memory keeps revision 6 whichever comes last.)
    sim.fire(Event::TimerFired);
    assert_eq!(sim.wf.walk().unwrap().changes().targets[0].wants_revision, Some(6));
}
