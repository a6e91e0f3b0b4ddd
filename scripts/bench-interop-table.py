#!/usr/bin/env python3
# Formats target/bench-interop/results.tsv (scripts/bench-interop.sh) as the BENCHMARKS.md table.
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
print("| tasks | what | HTTP req/s | HTTP p50 ms | HTTP p99 ms | SQL/s | SQL p50 ms | SQL p99 ms | p50 ratio | p99 ratio |")
print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for r in rows:
    if r[0] == "import":
        continue
    size, what, rps, p50, p99, srps, s50, s99 = (r + [""] * 8)[:8]
    try:
        ratio50 = f"{float(p50) / float(s50):.2f}×"
        ratio99 = f"{float(p99) / float(s99):.2f}×"
    except (ValueError, ZeroDivisionError):
        ratio50 = ratio99 = "—"
    print(f"| {int(size):,} | {what} | {rps} | {p50} | {p99} | {srps} | {s50} | {s99} | {ratio50} | {ratio99} |")
for r in rows:
    if r[0] == "import":
        print(f"\nImport of {int(r[1]):,} features: `greenledger import` {r[2]} s; the same inserts as bare SQL {r[3]} s; ratio {float(r[2]) / float(r[3]):.2f}×.")
