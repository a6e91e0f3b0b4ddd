//! OGC API - Features (Part 1) rules that need no I/O: which representation a caller asked for,
//! the `datetime` parameter, how an items query splits into the ledger's own filter, and the
//! townships collection's filter.

use super::ogc_crs::OgcCrs;
use chrono::{DateTime, NaiveDate, Utc};

use super::filter::{BBox, MAX_LIMIT};
use super::{Code, FieldError, Message};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Html,
}

/// `f=json|html` wins; otherwise the Accept header's preference between JSON and HTML, JSON on a tie
/// (GIS clients send `*/*` or JSON types, browsers put text/html first).
pub fn negotiate(f: Option<&str>, accept: Option<&str>) -> Result<Format, FieldError> {
    if let Some(f) = f {
        return match f {
            "json" | "geojson" | "application/json" | "application/geo+json" => Ok(Format::Json),
            "html" | "text/html" => Ok(Format::Html),
            other => {
                Err(FieldError::new("f", Code::UnknownValue, format!("unknown format '{other}': use f=json or f=html"))
                    .with("got", other)
                    .with("allowed", vec!["json", "html"]))
            }
        };
    }
    let Some(accept) = accept else { return Ok(Format::Json) };
    let (mut json, mut html) = (0.0f32, 0.0f32);
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let q = parts.find_map(|p| p.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
        if media == "text/html" {
            html = html.max(q);
        } else if media == "application/json" || (media.starts_with("application/") && media.ends_with("+json")) {
            json = json.max(q);
        }
    }
    Ok(if html > json { Format::Html } else { Format::Json })
}

/// Whether a JSON Schema (queryables, schema) goes out as `application/json` rather than
/// `application/schema+json`: when Accept names plain JSON and not the schema type. GDAL's OAPIF
/// driver asks for `application/geo+json, application/json` and refuses any other JSON type.
pub fn schema_as_plain_json(accept: Option<&str>) -> bool {
    let (mut plain, mut schema) = (false, false);
    for range in accept.unwrap_or("").split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let q = parts.find_map(|p| p.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
        match media.as_str() {
            "application/json" if q > 0.0 => plain = true,
            "application/schema+json" if q > 0.0 => schema = true,
            _ => {}
        }
    }
    plain && !schema
}

/// A closed or half-open time interval (`None`: unbounded on that side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

fn instant(s: &str, end_of_day: bool) -> Result<DateTime<Utc>, Message> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
        Message::new(
            Code::Format,
            format!("'{s}' is not an RFC 3339 date-time (2026-05-01T08:00:00Z) or date (2026-05-01)"),
        )
        .with("expected", "datetime")
        .with("got", s)
    })?;
    let t = if end_of_day { day.and_hms_milli_opt(23, 59, 59, 999) } else { day.and_hms_opt(0, 0, 0) };
    Ok(t.expect("a valid time of day").and_utc())
}

impl Period {
    /// The `datetime` parameter: an instant, `start/end`, or either end open as `..` or empty.
    pub fn parse(s: &str) -> Result<Period, Message> {
        let open = |p: &str| p.is_empty() || p == "..";
        match s.split_once('/') {
            None => {
                let start = instant(s, false)?;
                // A bare date is the whole day.
                let end = if s.contains('T') || s.contains('t') { start } else { instant(s, true)? };
                Ok(Period { start: Some(start), end: Some(end) })
            }
            Some((a, b)) => {
                let start = if open(a) { None } else { Some(instant(a, false)?) };
                let end = if open(b) { None } else { Some(instant(b, true)?) };
                if let (Some(s), Some(e)) = (start, end)
                    && s > e
                {
                    return Err(Message::new(Code::Reversed, format!("the interval starts ({s}) after it ends ({e})"))
                        .with("from", s.to_rfc3339())
                        .with("to", e.to_rfc3339()));
                }
                if start.is_none() && end.is_none() {
                    return Err(Message::new(
                        Code::Format,
                        "an interval needs at least one end: '../..' is not accepted",
                    )
                    .with("expected", "datetime")
                    .with("got", s));
                }
                Ok(Period { start, end })
            }
        }
    }
}

