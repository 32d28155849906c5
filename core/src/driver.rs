//! The async runner both bodies share: executes the workflow's commands
//! through an [`HttpClient`], feeds the answers back, and stops when the
//! workflow has to wait, move to its next batch, or is finished.
//!
//! Requests of one walk level run concurrently, up to `concurrency` at once.
//! Futures are not `Send`: it runs inside a Worker as well as on tokio.

use crate::cloudfront;
use crate::contentful;
use crate::entropy::mix;
use crate::io::{Clock, HttpClient};
use crate::memory::PathMemory;
use crate::retry::Failure;
use crate::settings::{CloudFrontSettings, ContentfulSettings, NotifySettings, Policy, Settings};
use crate::time::Timestamp;
use crate::workflow::notices::NOTIFY_ATTEMPTS;
use crate::workflow::{step, Command, Event, Next, Workflow};
use futures::future::LocalBoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use std::collections::VecDeque;
use std::time::Duration;

/// Requests a Worker keeps open at once: the Workers runtime allows six
/// simultaneous outgoing connections per request.
pub const WORKER_CONNECTIONS: usize = 6;
/// Requests a native body (Lambda, CLI) sends at once: a walk level goes
/// quickly, and Contentful's rate limit is not provoked.
pub const NATIVE_CONNECTIONS: usize = 8;

/// What the driver runs a workflow with: the body's HTTP client and clock,
/// the settings its requests need, and how many may be out at once.
pub struct Setup<'a, H, C> {
    /// Sends the requests.
    pub http: &'a H,
    /// Tells the time.
    pub clock: &'a C,
    /// Where and as whom CloudFront requests are signed.
    pub cloudfront: &'a CloudFrontSettings,
    /// `None` where only paths are invalidated (the CLI's `invalidate`).
    pub contentful: Option<&'a ContentfulSettings>,
    /// The workflow's limits and schedule.
    pub policy: &'a Policy,
    /// Requests in flight at once (the Worker runtime allows 6 connections).
    pub concurrency: usize,
    /// The path memory of the distribution; `None` remembers nothing (every
    /// recall answers nothing remembered, so unpublishes use their wildcards).
    pub memory: Option<&'a dyn PathMemory>,
    /// Where notifications go; `None` sends none.
    pub notify: Option<&'a NotifySettings>,
}

impl<'a, H, C> Setup<'a, H, C> {
    /// A complete body's setup: every request the workflow may make, with
    /// `concurrency` of them out at once.
    pub fn new(http: &'a H, clock: &'a C, settings: &'a Settings, concurrency: usize) -> Self {
        Setup {
            http,
            clock,
            cloudfront: &settings.cloudfront,
            contentful: Some(&settings.contentful),
            policy: &settings.policy,
            concurrency,
            memory: None,
            notify: settings.notify.as_ref(),
        }
    }
}

/// Why the driver returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Deliver `TimerFired` at this time.
    SleepUntil(Timestamp),
    /// A batch ended and the next is ready: deliver `TimerFired` now (a
    /// body may persist first).
    GoOn,
    /// Nothing to do until a new change arrives.
    Finished,
}

/// Runs `event` and everything it leads to, until the workflow must wait.
/// `entropy` is the body's randomness.
pub async fn run<H: HttpClient, C: Clock>(
    mut workflow: Workflow,
    event: Event,
    setup: &Setup<'_, H, C>,
    entropy: u64,
) -> (Workflow, Stop) {
    let mut events = VecDeque::from([event]);
    let mut outbox: VecDeque<Command> = VecDeque::new();
    let mut in_flight: FuturesUnordered<LocalBoxFuture<'_, Event>> = FuturesUnordered::new();
    let mut next = Next::AwaitAnswers;
    let mut steps: u64 = 0;
    loop {
        while let Some(event) = events.pop_front() {
            steps += 1;
            let now = setup.clock.now();
            let step = step(&mut workflow, setup.policy, event, now, mix(entropy ^ steps));
            outbox.extend(step.commands);
            next = step.next;
        }
        while in_flight.len() < setup.concurrency.max(1) {
            let Some(command) = outbox.pop_front() else {
                break;
            };
            in_flight.push(Box::pin(execute(command, setup)));
        }
        if let Some(event) = in_flight.next().await {
            events.push_back(event);
            continue;
        }
        match next {
            Next::WakeAt(at) if at <= setup.clock.now() => events.push_back(Event::TimerFired),
            Next::WakeAt(at) => return (workflow, Stop::SleepUntil(at)),
            Next::GoOn => return (workflow, Stop::GoOn),
            Next::Finished => return (workflow, Stop::Finished),
            // Waiting for answers with none in flight cannot happen; wake now to be safe.
            Next::AwaitAnswers => return (workflow, Stop::SleepUntil(setup.clock.now())),
        }
    }
}

