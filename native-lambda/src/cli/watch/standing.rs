//! Whether the change followed is live, still on its way, or ended without
//! reaching visitors, read from what each distribution reports: live once
//! every distribution has it Completed and verified (or Completed with no
//! verification: the receipt then ends at `completed`).

use super::worker::Look;
use invalidator_core::workflow::{Standing, StepName, Tracked};

/// Where the followed change stands, as `watch` acts on it.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing knows it yet (the webhook may not have arrived).
    NotSeen,
    /// On its way: the standing of the distribution furthest behind.
    OnItsWay(Standing),
    /// Visitors get it on every distribution.
    Live,
    /// It ended without reaching visitors: why.
    Ended(String),
}

/// The verdict on `look`.
pub fn verdict(look: &Look) -> Verdict {
    if look.is_empty() {
        return Verdict::NotSeen;
    }
    let mut behind = None;
    for s in look {
        match one(&s.change) {
            Verdict::Ended(why) if look.len() > 1 => return Verdict::Ended(format!("{}: {why}", s.distribution)),
            Verdict::Live => {}
            Verdict::OnItsWay(standing) => behind = behind.or(Some(standing)),
            other => return other,
        }
    }
    behind.map_or(Verdict::Live, Verdict::OnItsWay)
}

fn one(t: &Tracked) -> Verdict {
    let last = t.receipt.last();
    match t.state {
        Standing::Failed => Verdict::Ended(t.reason.clone().unwrap_or_else(|| "failed".into())),
        Standing::Completed => match last.map(|s| (s.step, s.detail.clone())) {
            Some((StepName::NotVerified, detail)) => {
                Verdict::Ended(format!("not verified: {}", detail.unwrap_or_else(|| "no detail".into())))
            }
            Some((StepName::Reinvalidated, _)) => Verdict::OnItsWay(Standing::Verifying),
            _ => Verdict::Live,
        },
        Standing::Seen => Verdict::Ended("it ended, and its batch is no longer kept: its outcome is unknown".into()),
        other => Verdict::OnItsWay(other),
    }
}

#[cfg(test)]
mod tests {
    use super::super::worker::Sighting;
    use super::*;
    use invalidator_core::workflow::ReceiptStep;
    use invalidator_core::Timestamp;

    fn change(state: Standing, last: Option<(StepName, &str)>, reason: Option<&str>) -> Sighting {
        let receipt = last
            .map(|(step, d)| ReceiptStep { step, at: Timestamp(1), since_previous_ms: 0, detail: Some(d.into()) })
            .into_iter()
            .collect();
        let change = Tracked {
            tracking_id: "t1".into(),
            state,
            batch: None,
            invalidation_id: None,
            reason: reason.map(String::from),
            label: None,
            receipt,
        };
        Sighting { distribution: "E1".into(), change }
    }

    #[test]
    fn live_needs_every_distribution_completed_and_not_left_unverified() {
        let done = change(Standing::Completed, Some((StepName::Completed, "")), None);
        let verified = change(Standing::Completed, Some((StepName::Verified, "")), None);
        assert_eq!(verdict(&vec![done.clone(), verified]), Verdict::Live);
        let flight = change(Standing::InProgress, None, None);
        assert_eq!(verdict(&vec![done.clone(), flight]), Verdict::OnItsWay(Standing::InProgress));
        assert_eq!(verdict(&vec![]), Verdict::NotSeen);
        let stale = change(Standing::Completed, Some((StepName::NotVerified, "/ answered 404")), None);
        assert_eq!(verdict(&vec![stale]), Verdict::Ended("not verified: / answered 404".into()));
        let failed = change(Standing::Failed, None, Some("AccessDenied"));
        assert_eq!(verdict(&vec![done, failed]), Verdict::Ended("E1: AccessDenied".into()));
    }
}
