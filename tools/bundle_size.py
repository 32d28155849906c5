#!/usr/bin/env python3
"""The Worker's wasm by crate: reads `twiggy top -f csv` of a wasm that still
has its names, leaves out custom sections (debug info and names, which the
bundle does not ship), and sums each function's bytes under the crate it
belongs to. Usage: bundle_size.py TWIGGY_CSV [TOP]."""
import collections
import csv
import re
import sys

rows = list(csv.DictReader(open(sys.argv[1])))
top = int(sys.argv[2]) if len(sys.argv) > 2 else 15


def crate(name):
    """The crate a demangled item name belongs to: for `<T as Trait>::f`, T's crate."""
    if name.startswith("custom section") or "subsection" in name:
        return None
    if name.startswith("data segment") or name.startswith("data["):
        return "(data: string literals, tables)"
    if name in ("import", "export") or name.startswith(("import ", "export ")):
        return "(imports and exports: the JavaScript glue)"
    n = name.lstrip("<&*")
    n = re.sub(r"^(mut |dyn |const )+", "", n)
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(\[[0-9a-f]+\])?::", n)
    if m:
        return m.group(1)
    # `<f64 as core::fmt::Display>::fmt`, `<T as Trait>`: the trait's crate.
    m = re.match(r"[^<>]*? as ([A-Za-z_][A-Za-z0-9_]*)(\[[0-9a-f]+\])?::", n)
    if m:
        return m.group(1)
    if n.startswith("code[") or n.startswith("func["):
        return "(unnamed functions)"
    if n.startswith("[") or n.startswith("("):
        return "(slices and tuples: core)"
    return "(other: " + n.split(" ")[0][:30] + ")"


by_crate = collections.Counter()
total = 0
for r in rows:
    c = crate(r["Name"])
    if c is None:
        continue
    size = int(r["ShallowSize"])
    by_crate[c] += size
    total += size
print(f"| crate | bytes | share |\n| --- | --- | --- |")
for c, size in by_crate.most_common(top):
    print(f"| {c} | {size:,} | {100 * size / total:.1f} % |")
rest = total - sum(s for _, s in by_crate.most_common(top))
print(f"| {len(by_crate) - top} others | {rest:,} | {100 * rest / total:.1f} % |")
print(f"| total (code and data, no custom sections) | {total:,} | 100 % |")
