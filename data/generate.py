#!/usr/bin/env python3
"""Generate the greenledger demo data set for the SYNTHETIC county 清源县 (Qingyuan, code 330599).

Writes, next to this script:
  townships.geojson  12 township boundaries (MultiPolygon, EPSG:4326, 6 decimals)
  tasks.geojson      ~300 remediation tasks across the four task families

Everything is fictional and generated here: the county outline, the township borders, the
rivers, villages, companies, people and phone numbers.  The output is reproducible: a fixed
random seed, a fixed UUID namespace and deterministic PostGIS operations, so running the
script again rewrites both files byte-identically.

Requirements: Python 3.11 (standard library only) and the `psql` client reaching a PostgreSQL
database with PostGIS (the geometry work: Voronoi cells, unions, validity, containment).

Environment:
  DATAGEN_DATABASE_URL   (required) URL of a scratch database with PostGIS available, e.g.
                         postgres://postgres@127.0.0.1:54398/postgres
                         The script creates (and drops at the end) a schema named `datagen` there
                         and runs `CREATE EXTENSION IF NOT EXISTS postgis`.

Usage (from the repository root):
  scripts/pg.sh start datagen 54398 fast
  DATAGEN_DATABASE_URL=postgres://postgres@127.0.0.1:54398/postgres python3 data/generate.py
  scripts/pg.sh wipe datagen

The script verifies the hard requirements (validity, no overlaps, no gaps, vertex counts, tasks
inside the county, CCW exterior rings) in PostGIS and exits non-zero if any fails; it prints the
summary figures quoted in data/README.md.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import random
import subprocess
import sys
import uuid
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261125
TODAY = date(2026, 11, 25)

COUNTY_CODE = "330599"
COUNTY_NAME = "清源县"
LON0, LAT0 = 119.95, 30.85
KX = 111.320 * math.cos(math.radians(LAT0))  # km per degree of longitude
KY = 110.850  # km per degree of latitude
WIDTH_KM, HEIGHT_KM = 40.0, 35.0

TASK_NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://greenledger.example/demo-data/qingyuan-330599/tasks")

# ----------------------------------------------------------------------------------------------
# small helpers



# Lead units that are county bureaus the service keeps as departments, by their code.
LEAD_DEPARTMENTS = {"县水利局": "water", "县住建局": "housing", "县农业农村局": "agriculture", "县经信局": "industry"}

def to_deg(x: float, y: float) -> tuple[float, float]:
    return (round(LON0 + x / KX, 6), round(LAT0 + y / KY, 6))


def to_km(lon: float, lat: float) -> tuple[float, float]:
    return ((lon - LON0) * KX, (lat - LAT0) * KY)


def fmt(v: float) -> str:
    s = f"{v:.6f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def wkt_ring(pts_deg) -> str:
    return "(" + ",".join(f"{fmt(a)} {fmt(b)}" for a, b in pts_deg) + ")"


def shoelace(pts) -> float:
    s = 0.0
    for (x1, y1), (x2, y2) in zip(pts, pts[1:] + pts[:1]):
        s += x1 * y2 - x2 * y1
    return s / 2.0


def point_in_ring(x: float, y: float, ring) -> bool:
    inside = False
    n = len(ring)
    j = n - 1
    for i in range(n):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def seg_dist(px, py, ax, ay, bx, by) -> float:
    dx, dy = bx - ax, by - ay
    L = dx * dx + dy * dy
    t = 0.0 if L == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / L))
    qx, qy = ax + t * dx, ay + t * dy
    return math.hypot(px - qx, py - qy)


def ring_dist(x, y, ring) -> float:
    best = 1e9
    n = len(ring)
    for i in range(n):
        ax, ay = ring[i]
        bx, by = ring[(i + 1) % n]
        # cheap reject
        if min(abs(ax - x), abs(bx - x)) > best + 2 and (ax - x) * (bx - x) > 0:
            continue
        d = seg_dist(x, y, ax, ay, bx, by)
        if d < best:
            best = d
    return best


def polyline_length(pts) -> float:
    return sum(math.hypot(b[0] - a[0], b[1] - a[1]) for a, b in zip(pts, pts[1:]))


def resample(pts, step: float):
    """Resample a polyline (km) at a constant spacing."""
    out = [pts[0]]
    carry = 0.0
    for (x1, y1), (x2, y2) in zip(pts, pts[1:]):
        seg = math.hypot(x2 - x1, y2 - y1)
        pos = step - carry
        while pos <= seg:
            t = pos / seg
            out.append((x1 + t * (x2 - x1), y1 + t * (y2 - y1)))
            pos += step
        carry = seg - (pos - step)
    if math.hypot(out[-1][0] - pts[-1][0], out[-1][1] - pts[-1][1]) > step * 0.3:
        out.append(pts[-1])
    return out


def catmull_rom(ctrl, per_seg: int = 40):
    pts = [ctrl[0]] + list(ctrl) + [ctrl[-1]]
    out = []
    for i in range(1, len(pts) - 2):
        p0, p1, p2, p3 = pts[i - 1], pts[i], pts[i + 1], pts[i + 2]
        for k in range(per_seg):
            t = k / per_seg
            t2, t3 = t * t, t * t * t
            out.append(tuple(
                0.5 * (2 * p1[c] + (-p0[c] + p2[c]) * t + (2 * p0[c] - 5 * p1[c] + 4 * p2[c] - p3[c]) * t2
                       + (-p0[c] + 3 * p1[c] - 3 * p2[c] + p3[c]) * t3) for c in range(2)))
    out.append(ctrl[-1])
    return out


# ----------------------------------------------------------------------------------------------
# PostGIS through psql


DB_URL = os.environ.get("DATAGEN_DATABASE_URL")


def psql(sql: str) -> list[list[str]]:
    r = subprocess.run(
        ["psql", DB_URL, "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1"],
        input="SET client_min_messages = warning;\n" + sql, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        raise SystemExit(f"psql failed (exit {r.returncode})")
    return [line.split("\t") for line in r.stdout.splitlines() if line != ""]


# ----------------------------------------------------------------------------------------------
# 1. the county outline (irregular, non-convex, star-shaped around its centre)


def make_outline(rng: random.Random):
    n = 720
    harm = [(k, rng.uniform(0.04, 0.08) / math.sqrt(k - 1), rng.uniform(0, 2 * math.pi)) for k in range(2, 8)]
    fine = [(k, rng.uniform(0.3, 1.0) * 0.11 / k ** 1.15, rng.uniform(0, 2 * math.pi)) for k in range(8, 90)]
    bays = [(math.radians(203), 0.24, 0.20), (math.radians(64), 0.20, 0.16), (math.radians(302), 0.14, 0.11),
            (math.radians(140), 0.10, 0.10)]
    pts = []
    for j in range(n):
        th = 2 * math.pi * j / n
        r = 1.0
        for k, a, ph in harm + fine:
            r += a * math.cos(k * th + ph)
        for c, depth, wdt in bays:
            d = math.atan2(math.sin(th - c), math.cos(th - c))
            r -= depth * math.exp(-(d / wdt) ** 2)
        pts.append((r * math.cos(th), r * math.sin(th)))
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    sx, sy = WIDTH_KM / (max(xs) - min(xs)), HEIGHT_KM / (max(ys) - min(ys))
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    return [((x - cx) * sx, (y - cy) * sy) for x, y in pts]


# ----------------------------------------------------------------------------------------------
# 2. townships

TOWNSHIPS = [
    # code, name, kind, centre (km east, km north of the county centre), weight
    ("330599001", "城东街道", "subdistrict", (4.6, -0.6), 0.36),
    ("330599002", "城西街道", "subdistrict", (-0.6, 0.2), 0.36),
    ("330599003", "凤山街道", "subdistrict", (2.0, -4.2), 0.34),
    ("330599101", "青溪镇", "town", (-12.0, 1.0), 1.0),
    ("330599102", "白鹭镇", "town", (2.0, -11.5), 1.0),
    ("330599103", "临湖镇", "town", (10.0, 10.0), 1.0),
    ("330599104", "石桥镇", "town", (-10.0, -9.5), 1.0),
    ("330599105", "双塘镇", "town", (-1.5, 10.5), 0.93),
    ("330599106", "桐岭镇", "town", (-13.0, 10.5), 1.12),
    ("330599107", "梅溪镇", "town", (12.0, -9.0), 1.0),
    ("330599108", "长丰镇", "town", (15.5, 0.5), 0.95),
    ("330599401", "清源经济开发区", "development_zone", (7.8, 4.6), 0.62),
]
CORE = (2.0, -1.0)


def short_name(name: str) -> str:
    for suf in ("经济开发区", "街道", "镇"):
        if name.endswith(suf):
            return "开发区" if suf == "经济开发区" else name[: -len(suf)]
    return name


def gov_name(name: str, kind: str) -> str:
    if kind == "town":
        return name + "人民政府"
    if kind == "subdistrict":
        return name + "办事处"
    return name + "管理委员会"


def make_warp(rng: random.Random):
    waves = []
    for amp, wl in ((1.6, 11.0), (1.2, 7.0), (0.7, 4.0), (0.35, 2.2)):
        for _ in range(3):
            ang = rng.uniform(0, 2 * math.pi)
            waves.append((amp / 1.7, 2 * math.pi / wl * math.cos(ang), 2 * math.pi / wl * math.sin(ang),
                          rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi)))

    def warp(x, y):
        dx = dy = 0.0
        for a, kx, ky, p1, p2 in waves:
            dx += a * math.sin(kx * x + ky * y + p1)
            dy += a * math.sin(ky * x - kx * y + p2)
        return x + dx, y + dy

    return warp


def build_townships(rng: random.Random, outline_km):
    warp = make_warp(rng)
    xs = [p[0] for p in outline_km]
    ys = [p[1] for p in outline_km]
    seeds = []
    while len(seeds) < 1900:
        x, y = rng.uniform(min(xs) - 0.5, max(xs) + 0.5), rng.uniform(min(ys) - 0.5, max(ys) + 0.5)
        if point_in_ring(x, y, outline_km) or ring_dist(x, y, outline_km) < 0.6:
            seeds.append((x, y))
    while len(seeds) < 3100:
        x, y = rng.gauss(CORE[0] + 1.5, 4.2), rng.gauss(CORE[1], 3.8)
        if point_in_ring(x, y, outline_km):
            seeds.append((x, y))
    seeds_deg = [to_deg(x, y) for x, y in seeds]
    seeds_deg = list(dict.fromkeys(seeds_deg))  # drop exact duplicates, keep order

    def owner(x, y):
        qx, qy = warp(x, y)
        best, bi = 1e18, 0
        for i, (_, _, _, (cx, cy), w) in enumerate(TOWNSHIPS):
            d = math.hypot(qx - cx, qy - cy) / w
            if d < best:
                best, bi = d, i
        return bi

    assign = [owner(*to_km(*p)) for p in seeds_deg]

    outline_deg = [to_deg(x, y) for x, y in outline_km]
    outline_wkt = "POLYGON(" + wkt_ring(outline_deg + outline_deg[:1]) + ")"
    values = ",\n".join(f"({i},{fmt(lo)},{fmt(la)})" for i, (lo, la) in enumerate(seeds_deg))
    rows = psql(f"""
