//! The local stand-ins for CloudFront, the Contentful Delivery API, Step
//! Functions and the site's CDN (a cache in front of an origin that renders
//! pages from the Delivery API stand-in: [`cdn`], [`origin`]), used by the
//! end-to-end tests and `make demo` (binary `invalidator-sandbox`). Each logs
//! one line for every request it answers. They share one clock ([`clock`]).

pub mod cdn;
pub mod clock;
pub mod cloudfront;
pub mod contentful;
pub mod delivery_query;
pub mod dynamodb;
pub mod invalidation_batch;
pub mod invalidation_path;
pub mod origin;
pub mod secrets;
pub mod sigv4_check;
pub mod sqs;
pub mod stepfunctions;
pub mod sync;
pub mod visitor;

use axum::http::{Method, Uri};
use serde::Serialize;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use cdn::CdnConfig;
pub use clock::SandboxClock;
pub use cloudfront::Fault;
pub use contentful::{Fixture, FixtureEntry};
pub use origin::{OriginSettings, REVISION_HEADER};

pub fn now_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days since the Unix epoch of a civil date: the inverse of [`civil_from_days`].
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// One answered request.
#[derive(Debug, Clone, Serialize)]
pub struct Logged {
    pub at_ms: u64,
    pub service: &'static str,
    pub method: String,
    pub target: String,
    pub status: u16,
    pub detail: String,
}

/// Every request answered, kept (bounded) for `/__sandbox/requests`, and printed.
#[derive(Clone, Default)]
pub struct RequestLog(Arc<Mutex<VecDeque<Logged>>>);

impl RequestLog {
    pub fn record(&self, service: &'static str, method: &Method, uri: &Uri, status: u16, detail: String) {
        log_line(service, method, uri, status, &detail);
        let mut log = self.0.lock().unwrap();
        log.push_back(Logged {
            at_ms: now_millis(),
            service,
            method: method.to_string(),
            target: uri.to_string(),
            status,
            detail,
        });
        while log.len() > 10_000 {
            log.pop_front();
        }
    }
    pub fn all(&self) -> Vec<Logged> {
        self.0.lock().unwrap().iter().cloned().collect()
    }
}

pub(crate) fn log_line(service: &str, method: &Method, uri: &Uri, status: u16, detail: &str) {
    println!("[{service}] {method} {uri} -> {status} {detail}");
}

/// The distribution the tests and the demo invalidate.
pub const DEMO_DISTRIBUTION: &str = "EDEMO123";

/// The state machine the tests start executions of.
pub const DEMO_STATE_MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:invalidator";

/// How to run the stand-ins.
#[derive(Debug, Clone)]
pub struct Config {
    pub cloudfront_port: u16,
    pub contentful_port: u16,
    pub stepfunctions_port: u16,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub delivery_token: String,
    pub in_progress_for: Duration,
    pub fixture: Fixture,
    pub faults: Vec<Fault>,
    /// The distributions that exist: any other id is `NoSuchDistribution`.
    pub distributions: Vec<String>,
    /// The distributions with a cache tag configuration: only they take `#tag` items.
    pub cache_tag_distributions: Vec<String>,
    /// The state machines that exist at the Step Functions stand-in.
    pub state_machines: Vec<String>,
    /// The CDN visitors reach (`SITE_URL`), and the origin behind it.
    pub cdn: CdnConfig,
    pub origin: OriginSettings,
    /// The time every stand-in reads (real unless a test freezes it).
    pub clock: SandboxClock,
}

