//! The core's `HttpClient` over `worker::Fetch`, with a deadline per request.

use futures::future::{select, Either};
use invalidator_core::io::{HttpClient, HttpRequest, HttpResponse, NoRedirects, TransportError};
use std::time::Duration;
use worker::wasm_bindgen::JsValue;
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, RequestRedirect};

pub struct FetchClient {
    pub timeout: Duration,
}

impl HttpClient for FetchClient {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let as_is = request.extensions().get::<NoRedirects>().is_some();
        let (parts, body) = request.into_parts();
        let headers = Headers::new();
        for (name, value) in &parts.headers {
            let value = value.to_str().map_err(|e| TransportError::Other(e.to_string()))?;
            headers.append(name.as_str(), value).map_err(|e| TransportError::Other(e.to_string()))?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::from(parts.method.to_string())).with_headers(headers);
        if as_is {
            init.with_redirect(RequestRedirect::Manual);
        }
        if !body.is_empty() {
            init.with_body(Some(JsValue::from(worker::js_sys::Uint8Array::from(body.as_slice()))));
        }
        let url = parts.uri.to_string();
        let request = Request::new_with_init(&url, &init).map_err(|e| TransportError::Other(e.to_string()))?;
        let controller = AbortController::default();
        let signal = controller.signal();
        let fetch = Fetch::Request(request);
        let sending = Box::pin(fetch.send_with_signal(&signal));
        let deadline = Box::pin(Delay::from(self.timeout));
        let mut response = match select(sending, deadline).await {
            Either::Left((Ok(r), _)) => r,
            Either::Left((Err(e), _)) => return Err(TransportError::Connect(format!("{url}: {e}"))),
            Either::Right(_) => {
                controller.abort();
                return Err(TransportError::Timeout(self.timeout.as_millis() as u64));
            }
        };
        let mut builder = http::Response::builder().status(response.status_code());
        for (name, value) in response.headers().entries() {
            builder = builder.header(name, value);
        }
        let bytes = response.bytes().await.map_err(|e| TransportError::Other(e.to_string()))?;
        builder.body(bytes).map_err(|e| TransportError::Other(e.to_string()))
    }
}
