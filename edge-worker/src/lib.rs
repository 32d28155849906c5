//! invalidator as a Cloudflare Worker (filled by the Worker issue).
