//! The only I/O the core asks for: an HTTP client and a clock, implemented by each body.
//!
//! Futures are not `Send`: a Cloudflare Worker is single-threaded, and the
//! native bodies run the driver on one task.

use crate::time::Timestamp;

/// A request as the core builds it, body included.
pub type HttpRequest = http::Request<Vec<u8>>;
/// A response as a body reads it, body included.
pub type HttpResponse = http::Response<Vec<u8>>;

/// Why a request got no HTTP answer at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No answer within this many milliseconds.
    #[error("no answer within {0} ms")]
    Timeout(u64),
    /// No connection could be made (the reason).
    #[error("could not connect: {0}")]
    Connect(String),
    /// Anything else the transport reported.
    #[error("transport failed: {0}")]
    Other(String),
}

/// Marks a request whose redirects the client must hand back instead of
/// following (a visitor's page check sees a `301` as it is). Bodies look
/// for it in the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRedirects;

/// Sends one request and returns the whole response. Bodies implement it over
/// `worker::Fetch` (edge) or an HTTP library (native, tests).
#[allow(async_fn_in_trait)]
pub trait HttpClient {
    /// Sends `request` and returns the whole response, or why there is none.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// Reads the current time, and sleeps where the body can (the native driver,
/// tests). A body that cannot sleep (a Durable Object, a Lambda task) never gets
/// asked to: the driver returns instead and the body schedules the wake-up.
pub trait Clock {
    /// The current time.
    fn now(&self) -> Timestamp;
}
