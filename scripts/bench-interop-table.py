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
# What counting requests for /metrics costs: each "_counted" pair (run before and after) beside its
# "_uncounted" run.
pairs = {}
for r in rows:
    if r[0] != "import" and r[1].endswith(("_counted", "_uncounted")):
        what, kind = r[1].rsplit("_", 1)
        pairs.setdefault((r[0], what), {}).setdefault(kind, []).append((float(r[2]), float(r[3])))
if pairs:
    print("\n| tasks | what | counted req/s | uncounted req/s | throughput ratio | counted p50 ms | uncounted p50 ms | p50 ratio |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (size, what), runs in pairs.items():
        c, u = runs.get("counted", []), runs.get("uncounted", [])
        if not c or not u:
            continue
        crps, cp50 = sum(x for x, _ in c) / len(c), sum(y for _, y in c) / len(c)
        urps, up50 = u[0]
        print(f"| {int(size):,} | {what} | {crps:.0f} | {urps:.0f} | {crps / urps:.3f}× | {cp50:.2f} | {up50:.2f} | {cp50 / up50:.3f}× |")
# Tiles beside martin, per zoom: the service keeping no tiles, martin (cache off), the service's SQL
# alone, and the service answering from its tile cache (rows tile_zN, martin_zN, tile_cached_zN).
tiles = {}
for r in rows:
    if r[0] != "import" and r[1].startswith(("tile_z", "martin_z", "tile_cached_z")) and "_counted" not in r[1] and "_uncounted" not in r[1]:
        kind, z = r[1].rsplit("_z", 1)
        tiles.setdefault((int(r[0]), int(z)), {})[kind] = r
if tiles:
    print("\n| tasks | zoom | service p50 / p99 ms | martin p50 / p99 ms | floor p50 / p99 ms | martin ÷ service p50 / p99 | service, cache warm p50 / p99 ms |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    pair = lambda r, i: f"{r[i]} / {r[i + 1]}" if r else "—"
    for (size, z), k in sorted(tiles.items()):
        s, m, c = k.get("tile"), k.get("martin"), k.get("tile_cached")
        ratio = f"{float(m[3]) / float(s[3]):.2f}× / {float(m[4]) / float(s[4]):.2f}×" if s and m else "—"
        print(f"| {size:,} | {z} | {pair(s, 3)} | {pair(m, 3)} | {pair(s, 6)} | {ratio} | {pair(c, 3)} |")
