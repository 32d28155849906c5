//! A change's receipt as the CLI prints it, one line a step: the step, its
//! time of day (UTC) and how long it took since the step before, with any
//! detail. `status --worker`, `invalidate --wait` and `watch` all print
//! steps through [`step_line`], so they read alike.

use invalidator_core::workflow::ReceiptStep;

/// Width of the step column, the longest step name (`reinvalidated`) and a space.
const STEP_WIDTH: usize = 14;

pub use invalidator_core::time::duration_text as duration;

/// A step's name as the receipt spells it (`not_verified`).
pub fn step_name(s: &ReceiptStep) -> String {
    serde_json::to_value(s.step).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

/// `completed      18:45:03 UTC  +4.2 s  detail`.
pub fn step_line(s: &ReceiptStep) -> String {
    let text = s.at.utc_text();
    let clock = text.get(11..).unwrap_or(&text);
    let took = if s.since_previous_ms > 0 { format!("  +{}", duration(s.since_previous_ms)) } else { String::new() };
    let detail = s.detail.as_deref().map(|d| format!("  {d}")).unwrap_or_default();
    format!("{:<STEP_WIDTH$} {clock}{took}{detail}", step_name(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use invalidator_core::workflow::StepName;
    use invalidator_core::Timestamp;

    #[test]
    fn a_step_reads_with_its_time_and_duration() {
        let s = ReceiptStep {
            step: StepName::NotVerified,
            at: Timestamp(1_796_409_903_250),
            since_previous_ms: 4_240,
            detail: Some("/ answered 404".into()),
        };
        assert_eq!(step_line(&s), "not_verified   18:45:03 UTC  +4.2 s  / answered 404");
        let first = ReceiptStep { step: StepName::Received, since_previous_ms: 0, detail: None, ..s };
        assert_eq!(step_line(&first), "received       18:45:03 UTC");
        assert_eq!((duration(850), duration(185_000)), ("850 ms".into(), "3 min 05 s".into()));
    }
}
