//! Headless Chromium as the status page's tests drive it: Debian's
//! `chromium` (`make browser` installs it), one process per page, a fresh
//! profile each time, and every background connection off (the machine
//! reaches nothing but 127.0.0.1). `--dump-dom` gives the page as the
//! browser parsed it; `--screenshot` a PNG of the viewport.

use crate::loopback::loopback_only;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where `make browser` puts it; `CHROMIUM` overrides.
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
/// A page load that takes longer than this has hung.
const PAGE_TIMEOUT: Duration = Duration::from_secs(60);
/// Chromium runs for a page that printed no document.
const DUMP_TRIES: usize = 3;
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
    "--hide-scrollbars",
];

/// A headless Chromium.
pub struct Browser {
    path: PathBuf,
}

impl Browser {
    /// The installed Chromium; fails the test naming `make browser` when it is missing.
    pub fn require() -> Browser {
        let path = PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| DEFAULT_CHROMIUM.into()));
        assert!(path.exists(), "{} missing: run `make browser`", path.display());
        Browser { path }
    }

    /// The DOM of `url` once loaded, serialised (text is escaped, as in innerHTML).
    /// A headless Chromium on a loaded machine now and then exits printing
    /// nothing; it is asked again, [`DUMP_TRIES`] times in all.
    pub fn dump_dom(&self, url: &str) -> String {
        let mut dom = String::new();
        for _ in 0..DUMP_TRIES {
            dom = String::from_utf8_lossy(&self.run(&["--dump-dom".into(), url.into()])).into_owned();
            if dom.contains("</html>") {
                break;
            }
        }
        dom
    }

    /// A PNG of `url` in a `width` × `height` viewport, written to `to`.
    pub fn screenshot(&self, url: &str, width: u32, height: u32, to: &Path) {
        let args = [format!("--screenshot={}", to.display()), format!("--window-size={width},{height}"), url.into()];
        self.run(&args);
        let size = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
        assert!(size > 0, "chromium wrote no screenshot to {}", to.display());
    }

    /// Runs Chromium on `args` with a fresh profile; its standard output.
    fn run(&self, args: &[String]) -> Vec<u8> {
        let profile = tempfile::tempdir().unwrap();
        let mut command = Command::new(&self.path);
        let mut child = loopback_only(&mut command)
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", self.path.display()));
        let mut stdout = child.stdout.take().expect("piped");
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut stdout, &mut out).map(|_| out)
        });
        let deadline = Instant::now() + PAGE_TIMEOUT;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("chromium did not finish {args:?} in {PAGE_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        reader.join().expect("the reader ends").expect("chromium's output reads")
    }
}