DROP SCHEMA IF EXISTS datagen CASCADE;
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE SCHEMA datagen;
CREATE TABLE datagen.outline AS SELECT ST_SetSRID(ST_GeomFromText('{outline_wkt}'), 4326) AS geom;
CREATE TABLE datagen.seeds(id int PRIMARY KEY, geom geometry(Point, 4326));
INSERT INTO datagen.seeds SELECT id, ST_SetSRID(ST_MakePoint(lo, la), 4326) FROM (VALUES
{values}) v(id, lo, la);
CREATE TABLE datagen.vor AS
  SELECT (ST_Dump(ST_VoronoiPolygons(ST_Collect(geom ORDER BY id), 0,
          ST_Expand((SELECT geom FROM datagen.outline), 0.05)))).geom AS geom FROM datagen.seeds;
CREATE TABLE datagen.cells AS
  SELECT s.id, ST_CollectionExtract(ST_Intersection(v.geom, o.geom), 3) AS geom
  FROM datagen.vor v JOIN datagen.seeds s ON ST_Contains(v.geom, s.geom), datagen.outline o
  WHERE ST_Intersects(v.geom, o.geom);
DELETE FROM datagen.cells WHERE ST_IsEmpty(geom) OR ST_Area(geom) = 0;
CREATE INDEX ON datagen.cells USING gist(geom);
SELECT a.id, b.id, ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)))
  FROM datagen.cells a JOIN datagen.cells b ON a.id < b.id AND ST_Intersects(a.geom, b.geom)
  ORDER BY 1, 2;
""")
    cell_ids = sorted(int(r[0]) for r in psql("SELECT id FROM datagen.cells ORDER BY id"))
    adj = defaultdict(dict)
    for a, b, ln in rows:
        ln = float(ln)
        if ln > 1e-9:
            adj[int(a)][int(b)] = ln
            adj[int(b)][int(a)] = ln

    # keep every township contiguous: cells in detached pieces go to the neighbour sharing most border
    for _ in range(20):
        changed = False
        for t in range(len(TOWNSHIPS)):
            members = {c for c in cell_ids if assign[c] == t}
            comps, seen = [], set()
            for c in sorted(members):
                if c in seen:
                    continue
                comp, stack = [], [c]
                seen.add(c)
                while stack:
                    u = stack.pop()
                    comp.append(u)
                    for v in adj[u]:
                        if v in members and v not in seen:
                            seen.add(v)
                            stack.append(v)
                comps.append(sorted(comp))
            comps.sort(key=lambda cs: (-len(cs), cs[0]))
            for comp in comps[1:]:
                cs = set(comp)
                border = Counter()
                for u in comp:
                    for v, ln in adj[u].items():
                        if v not in cs:
                            border[assign[v]] += ln
                if border:
                    nt = max(sorted(border), key=lambda k: border[k])
                    for u in comp:
                        assign[u] = nt
                    changed = True
        if not changed:
            break

    values = ",".join(f"({c},{assign[c]})" for c in cell_ids)
    rows = psql(f"""
CREATE TABLE datagen.cell_owner(id int PRIMARY KEY, t int);
INSERT INTO datagen.cell_owner VALUES {values};
CREATE TABLE datagen.town_raw AS
  SELECT o.t, ST_Union(c.geom ORDER BY c.id) AS geom
  FROM datagen.cells c JOIN datagen.cell_owner o USING (id) GROUP BY o.t;
CREATE TABLE datagen.town AS
  SELECT t, ST_ForcePolygonCCW(ST_Multi(ST_CollectionExtract(ST_MakeValid(
           ST_SnapToGrid(geom, 0.000001)), 3))) AS geom
  FROM datagen.town_raw;
