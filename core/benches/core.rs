//! Criterion benchmarks of the core's hot paths: a webhook from bytes to a
//! planned CreateInvalidation, planning a 5,000-entry walk, SigV4 signing.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use invalidator_core::cloudfront;
use invalidator_core::contentful::{LinkTarget, LinkedEntry, LinksPage};
use invalidator_core::settings::Settings;
use invalidator_core::testing::{TestSettings, WEBHOOK_SECRET};
use invalidator_core::webhook::{self, EntityKind, Parsed, WebhookRequest};
use invalidator_core::workflow::{step, Command, Event, Workflow};
use invalidator_core::Timestamp;
use serde_json::json;

const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);

fn settings() -> Settings {
    TestSettings::new()
        .with_all(&[
            (
                "PATH_RULES",
                r#"{"page":["/{slug}","/{slug}/*"],"post":["/blog/{category}/{slug}"],"always":["/","/sitemap.xml"]}"#,
            ),
            ("COLLECT_WINDOW_SECONDS", "0"),
            ("FRESHNESS_MAX_WAIT_SECONDS", "0"),
            ("WALK_MAX_ENTRIES", "10000"),
        ])
        .settings()
}

/// A publish of a blog post as Contentful sends it: about 2 KB, two locales.
fn signed_publish() -> WebhookRequest {
    let body = json!({
        "metadata": {"tags": [], "concepts": []},
        "sys": {"type": "Entry", "id": "5KsDBWseXY6QegucYAoacS", "revision": 12,
            "space": {"sys": {"type": "Link", "linkType": "Space", "id": "space1"}},
            "environment": {"sys": {"id": "master", "type": "Link", "linkType": "Environment"}},
            "contentType": {"sys": {"type": "Link", "linkType": "ContentType", "id": "post"}},
            "createdAt": "2026-01-01T10:00:00.000Z", "updatedAt": "2026-11-24T09:30:00.000Z", "publishedVersion": 11},
        "fields": {
            "title": {"en-US": "Winter sale opens", "de-DE": "Winterschlussverkauf"},
            "slug": {"en-US": "winter-sale", "de-DE": "winterschlussverkauf"},
            "category": {"en-US": "news"},
            "body": {"en-US": "x".repeat(1200)},
            "author": {"en-US": {"sys": {"type": "Link", "linkType": "Entry", "id": "author1"}}}
        }
    });
    let mut r = WebhookRequest::new("POST", "/webhooks/contentful", serde_json::to_vec(&body).unwrap());
    r.push_header("content-type", "application/vnd.contentful.management.v1+json");
    r.push_header("x-contentful-topic", "ContentManagement.Entry.publish");
    r.push_header(
        "x-contentful-signed-headers",
        "content-type,x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic",
    );
    r.push_header("x-contentful-timestamp", &NOW.as_millis().to_string());
    let sig = webhook::sign(WEBHOOK_SECRET, &webhook::canonical_request(&r).unwrap());
    r.push_header("x-contentful-signature", &sig);
    r
}

fn parents(n: usize) -> LinksPage {
    let items: Vec<LinkedEntry> = (0..n)
        .map(|i| LinkedEntry {
            id: format!("page{i}"),
            content_type: Some("page".into()),
            fields: json!({"slug": {"en-US": format!("section{}/page-{i}", i % 40)}}).as_object().unwrap().clone(),
            revision: None,
        })
        .collect();
    LinksPage { total: n as u64, skip: 0, items }
}

fn bench(c: &mut Criterion) {
    let s = settings();
    let request = signed_publish();
    let three_parents = parents(3);
    c.bench_function("webhook: verify + parse + plan", |b| {
        b.iter(|| {
            let Ok(Parsed::Change(change)) = webhook::accept(black_box(&request), &s.webhook, &s.contentful, NOW)
            else {
                panic!("not accepted")
            };
            let target = LinkTarget { kind: EntityKind::Entry, id: change.id.clone() };
            let mut wf = Workflow::new(s.cloudfront.distribution_ids.clone());
            let accepted = step(&mut wf, &s.policy, Event::ChangeAccepted { change }, NOW, 1);
            let event = Event::LinksFetched { target, skip: 0, result: Ok(three_parents.clone()) };
            step(&mut wf, &s.policy, event, NOW, 2);
            black_box(finish_walk(&mut wf, &s, &three_parents, recalled(&accepted.commands)))
        })
    });

    // One level of 5,000 parents, planned into paths (collapsed to the budget).
    let big = parents(5000);
    let mut level_two = Workflow::new(s.cloudfront.distribution_ids.clone());
    let change = match webhook::accept(&request, &s.webhook, &s.contentful, NOW) {
        Ok(Parsed::Change(c)) => c,
        other => panic!("{other:?}"),
    };
    let target = LinkTarget { kind: EntityKind::Entry, id: change.id.clone() };
    let accepted = step(&mut level_two, &s.policy, Event::ChangeAccepted { change }, NOW, 1);
    let recalls = recalled(&accepted.commands);
    step(&mut level_two, &s.policy, Event::LinksFetched { target, skip: 0, result: Ok(big.clone()) }, NOW, 2);
    c.bench_function("plan: 5,000-entry walk to batches", |b| {
        b.iter(|| {
            let mut wf = level_two.clone();
            black_box(finish_walk(&mut wf, &s, &big, recalls.clone()))
        })
    });

    let paths: Vec<String> = (0..50).map(|i| format!("/section{}/page-{i}", i % 5)).collect();
    c.bench_function("sigv4: sign a 50-path CreateInvalidation", |b| {
        b.iter(|| {
            let r =
                cloudfront::create_invalidation(&s.cloudfront, "E2EXAMPLE", black_box(&paths), "ref-1", NOW).unwrap();
            black_box(r)
        })
    });
}

/// Answers every parent's own links query with nothing, and each path
/// memory recall the walk asks for (on by default; `recalls` are those asked
/// already) as an empty memory does: the walk ends and the plan runs.
/// Returns the commands of the last step (the CreateInvalidation).
fn finish_walk(wf: &mut Workflow, s: &Settings, parents: &LinksPage, mut recalls: Vec<Event>) -> Vec<Command> {
    let mut commands = Vec::new();
    for item in &parents.items {
        let target = LinkTarget { kind: EntityKind::Entry, id: item.id.clone() };
        let none = LinksPage { total: 0, skip: 0, items: vec![] };
        commands = step(wf, &s.policy, Event::LinksFetched { target, skip: 0, result: Ok(none) }, NOW, 3).commands;
        recalls.extend(recalled(&commands));
    }
    while let Some(event) = recalls.pop() {
        commands = step(wf, &s.policy, event, NOW, 4).commands;
        recalls.extend(recalled(&commands));
    }
    assert!(commands.iter().any(|c| matches!(c, Command::CreateInvalidation { .. })), "{commands:?}");
    commands
}

/// An empty memory's answer to each recall among `commands`.
fn recalled(commands: &[Command]) -> Vec<Event> {
    let answer = |c: &Command| match c {
        Command::Recall { entry_id, .. } => Some(Event::Recalled { entry_id: entry_id.clone(), result: Ok(vec![]) }),
        _ => None,
    };
    commands.iter().filter_map(answer).collect()
}

criterion_group!(benches, bench);
criterion_main!(benches);