impl Config {
    /// Free ports, the AWS test credentials (`AKIDEXAMPLE`), the demo's
    /// Delivery API token and distribution [`DEMO_DISTRIBUTION`]: what the
    /// tests and the demo use.
    pub fn local(fixture: Fixture, in_progress_for: Duration, faults: Vec<Fault>) -> Config {
        Config {
            cloudfront_port: 0,
            contentful_port: 0,
            stepfunctions_port: 0,
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            delivery_token: "demo-delivery-token".into(),
            in_progress_for,
            fixture,
            faults,
            distributions: vec![DEMO_DISTRIBUTION.to_string()],
            cache_tag_distributions: Vec::new(),
            state_machines: vec![DEMO_STATE_MACHINE.to_string()],
            cdn: CdnConfig::caching_optimized(DEMO_DISTRIBUTION),
            origin: OriginSettings::default(),
            clock: SandboxClock::real(),
        }
    }

    /// The same, serving `distributions` instead.
    pub fn with_distributions(mut self, distributions: &[&str]) -> Config {
        self.distributions = distributions.iter().map(|d| d.to_string()).collect();
        self
    }

    /// The same, on `clock` (a test of the stand-ins freezes it: [`SandboxClock::frozen`]).
    pub fn with_clock(mut self, clock: SandboxClock) -> Config {
        self.clock = clock;
        self
    }

    /// The same, with the origin answering as `origin` says.
    pub fn with_origin(mut self, origin: OriginSettings) -> Config {
        self.origin = origin;
        self
    }

    /// The same, with a cache tag configuration on `distributions`.
    pub fn with_cache_tags(mut self, distributions: &[&str]) -> Config {
        self.cache_tag_distributions = distributions.iter().map(|d| d.to_string()).collect();
        self
    }
}

/// The stand-ins, running on 127.0.0.1.
pub struct Sandbox {
    pub cloudfront: SocketAddr,
    pub contentful: SocketAddr,
    pub stepfunctions: SocketAddr,
    /// The CDN visitors reach: [`Sandbox::site_url`].
    pub cdn: SocketAddr,
    pub cloudfront_state: Arc<cloudfront::CloudFrontState>,
    pub contentful_state: Arc<contentful::ContentfulState>,
    pub stepfunctions_state: Arc<stepfunctions::StepFunctionsState>,
    pub cdn_state: Arc<cdn::CdnState>,
    pub clock: SandboxClock,
}

impl Sandbox {
    /// Binds both servers (port 0 picks a free one) and serves them on the current runtime.
    pub async fn start(config: Config) -> std::io::Result<Sandbox> {
        let (cf_faults, cda_faults): (Vec<Fault>, Vec<Fault>) =
            config.faults.into_iter().partition(|f| f.on == "create" || f.on == "get");
        let expected = |service: &str| sigv4_check::Expected {
            access_key_id: config.access_key_id.clone(),
            secret_access_key: config.secret_access_key.clone(),
            region: "us-east-1".into(),
            service: service.into(),
        };
        let stepfunctions_state = Arc::new(stepfunctions::StepFunctionsState {
            expected: expected("states"),
            state_machines: config.state_machines,
            executions: Mutex::new(Vec::new()),
            log: RequestLog::default(),
        });
        let cloudfront_state = Arc::new(cloudfront::CloudFrontState {
            expected: expected("cloudfront"),
            in_progress_for: Mutex::new(config.in_progress_for),
            distributions: config.distributions,
            cache_tag_distributions: config.cache_tag_distributions,
            invalidations: Mutex::new(Vec::new()),
            faults: Mutex::new(cf_faults.into()),
            log: RequestLog::default(),
            clock: config.clock.clone(),
        });
        let contentful_state = Arc::new(contentful::ContentfulState {
            token: config.delivery_token,
            graph: Mutex::new(config.fixture),
            faults: Mutex::new(cda_faults.into()),
            log: RequestLog::default(),
            history: Mutex::new(Default::default()),
            clock: config.clock.clone(),
        });
        let origin = origin::Origin::new(contentful_state.clone(), config.origin);
        let cdn_state =
            Arc::new(cdn::CdnState::new(config.cdn.clone(), origin, cloudfront_state.clone(), config.clock.clone()));
        let cf = tokio::net::TcpListener::bind(("127.0.0.1", config.cloudfront_port)).await?;
        let cda = tokio::net::TcpListener::bind(("127.0.0.1", config.contentful_port)).await?;
        let sfn = tokio::net::TcpListener::bind(("127.0.0.1", config.stepfunctions_port)).await?;
        let site = tokio::net::TcpListener::bind(("127.0.0.1", config.cdn.port)).await?;
        let cdn_addr = site.local_addr()?;
        let cdn_app = cdn::router(cdn_state.clone());
        tokio::spawn(async move { axum::serve(site, cdn_app).await });
        let (cf_addr, cda_addr, sfn_addr) = (cf.local_addr()?, cda.local_addr()?, sfn.local_addr()?);
        let cf_app = cloudfront::router(cloudfront_state.clone());
        let cda_app = contentful::router(contentful_state.clone());
        let sfn_app = stepfunctions::router(stepfunctions_state.clone());
        tokio::spawn(async move { axum::serve(cf, cf_app).await });
        tokio::spawn(async move { axum::serve(cda, cda_app).await });
        tokio::spawn(async move { axum::serve(sfn, sfn_app).await });
        Ok(Sandbox {
            cloudfront: cf_addr,
            contentful: cda_addr,
            stepfunctions: sfn_addr,
            cdn: cdn_addr,
            cloudfront_state,
            contentful_state,
            stepfunctions_state,
            cdn_state,
            clock: config.clock,
        })
    }

