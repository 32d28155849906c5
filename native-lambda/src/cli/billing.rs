//! The month's billed items on a distribution, for `invalidator status`:
//! read from CloudFront's own record (ListInvalidations, then the
//! `Paths/Quantity` of each invalidation created this UTC month), against
//! CloudFront's 1,000 free paths a month (per account: other distributions
//! of the account count too).

use super::{failed, CliError};
use crate::http_client::{ReqwestClient, SystemClock};
use invalidator_core::cloudfront::{self, listing};
use invalidator_core::io::{Clock, HttpClient};
use invalidator_core::settings::CloudFrontSettings;
use invalidator_core::workflow::billing::{Billing, FREE_ITEMS_PER_MONTH};

/// Listing pages read at most (100 invalidations each).
const PAGES_READ: usize = 20;

pub(super) async fn print_month(settings: &CloudFrontSettings, distribution: &str) -> Result<(), CliError> {
    let http = ReqwestClient::default();
    let mut month = Billing::default();
    month.add(SystemClock.now(), 0);
    let prefix = month.month_text();
    let (mut marker, mut items, mut invalidations) = (None::<String>, 0u64, 0u64);
    for _ in 0..PAGES_READ {
        let request = listing::list_invalidations(settings, distribution, marker.as_deref(), SystemClock.now())
            .map_err(failed)?;
        let page = listing::read_listing(&http.send(request).await.map_err(failed)?).map_err(|f| failed(f.reason))?;
        for summary in page.items.iter().filter(|s| s.create_time.starts_with(&prefix)) {
            let request =
                cloudfront::get_invalidation(settings, distribution, &summary.id, SystemClock.now()).map_err(failed)?;
            let response = http.send(request).await.map_err(failed)?;
            items += listing::read_billed_items(&response).map_err(|f| failed(f.reason))?;
            invalidations += 1;
        }
        match page.next_marker {
            Some(next) => marker = Some(next),
            None => break,
        }
    }
    println!(
        "{prefix} on {distribution}: {items} billed item(s) in {invalidations} invalidation(s), of CloudFront's {FREE_ITEMS_PER_MONTH} free paths a month per account ({} beyond)",
        items.saturating_sub(FREE_ITEMS_PER_MONTH)
    );
    Ok(())
}
