#!/usr/bin/env python3
"""Turns the raw outputs of tools/bench.sh into BENCHMARKS.md: median and range per number."""
import os
import platform
import re
from pathlib import Path
import statistics
import subprocess
import sys

out, runs = sys.argv[1], int(sys.argv[2])


def read(name):
    with open(os.path.join(out, name)) as f:
        return f.read()


def fmt(values, unit):
    if unit == "µs" and min(values) >= 1000:
        values, unit = [v / 1000 for v in values], "ms"
    med = statistics.median(values)
    return f"{med:.4g} {unit} ({min(values):.4g}–{max(values):.4g})"


def collect(pattern, files, groups):
    """{key: [values per run]} for every match of pattern in each file."""
    found = {}
    for text in files:
        for m in re.finditer(pattern, text, re.M):
            key = m.group(groups[0])
            found.setdefault(key, []).append([float(m.group(g)) for g in groups[1:]])
    return found


def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip().splitlines()[0]
    except Exception:  # noqa: BLE001 - informative only
        return "?"


cpu = "?"
with open("/proc/cpuinfo") as f:
    for line in f:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
mem = open("/proc/meminfo").readline().split()[1]
print("# Benchmarks\n")
print("Written by `make bench` (tools/bench.sh): every number is the median of "
      f"{runs} runs, with the range in brackets. Machine: {os.cpu_count()} cores, {cpu}, "
      f"{int(mem) // 1024 // 1024} GiB, {platform.system()} {platform.release()}; "
      f"{version(['rustc', '--version'])}; node {version(['node', '--version'])}. "
      "The machine is shared: expect noise.\n")

core = [read(f"core-{i}.txt") for i in range(1, runs + 1)]
print("## Core (criterion)\n\n`cargo bench -p invalidator-core --bench core -- --warm-up-time 1 --measurement-time 4`\n")
print("| benchmark | time |\n| --- | --- |")
units = {"ns": 1e-3, "µs": 1, "us": 1, "ms": 1e3, "s": 1e6}
for name in ["webhook: verify + parse + plan", "plan: 5,000-entry walk to batches", "sigv4: sign a 50-path CreateInvalidation"]:
    vals = []
    for text in core:
        m = re.search(re.escape(name) + r"\s+time:\s+\[\S+ \S+ (\S+) (\S+)", text)
        if m:
            vals.append(float(m.group(1)) * units[m.group(2)])
    if vals:
        print(f"| {name} | {fmt(vals, 'µs')} |")

edge = [read(f"edge-{i}.txt") for i in range(1, runs + 1)]
print("\n## Worker under `wrangler dev` (edge-bench)\n\n`target/release/edge-bench` (stand-ins on 127.0.0.1, webhooks signed by the toolkit)\n")
print("Beside it, in the same run and on the same requests, the floor Worker (bench/floor-worker: each POST "
      "to one Durable Object, one storage put, 202), and ours as a multiple of it.\n")
print("| senders | p50 | p99 | floor p50 | floor p99 | p50 / floor | p99 / floor |\n| --- | --- | --- | --- | --- | --- | --- |")
lat = collect(r"from (\d+) concurrent sender\(s\): p50 ([\d.]+) ms, p99 ([\d.]+) ms", edge, [1, 2, 3])
floor = collect(r"from (\d+) concurrent sender\(s\) to the floor Worker: p50 ([\d.]+) ms, p99 ([\d.]+) ms", edge, [1, 2, 3])
ratio = collect(r"ratio to the floor, (\d+) concurrent sender\(s\): p50 ([\d.]+)x, p99 ([\d.]+)x", edge, [1, 2, 3])
for senders, vals in lat.items():
    f, r = floor.get(senders, []), ratio.get(senders, [])
    cells = [fmt([v[0] for v in vals], 'ms'), fmt([v[1] for v in vals], 'ms')]
    cells += [fmt([v[i] for v in f], 'ms') if f else "—" for i in (0, 1)]
    cells += [fmt([v[i] for v in r], '×') if r else "—" for i in (0, 1)]
    print(f"| {senders} | " + " | ".join(cells) + " |")
refused = [line for text in edge for line in text.splitlines() if "were not 202" in line or line.startswith("  log:")]
if refused:
    print("\nAnswers that were not 202, as edge-bench reported them:\n\n```\n" + "\n".join(refused) + "\n```")
burst = collect(r"burst of (\d+) publishes over [\d.]+ s: (\d+) CreateInvalidation request\(s\), (\d+) paths", edge, [1, 2, 3])
for b, vals in burst.items():
    print(f"\nBurst of {b} publishes over 2 s: {fmt([v[0] for v in vals], 'CreateInvalidation requests')}, "
          f"{fmt([v[1] for v in vals], 'paths')} (the seed: {b} requests).")