SELECT t, ST_AsGeoJSON(geom, 6) FROM datagen.town ORDER BY t;
""")
    geoms = {int(t): json.loads(g) for t, g in rows}
    return geoms, seeds_deg, assign


# ----------------------------------------------------------------------------------------------
# 3. rivers

RIVERS = [
    # name, control points (km), meander amplitude (km), share of stretch tasks
    ("青溪河", [(-19.5, 5.0), (-15.0, 2.5), (-11.0, 0.6), (-6.5, 1.4), (-2.5, 0.3), (1.0, -0.4), (4.0, -1.8),
               (7.5, -1.0), (11.0, -2.2), (15.0, -1.2), (19.5, -3.0)], 0.32),
    ("白鹭港", [(3.5, -17.0), (2.0, -13.5), (3.6, -10.0), (1.8, -6.5), (2.8, -3.5), (2.4, -0.8)], 0.28),
    ("西苕溪支流", [(-16.5, 15.5), (-13.0, 12.0), (-10.5, 8.5), (-8.5, 5.0), (-6.3, 1.6)], 0.30),
    ("梅溪", [(12.0, -16.5), (10.5, -12.5), (13.0, -8.5), (12.5, -5.0), (15.2, -1.5)], 0.26),
]


def build_rivers(rng: random.Random, outline_km):
    rivers = {}
    for name, ctrl, amp, in RIVERS:
        base = resample(catmull_rom(ctrl, 60), 0.05)
        # arc-length parametrised meander, perpendicular to the base curve
        waves = [(amp * rng.uniform(0.6, 1.0), rng.uniform(1.4, 2.6), rng.uniform(0, 6.3)),
                 (amp * rng.uniform(0.25, 0.45), rng.uniform(0.6, 0.95), rng.uniform(0, 6.3)),
                 (amp * rng.uniform(0.8, 1.4), rng.uniform(5.0, 9.0), rng.uniform(0, 6.3))]
        pts, s = [], 0.0
        for i, (x, y) in enumerate(base):
            if i:
                s += math.hypot(x - base[i - 1][0], y - base[i - 1][1])
            a = base[max(i - 1, 0)]
            b = base[min(i + 1, len(base) - 1)]
            tx, ty = b[0] - a[0], b[1] - a[1]
            tl = math.hypot(tx, ty) or 1.0
            nx, ny = -ty / tl, tx / tl
            off = sum(w[0] * math.sin(2 * math.pi * s / w[1] + w[2]) for w in waves)
            taper = min(1.0, s / 1.0)
            pts.append((x + nx * off * taper, y + ny * off * taper))
        pts = resample(pts, 0.06)
        # keep only the part comfortably inside the county
        inside = [point_in_ring(x, y, outline_km) and ring_dist(x, y, outline_km) > 0.6 for x, y in pts]
        best, cur = (0, 0), None
        for i, ok in enumerate(inside + [False]):
            if ok and cur is None:
                cur = i
            if not ok and cur is not None:
                if i - cur > best[1] - best[0]:
                    best = (cur, i)
                cur = None
        rivers[name] = pts[best[0]:best[1]]
    return rivers


# ----------------------------------------------------------------------------------------------
# 4. names and people

SURNAMES = "王李张刘陈杨黄赵吴周徐孙朱马胡郭林何高罗郑梁谢宋唐许韩冯邓曹彭曾沈钱姚潘陆蒋范金俞沈邵施屠顾费钟"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文斌宇浩凯婷雪琳晨阳峰海波亮蕾佳慧"
VILLAGE_NAMES = [
    "沈家", "陆家", "钱家", "姚家", "徐家", "范家", "邵家", "金家", "孙家", "俞家", "潘家", "施家",
    "石塘", "荷花", "桑园", "竹林", "杨湾", "芦墩", "南浜", "北港", "塘桥", "大桥", "新丰", "永兴",
    "红旗", "前进", "联合", "光明", "双桥", "高桥", "塘南", "湖滨", "陈湾", "施家兜", "梅园", "桃源",
    "金湾", "云岫", "百步", "上林", "下坞", "茶坞", "横山", "青山", "南山", "庙前", "东庄", "西庄",
    "潘庄", "王庄", "洪桥", "八里店", "白果", "枫树湾", "蒋家桥", "岳家", "后漾", "花园", "新桥", "朱家墩",
    "东风", "友谊", "长田", "大港", "小港", "张家埭", "马家浜", "丁家", "兴隆", "五一", "太平", "安乐",
    "吴家庄", "黄龙", "林坞", "鹤鸣", "凤凰", "双林", "石门", "溪口", "杨家埠", "湖头", "沙村", "柏树",
    "芝村", "章家", "官塘", "里塘", "外塘", "上塘", "下塘", "横塘", "泉口", "龙潭", "桐村", "松岭",
]
LAKE_NAMES = [
    "莲花荡", "白荡漾", "南漾", "鸭儿荡", "凤山湖", "芦花荡", "长漾", "东湖", "青溪湿地", "白鹭湿地",
    "梅湖", "双塘漾", "菱湖荡", "后湖", "横山水库", "桐岭水库", "沉香荡", "太平漾", "北湖", "西漾",
    "荷叶荡", "月亮湖", "石桥漾", "陈家荡", "龙潭水库", "金沙湖", "湖头漾", "鹤鸣荡", "大塘漾", "新丰湖",
    "渔家荡", "芦苇荡",
]
CO_A = "恒华金宏永天鼎瑞立博嘉联中正新万盛晨海佳顺广泰德明康锦安协众同宝元"
CO_B = "达鑫诚远盛顺丰新泰禾创晟阳宇隆发光纳越和源胜辉程安力利通美"
CHEM_IND = ["化工", "精细化工", "新材料", "涂料", "医药化工", "染料", "树脂", "助剂", "表面处理"]
ENERGY_IND = ["纺织", "印染", "建材", "造纸", "木业", "家具", "电机", "铸造", "食品", "陶瓷", "针织", "服饰", "机械"]


class Names:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used_people = set()
        self.used_phones = set()
        self.unit_contact = {}
        self.brands = [a + b for a in CO_A for b in CO_B if a != b]
        rng.shuffle(self.brands)
        self.villages = list(VILLAGE_NAMES)
        rng.shuffle(self.villages)
        self.lakes = list(LAKE_NAMES)
        rng.shuffle(self.lakes)

    def person(self):
        while True:
            n = self.rng.choice(SURNAMES) + "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2, 2))))
            if n not in self.used_people:
                self.used_people.add(n)
                break
        while True:
            ph = "1390000" + f"{self.rng.randrange(10000):04d}"
            if ph not in self.used_phones:
                self.used_phones.add(ph)
                return n, ph

    def contact(self, unit: str):
        if unit not in self.unit_contact:
            self.unit_contact[unit] = self.person()
        return self.unit_contact[unit]

    def company(self, industries):
        brand = self.brands.pop()
        prefix = self.rng.choice(("浙江", "清源", "清源县", "浙江"))
        return f"{prefix}{brand}{self.rng.choice(industries)}有限公司"

    def village(self):
        return self.villages.pop() + "村"

    def lake(self):
        return self.lakes.pop()


# ----------------------------------------------------------------------------------------------
# 5. task geometry


class County:
    """Fast point -> township lookup using the Voronoi seeds the townships were built from."""

    def __init__(self, outline_km, seeds_deg, assign, town_geoms):
        self.outline = outline_km
        self.seeds = [to_km(*p) for p in seeds_deg]
        self.assign = assign
        self.grid = defaultdict(list)
        for i, (x, y) in enumerate(self.seeds):
            self.grid[(int(math.floor(x)), int(math.floor(y)))].append(i)
        # exterior rings (km) of each township, for border distance
        self.rings = {}
        for t, g in town_geoms.items():
            self.rings[t] = [[to_km(*c) for c in poly[0][:-1]] for poly in g["coordinates"]]

    def inside(self, x, y, margin=0.0):
        if not point_in_ring(x, y, self.outline):
            return False
        return margin <= 0 or ring_dist(x, y, self.outline) >= margin

    def township(self, x, y):
        # nearest seed in degree space == the Voronoi cell holding the point
        lo, la = LON0 + x / KX, LAT0 + y / KY
        gx, gy = int(math.floor(x)), int(math.floor(y))
        best, bi = 1e18, None
        for r in range(1, 6):
            for i in (i for dx in range(-r, r + 1) for dy in range(-r, r + 1) for i in self.grid.get((gx + dx, gy + dy), ())):
                sl, sa = LON0 + self.seeds[i][0] / KX, LAT0 + self.seeds[i][1] / KY
                d = (sl - lo) ** 2 + (sa - la) ** 2
                if d < best:
                    best, bi = d, i
            if bi is not None and r >= 2:
                break
        return -1 if bi is None else self.assign[bi]


def blob(rng, cx, cy, area_km2, nverts, roughness=0.22):
    """Irregular star-shaped polygon (km), CCW, with the given area."""
    harm = [(k, rng.uniform(0, roughness) / k ** 0.6, rng.uniform(0, 6.283)) for k in range(2, 6)]
    angles = [2 * math.pi * (i + 0.5 * rng.uniform(-0.6, 0.6)) / nverts for i in range(nverts)]
    stretch, rot = rng.uniform(1.0, 1.8), rng.uniform(0, math.pi)
    pts = []
    for th in angles:
        r = 1.0 + sum(a * math.cos(k * th + p) for k, a, p in harm) + rng.uniform(-0.05, 0.05)
        x, y = r * math.cos(th) * stretch, r * math.sin(th) / stretch
        pts.append((x * math.cos(rot) - y * math.sin(rot), x * math.sin(rot) + y * math.cos(rot)))
    s = math.sqrt(area_km2 / abs(shoelace(pts)))
    return [(cx + x * s, cy + y * s) for x, y in pts]


def plant_site(rng, cx, cy):
    """A small, mostly rectilinear plant site polygon (km), CCW."""
    w, h = rng.uniform(0.12, 0.45), rng.uniform(0.1, 0.35)
    rot = rng.uniform(0, math.pi / 2)
    if rng.random() < 0.5:
        base = [(-w, -h), (w, -h), (w, h), (-w, h)]
    else:  # L-shaped
        cw, ch = w * rng.uniform(0.3, 0.6), h * rng.uniform(0.3, 0.6)
        base = [(-w, -h), (w, -h), (w, h - 2 * ch), (w - 2 * cw, h - 2 * ch), (w - 2 * cw, h), (-w, h)]
    base = [(x / 2, y / 2) for x, y in base]
    return [(cx + x * math.cos(rot) - y * math.sin(rot), cy + x * math.sin(rot) + y * math.cos(rot)) for x, y in base]


# ----------------------------------------------------------------------------------------------
# 6. main


def main():
    if not DB_URL:
        raise SystemExit("set DATAGEN_DATABASE_URL to a PostGIS-capable database URL (see the header of this script)")
    rng = random.Random(SEED)

    outline_km = make_outline(rng)
    town_geoms, seeds_deg, assign = build_townships(random.Random(SEED + 1), outline_km)
    county = County(outline_km, seeds_deg, assign, town_geoms)
    rivers = build_rivers(random.Random(SEED + 2), outline_km)

    # ---- townships file
    feats = []
    for t, (code, name, kind, _, _) in enumerate(TOWNSHIPS):
        feats.append({"type": "Feature", "properties": {"code": code, "name": name, "kind": kind},
                      "geometry": town_geoms[t]})
    write_fc(os.path.join(HERE, "townships.geojson"), feats)

    # ---- tasks
    tasks = make_tasks(random.Random(SEED + 3), county, rivers)
    # `as_of`: the day the dates were written for; the demo loader moves them all to its own today.
    write_fc(os.path.join(HERE, "tasks.geojson"), tasks, as_of=TODAY.isoformat())

    verify_and_report()


def write_fc(path, feats, as_of=None):
    head = f'"as_of": "{as_of}", ' if as_of else ""
    lines = ['{"type": "FeatureCollection", ' + head + '"features": [']
    for i, f in enumerate(feats):
        lines.append(json.dumps(f, ensure_ascii=False, separators=(",", ":")) + ("," if i + 1 < len(feats) else ""))
    lines.append("]}")
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")


# ----------------------------------------------------------------------------------------------
# task generation


def weighted_choice(rng, items, weights):
    tot = sum(weights)
    r = rng.uniform(0, tot)
    acc = 0.0
    for it, w in zip(items, weights):
        acc += w
        if r <= acc:
            return it
    return items[-1]


def waiting_for_verification(statuses, done_dates, township_of):
    """Which finished tasks still wait for the bureau's verification: 36 in all, two in every
    township (so each has some in the review queue), drawn with a weight falling with the age of
    the completion, so most are recent ones; the bureau has verified the rest. Drawn from a
    generator of its own, and `completed` and `verified` tasks are otherwise made alike, so every
    other value is unchanged."""
    rng = random.Random(SEED + 5)
    done = sorted(done_dates, key=lambda i: (done_dates[i], i))
    weight = {i: math.exp(-(datetime.combine(TODAY, datetime.min.time()) - done_dates[i]).days / 100) for i in done}
    waiting = set()

    def draw(pool):
        pool = [i for i in pool if i not in waiting]
        waiting.add(weighted_choice(rng, pool, [weight[i] for i in pool]))

    for t in sorted(set(township_of.values())):
        for _ in range(2):
            draw([i for i in done if township_of[i] == t])
    while len(waiting) < 36:
        draw(done)
    return [("completed" if i in waiting else "verified") if i in done_dates else s for i, s in enumerate(statuses)]


def make_tasks(rng: random.Random, county: County, rivers):
    names = Names(random.Random(SEED + 4))
    T = len(TOWNSHIPS)
    tidx = {t[1]: i for i, t in enumerate(TOWNSHIPS)}
    river_pts_all = [(n, i, p) for n, pts in rivers.items() for i, p in enumerate(pts) if i % 5 == 0]

    def dist_to_river(x, y):
        return min(math.hypot(x - p[0], y - p[1]) for _, _, p in river_pts_all)

    def sample_in(t, margin=0.3, near_river=0.6, tries=4000):
        """A point inside township t, biased towards rivers and the urban core."""
        ring = max(county.rings[t], key=lambda r: abs(shoelace(r)))
        xs = [p[0] for p in ring]
        ys = [p[1] for p in ring]
        for _ in range(tries):
            x, y = rng.uniform(min(xs), max(xs)), rng.uniform(min(ys), max(ys))
            if not county.inside(x, y, margin) or county.township(x, y) != t:
                continue
            if ring_dist(x, y, ring) < 0.25:
                continue
            w = (1 - near_river) + near_river * math.exp(-dist_to_river(x, y) / 1.5)
            w *= 0.35 + 0.65 * math.exp(-math.hypot(x - CORE[0], y - CORE[1]) / 8.0)
            if rng.random() < w:
                return x, y
        raise SystemExit(f"could not place a point in {TOWNSHIPS[t][1]}")

    def border_point(t=None, margin=1.2):
        """A point close to a border between two townships (optionally one of them t)."""
        for _ in range(20000):
            x, y = rng.uniform(-20, 20), rng.uniform(-17.5, 17.5)
            if not county.inside(x, y, margin):
                continue
            a = county.township(x, y)
            if t is not None and a != t:
                continue
            ang = rng.uniform(0, 2 * math.pi)
            b = county.township(x + 0.35 * math.cos(ang), y + 0.35 * math.sin(ang))
            if b != a:
                return x + 0.17 * math.cos(ang), y + 0.17 * math.sin(ang)
        raise SystemExit("no border point found")

    def poly_ok(pts, others, min_sep):
        if not all(county.inside(x, y, 0.15) for x, y in pts):
            return False
        cx = sum(p[0] for p in pts) / len(pts)
        cy = sum(p[1] for p in pts) / len(pts)
        return all(math.hypot(cx - ox, cy - oy) >= min_sep for ox, oy in others)

    geoms = []  # (family, kind, geometry-dict, extra)

    # ---------------- watershed: river stretches
    n_lines, n_lakes, n_wpts = 50, 27, 33
    total_len = sum(polyline_length(p) for p in rivers.values())
    used = defaultdict(list)
    river_names = list(rivers)
    for k in range(n_lines):
        rname = weighted_choice(rng, river_names, [polyline_length(rivers[r]) for r in river_names])
        pts = rivers[rname]
        for attempt in range(200):
            length = min(11.8, max(1.25, rng.lognormvariate(math.log(3.6), 0.55)))
            nv = int(round(length / 0.06)) + 1
            if nv > len(pts):
                continue
            # bias the start towards the urban core
            cands = [rng.randrange(0, len(pts) - nv + 1) for _ in range(3)]
            st = min(cands, key=lambda i: math.hypot(pts[i + nv // 2][0] - CORE[0], pts[i + nv // 2][1] - CORE[1]))
            if attempt > 120 or all(st + nv <= a or st >= b for a, b in used[rname]):
                used[rname].append((st, st + nv))
                seg = pts[st:st + nv]
                break
        geoms.append(("watershed", "stretch", {"type": "LineString", "coordinates": [list(to_deg(*p)) for p in seg]},
                      {"river": rname, "length_km": polyline_length(seg)}))

    # ---------------- watershed: lakes and wetlands
    lakes_c = []
    for k in range(n_lakes):
        for attempt in range(5000):
            if k < 7:
                cx, cy = border_point()
            else:
                n, i, p = rng.choice(river_pts_all)
                ang = rng.uniform(0, 2 * math.pi)
                dd = rng.uniform(0.4, 2.0)
                cx, cy = p[0] + dd * math.cos(ang), p[1] + dd * math.sin(ang)
            area = rng.uniform(0.12, 1.6)
            pts = blob(rng, cx, cy, area, rng.randint(14, 40), 0.3)
            if poly_ok(pts, lakes_c, 1.8) and dist_to_river(cx, cy) > 0.25 + math.sqrt(area / math.pi) * 0.3:
                lakes_c.append((cx, cy))
                break
        ring = [list(to_deg(*p)) for p in pts]
        geoms.append(("watershed", "lake", {"type": "Polygon", "coordinates": [ring + [ring[0]]]},
                      {"area_km2": abs(shoelace(pts))}))

    # ---------------- watershed: outfalls, monitoring sections, plants
    plant_towns = set()
    for k in range(n_wpts):
        sub = weighted_choice(rng, ["outfall", "section", "rainout", "plant"], [14, 7, 6, 6])
        if sub == "plant":
            choices = [t for t in range(T) if TOWNSHIPS[t][2] != "subdistrict" and t not in plant_towns]
            if not choices:
                sub = "outfall"
            else:
                t = rng.choice(choices)
                plant_towns.add(t)
                x, y = sample_in(t, 0.5, 0.9)
        if sub != "plant":
            while True:
                n, i, p = rng.choice(river_pts_all)
                if rng.random() < math.exp(-math.hypot(p[0] - CORE[0], p[1] - CORE[1]) / 12):
                    break
            ang = rng.uniform(0, 2 * math.pi)
            x, y = p[0] + 0.03 * math.cos(ang), p[1] + 0.03 * math.sin(ang)
        geoms.append(("watershed", sub, {"type": "Point", "coordinates": list(to_deg(x, y))},
                      {"river": n if sub != "plant" else None}))

    # ---------------- chemical (50: 35 points, 15 sites)
    chem_quota = {"清源经济开发区": 22, "长丰镇": 6, "梅溪镇": 5, "石桥镇": 4, "临湖镇": 4, "白鹭镇": 3,
                  "双塘镇": 2, "青溪镇": 2, "桐岭镇": 1, "城东街道": 1}
    chem_list = [tidx[n] for n, c in chem_quota.items() for _ in range(c)]
    rng.shuffle(chem_list)
    plant_pts = []
    for k, t in enumerate(chem_list):
        site = k % 10 < 3
        for attempt in range(500):
            x, y = sample_in(t, 0.6, 0.3)
            if all(math.hypot(x - a, y - b) > 0.5 for a, b in plant_pts):
                break
        plant_pts.append((x, y))
        if site:
            pts = plant_site(rng, x, y)
            ring = [list(to_deg(*p)) for p in pts]
            geoms.append(("chemical", "site", {"type": "Polygon", "coordinates": [ring + [ring[0]]]},
                          {"area_km2": abs(shoelace(pts))}))
        else:
            geoms.append(("chemical", "point", {"type": "Point", "coordinates": list(to_deg(x, y))}, {}))

    # ---------------- energy (60 points)
    energy_quota = {"清源经济开发区": 10, "城东街道": 4, "城西街道": 3, "凤山街道": 3, "长丰镇": 6, "白鹭镇": 5,
                    "梅溪镇": 5, "双塘镇": 5, "石桥镇": 5, "青溪镇": 5, "临湖镇": 5, "桐岭镇": 4}
    en_list = [tidx[n] for n, c in energy_quota.items() for _ in range(c)]
    rng.shuffle(en_list)
    for t in en_list:
        for attempt in range(500):
            x, y = sample_in(t, 0.4, 0.3)
            if all(math.hypot(x - a, y - b) > 0.35 for a, b in plant_pts):
                break
        plant_pts.append((x, y))
        geoms.append(("energy", "point", {"type": "Point", "coordinates": list(to_deg(x, y))}, {}))

    # ---------------- village (80: 60 polygons, 20 points)
    vq = {n: 8 for n in ("青溪镇", "白鹭镇", "临湖镇", "石桥镇", "双塘镇", "桐岭镇", "梅溪镇", "长丰镇")}
    vq.update({"城东街道": 4, "城西街道": 4, "凤山街道": 4, "清源经济开发区": 4})
    v_list = [tidx[n] for n, c in vq.items() for _ in range(c)]
    rng.shuffle(v_list)
    village_c = []
    for k, t in enumerate(v_list):
        is_poly = k % 4 != 3
        if is_poly:
            straddle = k in (2, 9, 17, 26, 41, 55)
            for attempt in range(3000):
                cx, cy = border_point(t) if straddle else sample_in(t, 0.9, 0.35)
                relax = attempt // 1000  # make room in crowded townships
                pts = blob(rng, cx, cy, rng.uniform(0.22, 1.4 - 0.35 * relax), rng.randint(8, 39), 0.26)
                same = straddle or all(county.township(x, y) == t for x, y in pts)
                if same and poly_ok(pts, village_c + lakes_c, 1.5 - 0.3 * relax):
                    break
            else:
                raise SystemExit("could not place a village")
            village_c.append((cx, cy))
            ring = [list(to_deg(*p)) for p in pts]
            geoms.append(("village", "polygon", {"type": "Polygon", "coordinates": [ring + [ring[0]]]},
                          {"area_km2": abs(shoelace(pts))}))
        else:
            for attempt in range(3000):
                x, y = sample_in(t, 0.6, 0.35)
                if all(math.hypot(x - a, y - b) >= 1.2 for a, b in village_c):
                    break
            village_c.append((x, y))
            geoms.append(("village", "point", {"type": "Point", "coordinates": list(to_deg(x, y))}, {}))

    # ---------------- township membership in PostGIS
    values = ",\n".join(f"({i},'{json.dumps(g[2], separators=(',', ':'))}')" for i, g in enumerate(geoms))
    rows = psql(f"""
