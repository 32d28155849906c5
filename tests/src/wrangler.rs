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
}

impl WranglerDev {
    /// Starts wrangler with `vars` (written to `.dev.vars`, which overrides
    /// `[vars]`), persisting Durable Object state under `dir/state`.
    pub fn start(dir: &Path, vars: &[(&str, String)]) -> WranglerDev {
        require_tools();
        let root = repo_root();
        let config = fs::read_to_string(root.join("wrangler.toml")).unwrap();
        let main = root.join("edge-worker/build/index.js");
        let mut test_config = String::new();
        let mut in_build = false;
        for line in config.lines() {
            if line.starts_with('[') {
                in_build = line.trim() == "[build]";
            }
            if in_build {
                continue;
            }
            if line.starts_with("main = ") {
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
        };
        w.spawn();
        w
    }

    fn spawn(&mut self) {
        use std::os::unix::process::CommandExt;
        self.starts += 1;
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
        self.wait_ready();
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        let client = crate::loopback::blocking_client(Duration::from_secs(5));
        loop {
            if let Ok(r) = client.get(self.url("/healthz")).send() {
                if r.status().is_success() {
                    return;
                }
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("wrangler exited ({status}); its log:\n{}", self.log_text());
            }
            assert!(Instant::now() < deadline, "wrangler not ready in 90 s; its log:\n{}", self.log_text());
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
}

impl Drop for WranglerDev {
    fn drop(&mut self) {
        self.kill();
    }
}
