//! `invalidator cache-tags <entry-id>...`: the cache tag header value an
//! origin should send with a page built from these entries (the page's own
//! entry first, then what it renders), by the same `TAG_RULES` the
//! invalidations use; see `TagRules::header_for_page` for the 50-tag limit
//! and which tags stay. The value goes to stdout; what was dropped or could
//! not be made goes to stderr. With `--revisions`, the value of the
//! revision header instead (`VERIFY_REVISION_HEADER`: `<entry-id>:<revision>`
//! for each entry, comma-separated), which needs no `TAG_RULES`.

use super::{failed, policy, usage, CliError};
use crate::http_client::ReqwestClient;
use invalidator_core::contentful;
use invalidator_core::io::HttpClient;
use invalidator_core::settings::{ContentfulSettings, SettingsMap};

pub(super) async fn cache_tags(map: &SettingsMap, ids: Vec<String>, revisions: bool) -> Result<(), CliError> {
    let policy = policy(map)?;
    if policy.tags.is_empty() && !revisions {
        return Err(usage("setting TAG_RULES: is required for cache-tags (content type or \"*\" to tag templates)"));
    }
    let settings = ContentfulSettings::from_map(map).map_err(usage)?;
    let http = ReqwestClient::default();
    let mut entries = Vec::new();
    for id in ids {
        let response = http.send(contentful::entry_request(&settings, &id)).await.map_err(failed)?;
        match contentful::read_entry(&response).map_err(|f| failed(f.reason))? {
            Some(entry) => entries.push(entry),
            None => {
                return Err(failed(format!(
                    "entry {id} is not published in space {} environment {}",
                    settings.space_id, settings.environment
                )))
            }
        }
    }
    let header = policy.tags.header_for_page(&entries);
    if revisions {
        println!("{}", header.revisions);
        return Ok(());
    }
    for note in &header.notes {
        eprintln!("note: {note}");
    }
    if !header.dropped.is_empty() {
        eprintln!(
            "dropped past CloudFront's {} tags per object: {}",
            invalidator_core::tags::MAX_TAGS_PER_OBJECT,
            header.dropped.join(",")
        );
    }
    println!("{}", header.value);
    Ok(())
}