    pub fn cloudfront_url(&self) -> String {
        format!("http://{}", self.cloudfront)
    }
    pub fn contentful_url(&self) -> String {
        format!("http://{}", self.contentful)
    }
    pub fn stepfunctions_url(&self) -> String {
        format!("http://{}", self.stepfunctions)
    }
    /// The site as visitors reach it, through the CDN (what `SITE_URL` names).
    pub fn site_url(&self) -> String {
        format!("http://{}", self.cdn)
    }
    /// The settings that point a body's verification at the CDN: `SITE_URL`,
    /// and `VERIFY_REVISION_HEADER` when the origin sends one.
    pub fn site_settings(&self) -> Vec<(&'static str, String)> {
        let header = self.origin().settings().revision_header;
        std::iter::once(("SITE_URL", self.site_url())).chain(header.map(|h| ("VERIFY_REVISION_HEADER", h))).collect()
    }
    /// The origin behind the CDN: `sb.origin().configure(|o| o.lag = ...)`.
    pub fn origin(&self) -> &origin::Origin {
        &self.cdn_state.origin
    }
    /// The settings that point a body at these stand-ins, with their credentials.
    pub fn settings(&self, distribution: &str, webhook_secret: &str) -> Vec<(&'static str, String)> {
        let expected = &self.cloudfront_state.expected;
        vec![
            ("CLOUDFRONT_DISTRIBUTION_ID", distribution.to_string()),
            ("CLOUDFRONT_ENDPOINT", self.cloudfront_url()),
            ("AWS_ACCESS_KEY_ID", expected.access_key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", expected.secret_access_key.clone()),
            ("CONTENTFUL_SPACE_ID", self.contentful_state.graph.lock().unwrap().space.clone()),
            ("CONTENTFUL_DELIVERY_TOKEN", self.contentful_state.token.clone()),
            ("CONTENTFUL_CDA_ENDPOINT", self.contentful_url()),
            ("CONTENTFUL_WEBHOOK_SECRET", webhook_secret.to_string()),
        ]
    }

    pub fn invalidations(&self) -> Vec<cloudfront::StoredInvalidation> {
        self.cloudfront_state.invalidations.lock().unwrap().clone()
    }
    pub fn cloudfront_requests(&self) -> Vec<Logged> {
        self.cloudfront_state.log.all()
    }
    pub fn executions(&self) -> Vec<stepfunctions::Execution> {
        self.stepfunctions_state.executions.lock().unwrap().clone()
    }
    pub fn stepfunctions_requests(&self) -> Vec<Logged> {
        self.stepfunctions_state.log.all()
    }
}
