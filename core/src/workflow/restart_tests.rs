//! A walk put back ([`Workflow::restart_walk`], the AWS body's way to keep a
//! Step Functions state small) ends as a walk never put back when the
//! Delivery API keeps failing: after the same attempts, by the same deadline.

use super::tests::{change, create_paths, policy, Sim};
use super::*;
use crate::retry::Failure;
use crate::webhook::Action;

/// More steps than any bounded walk takes: a walk still going here never ends.
const STEPS_MAX: usize = 1000;

/// How a walk ended: the paths planned, the links requests it failed, and
/// when it planned them.
#[derive(Debug, PartialEq)]
struct Ended {
    paths: Vec<String>,
    links_failed: usize,
    at: Timestamp,
}

/// Publishes one entry and answers every links request with `failure`;
/// `restart` puts the walk back after every failure, as a Lambda task does
/// when the retry is due past its `TASK_WAIT_BUDGET_SECONDS`.
fn walk_failing(failure: Failure, restart: bool) -> Ended {
    let mut sim = Sim::new(policy(&[]));
    let _ = sim.fire(Event::ChangeAccepted { change: change("child", "card", Some("x"), Action::Publish) });
    let start = sim.now;
    let mut commands = sim.sleep();
    let mut links_failed = 0;
    for _ in 0..STEPS_MAX {
        if commands.iter().any(|c| matches!(c, Command::CreateInvalidation { .. })) {
            let at = Timestamp::from_millis(sim.now.as_millis() - start.as_millis());
            return Ended { paths: create_paths(&commands), links_failed, at };
        }
        let mut answered = Vec::new();
        for command in std::mem::take(&mut commands) {
            if let Command::FetchLinks { target, skip } = command {
                links_failed += 1;
                answered = sim.fire(Event::LinksFetched { target, skip, result: Err(failure.clone()) });
            }
        }
        if !answered.is_empty() {
            commands = answered;
            continue;
        }
        if restart {
            sim.wf.restart_walk();
        }
        commands = sim.sleep();
    }
    panic!("the walk did not end after {links_failed} failed links requests (restart: {restart})");
}

#[test]
fn a_walk_put_back_after_every_503_gives_up_after_retry_max_attempts_as_one_walk_does() {
    let failure = Failure::transient("Delivery API 503");
    let once = walk_failing(failure.clone(), false);
    assert_eq!(once.paths, ["/*"], "{once:?}");
    assert_eq!(once.links_failed, policy(&[]).retry_max_attempts as usize);
    assert_eq!(walk_failing(failure, true), once);
}

#[test]
fn a_walk_put_back_while_the_delivery_api_stays_busy_ends_by_its_deadline_as_one_walk_does() {
    // A busy service has no attempt limit: only the walk's deadline ends it.
    let failure = Failure::busy(None, "Delivery API 429");
    let once = walk_failing(failure.clone(), false);
    assert_eq!(once.paths, ["/*"], "{once:?}");
    assert!(once.at.as_millis() >= policy(&[]).batch_timeout.as_millis() as u64, "{once:?}");
    assert_eq!(walk_failing(failure, true), once);
}
