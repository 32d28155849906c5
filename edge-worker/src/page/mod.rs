//! The status page a person reads (`GET /status`): server-rendered HTML,
//! no script, no outside asset, inline CSS, readable at phone width. Built
//! with maud, which escapes every value: an entry id, slug, path or note
//! from Contentful is text on this page, never markup.

mod format;
pub mod retry;
pub mod view;

use invalidator_core::time::Timestamp;
use invalidator_core::webhook::{Action, EntityKind};
use invalidator_core::workflow::{ChangeReport, Milestone, Standing, TimelineStep};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use retry::retry_lists;
pub use view::{DistributionView, Search};

/// The seconds between refreshes while something is in flight.
pub const REFRESH_SECONDS: u32 = 5;
/// Paths and tags shown per change (the count is whole).
const ITEMS_SHOWN: usize = 10;
/// Rows of the recent changes table.
const ROWS_SHOWN: usize = 20;
const STYLE: &str = include_str!("style.css");

/// One distribution's part of the page, rendered by its Durable Object
/// from the stored workflow; the Worker lays the parts out with [`page`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Part {
    /// Something is in flight there: the page refreshes.
    pub busy: bool,
    /// Its section.
    pub section: String,
    /// The changes of the entry searched for, as cards.
    pub found: String,
    /// How many changes `found` shows.
    pub found_count: usize,
}

/// The part of distribution `id`, with the changes `found` of the entry searched for.
pub fn part(id: &str, d: &DistributionView, found: &[ChangeReport], now: Timestamp) -> Part {
    Part {
        busy: d.busy(),
        section: distribution(id, d, now).into_string(),
        found: html! { @for c in found { (change_card(c, now)) } }.into_string(),
        found_count: found.len(),
    }
}

/// The page around every distribution's part: `search` is what the box was
/// asked for. The parts are markup maud rendered (escaped); nothing else is
/// taken in unescaped.
pub fn page(now: Timestamp, search: Option<&Search>, parts: &[Part]) -> String {
    let refresh = refreshes(parts);
    let searched = search.map(|s| s.entry_id.as_str()).unwrap_or_default();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if refresh { meta http-equiv="refresh" content=(REFRESH_SECONDS); }
                title { "invalidator status" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header { div.wrap {
                    h1 { "invalidator" }
                    p {
                        "Status at " (now.utc_text())
                        @if refresh { " · refreshes every " (REFRESH_SECONDS) " s while something is in flight" }
                    }
                    form method="get" action="/status" role="search" {
                        label for="entry" { "Entry id" }
                        input id="entry" name="entry" type="search" placeholder="Find a change by entry id" value=(searched);
                        button type="submit" { "Find" }
                    }
                } }
                main { div.wrap {
                    @if let Some(search) = search { (search_results(search, parts)) }
                    @for p in parts { (PreEscaped(&p.section)) }
                } }
            }
        }
    }
    .into_string()
}

/// Whether the page refreshes itself: something is in flight somewhere.
pub fn refreshes(parts: &[Part]) -> bool {
    parts.iter().any(|p| p.busy)
}

fn search_results(search: &Search, parts: &[Part]) -> Markup {
    html! {
        section #search {
            h2 { "Changes of entry " span.entry { (search.entry_id) } }
            @if let Some(why) = search.refused {
                p.reason { (why) }
            } @else if parts.iter().all(|p| p.found_count == 0) {
                p.muted { "No change of this entry is known (only the latest batches are kept)." }
            } @else {
                @for p in parts { (PreEscaped(&p.found)) }
            }
        }
    }
}

