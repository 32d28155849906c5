//! A large content graph for the state-size tests: one changed entry (`root`,
//! a `button`, which maps to no path) and `pages` pages whose slugs are CJK
//! text, linking upward to it in two levels, so one publish of `root` walks
//! every page and each page's path is about 200 bytes once percent-encoded.

use crate::sandbox::contentful::{Fixture, FixtureEntry};
use serde_json::json;

/// The entry whose publish walks the whole graph.
pub const ROOT: &str = "root";

/// Pages linking straight to [`ROOT`]; the rest link to one of these.
const FIRST_LEVEL: usize = 50;

/// The page `i`'s slug: 21 CJK characters (9 bytes each once encoded) and its
/// number, so slugs are distinct and paths average about 200 bytes.
pub fn slug(i: usize) -> String {
    let cjk: String = (0..21).map(|k| char::from_u32(0x4E00 + ((i * 37 + k * 613) % 20_000) as u32).unwrap()).collect();
    format!("{cjk}-{i:04}")
}

/// The page `i`'s id.
pub fn page_id(i: usize) -> String {
    format!("page-{i:04}")
}

/// [`ROOT`] and `pages` pages (rule `page: ["/{slug}"]`); the Delivery API
/// pages answers by 1,000, its maximum.
pub fn graph(pages: usize) -> Fixture {
    let root = FixtureEntry {
        id: ROOT.into(),
        content_type: "button".into(),
        revision: 1,
        fields: json!({"label": {"en-US": "Buy"}}).as_object().unwrap().clone(),
        links: Vec::new(),
        created_at: None,
        updated_at: None,
    };
    let mut entries = vec![root];
    for i in 0..pages {
        let parent = if i < FIRST_LEVEL { ROOT.to_string() } else { page_id(i % FIRST_LEVEL) };
        entries.push(FixtureEntry {
            id: page_id(i),
            content_type: "page".into(),
            revision: 1,
            fields: json!({"slug": {"en-US": slug(i)}}).as_object().unwrap().clone(),
            links: vec![parent],
            created_at: None,
            updated_at: None,
        });
    }
    Fixture {
        space: "demo-space".into(),
        environment: "master".into(),
        page_size: 1000,
        default_locale: "en-US".into(),
        entries,
        assets: Vec::new(),
        deleted: Vec::new(),
    }
}
