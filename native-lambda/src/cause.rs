//! The cause a failed execution ends with: why it failed and what was not
//! invalidated (the paths of the batches not completed, and the changes not
//! yet resolved into paths), bounded to fit Step Functions' cause field.

use invalidator_core::workflow::Workflow;

/// The most a cause holds (Step Functions keeps at most 32,768 characters).
pub const CAUSE_MAX_BYTES: usize = 30_000;

/// `reason`, then what of `workflow` was not invalidated. Paths past
/// [`CAUSE_MAX_BYTES`] are counted, not listed: every one of them is in the
/// execution's last state (`$.workflow.not_invalidated`, and the batches left under `$.workflow.stage`).
pub fn failure_cause(reason: &str, workflow: &Workflow) -> String {
    let mut cause = String::from(reason);
    let paths = workflow.outstanding_paths();
    if !paths.is_empty() {
        cause.push_str(&format!("; paths not invalidated ({}):", paths.len()));
        let room = CAUSE_MAX_BYTES.saturating_sub(200);
        let mut shown = 0;
        for p in &paths {
            if cause.len() + 1 + p.len() > room {
                break;
            }
            cause.push(' ');
            cause.push_str(p);
            shown += 1;
        }
        if shown < paths.len() {
            let more = paths.len() - shown;
            cause.push_str(&format!(
                " … and {more} more (all in the execution's last state: workflow.not_invalidated, workflow.stage)"
            ));
        }
    }
    let changes: Vec<String> = unresolved_changes(workflow);
    if !changes.is_empty() {
        let room = CAUSE_MAX_BYTES.saturating_sub(cause.len() + 64);
        let mut listed = changes.join(", ");
        if listed.len() > room {
            let cut = (0..=room).rev().find(|i| listed.is_char_boundary(*i)).unwrap_or(0);
            listed.truncate(cut);
            listed.push('…');
        }
        cause.push_str(&format!("; changes not yet resolved into paths ({}): {listed}", changes.len()));
    }
    cause
}

/// The changes waiting or being walked, as `Entry <id> (published)`.
fn unresolved_changes(workflow: &Workflow) -> Vec<String> {
    let waiting = std::iter::once(workflow.pending()).chain(workflow.walk().map(|w| w.changes()));
    waiting
        .flat_map(|p| p.targets.iter())
        .map(|t| {
            let what = if t.wants_revision.is_some() { "published" } else { "removed" };
            format!("{:?} {} ({what})", t.target.kind, t.target.id)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use invalidator_core::retry::Failure;
    use invalidator_core::settings::Policy;
    use invalidator_core::testing::{ChangeBuilder, TestSettings};
    use invalidator_core::workflow::{step, Command, Event, Next};
    use invalidator_core::Timestamp;

    fn policy(extra: &[(&str, &str)]) -> Policy {
        TestSettings::new().with("PATH_RULES", r#"{"page":["/{slug}"]}"#).with_all(extra).policy()
    }

    /// A run whose every CreateInvalidation CloudFront refused for good.
    fn failed_run(paths: Vec<String>) -> Workflow {
        let policy = policy(&[
            ("COLLECT_WINDOW_SECONDS", "0"),
            ("PATH_BUDGET", "5000"),
            ("BATCH_MAX_PATHS", "3000"),
            ("PLAN_MAX_BYTES", "1048576"),
        ]);
        let now = Timestamp::from_secs(1_800_000_000);
        let mut wf = Workflow::new(vec!["E1".into()]);
        let mut next = step(&mut wf, &policy, Event::PathsRequested { tracking_id: "t".into(), paths }, now, 1);
        while next.next != Next::Finished {
            next = match next.commands.first() {
                Some(Command::CreateInvalidation { sequence, .. }) => {
                    let result = Err(Failure::permanent("AccessDenied"));
                    step(&mut wf, &policy, Event::InvalidationCreated { sequence: *sequence, result }, now, 2)
                }
                _ => step(&mut wf, &policy, Event::TimerFired, now, 3),
            };
        }
        wf
    }

    #[test]
    fn a_cause_lists_what_fits_and_counts_the_rest() {
        let paths: Vec<String> = (0..5000).map(|i| format!("/{}-{i:04}", "%E4%B8%80".repeat(21))).collect();
        let workflow = failed_run(paths.clone());
        assert_eq!(workflow.not_invalidated().len(), 5000);
        let cause = failure_cause("AccessDenied: no", &workflow);
        assert!(cause.len() <= CAUSE_MAX_BYTES, "{} bytes", cause.len());
        assert!(cause.starts_with("AccessDenied: no; paths not invalidated (5000): /"), "{}", &cause[..200]);
        assert!(cause.contains(&paths[0]) && !cause.contains(&paths[4999]));
        let listed = cause.matches(" /").count();
        assert!(cause.contains(&format!("and {} more", 5000 - listed)), "{}", &cause[cause.len() - 200..]);
    }

    #[test]
    fn a_cause_without_paths_names_the_changes() {
        let mut workflow = Workflow::new(vec!["E1".into()]);
        let change = ChangeBuilder::publish("cta-button").content_type("button").revision(3).build();
        let now = Timestamp::from_secs(1_800_000_000);
        step(&mut workflow, &policy(&[]), Event::ChangeAccepted { change }, now, 1);
        let cause = failure_cause("Runtime.ExitError: killed", &workflow);
        assert_eq!(
            cause,
            "Runtime.ExitError: killed; changes not yet resolved into paths (1): Entry cta-button (published)"
        );
    }
}