DROP TABLE IF EXISTS datagen.tg;
CREATE TABLE datagen.tg(i int PRIMARY KEY, geom geometry(Geometry, 4326));
INSERT INTO datagen.tg SELECT i, ST_SetSRID(ST_GeomFromGeoJSON(g), 4326) FROM (VALUES
{values}) v(i, g);
SELECT tg.i, t.t,
       CASE WHEN GeometryType(tg.geom) = 'POINT' THEN 1
            WHEN GeometryType(tg.geom) = 'LINESTRING' THEN ST_Length(ST_Intersection(tg.geom, t.geom)) / ST_Length(tg.geom)
            ELSE ST_Area(ST_Intersection(tg.geom, t.geom)) / ST_Area(tg.geom) END AS share
  FROM datagen.tg JOIN datagen.town t ON ST_Intersects(tg.geom, t.geom)
  ORDER BY tg.i, share DESC, t.t;
""")
    shares = defaultdict(list)
    for i, t, s in rows:
        if float(s) > 1e-6:
            shares[int(i)].append((int(t), float(s)))

    # ---------------- properties
    n = len(geoms)
    statuses = (["planned"] * 60 + ["in_progress"] * 105 + ["completed"] * 60 + ["verified"] * 60 + ["cancelled"] * 15)
    rng.shuffle(statuses)
    open_idx = [i for i in range(n) if statuses[i] in ("planned", "in_progress")]
    overdue = set(rng.sample(open_idx, 45))
    done_idx = [i for i in range(n) if statuses[i] in ("completed", "verified")]
    internal = set(rng.sample(range(n), 30))
    supervised_pool = [i for i in range(n) if statuses[i] != "cancelled"]
    supervised = set(rng.sample(supervised_pool, 24))
    # completion dates spread over the months, 25% late
    done_dates = {}
    start, end = datetime(2026, 1, 15, 8, 0), datetime(2026, 11, 20, 18, 0)
    span = (end - start).total_seconds()
    for k, i in enumerate(sorted(done_idx, key=lambda i: rng.random())):
        frac = (k + rng.uniform(0.05, 0.95)) / len(done_idx)
        dt = start + timedelta(seconds=span * frac)
        dt = dt.replace(hour=rng.randint(8, 18), minute=rng.randrange(60), second=rng.randrange(60))
        done_dates[i] = dt
    late_cands = [i for i in done_idx if done_dates[i].date() > date(2026, 3, 10)]
    late = set(rng.sample(late_cands, 30))
    statuses = waiting_for_verification(statuses, done_dates, {i: shares[i][0][0] for i in done_idx})

    def rand_date(lo: date, hi: date) -> date:
        return lo + timedelta(days=rng.randint(0, (hi - lo).days))

    D0, D1 = date(2026, 3, 1), date(2027, 6, 30)
    features = []
    used_titles = Counter()
    for i, (fam, sub, geom, extra) in enumerate(geoms):
        sh = shares[i]
        main_t = sh[0][0]
        tname = TOWNSHIPS[main_t][1]
        tkind = TOWNSHIPS[main_t][2]
        crossing = [TOWNSHIPS[t][1] for t, s in sh if s >= 0.02]
        gov = gov_name(tname, tkind)
        status = statuses[i]
        p = {}
        title, desc, lead, inv, qty, unit = compose(rng, names, fam, sub, geom, extra, tname, tkind, crossing, gov)
        used_titles[title] += 1
        if used_titles[title] > 1:
            title = f"{title}（{'二三四五六'[used_titles[title] - 2]}期）"
        p["title"] = title
        p["description"] = desc
        p["category"] = fam
        p["status"] = status
        if status == "planned":
            prog = 0 if rng.random() < 0.55 else rng.randint(1, 20)
        elif status == "in_progress":
            prog = rng.randint(10, 95)
        elif status in ("completed", "verified"):
            prog = 100
        else:
            prog = 0 if rng.random() < 0.5 else rng.randint(5, 40)
        p["progress"] = prog
        p["lead_unit"] = lead
        # The county bureau leading the task, as the service keeps its departments (migrations/0020).
        if lead in LEAD_DEPARTMENTS:
            p["lead_department"] = LEAD_DEPARTMENTS[lead]
            if fam == "watershed":
                p["support_departments"] = ["ecology"]
        person, phone = names.contact(lead)
        p["contact_person"] = person
        p["contact_phone"] = phone
        # due date
        if status in ("planned", "in_progress"):
            if i in overdue:
                due = rand_date(D0, TODAY - timedelta(days=1))
            else:
                due = rand_date(TODAY, D1)
        elif status in ("completed", "verified"):
            cd = done_dates[i].date()
            if i in late:
                due = rand_date(D0, min(cd - timedelta(days=1), D1))
            else:
                due = rand_date(max(cd, D0), min(cd + timedelta(days=150), D1))
        else:
            due = rand_date(D0, D1)
        p["due_date"] = due.isoformat()
        inv = round(min(5000.0, max(5.0, inv)), 2)
        p["planned_investment"] = inv
        if status in ("in_progress", "completed", "verified") or (status == "cancelled" and prog > 0):
            if status in ("completed", "verified"):
                act = inv * rng.uniform(0.82, 1.12)
            else:
                act = inv * prog / 100 * rng.uniform(0.8, 1.2)
            p["actual_investment"] = round(min(5000.0, max(5.0, act)), 2)
        p["target_quantity"] = qty
        p["target_unit"] = unit
        p["visibility"] = "internal" if i in internal else "public"
        p["supervised"] = i in supervised
        if status in ("completed", "verified"):
            p["completed_at"] = done_dates[i].strftime("%Y-%m-%dT%H:%M:%S+08:00")
        if status == "cancelled":
            # Chosen by index, not drawn, so adding reasons left every other value unchanged.
            p["cancel_reason"] = CANCEL_REASONS[i % len(CANCEL_REASONS)]
        features.append({"type": "Feature", "id": str(uuid.uuid5(TASK_NS, f"task-{i + 1:04d}")),
                         "geometry": geom, "properties": p})
    return features


CANCEL_REASONS = [
    "企业已整体关停搬迁，整治任务不再实施",
    "与县级重点工程范围重叠，并入该工程统一实施",
    "经复核该点位不属于本轮整治范围",
    "规划调整，地块已纳入城市更新项目",
]


def compose(rng, names, fam, sub, geom, extra, tname, tkind, crossing, gov):
    ts = short_name(tname)
    if fam == "watershed":
        if sub == "stretch":
            river = extra["river"]
            L = round(extra["length_km"], 2)
            seg = ts if len(crossing) == 1 else "至".join(short_name(c) for c in crossing[:2])
            kind = rng.choice(["清淤护岸", "综合治理", "截污纳管", "缓冲带", "美丽河湖", "生态修复"])
            title = {
                "清淤护岸": f"{river}{seg}段河道清淤及生态护岸工程",
                "综合治理": f"{river}{seg}段河道综合治理工程",
                "截污纳管": f"{river}{seg}段沿岸截污纳管工程",
                "缓冲带": f"{river}{seg}段生态缓冲带建设",
                "美丽河湖": f"{river}{seg}段美丽河湖创建",
                "生态修复": f"{river}{seg}段水生态修复工程",
            }[kind]
            desc = {
                "清淤护岸": f"对{river}{seg}段约{L}公里河道实施清淤疏浚，新建生态护岸，提升行洪能力和水体自净能力。",
                "综合治理": f"实施{river}{seg}段约{L}公里河道综合整治，包括清淤、岸坡整治和沿河排口排查。",
                "截污纳管": f"沿{river}{seg}段敷设截污管网，收集沿岸零散污水纳入市政管网，消除直排。",
                "缓冲带": f"在{river}{seg}段两岸建设植被缓冲带，拦截农业面源污染。",
                "美丽河湖": f"按美丽河湖标准提升{river}{seg}段约{L}公里河道，配套亲水步道和水质监测。",
                "生态修复": f"在{river}{seg}段种植沉水植物、投放水生生物，恢复河道水生态系统。",
            }[kind]
            lead = "县水利局" if rng.random() < 0.4 else gov
            inv = L * rng.uniform(60, 420)
            return title, desc, lead, inv, L, "km"
        if sub == "lake":
            lake = names.lake()
            area = int(round(extra["area_km2"] * 1e6, -2))
            kind = rng.choice(["湿地修复", "退养还湿", "清淤提质", "缓冲带"])
            title = {"湿地修复": f"{lake}湿地生态修复工程", "退养还湿": f"{lake}退养还湿及水生态修复",
                     "清淤提质": f"{lake}清淤及水质提升工程", "缓冲带": f"{lake}湖滨生态缓冲带建设"}[kind]
            where = tname if len(crossing) == 1 else "、".join(crossing[:2])
            desc = f"{lake}位于{where}，面积约{area / 10000:.0f}公顷；实施清淤、水生植被恢复和周边截污，改善水质。"
            lead = rng.choice(["县水利局", "县自然资源和规划局", gov, gov])
            inv = rng.uniform(150, 3200)
            return title, desc, lead, inv, area, "平方米"
        river = extra.get("river")
        if sub == "outfall":
            n_out = rng.randint(2, 18)
            title = f"{river}{ts}段入河排污口规范化整治"
            desc = f"排查{river}{ts}段入河排污口{n_out}个，实施分类整治、设置标识牌并纳入在线监控。"
            return title, desc, gov, rng.uniform(20, 600), n_out, "个"
        if sub == "rainout":
            n_out = rng.randint(3, 30)
            title = f"{river}{ts}段雨水排口雨污混接改造"
            desc = f"对{river}{ts}段{n_out}个雨水排口开展雨污混接溯源排查并完成改造。"
            return title, desc, rng.choice([gov, "县住建局"]), rng.uniform(30, 900), n_out, "个"
        if sub == "section":
            title = f"{river}{ts}断面水质达标整治"
            desc = f"针对{river}{ts}断面总磷、氨氮超标问题，开展上游污染源排查整治，确保断面水质稳定达到Ⅲ类。"
            return title, desc, rng.choice(["县水利局", gov]), rng.uniform(40, 800), 1, "个"
        # plant
        cap = rng.choice([5000, 10000, 15000, 20000, 30000, 40000])
        title = f"{ts}污水处理厂提标改造" if tkind != "development_zone" else "清源经济开发区污水处理厂提标改造"
        desc = f"{title.replace('提标改造', '')}（规模{cap}吨/日）出水由一级A提升至准地表水Ⅳ类标准。"
        return title, desc, rng.choice(["县住建局", "清源县水务集团有限公司"]), rng.uniform(800, 4800), cap, "吨/日"

    if fam == "chemical":
        co = names.company(CHEM_IND)
        if sub == "site":
            area = int(round(extra["area_km2"] * 1e6, -1))
            kind = rng.choice(["土壤隐患", "风险管控", "雨污分流", "危废"])
            title = {"土壤隐患": f"{co}土壤及地下水污染隐患排查整改",
                     "风险管控": f"{co}关停地块土壤污染风险管控",
                     "雨污分流": f"{co}厂区雨污分流及初期雨水收集改造",
                     "危废": f"{co}危险废物贮存场所规范化整治"}[kind]
            desc = f"{co}位于{tname}，厂区占地约{area}平方米；按化工专项整治要求完成整改并通过验收。"
            lead = co if rng.random() < 0.7 else rng.choice(["县经信局", gov])
            return title, desc, lead, rng.uniform(60, 2500), area, "平方米"
        kind = rng.choice(["VOCs", "LDAR", "废水", "储罐", "危废", "VOCs"])
        if kind == "VOCs":
            q = round(rng.uniform(2, 120), 1)
            return (f"{co}VOCs治理", f"{co}对生产车间废气实施密闭收集，新建RTO焚烧装置，预计年削减VOCs约{q}吨。",
                    co, rng.uniform(80, 1500), q, "吨/年")
        if kind == "LDAR":
            q = rng.randint(800, 12000)
            return (f"{co}LDAR泄漏检测与修复", f"{co}对{q}个动静密封点开展泄漏检测与修复，建立LDAR管理台账。",
                    co, rng.uniform(10, 120), q, "个")
        if kind == "废水":
            q = rng.choice([50, 100, 200, 300, 500, 800])
            return (f"{co}废水预处理设施提标改造", f"{co}改造废水预处理设施（{q}吨/日），确保纳管水质稳定达标。",
                    co, rng.uniform(60, 900), q, "吨/日")
        if kind == "储罐":
            q = rng.randint(4, 40)
            return (f"{co}储罐区废气收集治理", f"{co}对{q}个储罐实施呼吸废气收集并接入末端治理设施。",
                    co, rng.uniform(30, 600), q, "个")
        q = round(rng.uniform(20, 800), 1)
        return (f"{co}危险废物规范化管理整治", f"{co}新建规范化危废暂存库，完善危废管理台账，年产危废约{q}吨。",
                rng.choice([co, co, "县经信局"]), rng.uniform(15, 300), q, "吨")

    if fam == "energy":
        co = names.company(ENERGY_IND)
        kind = rng.choice(["燃煤替代", "光伏", "电机", "余热", "窑炉", "空压", "低氮"])
        if kind == "燃煤替代":
            q = rng.randint(300, 6000)
            return (f"{co}燃煤锅炉清洁能源替代", f"{co}淘汰燃煤锅炉，改用天然气或电锅炉，年减少燃煤约{q}吨标准煤。",
                    co, rng.uniform(100, 1800), q, "吨标准煤")
        if kind == "光伏":
            q = rng.choice([300, 500, 800, 1200, 2000, 3500, 5000])
            return (f"{co}屋顶分布式光伏项目", f"利用{co}厂房屋顶建设{q}千瓦分布式光伏，所发电量自发自用、余电上网。",
                    co, q * rng.uniform(0.3, 0.42), q, "千瓦")
        if kind == "电机":
            q = rng.randint(80, 1500)
            return (f"{co}电机系统能效提升改造", f"{co}淘汰高耗能电机、风机和水泵，更换为一级能效设备，年节能约{q}吨标准煤。",
                    co, rng.uniform(30, 600), q, "吨标准煤")
        if kind == "余热":
            q = rng.randint(200, 3000)
            return (f"{co}定型机废气治理及余热回收", f"{co}对定型机废气实施静电处理并回收余热，年节能约{q}吨标准煤。",
                    co, rng.uniform(50, 900), q, "吨标准煤")
        if kind == "窑炉":
            q = rng.randint(500, 8000)
            return (f"{co}窑炉节能技术改造", f"{co}实施窑炉保温和燃烧系统改造，年节能约{q}吨标准煤。",
                    rng.choice([co, "县经信局"]), rng.uniform(200, 3000), q, "吨标准煤")
        if kind == "空压":
            q = rng.randint(50, 600)
            return (f"{co}空压站节能改造", f"{co}建设集中空压站并配套智能群控系统，年节电折合约{q}吨标准煤。",
                    co, rng.uniform(20, 300), q, "吨标准煤")
        q = rng.randint(1, 6)
        return (f"{co}天然气锅炉低氮燃烧改造", f"{co}对{q}台天然气锅炉实施低氮燃烧改造，氮氧化物排放浓度降至30毫克/立方米以下。",
                rng.choice([co, co, "县发改局"]), rng.uniform(15, 260), q, "台")

    # village
    v = names.village()
    if sub == "polygon":
        households = rng.randint(90, 950)
        kind = rng.choice(["纳管分类", "设施提标", "综合整治", "河塘", "畜禽", "风貌"])
        title = {"纳管分类": f"{v}生活污水纳管及垃圾分类", "设施提标": f"{v}农村生活污水治理设施提标改造",
                 "综合整治": f"{v}美丽乡村环境综合整治", "河塘": f"{v}河塘清淤及沟渠整治",
                 "畜禽": f"{v}畜禽养殖污染整治", "风貌": f"{v}农房风貌及人居环境提升"}[kind]
        place = tname if len(crossing) == 1 else tname + "（村域跨" + "、".join(c for c in crossing[1:2]) + "）"
        desc = f"{place}{v}共{households}户，实施{title.replace(v, '')}，建立长效管护机制。"
        lead = weighted_choice(rng, [gov, "县农业农村局", "县住建局"], [7, 2, 1])
        return title, desc, lead, households * rng.uniform(0.1, 1.2), households, "户"
    kind = rng.choice(["终端", "收集房", "公厕", "回收"])
    if kind == "终端":
        q = rng.choice([20, 30, 50, 80, 100, 150, 200])
        return (f"{v}农村生活污水处理终端提标改造", f"{tname}{v}污水处理终端（{q}吨/日）提标改造，出水达到一级标准。",
                weighted_choice(rng, [gov, "县住建局"], [2, 1]), rng.uniform(20, 260), q, "吨/日")
    if kind == "收集房":
        q = rng.randint(1, 6)
        return (f"{v}垃圾分类收集房建设", f"{tname}{v}新建或改造垃圾分类收集房{q}个，配套智能称重设备。",
                gov, rng.uniform(8, 90), q, "个")
    if kind == "公厕":
        q = rng.randint(1, 5)
        return (f"{v}农村公厕改造提升", f"{tname}{v}改造提升农村公厕{q}座，落实专人保洁。",
                weighted_choice(rng, [gov, "县农业农村局"], [3, 1]), rng.uniform(6, 80), q, "个")
    q = rng.randint(1, 3)
    return (f"{v}再生资源回收站点建设", f"{tname}{v}建设再生资源回收站点{q}个，提高资源回收利用率。",
            gov, rng.uniform(5, 40), q, "个")


# ----------------------------------------------------------------------------------------------
# verification and report


def verify_and_report():
    with open(os.path.join(HERE, "townships.geojson"), encoding="utf-8") as fh:
        tw = json.load(fh)
    with open(os.path.join(HERE, "tasks.geojson"), encoding="utf-8") as fh:
        tk = json.load(fh)
    tv = ",\n".join(f"('{f['properties']['code']}','{f['properties']['name']}','{json.dumps(f['geometry'], separators=(',', ':'))}')"
                    for f in tw["features"])
    kv = ",\n".join(f"({i},'{f['properties']['category']}','{f['properties']['status']}',"
                    f"'{json.dumps(f['geometry'], separators=(',', ':'))}')" for i, f in enumerate(tk["features"]))
    out = psql(f"""
