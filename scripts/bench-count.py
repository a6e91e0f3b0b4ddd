#!/usr/bin/env python3
"""numberMatched over random boxes, one request at a time, beside the bare count(*) of the same
boxes in one psql session (parallel workers off, as the service reads): a quick look at a running
service and its database without oha (scripts/bench-interop.sh, `measure_count`, is the full run).

    scripts/bench-count.py PORT DATABASE_URL [REQUESTS]
"""
import random
import statistics
import subprocess
import sys
import time
import urllib.request
import json

port, url = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 30
psql = subprocess.run(["scripts/pg.sh", "bindir"], capture_output=True, text=True, check=True).stdout.strip() + "/psql"
ext = subprocess.run([psql, "-qAt", url, "-c", "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(boundary) e FROM townships) b"],
                     capture_output=True, text=True, check=True).stdout.strip()
W, S, E, N = map(float, ext.split("|"))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


print(f"{'box':>8} {'matched p50':>12} {'http p50':>9} {'http p95':>9} {'count(*) p50':>13} {'count(*) p95':>13} {'p50 ratio':>9}")
for f in [0.05, 0.2, 0.5, 1.0]:
    random.seed(17)
    boxes = []
    for _ in range(n):
        dx, dy = (E - W) * f, (N - S) * f
        x, y = random.uniform(W, E - dx), random.uniform(S, N - dy)
        boxes.append((x, y, x + dx, y + dy))
    http, matched = [], []
    for b in boxes:
        u = f"http://127.0.0.1:{port}/api/tasks?bbox={b[0]:.6f},{b[1]:.6f},{b[2]:.6f},{b[3]:.6f}&limit=1"
        t = time.perf_counter()
        d = json.load(urllib.request.urlopen(u))
        http.append((time.perf_counter() - t) * 1000)
        matched.append(d["numberMatched"])
    script = "SET max_parallel_workers_per_gather = 0;\n\\timing on\n" + "".join(
        f"SELECT count(*) FROM tasks t WHERE t.visibility = 'public' AND ST_Intersects(t.geom, ST_MakeEnvelope({b[0]:.6f}, {b[1]:.6f}, {b[2]:.6f}, {b[3]:.6f}, 4326));\n"
        for b in boxes)
    out = subprocess.run([psql, "-qAt", url], input=script, capture_output=True, text=True, check=True).stdout.splitlines()
    counts = [int(line) for line in out if line.isdigit()]
    floor = [float(line.split()[1]) for line in out if line.startswith("Time:")]
    assert counts == matched, f"numberMatched differs from count(*): {list(zip(counts, matched))[:5]}"
    print(f"{int(f * 100):>7}% {statistics.median(matched):>12.0f} {pct(http, 0.5):>9.2f} {pct(http, 0.95):>9.2f} "
          f"{pct(floor, 0.5):>13.2f} {pct(floor, 0.95):>13.2f} {pct(http, 0.5) / pct(floor, 0.5):>8.2f}×")
