//! How many tasks a list matches (`numberMatched`), exact and cheap at any size of ledger: from the
//! precounted cells and the tasks along a box's edges where the cells can answer the filter
//! (domain::count), from the tasks themselves up to `COUNT_CAP` where they cannot.

use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::tasks::{push_filter, push_period, push_visibility};
use crate::domain::access::Viewer;
use crate::domain::count::{self, Cover, Measure};
use crate::domain::filter::{BBox, TaskFilter};
use crate::domain::ogc::Period;

/// Past this many matches a filter the cells cannot answer is not counted: counting further costs
/// as much as reading the matches themselves (a text search over a million tasks takes seconds),
/// while up to it the count costs no more than one of the largest pages.
pub const COUNT_CAP: i64 = 10_000;

/// The number of tasks the viewer may see matching the filter, or None when more than `COUNT_CAP`
/// match a filter the cells cannot answer.
pub(super) async fn matched(
    conn: &mut PgConnection,
    f: &TaskFilter,
    period: Option<&Period>,
    viewer: &Viewer,
) -> Result<Option<i64>, sqlx::Error> {
    let dated = period.is_some_and(|p| p.start.is_some() || p.end.is_some());
    let Some(measure) = count::cells_answer(f, viewer, dated) else {
        return capped(conn, f, period, viewer).await;
    };
    let mut qb = match f.bbox {
        None => ledger_query(f, &measure, viewer),
        Some(b) => match count::cover(&b) {
            Some(cover) => box_query(f, &cover, &measure, viewer),
            // A box narrower than a cell holds few tasks: counted one by one through the index.
            None => {
                let mut qb = QueryBuilder::new("SELECT count(*) FROM tasks t");
                push_filter(&mut qb, f, viewer);
                qb
            }
        },
    };
    Ok(Some(qb.build_query_scalar().fetch_one(conn).await?))
}

/// Counts up to `COUNT_CAP + 1` matches; None past the cap.
async fn capped(
    conn: &mut PgConnection,
    f: &TaskFilter,
    period: Option<&Period>,
    viewer: &Viewer,
) -> Result<Option<i64>, sqlx::Error> {
    // Runtime-checked: the filters the request names are added at run time.
    let mut qb = QueryBuilder::new("SELECT count(*) FROM (SELECT FROM tasks t");
    push_filter(&mut qb, f, viewer);
    push_period(&mut qb, period);
    qb.push(" LIMIT ").push_bind(COUNT_CAP + 1).push(") m");
    let n: i64 = qb.build_query_scalar().fetch_one(conn).await?;
    Ok((n <= COUNT_CAP).then_some(n))
}

/// What a cell adds to the count (column names from the fixed list of statuses, never the request).
fn measure_sql(m: &Measure) -> String {
    match m {
        Measure::All => "t.n".to_owned(),
        Measure::Supervised(true) => "t.supervised".to_owned(),
        Measure::Supervised(false) => "(t.n - t.supervised)".to_owned(),
        Measure::Statuses(s) if s.is_empty() => "0".to_owned(),
        Measure::Statuses(s) => {
            let columns: Vec<String> = s.iter().map(|s| format!("t.{}", s.as_str())).collect();
            format!("({})", columns.join(" + "))
        }
    }
}

/// The cells' own conditions: family, township and what the viewer may see (the caller has made
/// sure the viewer is not a department officer, whose internal tasks the cells do not tell apart).
fn push_cell_filter(qb: &mut QueryBuilder<'_, Postgres>, f: &TaskFilter, viewer: &Viewer) {
    push_visibility(qb, viewer);
    if let Some(c) = &f.categories {
        qb.push(" AND t.category = ANY(").push_bind(c.clone()).push(")");
    }
    if let Some(t) = &f.townships {
        qb.push(" AND t.township_code = ANY(").push_bind(t.clone()).push(")");
    }
}

/// A task's point in web mercator, as its cells were counted by (migrations: task_cell_keys). A
/// point's is its stored projection, computed by the same ST_Transform when it was written, which
/// spares projecting again the many points along a box's edges.
const POINT: &str = "(SELECT CASE WHEN GeometryType(t.geom) = 'POINT' THEN t.geom_3857
                               ELSE ST_Transform(ST_PointOnSurface(t.geom), 3857) END AS q) p";