DROP TABLE IF EXISTS datagen.vt; DROP TABLE IF EXISTS datagen.vk;
CREATE TABLE datagen.vt AS SELECT code, name, ST_SetSRID(ST_GeomFromGeoJSON(g), 4326) AS geom FROM (VALUES
{tv}) v(code, name, g);
CREATE TABLE datagen.vk AS SELECT i, cat, st, ST_SetSRID(ST_GeomFromGeoJSON(g), 4326) AS geom FROM (VALUES
{kv}) v(i, cat, st, g);
SELECT 'town', code, name, ST_IsValid(geom), ST_NPoints(geom), ST_NumGeometries(geom),
       round(ST_Area(geom::geography)::numeric / 1e6, 2) FROM datagen.vt ORDER BY code;
SELECT 'overlap', coalesce(max(ST_Area(ST_Intersection(a.geom, b.geom))), 0), coalesce(sum(ST_Area(ST_Intersection(a.geom, b.geom))), 0)
  FROM datagen.vt a JOIN datagen.vt b ON a.code < b.code AND ST_Intersects(a.geom, b.geom);
SELECT 'gap', ST_Area(u.geom), ST_Area(o.geom), abs(ST_Area(u.geom) - ST_Area(o.geom)) / ST_Area(o.geom) * 100,
       ST_Area(ST_SymDifference(u.geom, o.geom)) / ST_Area(o.geom) * 100, ST_NumInteriorRings(ST_GeometryN(u.geom, 1)),
       round(ST_Area(u.geom::geography)::numeric / 1e6, 1),
       round((ST_Area(ST_ConvexHull(u.geom)) / ST_Area(u.geom))::numeric, 3),
       round((ST_XMax(u.geom) - ST_XMin(u.geom))::numeric, 4), round((ST_YMax(u.geom) - ST_YMin(u.geom))::numeric, 4),
       round(ST_X(ST_Centroid(ST_Envelope(u.geom)))::numeric, 4), round(ST_Y(ST_Centroid(ST_Envelope(u.geom)))::numeric, 4)
  FROM (SELECT ST_Union(geom) AS geom FROM datagen.vt) u, datagen.outline o;
