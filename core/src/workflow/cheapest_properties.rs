//! The cheapest plan, as a property: whatever the entries, a plan with
//! `INVALIDATE_BY=cheapest` never bills more items than invalidating the
//! exact paths one by one would (normalised, less what their own wildcards
//! cover), never exceeds CloudFront's limits (3,000 items and 15 wildcards
//! in progress, tags counted as paths), and still reaches every entry (all
//! its paths covered, or one of its tags sent).

use super::plan::{plan, Numbering};
use super::tests::policy;
use super::walk::Found;
use super::Pending;
use crate::items::{cheaper, EntryItems};
use crate::paths::{covers, is_wildcard, minimize, normalize};
use crate::time::Timestamp;
use proptest::prelude::*;
use std::collections::BTreeSet;

/// CloudFront's limits on what is in progress at once.
const CLOUDFRONT_MAX_ITEMS: usize = 3000;
const CLOUDFRONT_MAX_WILDCARDS: usize = 15;

/// One entry: its own pages' paths (no other entry renders them) and its tags.
fn entry(i: usize) -> impl Strategy<Value = (Vec<String>, Vec<String>)> {
    let paths = proptest::collection::btree_set(("[a-c]{1,2}", any::<bool>()), 0..6).prop_map(move |set| {
        set.into_iter().map(|(seg, wild)| format!("/e{i}/{seg}{}", if wild { "*" } else { "" })).collect()
    });
    let tags = (0usize..3).prop_map(move |n| (0..=n).map(|k| format!("#t{k}:e{i}")).collect());
    (paths, tags)
}

fn entries() -> impl Strategy<Value = Vec<(Vec<String>, Vec<String>)>> {
    (1usize..40).prop_flat_map(|n| (0..n).map(entry).collect::<Vec<_>>())
}

/// Every item the batches bill (one distribution; no webhook, so no `always` rule).
fn billed(items: BTreeSet<String>, budget: &[(&str, &str)]) -> Vec<String> {
    let changes = Pending { count: 1, tracking: vec!["t".into()], ..Pending::default() };
    let found = Found { changes, paths: items, notes: Vec::new(), cut_short: None };
    let at = Numbering { first_sequence: 1, nonce: "n", now: Timestamp::from_secs(1) };
    let planned = plan(found, Vec::new(), &["E1".into()], &policy(budget), at);
    planned.batches.into_iter().flat_map(|b| b.paths).collect()
}

proptest! {
    #[test]
    fn the_cheapest_plan_never_bills_more_than_exact_paths_and_stays_within_limits(
        entries in entries(),
        path_budget in prop_oneof![Just(3000usize), 2usize..60],
        wildcard_budget in 1usize..=15,
    ) {
        let (budget_paths, budget_wildcards) = (path_budget.to_string(), wildcard_budget.to_string());
        let budget = [("PATH_BUDGET", budget_paths.as_str()), ("WILDCARD_BUDGET", budget_wildcards.as_str())];
        let mut exact = BTreeSet::new();
        let mut chosen = BTreeSet::new();
        for (paths, tags) in &entries {
            exact.extend(paths.iter().cloned());
            let own = EntryItems { exact: paths.clone(), ..EntryItems::default() };
            chosen.extend(cheaper(own, tags.clone()).exact);
        }
        let one_by_one = minimize(exact.iter().map(|p| normalize(p).unwrap()).collect()).len();
        let cheapest = billed(chosen, &budget);
        prop_assert!(cheapest.len() <= one_by_one, "{} items instead of {}: {:?}", cheapest.len(), one_by_one, cheapest);
        prop_assert!(cheapest.len() <= CLOUDFRONT_MAX_ITEMS.min(path_budget));
        let wildcards = cheapest.iter().filter(|p| is_wildcard(p)).count();
        prop_assert!(wildcards <= CLOUDFRONT_MAX_WILDCARDS.min(wildcard_budget), "{} wildcards", wildcards);
        for (paths, tags) in &entries {
            let by_tag = tags.iter().any(|t| cheapest.contains(t));
            let by_path = paths.iter().all(|p| cheapest.iter().any(|c| covers(c, p)));
            prop_assert!(by_tag || by_path, "an entry is not reached: {:?} {:?} in {:?}", paths, tags, cheapest);
        }
    }
}