/// Runs `event` until the workflow has planned its batches, without creating
/// any invalidation: the dry run behind `invalidator resolve`. The workflow
/// returned holds the planned batches; no CloudFront request is sent.
pub async fn plan_only<H: HttpClient, C: Clock, S: Sleep>(
    mut workflow: Workflow,
    event: Event,
    setup: &Setup<'_, H, C>,
    sleeper: &S,
) -> Workflow {
    let mut events = VecDeque::from([event]);
    let mut in_flight: FuturesUnordered<LocalBoxFuture<'_, Event>> = FuturesUnordered::new();
    let mut outbox: VecDeque<Command> = VecDeque::new();
    let mut steps = 0u64;
    loop {
        while let Some(event) = events.pop_front() {
            steps += 1;
            let step = step(&mut workflow, setup.policy, event, setup.clock.now(), mix(steps));
            if step.commands.iter().any(|c| matches!(c, Command::CreateInvalidation { .. })) {
                return workflow;
            }
            outbox.extend(step.commands);
            match step.next {
                Next::Finished | Next::GoOn => return workflow,
                Next::WakeAt(at) if outbox.is_empty() && in_flight.is_empty() => {
                    sleeper.sleep(setup.clock.now().until(at)).await;
                    events.push_back(Event::TimerFired);
                }
                _ => {}
            }
        }
        while in_flight.len() < setup.concurrency.max(1) {
            let Some(command) = outbox.pop_front() else { break };
            in_flight.push(Box::pin(execute(command, setup)));
        }
        match in_flight.next().await {
            Some(event) => events.push_back(event),
            None if events.is_empty() => return workflow,
            None => {}
        }
    }
}

/// Something that can wait: tokio's sleep natively, a timer in tests.
#[allow(async_fn_in_trait)]
pub trait Sleep {
    /// Waits `duration`.
    async fn sleep(&self, duration: Duration);
}

/// Runs until the workflow is finished, sleeping where it waits: for bodies
/// that can hold a process open (the CLI, tests). `on_stop` sees each stop.
pub async fn run_to_end<H: HttpClient, C: Clock, S: Sleep>(
    workflow: Workflow,
    event: Event,
    setup: &Setup<'_, H, C>,
    sleeper: &S,
    entropy: u64,
    mut on_stop: impl FnMut(&Workflow, Stop),
) -> Workflow {
    let (mut workflow, mut stop) = run(workflow, event, setup, entropy).await;
    let mut round = 0u64;
    loop {
        on_stop(&workflow, stop);
        match stop {
            Stop::Finished => return workflow,
            Stop::GoOn => {}
            Stop::SleepUntil(at) => sleeper.sleep(setup.clock.now().until(at)).await,
        }
        round += 1;
        (workflow, stop) = run(workflow, Event::TimerFired, setup, mix(entropy.wrapping_add(round))).await;
    }
}

