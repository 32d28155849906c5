//! `wrangler dev` as the end-to-end tests run it: local mode, no account,
//! telemetry off, bound to 127.0.0.1 on free ports, a persist directory of
//! the test's own, its output in a log file. The Worker is built once per
//! test process with `make edge-build`; wrangler runs a copy of the root
//! wrangler.toml without its `[build]` step. Only its own process group is
//! ever killed.

use crate::loopback::loopback_only;
use crate::require::{require, TOOLKIT, WASM_OPT, WORKER_BUNDLE, WRANGLER};
use crate::toolkit::repo_root;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
/// Process groups started and not yet killed, for [`kill_all`].
static GROUPS: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

/// Kills every wrangler this process started and has not stopped yet: for an
/// interrupted demo, whose owners may still be starting up.
pub fn kill_all() {
    for group in GROUPS.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{group}")]).status();
    }
}

/// Builds the Worker bundle once (cached by cargo and make across runs).
pub fn build_worker() -> Result<(), String> {
    BUILT
        .get_or_init(|| {
            let out = Command::new("make")
                .args(["--no-print-directory", "edge-build"])
                .current_dir(repo_root())
                .output()
                .map_err(|e| format!("make: {e}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "make edge-build failed:\n{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ))
            }
        })
        .clone()
}

/// Fails the test, naming the `make` target, unless wrangler, wasm-opt and
/// the Worker bundle are here; then rebuilds the bundle if a source changed.
pub fn require_tools() {
    require(&[WRANGLER, WASM_OPT, TOOLKIT, WORKER_BUNDLE]);
    build_worker().unwrap_or_else(|e| panic!("{e}"));
}

/// A port free now. Nothing holds it until wrangler binds it: see [`WranglerDev::spawn`].
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One running `wrangler dev`.
pub struct WranglerDev {
    pub port: u16,
    pub dir: PathBuf,
    pub log: PathBuf,
    child: Option<Child>,
    starts: u32,
    /// How long the request that first found the Worker answering took: the
    /// cold start (the runtime loading the bundle) with whatever wrangler
    /// still had to do.
    pub first_answer: Duration,
}

impl WranglerDev {
    /// Starts wrangler with `vars` (written to `.dev.vars`, which overrides
    /// `[vars]`), persisting Durable Object state under `dir/state`.
    pub fn start(dir: &Path, vars: &[(&str, String)]) -> WranglerDev {
        require_tools();
        WranglerDev::start_config(dir, &repo_root().join("wrangler.toml"), vars)
    }