/// An items query split into what OGC API defines (`f`, `datetime`) and the rest, which is the
/// collection's own filter (bbox, limit, offset and property filters). A `limit` above the maximum
/// is lowered to it, as the standard asks, instead of being refused.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemsQuery {
    pub f: Option<String>,
    pub period: Option<Period>,
    /// The system the features are answered in (Part 2's `crs`).
    pub crs: OgcCrs,
    pub rest: Vec<(String, String)>,
}

impl ItemsQuery {
    pub fn parse(pairs: &[(String, String)]) -> Result<ItemsQuery, Vec<FieldError>> {
        let mut q = ItemsQuery { f: None, period: None, crs: OgcCrs::Crs84, rest: Vec::new() };
        let mut errors = Vec::new();
        let mut bbox_crs = None;
        for (key, value) in pairs {
            match key.as_str() {
                "f" => q.f = Some(value.clone()),
                "crs" => match OgcCrs::parse(value) {
                    Ok(c) => q.crs = c,
                    Err(e) => errors.push(e.at("crs")),
                },
                "bbox-crs" => match OgcCrs::parse(value) {
                    Ok(c) => bbox_crs = Some(c),
                    Err(e) => errors.push(e.at("bbox-crs")),
                },
                "datetime" => match Period::parse(value) {
                    Ok(p) => q.period = Some(p),
                    Err(e) => errors.push(e.at("datetime")),
                },
                "limit" if value.parse::<i64>().is_ok_and(|n| n > MAX_LIMIT) => {
                    q.rest.push((key.clone(), MAX_LIMIT.to_string()));
                }
                _ => q.rest.push((key.clone(), value.clone())),
            }
        }
        // The collection's filter reads its bbox in CRS84: one given in another system is read
        // in that system's axis order and handed on converted.
        if let Some(crs) = bbox_crs.filter(|c| *c != OgcCrs::Crs84) {
            for (key, value) in q.rest.iter_mut().filter(|(k, _)| k == "bbox") {
                match crs.bbox_to_crs84(value) {
                    Ok(b) => *value = format!("{},{},{},{}", b.west, b.south, b.east, b.north),
                    Err(e) => errors.push(e.at(key.clone())),
                }
            }
        }
        if errors.is_empty() { Ok(q) } else { Err(errors) }
    }

    /// The query string of the same request at another offset, for `next`/`prev` links.
    pub fn query_at(pairs: &[(String, String)], limit: i64, offset: i64) -> String {
        super::filter::page_query(pairs, &["f"], limit, offset)
    }
}

/// The township collection's filter: bbox, kind, limit, offset.
#[derive(Debug)]
pub struct TownshipQuery {
    pub bbox: Option<BBox>,
    pub kinds: Option<Vec<String>>,
    pub limit: i64,
    pub offset: i64,
}