SELECT 'taskbad', count(*) FILTER (WHERE NOT ST_IsValid(geom)),
       count(*) FILTER (WHERE NOT ST_CoveredBy(geom, (SELECT ST_Union(geom) FROM datagen.vt))),
       count(*) FILTER (WHERE GeometryType(geom) = 'POLYGON' AND NOT ST_IsPolygonCCW(geom))
  FROM datagen.vk;
SELECT 'cross', k.i, count(*) FROM datagen.vk k JOIN datagen.vt t ON ST_Intersects(k.geom, t.geom)
  WHERE GeometryType(k.geom) <> 'POINT'
    AND CASE WHEN GeometryType(k.geom) = 'LINESTRING' THEN ST_Length(ST_Intersection(k.geom, t.geom)) > 1e-7
             ELSE ST_Area(ST_Intersection(k.geom, t.geom)) > 1e-10 END
  GROUP BY k.i HAVING count(*) > 1 ORDER BY k.i;
SELECT 'pertown', t.name, count(*) FROM datagen.vk k JOIN LATERAL (
    SELECT t.name FROM datagen.vt t WHERE ST_Intersects(k.geom, t.geom)
    ORDER BY CASE WHEN GeometryType(k.geom) = 'LINESTRING' THEN ST_Length(ST_Intersection(k.geom, t.geom))
                  ELSE ST_Area(ST_Intersection(k.geom, t.geom)) END DESC, t.code LIMIT 1) t ON true
  GROUP BY t.name ORDER BY min(t.name);
