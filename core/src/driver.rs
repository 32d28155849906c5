//! The async runner both bodies share: executes the workflow's commands
//! through an [`HttpClient`], feeds the answers back, and stops when the
//! workflow has to wait, move to its next batch, or is finished.
//!
//! Requests of one walk level run concurrently, up to `concurrency` at once.
//! Futures are not `Send`: it runs inside a Worker as well as on tokio.

use crate::cloudfront;
use crate::contentful;
use crate::io::{Clock, HttpClient};
use crate::retry::Failure;
use crate::settings::{CloudFrontSettings, ContentfulSettings, Policy};
use crate::time::Timestamp;
use crate::workflow::{step_in_place, Command, Event, Workflow};
use futures::future::LocalBoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use std::collections::VecDeque;
use std::time::Duration;

/// What a body needs to hand the driver.
pub struct Services<'a, H, C> {
    pub http: &'a H,
    pub clock: &'a C,
    pub cloudfront: &'a CloudFrontSettings,
    /// `None` where only paths are invalidated (the CLI's `invalidate`).
    pub contentful: Option<&'a ContentfulSettings>,
    pub policy: &'a Policy,
    /// Requests in flight at once (the Worker runtime allows 6 connections).
    pub concurrency: usize,
}

/// Why the driver returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Deliver `TimerFired` at this time.
    SleepUntil(Timestamp),
    /// A batch ended and the next is ready: deliver `TimerFired` to submit it.
    NextBatch,
    /// Nothing to do until a new change arrives.
    Finished,
}

/// Runs `event` and everything it leads to, until the workflow must wait.
/// `seed` is the randomness for backoff jitter.
pub async fn run<H: HttpClient, C: Clock>(
    mut workflow: Workflow,
    event: Event,
    services: &Services<'_, H, C>,
    seed: u64,
) -> (Workflow, Stop) {
    let mut events = VecDeque::from([event]);
    let mut outbox: VecDeque<Command> = VecDeque::new();
    let mut in_flight: FuturesUnordered<LocalBoxFuture<'_, Event>> = FuturesUnordered::new();
    let mut rest: Option<Stop> = None;
    let mut steps: u64 = 0;
    loop {
        while let Some(event) = events.pop_front() {
            steps += 1;
            let now = services.clock.now();
            let commands = step_in_place(&mut workflow, services.policy, event, now, splitmix(seed ^ steps));
            rest = None;
            for command in commands {
                match command {
                    Command::WakeAt { at } => rest = Some(Stop::SleepUntil(at)),
                    Command::NextBatch => rest = Some(Stop::NextBatch),
                    Command::Finished => rest = Some(Stop::Finished),
                    request => outbox.push_back(request),
                }
            }
        }
        while in_flight.len() < services.concurrency.max(1) {
            let Some(command) = outbox.pop_front() else {
                break;
            };
            in_flight.push(Box::pin(execute(command, services)));
        }
        if let Some(event) = in_flight.next().await {
            events.push_back(event);
            continue;
        }
        match rest.take() {
            Some(Stop::SleepUntil(at)) if at <= services.clock.now() => events.push_back(Event::TimerFired),
            Some(stop) => return (workflow, stop),
            // Nothing in flight and nothing asked for cannot happen; wake now to be safe.
            None => return (workflow, Stop::SleepUntil(services.clock.now())),
        }
    }
}

/// Runs `event` until the workflow has planned its batches, without creating
/// any invalidation: the dry run behind `invalidator resolve`. The workflow
/// returned holds the planned batches; no CloudFront request is sent.
pub async fn plan_only<H: HttpClient, C: Clock, S: Sleep>(
    mut workflow: Workflow,
    event: Event,
    services: &Services<'_, H, C>,
    sleeper: &S,
) -> Workflow {
    let mut events = VecDeque::from([event]);
    let mut in_flight: FuturesUnordered<LocalBoxFuture<'_, Event>> = FuturesUnordered::new();
    let mut outbox: VecDeque<Command> = VecDeque::new();
    let mut steps = 0u64;
    loop {
        while let Some(event) = events.pop_front() {
            steps += 1;
            let commands = step_in_place(&mut workflow, services.policy, event, services.clock.now(), splitmix(steps));
            for command in commands {
                match command {
                    Command::CreateInvalidation { .. } | Command::Finished | Command::NextBatch => return workflow,
                    Command::WakeAt { at } => {
                        sleeper.sleep(services.clock.now().until(at)).await;
                        events.push_back(Event::TimerFired);
                    }
                    request => outbox.push_back(request),
                }
            }
        }
        while in_flight.len() < services.concurrency.max(1) {
            let Some(command) = outbox.pop_front() else { break };
            in_flight.push(Box::pin(execute(command, services)));
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
    async fn sleep(&self, duration: Duration);
}

/// Runs until the workflow is finished, sleeping where it waits: for bodies
/// that can hold a process open (the CLI, tests). `on_stop` sees each stop.
pub async fn run_to_end<H: HttpClient, C: Clock, S: Sleep>(
    workflow: Workflow,
    event: Event,
    services: &Services<'_, H, C>,
    sleeper: &S,
    seed: u64,
    mut on_stop: impl FnMut(&Workflow, Stop),
) -> Workflow {
    let (mut workflow, mut stop) = run(workflow, event, services, seed).await;
    let mut round = 0u64;
    loop {
        on_stop(&workflow, stop);
        match stop {
            Stop::Finished => return workflow,
            Stop::NextBatch => {}
            Stop::SleepUntil(at) => sleeper.sleep(services.clock.now().until(at)).await,
        }
        round += 1;
        (workflow, stop) = run(workflow, Event::TimerFired, services, splitmix(seed.wrapping_add(round))).await;
    }
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

async fn execute<H: HttpClient, C: Clock>(command: Command, s: &Services<'_, H, C>) -> Event {
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
            Event::LinksFetched { target, skip, result }
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
        Command::GetInvalidation { sequence, distribution_id, invalidation_id } => {
            let request = cloudfront::get_invalidation(s.cloudfront, &distribution_id, &invalidation_id, s.clock.now());
            Event::InvalidationChecked { sequence, result: send(s, request, cloudfront::read_invalidation).await }
        }
        Command::WakeAt { .. } | Command::NextBatch | Command::Finished => {
            unreachable!("the driver keeps control commands to itself")
        }
    }
}

fn no_contentful() -> Failure {
    Failure::permanent("Contentful settings are not configured (CONTENTFUL_SPACE_ID, CONTENTFUL_DELIVERY_TOKEN)")
}

async fn send<H: HttpClient, C: Clock, T>(
    s: &Services<'_, H, C>,
    request: Result<crate::io::HttpRequest, crate::sigv4::SignError>,
    read: fn(&crate::io::HttpResponse) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let request = request.map_err(|e| Failure::permanent(e.to_string()))?;
    let response = s.http.send(request).await?;
    read(&response)
}