impl TownshipQuery {
    pub fn parse(pairs: &[(String, String)]) -> Result<TownshipQuery, Vec<FieldError>> {
        let mut q = TownshipQuery { bbox: None, kinds: None, limit: 500, offset: 0 };
        let allowed = ["bbox", "kind", "limit", "offset"];
        let hint = "townships take bbox, kind, limit, offset, datetime, f";
        let errors = super::filter::each_parameter(pairs, &allowed, hint, |key, value| {
            match key {
                "bbox" => q.bbox = Some(BBox::parse(value)?),
                "kind" => q.kinds = Some(value.split(',').map(|s| s.trim().to_owned()).collect()),
                "limit" => match value.parse::<i64>() {
                    Ok(n) if (1..=MAX_LIMIT).contains(&n) => q.limit = n,
                    _ => {
                        let detail = format!("limit: '{value}' is not between 1 and {MAX_LIMIT}");
                        return Err(Message::new(Code::Range, detail).with("min", 1).with("max", MAX_LIMIT));
                    }
                },
                "offset" => match value.parse::<i64>() {
                    Ok(n) if (0..=i64::from(i32::MAX)).contains(&n) => q.offset = n,
                    _ => {
                        let detail = format!("offset: '{value}' is not between 0 and {}", i32::MAX);
                        return Err(Message::new(Code::Range, detail).with("min", 0).with("max", i64::from(i32::MAX)));
                    }
                },
                _ => unreachable!("every allowed parameter is handled"),
            }
            Ok(())
        });
        if errors.is_empty() { Ok(q) } else { Err(errors) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(q.as_bytes()).into_owned().collect()
    }

    #[test]
    fn a_schema_is_plain_json_only_for_clients_that_ask_for_plain_json_alone() {
        assert!(schema_as_plain_json(Some("application/geo+json, application/json")));
        assert!(schema_as_plain_json(Some("application/json")));
        assert!(!schema_as_plain_json(Some("application/schema+json, application/json;q=0.5")));
        assert!(!schema_as_plain_json(Some("application/json;q=0, */*")));
        assert!(!schema_as_plain_json(Some("*/*")));
        assert!(!schema_as_plain_json(None));
    }

    #[test]
    fn f_wins_over_accept_and_json_wins_ties() {
        assert_eq!(negotiate(Some("html"), Some("application/json")), Ok(Format::Html));
        assert_eq!(negotiate(None, Some("text/html,application/xhtml+xml,*/*;q=0.8")), Ok(Format::Html));
        assert_eq!(negotiate(None, Some("application/geo+json, text/html;q=0.5")), Ok(Format::Json));
        assert_eq!(negotiate(None, Some("*/*")), Ok(Format::Json));
        assert_eq!(negotiate(None, None), Ok(Format::Json));
        assert_eq!(negotiate(Some("xml"), None).unwrap_err().pointer, "f");
    }

    #[test]
    fn datetime_takes_instants_intervals_and_open_ends() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let p = Period::parse("2026-05-01T08:00:00+08:00").unwrap();
        assert_eq!((p.start, p.end), (Some(t("2026-05-01T00:00:00Z")), Some(t("2026-05-01T00:00:00Z"))));
        let p = Period::parse("2026-01-01/2026-03-31").unwrap();
        assert_eq!(p.start, Some(t("2026-01-01T00:00:00Z")));
        assert_eq!(p.end, Some(t("2026-03-31T23:59:59.999Z")));
        assert_eq!(Period::parse("../2026-03-31T00:00:00Z").unwrap().start, None);
        assert_eq!(Period::parse("2026-03-31T00:00:00Z/").unwrap().end, None);
        assert!(Period::parse("2026-04-01/2026-03-01").unwrap_err().detail.contains("after it ends"));
        assert!(Period::parse("yesterday").unwrap_err().detail.contains("RFC 3339"));
        assert!(Period::parse("../..").is_err());
    }

    #[test]
    fn items_query_keeps_the_filter_and_lowers_a_large_limit() {
        let q = ItemsQuery::parse(&pairs("f=json&limit=50000&category=energy&datetime=2026-01-01/..")).unwrap();
        assert_eq!(q.f.as_deref(), Some("json"));
        assert!(q.period.is_some());
        assert_eq!(q.rest, pairs("limit=10000&category=energy"));
        assert_eq!(ItemsQuery::parse(&pairs("datetime=x")).unwrap_err()[0].pointer, "datetime");
    }

    #[test]
    fn township_queries_take_bbox_kind_and_paging_and_name_what_they_do_not() {
        let q = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            TownshipQuery::parse(&pairs)
        };
        let t = q(&[("bbox", "119.8,30.7,120.0,30.9"), ("kind", "town, subdistrict"), ("limit", "5")]).unwrap();
        assert_eq!(t.kinds.as_deref(), Some(&["town".to_owned(), "subdistrict".to_owned()][..]));
        assert_eq!((t.limit, t.offset), (5, 0));
        assert!(t.bbox.is_some());
        let errors = q(&[("limit", "0"), ("offset", "-1"), ("status", "planned")]).unwrap_err();
        let keys: Vec<_> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(keys, ["limit", "offset", "status"]);
        assert!(errors[2].detail.contains("townships take bbox, kind"), "{}", errors[2].detail);
    }
}