    /// Starts wrangler on another Worker's `wrangler.toml` (its `main`
    /// relative to that file, its `[build]` dropped), as [`WranglerDev::start`]
    /// does on the root one: the benches run a floor Worker beside ours.
    pub fn start_config(dir: &Path, wrangler_toml: &Path, vars: &[(&str, String)]) -> WranglerDev {
        let config = fs::read_to_string(wrangler_toml).unwrap();
        let config_dir = wrangler_toml.parent().expect("a wrangler.toml is in a directory");
        let mut test_config = String::new();
        let mut in_build = false;
        for line in config.lines() {
            if line.starts_with('[') {
                in_build = line.trim() == "[build]";
            }
            if in_build {
                continue;
            }
            if let Some(main) = line.strip_prefix("main = ") {
                let main = config_dir.join(main.trim().trim_matches('"'));
                test_config.push_str(&format!("main = {:?}\n", main.display().to_string()));
            } else {
                test_config.push_str(line);
                test_config.push('\n');
            }
        }
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join("wrangler.toml"), test_config).unwrap();
        // dotenv: single quotes keep a value literal (JSON rules, '+' and '/' in secrets).
        let dev_vars: String = vars
            .iter()
            .map(|(k, v)| {
                assert!(!v.contains('\'') && !v.contains('\n'), "{k}: a .dev.vars value cannot hold ' or a newline");
                format!("{k}='{v}'\n")
            })
            .collect();
        fs::write(dir.join(".dev.vars"), dev_vars).unwrap();
        let mut w = WranglerDev {
            port: free_port(),
            dir: dir.to_path_buf(),
            log: dir.join("wrangler.log"),
            child: None,
            starts: 0,
            first_answer: Duration::ZERO,
        };
        w.spawn();
        w
    }

    /// Starts wrangler. A port found free can be taken again before wrangler
    /// binds it (by another test, or by the workerd of a restart letting go
    /// late): then it retries with backoff, on a new port for a first start and
    /// on the same port for a restart.
    fn spawn(&mut self) {
        let same_port = self.starts > 0;
        let mut backoff = Duration::from_millis(250);
        for attempt in 1..=6 {
            match self.try_spawn() {
                Ok(()) => return,
                Err((true, _)) if attempt < 6 => {
                    self.kill();
                    eprintln!("wrangler: port {} was taken (attempt {attempt}), retrying in {backoff:?}", self.port);
                    std::thread::sleep(backoff);
                    backoff *= 2;
                    if !same_port {
                        self.port = free_port();
                    }
                }
                Err((_, log)) => panic!("{log}"),
            }
        }
    }

    /// Starts wrangler on `self.port`; `Err(true)` when the port was taken.
    fn try_spawn(&mut self) -> Result<(), (bool, String)> {
        use std::os::unix::process::CommandExt;
        self.starts += 1;
        let log_from = fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0);
        let log = fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let root = repo_root();
        let mut command = Command::new(root.join("node_modules/.bin/wrangler"));
        let child = loopback_only(&mut command)
            .args(["dev", "--config"])
            .arg(self.dir.join("wrangler.toml"))
            .args(["--ip", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--inspector-port", &free_port().to_string()])
            .arg("--persist-to")
            .arg(self.dir.join("state"))
            .args(["--log-level", "log", "--show-interactive-dev-session=false"])
            // Cron triggers fire only when asked (GET /cdn-cgi/handler/scheduled), never by the clock.
            .arg("--test-scheduled")
            .current_dir(&self.dir)
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .env("WRANGLER_HIDE_BANNER", "true")
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CI", "true")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("wrangler starts");
        GROUPS.lock().unwrap_or_else(|e| e.into_inner()).push(child.id());
        self.child = Some(child);
        self.wait_ready(log_from)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Signs `request` with Contentful's toolkit and sends it to its path on
    /// this Worker, as Contentful would; the Worker's answer.
    pub async fn send_signed(&self, request: crate::toolkit::ToSign) -> reqwest::Response {
        let (path, body) = (request.path.clone(), request.body.clone());
        let headers = crate::toolkit::sign_all(&[request]).remove(0);
        let mut post = crate::loopback::client().post(self.url(&path)).body(body);
        for (k, v) in &headers {
            post = post.header(k, v);
        }
        post.send().await.expect("the Worker answers")
    }

    /// Waits until the Worker's `/healthz` answers, healthy or not (it says 503
    /// when settings are broken, which a test may want to see), while this
    /// wrangler still runs. `Err((port taken, why))`.
    fn wait_ready(&mut self, log_from: u64) -> Result<(), (bool, String)> {
        let deadline = Instant::now() + Duration::from_secs(90);
        let client = crate::loopback::blocking_client(Duration::from_secs(5));
        loop {
            let asked = Instant::now();
            let answer = client.get(self.url("/healthz")).send().ok().and_then(|r| r.json::<serde_json::Value>().ok());
            let alive = self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_none());
            if alive && answer.is_some_and(|health| health.get("ok").is_some()) {
                self.first_answer = asked.elapsed();
                return Ok(());
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                let log = self.log_text();
                let this_start = log.get(log_from as usize..).unwrap_or(&log).to_ascii_lowercase();
                let taken =
                    ["eaddrinuse", "address already in use", "address in use"].iter().any(|m| this_start.contains(m));
                return Err((taken, format!("wrangler exited ({status}); its log:\n{log}")));
            }
            if Instant::now() >= deadline {
                return Err((false, format!("wrangler not ready in 90 s; its log:\n{}", self.log_text())));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills wrangler and workerd (its process group) at once, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            GROUPS.lock().unwrap_or_else(|e| e.into_inner()).retain(|g| *g != child.id());
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
        }
    }

    /// Starts again on the same port and persist directory.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Stops wrangler, deletes its persisted state (every Durable Object's
    /// storage), and starts again on the same port.
    pub fn wipe_and_restart(&mut self) {
        self.kill();
        let state = self.dir.join("state");
        if state.exists() {
            fs::remove_dir_all(&state).unwrap_or_else(|e| panic!("cannot delete {}: {e}", state.display()));
        }
        self.spawn();
    }
}

impl Drop for WranglerDev {
    fn drop(&mut self) {
        self.kill();
    }
}