/// The point's level-14 (`FINEST`) cell, task_cell_keys's formula at that level: 2^(14 + 5) columns.
const CELL_X: &str = "floor((ST_X(p.q) + 20037508.342789244) / 40075016.68557849 * 524288)::integer";
const CELL_Y: &str = "floor((20037508.342789244 - ST_Y(p.q)) / 40075016.68557849 * 524288)::integer";

/// No box: the level-0 cells hold every task once.
fn ledger_query(f: &TaskFilter, m: &Measure, viewer: &Viewer) -> QueryBuilder<'static, Postgres> {
    // Runtime-checked: the measure and the filters the request names are added at run time.
    let mut qb =
        QueryBuilder::new(format!("SELECT coalesce(sum({}), 0)::int8 FROM task_cells t WHERE t.z = 0", measure_sql(m)));
    push_cell_filter(&mut qb, f, viewer);
    qb
}

/// A box: its inner cells, plus the tasks found through the strips whose level-`FINEST` cell is not
/// inner, both in one statement (one snapshot, as the cells are kept in the tasks' transactions).
fn box_query(f: &TaskFilter, cover: &Cover, m: &Measure, viewer: &Viewer) -> QueryBuilder<'static, Postgres> {
    let zs: Vec<i16> = cover.segments.iter().map(|s| s.z).collect();
    let cxs: Vec<i32> = cover.segments.iter().map(|s| s.cx).collect();
    let cy0s: Vec<i32> = cover.segments.iter().map(|s| s.cy0).collect();
    let cy1s: Vec<i32> = cover.segments.iter().map(|s| s.cy1).collect();
    // Runtime-checked: the measure, the cover and the filters the request names are added at run time.
    // Each segment is a range of the cells' primary key, read through it (LATERAL). A plain join
    // let the planner hash the whole cells table instead, 4× slower on a ledger of 10,000 tasks.
    let mut qb = QueryBuilder::new("SELECT (SELECT coalesce(sum(c.n), 0) FROM unnest(");
    qb.push_bind(zs).push("::int2[], ").push_bind(cxs).push("::int4[], ");
    qb.push_bind(cy0s).push("::int4[], ").push_bind(cy1s);
    qb.push(format!(
        "::int4[]) AS s(z, cx, cy0, cy1) CROSS JOIN LATERAL (SELECT sum({}) AS n FROM task_cells t
         WHERE t.z = s.z AND t.cx = s.cx AND t.cy BETWEEN s.cy0 AND s.cy1",
        measure_sql(m)
    ));
    push_cell_filter(&mut qb, f, viewer);
    qb.push(") c)::int8 + (SELECT count(*) FROM tasks t");
    push_filter(&mut qb, f, viewer);
    qb.push(" AND (");
    for (i, s) in cover.strips.iter().enumerate() {
        qb.push(if i == 0 { "t.geom && " } else { " OR t.geom && " });
        push_envelope(&mut qb, s);
    }
    // Whether the task's point lies outside the inner cells: certain from its bounding box for most
    // tasks along the strips, computed as the cells compute it for those near the cells' border.
    let c = cover.inner;
    qb.push(") AND CASE WHEN NOT t.geom && ");
    push_envelope(&mut qb, &cover.near);
    qb.push(" THEN true WHEN t.geom @ ");
    push_envelope(&mut qb, &cover.deep);
    qb.push(" THEN false ELSE NOT EXISTS (SELECT FROM ").push(POINT).push(" WHERE ").push(CELL_X).push(" BETWEEN ");
    qb.push_bind(c.x0).push(" AND ").push_bind(c.x1).push(" AND ").push(CELL_Y).push(" BETWEEN ");
    qb.push_bind(c.y0).push(" AND ").push_bind(c.y1).push(") END)");
    qb
}

pub(super) fn push_envelope(qb: &mut QueryBuilder<'_, Postgres>, b: &BBox) {
    qb.push("ST_MakeEnvelope(")
        .push_bind(b.west)
        .push(", ")
        .push_bind(b.south)
        .push(", ")
        .push_bind(b.east)
        .push(", ")
        .push_bind(b.north)
        .push(", 4326)");
}
