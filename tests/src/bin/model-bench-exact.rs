//! Billed items per change: what CloudFront bills for a publish, a slug
//! rename and an unpublish, by how changes are invalidated, through the real
//! driver against a fake Delivery API serving a content graph and a counting
//! fake of CloudFront, in virtual time. Prints numbers; asserts nothing.
//!
//! Columns: paths without memory (the wildcard fallback of today: an
//! unpublish invalidates its rule's prefix wildcard, a rename misses the old
//! slug), paths with path memory, tags only, and `cheapest`. Graphs: the
//! demo graph (tests/fixtures/content-graph.json) and a 500-page graph
//! (tests/src/big_graph.rs). Each rename and unpublish follows a publish of
//! the same entry (not counted), so the memory has something to recall.

use invalidator_core::driver::{run_to_end, Setup};
use invalidator_core::io::{HttpClient, HttpRequest, HttpResponse, TransportError};
use invalidator_core::memory::{Memory, PathMemory, Remember};
use invalidator_core::retry::Failure;
use invalidator_core::settings::Settings;
use invalidator_core::testing::TestSettings;
use invalidator_core::webhook::{Action, Change, EntityKind};
use invalidator_core::workflow::{Event, Workflow};
use invalidator_core::Timestamp;
use invalidator_tests::sandbox::{Fixture, FixtureEntry};
use invalidator_tests::virtual_time::VirtualClock;
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

const START: Timestamp = Timestamp::from_secs(1_800_000_000);

/// The Delivery API over a fixture, and CloudFront counting what it bills.
struct Fake {
    graph: RefCell<Fixture>,
    billed: Cell<u64>,
    wildcards: Cell<u64>,
}

fn ok(body: String) -> Result<HttpResponse, TransportError> {
    Ok(http::Response::builder().status(200).body(body.into_bytes()).unwrap())
}

impl HttpClient for Fake {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let uri = request.uri().to_string();
        if let Some(rest) = uri.split("links_to_entry=").nth(1) {
            let id = rest.split('&').next().unwrap();
            let graph = self.graph.borrow();
            let items: Vec<Value> = graph
                .entries
                .iter()
                .filter(|e| e.links.iter().any(|l| l == id))
                .map(|e| json!({"sys": {"id": e.id, "contentType": {"sys": {"id": e.content_type}}}, "fields": e.fields}))
                .collect();
            return ok(json!({"total": items.len(), "skip": 0, "limit": 1000, "items": items}).to_string());
        }
        if request.method() == http::Method::POST {
            let body = String::from_utf8_lossy(request.body()).into_owned();
            let paths: Vec<&str> = body.split("<Path>").skip(1).map(|p| p.split("</Path>").next().unwrap()).collect();
            self.billed.set(self.billed.get() + paths.len() as u64);
            self.wildcards.set(self.wildcards.get() + paths.iter().filter(|p| p.ends_with('*')).count() as u64);
            return Ok(http::Response::builder()
                .status(201)
                .body(b"<Invalidation><Id>I1</Id><Status>Completed</Status></Invalidation>".to_vec())
                .unwrap());
        }
        ok("<Invalidation><Id>I1</Id><Status>Completed</Status></Invalidation>".into())
    }
}

/// A path memory as a body keeps one.
#[derive(Default)]
struct Kept(RefCell<BTreeMap<String, Memory>>);

impl PathMemory for Kept {
    fn recall<'a>(
        &'a self,
        entry_id: &'a str,
        remember: Option<Remember>,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<String>, Failure>> + 'a>> {
        let stored = self.0.borrow_mut().remove(entry_id);
        let (kept, recalled) = Memory::update(stored, remember, 0);
        if let Some(m) = kept {
            self.0.borrow_mut().insert(entry_id.to_string(), m);
        }
        Box::pin(async move { Ok(recalled) })
    }

    fn observe<'a>(
        &'a self,
        seen: Vec<invalidator_core::observed::Observed>,
    ) -> Pin<Box<dyn Future<Output = Result<(), Failure>> + 'a>> {
        let mut kept = self.0.borrow_mut();
        for o in seen {
            if let Some(m) = Memory::observe(kept.get(&o.entry_id), &o.remember, 0) {
                kept.insert(o.entry_id, m);
            }
        }
        Box::pin(async { Ok(()) })
    }
}

/// How changes are invalidated: a column of the table.
struct Mode {
    name: &'static str,
    settings: &'static [(&'static str, &'static str)],
    memory: bool,
}

