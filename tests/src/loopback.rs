//! Talking to 127.0.0.1 whatever the machine's proxy settings: in-process
//! HTTP clients that never use a proxy, and child processes told to bypass
//! one for loopback (`NO_PROXY`), so `HTTP_PROXY` on a developer's machine
//! cannot send a test's requests elsewhere.

use std::process::Command;
use std::time::Duration;

/// The hosts a child process must reach directly.
pub const NO_PROXY: &str = "127.0.0.1,localhost";

/// Adds `NO_PROXY` (both spellings) to `command`'s environment.
pub fn loopback_only(command: &mut Command) -> &mut Command {
    command.env("NO_PROXY", NO_PROXY).env("no_proxy", NO_PROXY)
}

/// An async client for the local servers: no proxy.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("a TLS backend is compiled in")
}

/// A blocking client for the local servers: no proxy, every request bounded by `timeout`.
pub fn blocking_client(timeout: Duration) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().no_proxy().timeout(timeout).build().expect("a TLS backend is compiled in")
}