cold = collect(r"^(cold) start, first request after wrangler dev starts, \d+ starts: median ([\d.]+) ms", edge, [1, 2])
for _, vals in cold.items():
    print(f"\nCold start (the first request after `wrangler dev` starts, median of 5 starts per run): "
          f"{fmt([v[0] for v in vals], 'ms')}.")

bundle = read("bundle.txt").splitlines()
print("\n## The Worker bundle (`make bundle-size`)\n")
print(bundle[0] + ".\n")
print("Code and data by crate (twiggy 0.8.0 on the bundle optimised as shipped, names kept):\n")
print("\n".join(bundle[1:]))

fresh = read("fresh.txt")
print("\n## Time to fresh content (fresh-bench)\n\n`target/release/fresh-bench` (under `wrangler dev`: the Delivery API "
      "serves the new revision at once, CloudFront completes 5 s after the submit; one run of 20 lone publishes "
      "with the defaults, and with the schedule before issue 14 set through the settings)\n")
print("| settings | publish to Completed seen, p50 | p95 | overhead beyond CloudFront's 5 s, p50 | p95 |\n| --- | --- | --- | --- | --- |")
for m in re.finditer(r"^fresh \(([^)]+)\): \d+ lone publishes.*?seen p50 ([\d.]+) s, p95 ([\d.]+) s; "
                     r"overhead beyond CloudFront p50 ([\d.]+) s, p95 ([\d.]+) s", fresh, re.M):
    print(f"| {m.group(1)} | {m.group(2)} s | {m.group(3)} s | {m.group(4)} s | {m.group(5)} s |")

lam = [read(f"lambda-{i}.txt") for i in range(1, runs + 1)]
print("\n## Lambda binaries (lambda-bench)\n\n`target/release/lambda-bench` (release, opt-level z, LTO, stripped; local Lambda Runtime API)\n")
print("| binary | size | cold start to first answer (median of 20 per run) |\n| --- | --- | --- |")
sizes = collect(r"^(\w+): ([\d.]+) MiB", lam, [1, 2])
cold = collect(r"^(\w+): cold start to first answer, \d+ runs: median ([\d.]+) ms", lam, [1, 2])
for name, vals in sizes.items():
    c = cold.get(name)
    print(f"| {name} | {fmt([v[0] for v in vals], 'MiB')} | {fmt([v[0] for v in c], 'ms') if c else '—'} |")

burst_runs = [read(f"lambda-burst-{i}.txt") for i in range(1, runs + 1)]
print("\n## Lambda burst through the queue (lambda-burst-bench)\n\n`target/release/lambda-burst-bench` "
      "(webhook function → SQS stand-in → emulated event source mapping, window 3 s, batch size 1,000 → starter "
      "function → executions run by aws-local-stepfunctions with the workflow function; stand-ins on 127.0.0.1)\n")
print("| burst (sent one after another, at least 2 s) | starter batches | executions | CreateInvalidation requests | paths billed | the seed: executions, requests, paths |\n"
      "| --- | --- | --- | --- | --- | --- |")
lb = collect(r"^lambda burst of (\d+) publishes over [\d.]+ s: \d+ accepted, (\d+) starter batch\(es\), (\d+) execution\(s\) "
             r"\(\d+ ended\), (\d+) CreateInvalidation request\(s\), (\d+) paths billed", burst_runs, [1, 2, 3, 4, 5])
for n, vals in lb.items():
    cols = [fmt([v[k] for v in vals], "").replace("  ", " ") for k in range(4)]
    print(f"| {int(float(n))} | {' | '.join(cols)} | {n}, {n}, {n} |")

print("\n## Catch-up sweep (sweep-bench: the core's sweep against the Sync API stand-in)\n\n`target/release/sweep-bench`\n")
print(read("sweep.txt"))

EXACT_NOTES = """
Read with the precision in mind: a wildcard bills one item but flushes every
object under it. `paths, no memory` is today's behaviour: a rename misses the
old slug's pages, and an unpublish without fields falls back to its rule's
prefix wildcard (`/blog/*` on the demo graph; `/*`, the whole site, for the
500-page graph's `/{slug}` rule), one of CloudFront's 15 wildcard slots. With
path memory the same changes invalidate the exact old paths (more items on
the 500-page graph: the page itself and the 9 pages above it, instead of
everything). Tags bill one item per entry walked whatever its URLs (`/x`,
`/x/*` and each locale's slug are one tag), and `cheapest` takes, for each
entry, whichever of its paths and its tags bills fewer.
"""

print("\n## Model (model-bench: the real driver, virtual time)\n\n`target/release/model-bench`\n")
print(read("model.txt"))
print("\n## Exact invalidation (model-bench-exact: billed items per change)\n\n`target/release/model-bench-exact`\n")
print(read("model-exact.txt"))
print(EXACT_NOTES)

# Figures measured once, on code that no longer exists (the "before" of a
# change), kept by hand beside this script: a later run cannot remeasure them.
print()
print((Path(__file__).parent / "bench_history.md").read_text())
