//! The workflow with cache tags: tags for the changed entry and every entry
//! walked, tags only without paths, and no walk at all when asked.

use super::tests::{change, create_paths, entry, policy, Sim};
use super::{Command, Event};
use crate::webhook::Action;

const TAG_RULES: &str = r#"{"*":["entry:{sys.id}"],"page":["page:{slug}"]}"#;

#[test]
fn the_changed_entry_and_every_entry_walked_are_tagged_beside_their_paths() {
    let mut sim = Sim::new(policy(&[("COLLECT_WINDOW_SECONDS", "0"), ("TAG_RULES", TAG_RULES)]));
    sim.fire(Event::ChangeAccepted { change: change("child", "card", Some("x"), Action::Publish) });
    sim.links("child", vec![entry("home", "page", "Home")]);
    let c = sim.links("home", vec![]);
    assert_eq!(create_paths(&c), ["#entry:child", "#entry:home", "#page:home", "/", "/Home", "/Home/*"]);
    assert_eq!(sim.batch(0).tag_count, 3);
}

#[test]
fn tags_only_sends_no_path_and_a_depth_of_zero_walks_nothing() {
    let settings =
        [("COLLECT_WINDOW_SECONDS", "0"), ("TAG_RULES", TAG_RULES), ("INVALIDATE_BY", "tags"), ("WALK_MAX_DEPTH", "0")];
    let mut sim = Sim::new(policy(&settings));
    let c = sim.fire(Event::ChangeAccepted { change: change("child", "card", Some("x"), Action::Publish) });
    assert!(!c.iter().any(|c| matches!(c, Command::FetchLinks { .. })), "{c:?}");
    assert_eq!(create_paths(&c), ["#entry:child"]);
}
