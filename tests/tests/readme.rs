//! README.md stays in step with the code: its state diagram has exactly the
//! core's transitions.

use invalidator_core::workflow::TRANSITIONS;
use std::collections::BTreeSet;

#[test]
fn the_state_diagram_matches_the_core() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let diagram = readme.split("```mermaid").nth(1).expect("a mermaid block").split("```").next().unwrap();
    let drawn: BTreeSet<(String, String)> = diagram
        .lines()
        .filter_map(|l| l.split(':').next().unwrap().split_once("-->"))
        .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
        .filter(|(a, _)| a != "[*]")
        .collect();
    let name = |p| serde_json::to_value(p).unwrap().as_str().unwrap().to_string();
    let core: BTreeSet<(String, String)> = TRANSITIONS.iter().map(|(a, b)| (name(a), name(b))).collect();
    assert_eq!(drawn, core, "README.md's diagram and workflow::TRANSITIONS differ");
}
