#!/usr/bin/env python3
"""`make unit`: every test binary of the workspace, built once, then run
several at a time.

Most of a test binary's time goes to waiting (on `wrangler dev`, on the
state machine's timers, on child processes), not to the CPU, so running
the binaries one after another, as `cargo test` does, leaves the machine
idle. This builds them with `cargo test --no-run` (the same targets
`cargo test --workspace --lib --bins --tests` runs), then runs up to
TEST_JOBS of them at once (default 2), longest first by the durations of
the last run (kept in target/test-durations.json). Each binary's output is
printed whole, behind cargo's own `Running` line, so its `test result:`
line is read as cargo's would be. Arguments after `--` go to every test
binary (a name filter, `--nocapture`...).

Exit status: non-zero when a build or any binary failed; every binary
runs either way, and the failed ones are named at the end.
"""

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DURATIONS = ROOT / "target" / "test-durations.json"
TARGETS = ["--workspace", "--lib", "--bins", "--tests"]


def build(cargo):
    """Builds the test binaries; returns (label, executable, package dir) for each."""
    cmd = [cargo, "test", *TARGETS, "--no-run", "--message-format=json-render-diagnostics"]
    out = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        sys.exit(f"run_tests: `{' '.join(cmd)}` failed ({out.returncode})")
    binaries = []
    for line in out.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") != "compiler-artifact" or not msg.get("executable"):
            continue
        if not msg["profile"]["test"]:
            continue
        target = msg["target"]
        package_dir = Path(msg["manifest_path"]).parent
        if target["kind"] == ["test"]:
            label = str(Path(target["src_path"]).relative_to(package_dir))
        else:
            label = f"unittests {Path(target['src_path']).relative_to(package_dir)}"
        binaries.append((f"{package_dir.name}: {label}", msg["executable"], package_dir))
    return binaries


def run(binary, cargo, args):
    label, exe, package_dir = binary
    env = dict(os.environ, CARGO=cargo, CARGO_MANIFEST_DIR=str(package_dir))
    started = time.monotonic()
    out = subprocess.run([exe, *args], cwd=package_dir, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    took = time.monotonic() - started
    text = out.stdout.decode("utf-8", "replace")
    # One write per binary, so outputs finishing together do not interleave.
    sys.stdout.write(f"     Running {label} ({exe})\n{text}\n")
    sys.stdout.flush()
    return label, out.returncode, took


def main():
    cargo = os.environ.get("CARGO", "cargo")
    args = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    jobs = int(os.environ.get("TEST_JOBS", "2"))
    binaries = build(cargo)
    known = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    # Longest first: a long binary started last would run alone at the end.
    binaries.sort(key=lambda b: -known.get(b[0], 1e9))
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(lambda b: run(b, cargo, args), binaries))
    print(f"ran {len(results)} test binaries, {jobs} at a time, in {time.monotonic() - started:.0f} s")
    known.update({label: took for label, _, took in results})
    DURATIONS.write_text(json.dumps(known, indent=1))
    failed = [label for label, code, _ in results if code != 0]
    if failed:
        print("failed test binaries: " + ", ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
