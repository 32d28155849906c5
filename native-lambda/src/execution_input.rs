//! The input of a new execution: changes folded with the core's
//! `ChangeAccepted` into one workflow, as the state machine's first Task
//! expects it. The webhook function (one change, when it starts executions
//! itself), the starter function (a queue batch) and the sweep function
//! (the changes it found) all build it here.

use crate::task::TaskState;
use invalidator_core::driver::Stop;
use invalidator_core::settings::Policy;
use invalidator_core::webhook::Change;
use invalidator_core::workflow::{step, Event, Next, Workflow};
use invalidator_core::Timestamp;

/// One workflow for `distributions` holding every change of `changes`, in
/// order. The changes' nonces are drawn here, once, from `entropy`: they
/// travel in the execution's input, so a retried task plans the same
/// CallerReference.
pub fn execution_input(
    distributions: &[String],
    policy: &Policy,
    changes: impl IntoIterator<Item = Change>,
    now: Timestamp,
    entropy: u64,
) -> TaskState {
    let mut workflow = Workflow::new(distributions.to_vec());
    let mut wake = now;
    for (i, change) in changes.into_iter().enumerate() {
        let accepted = Event::ChangeAccepted { change };
        if let Next::WakeAt(at) = step(&mut workflow, policy, accepted, now, entropy.wrapping_add(i as u64)).next {
            wake = at;
        }
    }
    TaskState::after(workflow, Stop::SleepUntil(wake), now)
}