async fn execute<H: HttpClient, C: Clock>(command: Command, s: &Setup<'_, H, C>) -> Event {
    match command {
        Command::FetchRevision { target } => {
            let result = match s.contentful {
                Some(cs) => send(s, Ok(contentful::revision_request(cs, &target)), contentful::read_revision).await,
                None => Err(no_contentful()),
            };
            Event::RevisionFetched { target, result }
        }
        Command::FetchLinks { target, skip } => {
            let result = match s.contentful {
                Some(cs) => {
                    send(s, Ok(contentful::links_request(cs, &target, skip)), contentful::read_links_page).await
                }
                None => Err(no_contentful()),
            };
            if let (Ok(page), Some(memory)) = (&result, s.memory) {
                observe_entries(s.policy, memory, page).await;
            }
            Event::LinksFetched { target, skip, result }
        }
        Command::Recall { entry_id, remember } => {
            let result = match s.memory {
                Some(memory) => memory.recall(&entry_id, remember).await,
                None => Ok(Vec::new()),
            };
            Event::Recalled { entry_id, result }
        }
        Command::CreateInvalidation { sequence, distribution_id, paths, caller_reference } => {
            let request = cloudfront::create_invalidation(
                s.cloudfront,
                &distribution_id,
                &paths,
                &caller_reference,
                s.clock.now(),
            );
            Event::InvalidationCreated { sequence, result: send(s, request, cloudfront::read_invalidation).await }
        }
        Command::CheckPage { sequence, path } => {
            let result = match &s.policy.verify.site_url {
                Some(site) => {
                    let header = s.policy.verify.revision_header.as_deref();
                    let response = s.http.send(crate::site::page_request(site, &path)).await;
                    response.map(|r| crate::site::PageSeen::read(&r, header)).map_err(Failure::from)
                }
                None => Err(Failure::permanent("SITE_URL is not set")),
            };
            Event::PageChecked { sequence, path, result }
        }
        Command::Notify { id, notice } => {
            let result = match s.notify {
                Some(settings) => notify(s.http, s.clock, settings, &notice).await,
                // A body without NOTIFY_URL never queues one; one that lost it drops it.
                None => Err(Failure::permanent("NOTIFY_URL is not set")),
            };
            Event::Notified { id, result }
        }
        Command::GetInvalidation { sequence, distribution_id, invalidation_id } => {
            let request = cloudfront::get_invalidation(s.cloudfront, &distribution_id, &invalidation_id, s.clock.now());
            Event::InvalidationChecked { sequence, result: send(s, request, cloudfront::read_invalidation).await }
        }
    }
}

/// Keeps the entries a walk read (with their fields) in the path memory, so
/// that their unpublish is exact even when no webhook announced them. Best
/// effort: an entry not kept falls back to its rules' wildcard, as before.
async fn observe_entries(policy: &Policy, memory: &dyn PathMemory, page: &contentful::LinksPage) {
    let seen = page
        .items
        .iter()
        .filter_map(|e| crate::observed::observe(policy, &e.id, e.content_type.as_deref(), e.revision, &e.fields))
        .collect();
    let seen = crate::observed::dedupe(seen, policy.path_memory_entries);
    if !seen.is_empty() {
        let _ = memory.observe(seen).await;
    }
}

/// Sends `notice` outside any workflow (a body's own moment: a change about
/// to be dead-lettered), tried as the workflow tries its notices:
/// [`NOTIFY_ATTEMPTS`] times with backoff, a 4xx not again. `Err` says why
/// it was dropped (never the URL).
pub async fn send_notice<H: HttpClient, C: Clock, S: Sleep>(
    http: &H,
    clock: &C,
    sleeper: &S,
    settings: &NotifySettings,
    policy: &Policy,
    notice: &crate::notify::Notice,
    entropy: u64,
) -> Result<(), String> {
    let mut attempt = 1;
    loop {
        let Err(failure) = notify(http, clock, settings, notice).await else {
            return Ok(());
        };
        if attempt >= NOTIFY_ATTEMPTS || failure.class == crate::retry::Class::Permanent {
            return Err(format!("dropped after {attempt} tries: {}", failure.reason));
        }
        let jitter = mix(entropy ^ u64::from(attempt));
        sleeper.sleep(crate::retry::delay(&failure, attempt, policy.retry_base, policy.retry_max, jitter)).await;
        attempt += 1;
    }
}

/// Sends one notice; a 2xx is success. What fails says why, never the URL.
async fn notify<H: HttpClient, C: Clock>(
    http: &H,
    clock: &C,
    settings: &NotifySettings,
    notice: &crate::notify::Notice,
) -> Result<(), Failure> {
    let request = crate::notify::request(settings, notice, clock.now()).map_err(Failure::permanent)?;
    let response =
        http.send(request).await.map_err(|_| Failure::transient("the notification receiver did not answer"))?;
    let status = response.status();
    match status.as_u16() {
        200..=299 => Ok(()),
        429 | 500..=599 => Err(Failure::transient(format!("the notification receiver answered {status}"))),
        _ => Err(Failure::permanent(format!("the notification receiver answered {status}"))),
    }
}

fn no_contentful() -> Failure {
    Failure::permanent("Contentful settings are not configured (CONTENTFUL_SPACE_ID, CONTENTFUL_DELIVERY_TOKEN)")
}

async fn send<H: HttpClient, C: Clock, T>(
    s: &Setup<'_, H, C>,
    request: Result<crate::io::HttpRequest, crate::sigv4::SignError>,
    read: fn(&crate::io::HttpResponse) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let request = request.map_err(|e| Failure::permanent(e.to_string()))?;
    let response = s.http.send(request).await?;
    read(&response)
}