SELECT 'lines', min(ST_NPoints(geom)), max(ST_NPoints(geom)), round(min(ST_Length(geom::geography))::numeric),
       round(max(ST_Length(geom::geography))::numeric) FROM datagen.vk WHERE GeometryType(geom) = 'LINESTRING';
SELECT 'villages', min(ST_NPoints(geom)), max(ST_NPoints(geom)), round(min(ST_Area(geom::geography))::numeric / 1e6, 3),
       round(max(ST_Area(geom::geography))::numeric / 1e6, 3) FROM datagen.vk WHERE cat = 'village' AND GeometryType(geom) = 'POLYGON';
DROP SCHEMA datagen CASCADE;
""")
    ok = True
    print("== townships ==")
    for r in out:
        if r[0] == "town":
            nv = int(r[4])
            print(f"  {r[1]} {r[2]}: valid={r[3]} vertices={nv} parts={r[5]} area={r[6]} km²")
            if r[3] != "t" or not 100 <= nv <= 3000:
                ok = False
    ov = next(r for r in out if r[0] == "overlap")
    gp = next(r for r in out if r[0] == "gap")
    print(f"  max pairwise overlap {float(ov[1]):.3e} deg², total {float(ov[2]):.3e} deg²")
    print(f"  union vs outline: area diff {float(gp[3]):.6f}%, symmetric difference {float(gp[4]):.6f}%, "
          f"interior rings in union {gp[5]}")
    print(f"  county area {gp[6]} km², convex hull / area = {gp[7]}, bbox {gp[8]}° x {gp[9]}°, centre {gp[10]}, {gp[11]}")
    if float(ov[1]) >= 1e-10 or float(gp[3]) >= 0.01 or float(gp[4]) >= 0.01:
        ok = False
    size_t = os.path.getsize(os.path.join(HERE, "townships.geojson"))
    size_k = os.path.getsize(os.path.join(HERE, "tasks.geojson"))
    print(f"  townships.geojson {size_t} bytes, tasks.geojson {size_k} bytes")
    if size_t >= 1_000_000 or size_k >= 2_000_000:
        ok = False

    feats = tk["features"]
    P = [f["properties"] for f in feats]
    print(f"== tasks: {len(feats)} ==")
    fam = Counter(p["category"] for p in P)
    print("  by family:", ", ".join(f"{k} {fam[k]}" for k in ("watershed", "chemical", "energy", "village")))
    st = Counter(p["status"] for p in P)
    print("  by status:", ", ".join(f"{k} {st[k]}" for k in ("planned", "in_progress", "completed", "verified", "cancelled")))
    geo = Counter((p["category"], f["geometry"]["type"]) for p, f in zip(P, feats))
    print("  by geometry:", ", ".join(f"{c}/{g} {n}" for (c, g), n in sorted(geo.items())))
    overdue = sum(1 for p in P if p["status"] in ("planned", "in_progress") and p["due_date"] < TODAY.isoformat())
    print(f"  overdue as of {TODAY}: {overdue}")
    done = [p for p in P if "completed_at" in p]
    late = sum(1 for p in done if p["completed_at"][:10] > p["due_date"])
    print(f"  finished (completed+verified) {len(done)}, of which late {late}")
    months = Counter(p["completed_at"][:7] for p in done)
    print("  completions by month:", ", ".join(f"{m} {months[m]}" for m in sorted(months)))
    print(f"  public {sum(p['visibility'] == 'public' for p in P)}, internal {sum(p['visibility'] == 'internal' for p in P)}, "
          f"supervised {sum(p['supervised'] for p in P)}")
    bad = next(r for r in out if r[0] == "taskbad")
    print(f"  invalid {bad[1]}, outside county {bad[2]}, clockwise polygons {bad[3]}")
    if bad[1:] != ["0", "0", "0"]:
        ok = False
    crossing = [int(r[1]) for r in out if r[0] == "cross"]
    cc = Counter((P[i]["category"], feats[i]["geometry"]["type"]) for i in crossing)
    print(f"  line/polygon tasks crossing a township border: {len(crossing)} ("
          + ", ".join(f"{c}/{g} {n}" for (c, g), n in sorted(cc.items())) + ")")
    ln = next(r for r in out if r[0] == "lines")
    vl = next(r for r in out if r[0] == "villages")
    print(f"  river stretches: {ln[1]}-{ln[2]} vertices, {ln[3]}-{ln[4]} m; village polygons {vl[1]}-{vl[2]} vertices, {vl[3]}-{vl[4]} km²")
    print("  tasks per township (holding most of the geometry):")
    for r in out:
        if r[0] == "pertown":
            print(f"    {r[1]} {r[2]}")
            if int(r[2]) < 8:
                ok = False
    if sum(1 for r in out if r[0] == "pertown") != len(TOWNSHIPS):
        ok = False
    if not ok:
        raise SystemExit("VERIFICATION FAILED")
    print("all checks passed")


if __name__ == "__main__":
    main()