fn distribution(id: &str, d: &DistributionView, now: Timestamp) -> Markup {
    let in_flight = d.in_flight();
    let retry = retry_lists(d);
    html! {
        section.dist {
            h2 {
                "Distribution " code { (id) }
                @match d.phase {
                    Some(phase) => span class=(badge_class_of_phase(d)) { (words(&serde_plain(phase))) },
                    None => span.badge { "no change yet" },
                }
            }
            div.facts {
                div.fact { b { (in_flight.len()) } span { "changes in flight" } }
                div.fact { b { (d.waiting_changes) } span { "changes waiting for the next batch" } }
                (billing(d))
                (sweep_fact(d, now))
            }
            h3 { "In flight now" }
            @if in_flight.is_empty() {
                p.muted { "Nothing in flight." }
            }
            @for c in &in_flight { (change_card(c, now)) }
            @if let Some(latest) = d.latest_finished() {
                h3 { "Latest change" }
                (change_card(latest, now))
            }
            h3 { "Recent changes" }
            (changes_table(d, now))
            (sweep_section(d, now))
            h3 { "Waiting to be retried or given up" }
            @if retry.is_empty() {
                p.muted { "Nothing." }
            } @else {
                @for r in &retry.batches {
                    p { "Batch " (r.batch) ": " (r.attempts) " failed request(s) so far, retrying; " (items(&r.paths, r.path_count, 0)) }
                }
                @if let Some(w) = &retry.waiting {
                    p {
                        "Waiting to be invalidated again (" (w.reason) "), planned again " (w.retries) " time(s)"
                        @if let Some(due) = w.due { ", next " (due.utc_text()) }
                        @if let Some(end) = w.give_up_at { ", given up at " (end.utc_text()) }
                        ": " (items(&w.paths, w.paths.len(), 0))
                    }
                }
                @for g in &retry.given_up {
                    p.reason { "Given up " (g.at.utc_text()) ": " (g.reason) }
                    p { (items(&g.paths, g.path_count, 0)) }
                }
                @for reason in &retry.reasons { p.reason { (reason) } }
            }
        }
    }
}

fn billing(d: &DistributionView) -> Markup {
    let Some(b) = &d.billed_this_month else {
        return html! {};
    };
    let free = b.free_per_month.max(1);
    let percent = (b.items.min(free) * 100 / free).max(u64::from(b.items > 0));
    html! {
        div.fact {
            b { (format::count(b.items)) " of " (format::count(b.free_per_month)) }
            span { "items billed in " (b.month) ", against the free paths a month" }
            @if b.items > b.free_per_month { span.reason { " · " (format::count(b.items - b.free_per_month)) " paid" } }
            div.bar { i style={ "width:" (percent) "%" } {} }
        }
    }
}

fn sweep_fact(d: &DistributionView, now: Timestamp) -> Markup {
    html! {
        div.fact {
            @match &d.last_sweep {
                Some(s) => {
                    b { (s.missed) " missed" }
                    span { "last sweep " (format::ago(s.at, now)) ", " (s.items) " item(s) read" }
                }
                None => { b { "–" } span { "no catch-up sweep yet" } }
            }
        }
    }
}

fn sweep_section(d: &DistributionView, now: Timestamp) -> Markup {
    let Some(s) = &d.last_sweep else {
        return html! {};
    };
    html! {
        h3 { "Last sweep" }
        p {
            (s.at.utc_text()) " (" (format::ago(s.at, now)) "): "
            @if s.first { "the first sweep, which records where the space stands." }
            @else { (s.items) " item(s) read, " (s.missed) " change(s) no webhook brought." }
        }
        @if let Some(e) = &s.error { p.reason { "It failed: " (e) " (its position is kept)." } }
        @if !s.missed_changes.is_empty() {
            p { "Missed, now invalidated (webhook deliveries are failing):" }
            ul { @for m in &s.missed_changes { li { code { (m) } } } }
        }
    }
}

fn changes_table(d: &DistributionView, now: Timestamp) -> Markup {
    if d.changes.is_empty() {
        return html! { p.muted { "No change yet." } };
    }
    html! {
        div.scroll { table {
            thead { tr {
                th { "Entry" } th.wide { "Content type" } th.wide { "Action" } th { "State" }
                th { "Received" } th.num { "Took" } th.num.wide { "Items" }
            } }
            tbody { @for c in d.changes.iter().take(ROWS_SHOWN) {
                tr {
                    td { (entry_name(c)) }
                    td.wide { (content_type(c)) }
                    td.wide { (action(c)) }
                    td { (state_badge(c.change.state)) }
                    td { @match c.timeline.first() { Some(s) => (format::ago(s.at, now)), None => "–" } }
                    td.num { (took(&c.timeline)) }
                    td.num.wide { (c.path_count) }
                }
            } }
        } }
    }
}

fn change_card(c: &ChangeReport, now: Timestamp) -> Markup {
    html! {
        article.change {
            h4 {
                span.entry { (entry_name(c)) }
                span.badge { (content_type(c)) }
                span.badge { (action(c)) }
                (state_badge(c.change.state))
            }
            ol.timeline {
                @for s in &c.timeline { (step(s, now)) }
                @if let Some(next) = next_step(c) { li.next { span.step.muted { (next) } } }
            }
            @if let Some(reason) = &c.change.reason { p.reason { "Failed: " (reason) } }
            @if c.path_count > 0 {
                p.items { (items(&c.paths, c.path_count, c.tag_count)) }
            }
            @if let Some(id) = &c.change.invalidation_id {
                p.muted { "CloudFront invalidation " code { (id) } @if let Some(d) = &c.distribution_id { " on " code { (d) } } }
            }
            @if !c.notes.is_empty() {
                details { summary.muted { (c.notes.len()) " note(s)" } ul { @for n in &c.notes { li { (n) } } } }
            }
        }
    }
}