const MODES: &[Mode] = &[
    Mode { name: "paths, no memory (today)", settings: &[("PATH_MEMORY_ENTRIES", "0")], memory: false },
    Mode { name: "paths + memory", settings: &[], memory: true },
    Mode {
        name: "tags only",
        settings: &[("TAG_RULES", r#"{"*":["entry:{sys.id}"]}"#), ("INVALIDATE_BY", "tags")],
        memory: true,
    },
    Mode {
        name: "cheapest",
        settings: &[("TAG_RULES", r#"{"*":["entry:{sys.id}"]}"#), ("INVALIDATE_BY", "cheapest")],
        memory: true,
    },
];

/// One graph's changes: the entry published, the one renamed, the one unpublished.
struct Case {
    graph: &'static str,
    fixture: Fixture,
    path_rules: &'static str,
    publish: &'static str,
    rename: (&'static str, &'static str),
    unpublish: &'static str,
}

fn settings(path_rules: &str, mode: &Mode) -> Settings {
    TestSettings::new()
        .unsigned()
        .with_all(&[
            ("CLOUDFRONT_DISTRIBUTION_ID", "EMODEL"),
            ("PATH_RULES", path_rules),
            ("FRESHNESS_MAX_WAIT_SECONDS", "0"),
            ("COLLECT_WINDOW_SECONDS", "0"),
            ("PATH_BUDGET", "3000"),
            ("BATCH_MAX_PATHS", "3000"),
            ("WALK_MAX_ENTRIES", "5000"),
            ("PLAN_MAX_BYTES", "1048576"),
        ])
        .with_all(mode.settings)
        .settings()
}

fn change(e: &FixtureEntry, action: Action, n: &mut u64) -> Change {
    *n += 1;
    let publish = action == Action::Publish;
    Change {
        tracking_id: format!("t{n}"),
        space: "space1".into(),
        environment: "master".into(),
        kind: EntityKind::Entry,
        id: e.id.clone(),
        content_type: Some(e.content_type.clone()),
        action,
        revision: Some(e.revision + *n),
        fields: publish.then(|| e.fields.clone()),
        items: None,
    }
}

/// Runs one change to the end; what CloudFront billed for it: (items, wildcards).
async fn bill(wf: &mut Workflow, c: Change, s: &Settings, http: &Fake, memory: Option<&Kept>) -> (u64, u64) {
    let (before, wild_before) = (http.billed.get(), http.wildcards.get());
    let clock = VirtualClock::at(START);
    let mut setup = Setup::new(http, &clock, s, 6);
    setup.memory = memory.map(|m| m as &dyn PathMemory);
    let taken = std::mem::replace(wf, Workflow::new(Vec::new()));
    *wf = run_to_end(taken, Event::ChangeAccepted { change: c }, &setup, &clock, 1, |_, _| {}).await;
    (http.billed.get() - before, http.wildcards.get() - wild_before)
}

fn entry(f: &Fixture, id: &str) -> FixtureEntry {
    f.entries.iter().find(|e| e.id == id).unwrap().clone()
}

fn cell((items, wildcards): (u64, u64)) -> String {
    match wildcards {
        0 => items.to_string(),
        w => format!("{items} ({w} wildcard{})", if w == 1 { "" } else { "s" }),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cases = [
        Case {
            graph: "demo",
            fixture: Fixture::from_json(include_str!("../../fixtures/content-graph.json")).unwrap(),
            path_rules: r#"{"page":["/{slug}","/{slug}/*"],"post":["/blog/{category}/{slug}"],"always":["/"]}"#,
            publish: "cta-button",
            rename: ("winter-sale", "winter-deals"),
            unpublish: "blog-post",
        },
        Case {
            graph: "500 pages",
            fixture: invalidator_tests::big_graph::graph(500),
            path_rules: r#"{"page":["/{slug}"]}"#,
            publish: invalidator_tests::big_graph::ROOT,
            rename: ("page-0007", "renamed-page"),
            unpublish: "page-0042",
        },
    ];
    println!("### Billed items per change (CloudFront bills each path, wildcard and tag as one)\n");
    let header: Vec<&str> = MODES.iter().map(|m| m.name).collect();
    println!("| graph | change | {} |", header.join(" | "));
    println!("| --- | --- |{}", " --- |".repeat(MODES.len()));
    for case in cases {
        let mut rows: BTreeMap<usize, (String, Vec<String>)> = BTreeMap::new();
        for mode in MODES {
            let s = settings(case.path_rules, mode);
            let http =
                Fake { graph: RefCell::new(case.fixture.clone()), billed: Cell::new(0), wildcards: Cell::new(0) };
            let kept = Kept::default();
            let memory = mode.memory.then_some(&kept);
            let mut wf = Workflow::new(vec!["EMODEL".into()]);
            let mut n = 0;
            let f = case.fixture.clone();
            let published =
                bill(&mut wf, change(&entry(&f, case.publish), Action::Publish, &mut n), &s, &http, memory).await;
            // The rename: published once (not counted), then under its new slug.
            let mut renamed = entry(&f, case.rename.0);
            bill(&mut wf, change(&renamed, Action::Publish, &mut n), &s, &http, memory).await;
            renamed.fields.insert("slug".into(), json!({"en-US": case.rename.1}));
            http.graph.borrow_mut().entries.retain(|e| e.id != renamed.id);
            http.graph.borrow_mut().entries.push(renamed.clone());
            let rename = bill(&mut wf, change(&renamed, Action::Publish, &mut n), &s, &http, memory).await;
            let gone = entry(&f, case.unpublish);
            bill(&mut wf, change(&gone, Action::Publish, &mut n), &s, &http, memory).await;
            http.graph.borrow_mut().entries.retain(|e| e.id != gone.id);
            let unpublish = bill(&mut wf, change(&gone, Action::Unpublish, &mut n), &s, &http, memory).await;
            let names = [
                format!("publish {}", case.publish),
                format!("rename {} → {}", case.rename.0, case.rename.1),
                format!("unpublish {}", case.unpublish),
            ];
            for (i, (name, billed)) in names.into_iter().zip([published, rename, unpublish]).enumerate() {
                rows.entry(i).or_insert_with(|| (name, Vec::new())).1.push(cell(billed));
            }
        }
        for (_, (name, cells)) in rows {
            println!("| {} | {name} | {} |", case.graph, cells.join(" | "));
        }
    }
}
