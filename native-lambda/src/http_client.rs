//! The native bodies' I/O: an [`HttpClient`] over reqwest (rustls, timeouts;
//! the environment's proxy for remote hosts, never for loopback ones) and a
//! [`Clock`] and [`Sleep`] over the system clock and tokio.

use invalidator_core::driver::Sleep;
use invalidator_core::io::{Clock, HttpClient, HttpRequest, HttpResponse, NoRedirects, TransportError};
use invalidator_core::Timestamp;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Sends requests with reqwest; every request has a deadline. Requests to
/// AWS and Contentful go through `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY` when
/// set; requests to a loopback host (a local stand-in) always go direct.
#[derive(Clone)]
pub struct ReqwestClient {
    proxied: reqwest::Client,
    direct: reqwest::Client,
    /// For requests marked [`NoRedirects`] (a visitor's page check).
    proxied_as_is: reqwest::Client,
    direct_as_is: reqwest::Client,
    timeout: Duration,
}

impl ReqwestClient {
    pub fn new(timeout: Duration) -> Self {
        let builder =
            || reqwest::Client::builder().connect_timeout(Duration::from_secs(5).min(timeout)).timeout(timeout);
        let as_is = || builder().redirect(reqwest::redirect::Policy::none());
        let proxied = builder().build().expect("a TLS backend is compiled in");
        let direct = builder().no_proxy().build().expect("a TLS backend is compiled in");
        let proxied_as_is = as_is().build().expect("a TLS backend is compiled in");
        let direct_as_is = as_is().no_proxy().build().expect("a TLS backend is compiled in");
        ReqwestClient { proxied, direct, proxied_as_is, direct_as_is, timeout }
    }
}

/// Whether `host` is this machine: `localhost`, 127.0.0.0/8 or `::1`.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Default for ReqwestClient {
    fn default() -> Self {
        ReqwestClient::new(Duration::from_secs(30))
    }
}

impl HttpClient for ReqwestClient {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let direct = request.uri().host().is_some_and(is_loopback);
        let as_is = request.extensions().get::<NoRedirects>().is_some();
        let request = reqwest::Request::try_from(request).map_err(|e| TransportError::Other(e.to_string()))?;
        let client = match (direct, as_is) {
            (true, false) => &self.direct,
            (false, false) => &self.proxied,
            (true, true) => &self.direct_as_is,
            (false, true) => &self.proxied_as_is,
        };
        let response = client.execute(request).await.map_err(|e| self.transport_error(e))?;
        let mut builder = http::Response::builder().status(response.status().as_u16());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let body = response.bytes().await.map_err(|e| self.transport_error(e))?;
        builder.body(body.to_vec()).map_err(|e| TransportError::Other(e.to_string()))
    }
}

impl ReqwestClient {
    fn transport_error(&self, e: reqwest::Error) -> TransportError {
        if e.is_timeout() {
            TransportError::Timeout(self.timeout.as_millis() as u64)
        } else if e.is_connect() {
            // The URL says where; the error chain says why (refused, DNS...).
            let mut why = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                why = format!("{why}: {s}");
                source = s.source();
            }
            TransportError::Connect(why)
        } else {
            TransportError::Other(e.to_string())
        }
    }
}

/// The system clock.
#[derive(Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Timestamp::from_millis(since.as_millis() as u64)
    }
}

impl Sleep for SystemClock {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// Randomness for the core (backoff jitter, a change's nonce): std's
/// per-process random hash keys, mixed with the time in nanoseconds.
pub fn entropy() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(nanos);
    h.write_u32(std::process::id());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_hosts_are_recognised() {
        for host in ["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "[::1]", "::1"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["cloudfront.amazonaws.com", "10.0.0.1", "localhost.example.com", "[::2]"] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
