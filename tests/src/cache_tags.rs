//! The cache tag fixture both bodies' tag tests use: the demo graph with page
//! titles that cannot be tags as they are, the `TAG_RULES` over them, and the
//! items a publish of `cta-button` must send.

use crate::sandbox::Fixture;
use serde_json::json;

/// `TAG_RULES`: every entry by id, pages also by title.
pub const TAG_RULES: &str = r#"{"*":["entry:{sys.id}"],"page":["page:{title}"]}"#;

/// The demo graph, with one title holding a comma, a space and a `*`
/// (encoded in its tag) and one over CloudFront's 256 characters (its tag
/// skipped with a note).
pub fn fixture() -> Fixture {
    let mut f = Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap();
    for e in &mut f.entries {
        let title = match e.id.as_str() {
            "winter-sale" => "Winter, sale*".to_string(),
            "home" => "x".repeat(300),
            _ => continue,
        };
        e.fields.insert("title".into(), json!({"en-US": title}));
    }
    f
}

/// The tags a publish of `cta-button` sends: the entry, every entry the walk
/// visits above it, and the one page title that makes a tag.
pub const CTA_BUTTON_TAGS: [&str; 7] = [
    "#entry:blog-post",
    "#entry:cta-button",
    "#entry:footer",
    "#entry:hero-banner",
    "#entry:home",
    "#entry:winter-sale",
    "#page:winter%2c%20sale%2a",
];

/// Whether a batch's notes say the over-long title's tag was skipped.
pub fn notes_skip_the_long_title<'a>(mut notes: impl Iterator<Item = &'a str>) -> bool {
    notes.any(|n| n.contains("entry home: tag of page:{title} skipped") && n.contains("256"))
}