fn step(s: &TimelineStep, now: Timestamp) -> Markup {
    let class = if s.step == Milestone::Failed { "failed" } else { "" };
    html! {
        li class=(class) {
            span.step { (s.step.title()) } " "
            span.when title=(s.at.utc_text()) { (format::clock(s.at)) }
            @if s.since_previous_ms > 0 { span.took { "+" (format::duration(s.since_previous_ms)) } }
            @if let Some(d) = &s.detail { " " span.reason { (d) } }
            @if s.at > now { span.muted { " (clock skew)" } }
        }
    }
}

/// The step a change in flight waits for, as a person reads it.
fn next_step(c: &ChangeReport) -> Option<&'static str> {
    Some(match c.change.state {
        Standing::Accepted => "waiting for other changes to join it",
        Standing::Resolving => "waiting for the Delivery API, walking links",
        Standing::Queued => "waiting its turn",
        Standing::Submitting => "being submitted to CloudFront",
        Standing::InProgress => "CloudFront is invalidating",
        Standing::Verifying => "checking the pages through SITE_URL",
        Standing::Completed | Standing::Failed | Standing::Seen => return None,
    })
}

/// The first items, as code, then how many more: `/a /b … and 7 more (2 tags)`.
fn items(shown: &[String], count: usize, tags: usize) -> Markup {
    let first = &shown[..shown.len().min(ITEMS_SHOWN)];
    html! {
        (format::counted(count, "item", "items")) @if tags > 0 { ", " (format::counted(tags, "tag", "tags")) } ": "
        @for p in first { code { (p) } " " }
        @if count > first.len() { span.muted { "and " (count - first.len()) " more" } }
    }
}

fn took(steps: &[TimelineStep]) -> String {
    match (steps.first(), steps.last()) {
        (Some(a), Some(b)) if steps.len() > 1 => format::duration(a.at.until(b.at).as_millis() as u64),
        _ => "–".to_string(),
    }
}

fn entry_name(c: &ChangeReport) -> Markup {
    match &c.change.label {
        Some(l) if crate::people::entry_id_shape(&l.entry_id) => html! {
            a href={ "/status?entry=" (l.entry_id) } { (l.entry_id) }
        },
        Some(l) => html! { (l.entry_id) },
        None => html! { span.muted title=(c.change.tracking_id) { "change " (short(&c.change.tracking_id)) } },
    }
}

fn content_type(c: &ChangeReport) -> String {
    match &c.change.label {
        Some(l) if l.kind == EntityKind::Asset => "asset".into(),
        Some(l) => l.content_type.clone().unwrap_or_else(|| "–".into()),
        None => "–".into(),
    }
}

fn action(c: &ChangeReport) -> &'static str {
    match c.change.label.as_ref().map(|l| l.action) {
        Some(Action::Publish) => "publish",
        Some(Action::Unpublish) => "unpublish",
        Some(Action::Archive) => "archive",
        Some(Action::Delete) => "delete",
        None => "paths",
    }
}

fn state_badge(state: Standing) -> Markup {
    let class = match state {
        Standing::Completed => "badge s-completed",
        Standing::Failed => "badge s-failed",
        Standing::Seen => "badge",
        _ => "badge s-busy",
    };
    html! { span class=(class) { (words(&state.to_string())) } }
}

fn badge_class_of_phase(d: &DistributionView) -> &'static str {
    use invalidator_core::workflow::Phase;
    match d.phase {
        Some(Phase::Completed) => "badge s-completed",
        Some(Phase::Failed) => "badge s-failed",
        Some(Phase::Idle) | None => "badge",
        Some(_) => "badge s-busy",
    }
}

/// `in_progress` as people write it.
fn words(snake: &str) -> String {
    snake.replace('_', " ")
}

fn serde_plain(phase: invalidator_core::workflow::Phase) -> String {
    serde_json::to_value(phase).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn short(id: &str) -> &str {
    const SHOWN: usize = 8;
    id.get(..SHOWN).unwrap_or(id)
}

#[cfg(test)]
mod tests;
