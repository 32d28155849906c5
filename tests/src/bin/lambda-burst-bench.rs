//! The AWS body under a burst, through the queue: N signed publishes (10,
//! 200, 1,000) over 2 s to the webhook function, the changes queue at the SQS
//! stand-in, Lambda's event source mapping (emulated; window 3 s, batch size
//! 1,000) feeding the starter function, every execution run by the real ASL
//! interpreter with the workflow function. Prints, per burst: starter
//! batches, executions, CloudFront CreateInvalidation requests and paths
//! billed, beside the seed's one execution and one CreateInvalidation a
//! webhook. Counts, not timings: nothing here asserts. Run by `make bench`
//! (or `make bench-lambda-burst`).

use invalidator_tests::queue_stack::{signed_publishes, Options, QueueStack};
use std::time::{Duration, Instant};

/// The spread of a burst, as in the Worker's bench.
const SPREAD: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![10, 200, 1000] } else { sizes };
    for n in sizes {
        let stack = QueueStack::start(Options::new(n)).await;
        let events = signed_publishes(0..n);
        let gap = SPREAD / n as u32;
        let started = Instant::now();
        let mut accepted = 0;
        for event in &events {
            let sent = Instant::now();
            if stack.deliver(event).await["statusCode"] == 202 {
                accepted += 1;
            }
            tokio::time::sleep(gap.saturating_sub(sent.elapsed())).await;
        }
        let spread = started.elapsed().as_secs_f64();
        stack.settle(1, Duration::from_secs(60)).await;
        let runs = stack.run_executions().await;
        let ended = runs.iter().filter(|(ok, _)| *ok).count();
        let creates = stack.sb.cloudfront_requests().iter().filter(|r| r.method == "POST").count();
        let billed: usize = stack.sb.invalidations().iter().map(|i| i.paths.len()).sum();
        println!(
            "lambda burst of {n} publishes over {spread:.1} s: {accepted} accepted, {} starter batch(es), {} execution(s) ({ended} ended), {creates} CreateInvalidation request(s), {billed} paths billed; the seed: {n} executions, {n} requests, {n} paths",
            stack.events.invocations().len(),
            stack.sb.executions().len(),
        );
    }
}
