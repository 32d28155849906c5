//! Which handler a request goes to, by method and path: pure, so it is
//! tested natively. Unknown paths are 404; a known path with another method
//! is 405 with the methods it takes.

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Health,
    Webhook,
    /// `GET /invalidations`: every batch.
    Status,
    /// `GET /invalidations/{id}`: one change or batch.
    StatusOf(String),
    /// `GET /status`: the status page a person reads in a browser.
    Page,
    /// `GET /entries/{entry-id}`: one entry's latest changes.
    Entry(String),
    NotFound,
    /// The path exists; these methods are allowed on it.
    MethodNotAllowed(&'static str),
}

/// The route of `method` on `path` (the URL path, no query).
pub fn route(method: &str, path: &str) -> Route {
    let (allowed, route) = match path {
        "/healthz" => ("GET", Route::Health),
        "/webhooks/contentful" => ("POST", Route::Webhook),
        "/invalidations" | "/invalidations/" => ("GET", Route::Status),
        "/status" | "/status/" => ("GET", Route::Page),
        p => match (one_segment(p, "/invalidations/"), one_segment(p, "/entries/")) {
            (Some(id), _) => ("GET", Route::StatusOf(id.to_string())),
            (_, Some(id)) => ("GET", Route::Entry(id.to_string())),
            _ => return Route::NotFound,
        },
    };
    let same = method.eq_ignore_ascii_case(allowed) || (allowed == "GET" && method.eq_ignore_ascii_case("HEAD"));
    if same {
        route
    } else {
        Route::MethodNotAllowed(allowed)
    }
}

/// What follows `prefix` in `path`, when it is one non-empty segment.
fn one_segment<'p>(path: &'p str, prefix: &str) -> Option<&'p str> {
    path.strip_prefix(prefix).filter(|id| !id.is_empty() && !id.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::{route, Route};

    #[test]
    fn each_path_and_method_goes_to_its_handler() {
        assert_eq!(route("GET", "/healthz"), Route::Health);
        assert_eq!(route("POST", "/webhooks/contentful"), Route::Webhook);
        assert_eq!(route("GET", "/invalidations"), Route::Status);
        assert_eq!(route("GET", "/invalidations/abc-1"), Route::StatusOf("abc-1".into()));
        assert_eq!(route("GET", "/status"), Route::Page);
        assert_eq!(route("HEAD", "/status"), Route::Page);
        assert_eq!(route("GET", "/entries/hero-banner"), Route::Entry("hero-banner".into()));
    }

    #[test]
    fn unknown_paths_are_not_found_and_other_methods_not_allowed() {
        for path in [
            "/",
            "/webhooks",
            "/webhooks/contentful/x",
            "/invalidations/a/b",
            "/healthz/",
            "/entries",
            "/entries/",
            "/entries/a/b",
        ] {
            assert_eq!(route("GET", path), Route::NotFound, "{path}");
        }
        assert_eq!(route("GET", "/webhooks/contentful"), Route::MethodNotAllowed("POST"));
        assert_eq!(route("PUT", "/webhooks/contentful"), Route::MethodNotAllowed("POST"));
        assert_eq!(route("POST", "/healthz"), Route::MethodNotAllowed("GET"));
        assert_eq!(route("DELETE", "/invalidations/abc"), Route::MethodNotAllowed("GET"));
        assert_eq!(route("POST", "/status"), Route::MethodNotAllowed("GET"));
        assert_eq!(route("PUT", "/entries/hero"), Route::MethodNotAllowed("GET"));
    }
}
