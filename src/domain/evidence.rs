//! What a report photo says about itself (EXIF: where and when it was taken, on what, with what
//! software), how far that is from the task, and the flags a verifier should see. Pure functions:
//! the store reads the task and the other reports, and keeps what these compute.

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, TimeZone, Utc};
use geo::{Closest, Distance, Geometry, Haversine, HaversineClosestPoint, Point};
use serde::Serialize;

use super::chinacoords::{Position, gcj02_to_wgs84};

/// How far from the task a photo may be taken before it is flagged, unless a family says otherwise.
pub const DEFAULT_FAR_M: f64 = 500.0;
/// A photo taken this long before its report is flagged as old.
pub const OLD_DAYS: i64 = 30;
/// How far a camera's clock may be off (and EXIF keeps whole seconds) before a photo counts as
/// taken before its task was created.
const CLOCK_SLACK_MINUTES: i64 = 10;

/// Editing programs whose name in the Software tag means the picture was worked on after it was
/// taken (a phone's camera writes its firmware or the phone's model there).
const EDITORS: [&str; 12] = [
    "photoshop",
    "lightroom",
    "gimp",
    "snapseed",
    "picsart",
    "meitu",
    "美图",
    "醒图",
    "photoscape",
    "pixelmator",
    "affinity",
    "canva",
];

/// What a photo's EXIF says, as read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhotoFacts {
    /// Longitude, latitude in WGS 84 (converted when the phone wrote GCJ-02).
    pub position: Option<[f64; 2]>,
    /// The datum the camera named when it was not WGS 84 (`GCJ-02`).
    pub datum: Option<String>,
    /// When it was taken: with the camera's offset when it wrote one, else in the county's time.
    pub taken_local: Option<NaiveDateTime>,
    pub taken_offset: Option<FixedOffset>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub software: Option<String>,
}

/// How a photo was recognised as used before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReusedBy {
    Content,
    Likeness,
}

/// A flag for the verifier, with the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "flag", rename_all = "snake_case")]
pub enum Flag {
    /// Taken `distance_m` from the task's geometry, beyond `limit_m`.
    Far { distance_m: f64, limit_m: f64 },
    /// The photo carries no position.
    NoPosition,
    /// The photo carries no time.
    NoTime,
    /// Taken before the task was created.
    BeforeTask { taken_at: DateTime<Utc>, task_created_at: DateTime<Utc> },
    /// Taken more than `OLD_DAYS` before the report.
    Old { taken_at: DateTime<Utc>, days_before_report: i64 },
    /// The same picture is in another report already: the same bytes, or a copy saved again at
    /// another quality or size (alike by its difference hash).
    Reused { by: ReusedBy },
    /// An editing program's name in the Software tag.
    Edited { software: String },
    /// The phone wrote its position in GCJ-02 (converted to WGS 84 here).
    Gcj02,
    /// The phone's clock, when it sent the report, was `minutes_off` from the service's.
    Clock { device_time: DateTime<Utc>, minutes_off: i64 },
}

/// How far a phone's clock may be from the service's before its report is flagged.
pub const CLOCK_MINUTES: i64 = 10;

/// The flags of a report itself: where the phone was when it was written (`distance_m` from the
/// task, within `accuracy_m`), and its clock when it was sent (`device_time`, against
/// `received_at`).
pub fn report_flags(
    distance_m: Option<f64>,
    accuracy_m: Option<f64>,
    far_m: f64,
    device_time: Option<DateTime<Utc>>,
    received_at: DateTime<Utc>,
) -> Vec<Flag> {
    let mut out = Vec::new();
    // The phone may be anywhere within its accuracy: only what lies beyond it counts.
    if let Some(d) = distance_m
        && d - accuracy_m.unwrap_or(0.0) > far_m
    {
        out.push(Flag::Far { distance_m: d.round(), limit_m: far_m });
    }
    if let Some(t) = device_time {
        let off = (t - received_at).num_minutes();
        if off.abs() > CLOCK_MINUTES {
            out.push(Flag::Clock { device_time: t, minutes_off: off });
        }
    }
    out
}

fn text(field: Option<&exif::Field>) -> Option<String> {
    let f = field?;
    let s = match &f.value {
        exif::Value::Ascii(parts) => {
            parts.iter().map(|p| String::from_utf8_lossy(p).into_owned()).collect::<Vec<_>>().join(" ")
        }
        _ => f.display_value().to_string(),
    };
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_owned();
    (!s.is_empty()).then_some(s)
}

/// Degrees from EXIF's three rationals (degrees, minutes, seconds) and its N/S or E/W reference.
fn degrees(value: Option<&exif::Field>, reference: Option<&exif::Field>, negative: &str) -> Option<f64> {
    let exif::Value::Rational(parts) = &value?.value else { return None };
    let [d, m, s] = parts.get(0..3)? else { return None };
    let deg = d.to_f64() + m.to_f64() / 60.0 + s.to_f64() / 3600.0;
    if !deg.is_finite() {
        return None;
    }
    let sign = if text(reference).is_some_and(|r| r.eq_ignore_ascii_case(negative)) { -1.0 } else { 1.0 };
    Some(sign * deg)
}

/// Reads what the photo's EXIF says; a photo without EXIF, or with EXIF that does not parse, says
/// nothing (every field None).
pub fn read(bytes: &[u8]) -> PhotoFacts {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(bytes)) else {
        return PhotoFacts::default();
    };
    let get = |tag| exif.get_field(tag, exif::In::PRIMARY);
    let datum = text(get(exif::Tag::GPSMapDatum)).filter(|d| !d.to_ascii_uppercase().contains("WGS"));
    let lat = degrees(get(exif::Tag::GPSLatitude), get(exif::Tag::GPSLatitudeRef), "S");
    let lon = degrees(get(exif::Tag::GPSLongitude), get(exif::Tag::GPSLongitudeRef), "W");
    let position = match (lon, lat) {
        (Some(lon), Some(lat)) if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) => {
            let p: Position = [lon, lat];
            Some(if is_gcj02(datum.as_deref()) { gcj02_to_wgs84(p) } else { p })
        }
        _ => None,
    };
    let taken = text(get(exif::Tag::DateTimeOriginal)).or_else(|| text(get(exif::Tag::DateTime)));
    let taken_local = taken.and_then(|t| NaiveDateTime::parse_from_str(&t, "%Y:%m:%d %H:%M:%S").ok());
    let offset = text(get(exif::Tag::OffsetTimeOriginal)).or_else(|| text(get(exif::Tag::OffsetTime)));
    PhotoFacts {
        position,
        datum,
        taken_local,
        taken_offset: offset
            .and_then(|o| DateTime::parse_from_str(&format!("2000-01-01T00:00:00{o}"), "%Y-%m-%dT%H:%M:%S%:z").ok())
            .map(|d| *d.offset()),
        make: text(get(exif::Tag::Make)),
        model: text(get(exif::Tag::Model)),
        software: text(get(exif::Tag::Software)),
    }
}

fn is_gcj02(datum: Option<&str>) -> bool {
    datum.is_some_and(|d| d.to_ascii_uppercase().replace(['-', ' '], "").contains("GCJ02"))
}

impl PhotoFacts {
    /// When the photo was taken, in UTC: by the camera's offset, else by `county` (the county's
    /// offset from UTC).
    pub fn taken_at(&self, county: FixedOffset) -> Option<DateTime<Utc>> {
        let local = self.taken_local?;
        let zone = self.taken_offset.unwrap_or(county);
        zone.from_local_datetime(&local).single().map(|t| t.with_timezone(&Utc))
    }
}

/// Metres from `position` (longitude, latitude) to the nearest point of `task` on the sphere:
/// 0 inside an area or on a line. None when the geometry gives no nearest point.
pub fn distance_m(position: [f64; 2], task: &Geometry<f64>) -> Option<f64> {
    let from = Point::new(position[0], position[1]);
    match task.haversine_closest_point(&from) {
        Closest::Intersection(_) => Some(0.0),
        Closest::SinglePoint(p) => Some(Haversine.distance(from, p)),
        Closest::Indeterminate => None,
    }
}

/// What the verifier is told about one photo.
pub struct Context {
    pub distance_m: Option<f64>,
    pub far_m: f64,
    pub taken_at: Option<DateTime<Utc>>,
    pub task_created_at: DateTime<Utc>,
    pub reported_at: DateTime<Utc>,
    pub reused: Option<ReusedBy>,
}

/// The flags of a photo whose EXIF says `facts`, in `ctx`.
pub fn flags(facts: &PhotoFacts, ctx: &Context) -> Vec<Flag> {
    let mut out = Vec::new();
    match ctx.distance_m {
        Some(d) if d > ctx.far_m => out.push(Flag::Far { distance_m: d.round(), limit_m: ctx.far_m }),
        Some(_) => {}
        None if facts.position.is_none() => out.push(Flag::NoPosition),
        None => {}
    }
    if is_gcj02(facts.datum.as_deref()) {
        out.push(Flag::Gcj02);
    }
    match ctx.taken_at {
        None => out.push(Flag::NoTime),
        Some(t) if t < ctx.task_created_at - Duration::minutes(CLOCK_SLACK_MINUTES) => {
            out.push(Flag::BeforeTask { taken_at: t, task_created_at: ctx.task_created_at })
        }
        Some(t) if ctx.reported_at - t > Duration::days(OLD_DAYS) => {
            out.push(Flag::Old { taken_at: t, days_before_report: (ctx.reported_at - t).num_days() })
        }
        Some(_) => {}
    }
    if let Some(by) = ctx.reused {
        out.push(Flag::Reused { by });
    }
    if let Some(software) = &facts.software
        && EDITORS.iter().any(|e| software.to_lowercase().contains(e))
    {
        out.push(Flag::Edited { software: software.clone() });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon, point};

    #[test]
    fn the_distance_is_to_the_nearest_point_and_nothing_inside_an_area() {
        let area = Geometry::Polygon(Polygon::new(
            LineString::from(vec![(119.90, 30.80), (119.91, 30.80), (119.91, 30.81), (119.90, 30.81), (119.90, 30.80)]),
            vec![],
        ));
        assert_eq!(distance_m([119.905, 30.805], &area), Some(0.0));
        // 0.01° of latitude is about 1,112 m, whatever the longitude.
        let north = distance_m([119.905, 30.82], &area).unwrap();
        assert!((north - 1112.0).abs() < 5.0, "{north}");
        let line = Geometry::LineString(LineString::from(vec![(119.90, 30.80), (119.92, 30.80)]));
        let beside = distance_m([119.91, 30.801], &line).unwrap();
        assert!((beside - 111.2).abs() < 1.0, "{beside}");
        let pin = Geometry::Point(point!(x: 119.90, y: 30.80));
        assert!((distance_m([119.90, 30.83], &pin).unwrap() - 3336.0).abs() < 10.0);
    }

    fn ctx(distance_m: Option<f64>, taken_at: Option<DateTime<Utc>>) -> Context {
        Context {
            distance_m,
            far_m: DEFAULT_FAR_M,
            taken_at,
            task_created_at: "2026-03-01T00:00:00Z".parse().unwrap(),
            reported_at: "2026-06-01T00:00:00Z".parse().unwrap(),
            reused: None,
        }
    }

    #[test]
    fn each_doubt_is_a_flag_with_its_numbers() {
        let facts = PhotoFacts { position: Some([119.9, 30.8]), ..Default::default() };
        let may = Some("2026-05-30T08:00:00Z".parse().unwrap());
        assert_eq!(flags(&facts, &ctx(Some(120.0), may)), vec![]);
        assert_eq!(flags(&facts, &ctx(Some(3012.4), may)), vec![Flag::Far { distance_m: 3012.0, limit_m: 500.0 }]);
        let none = PhotoFacts::default();
        assert_eq!(flags(&none, &ctx(None, None)), vec![Flag::NoPosition, Flag::NoTime]);
        let feb = "2026-02-01T00:00:00Z".parse().unwrap();
        assert!(matches!(flags(&facts, &ctx(Some(0.0), Some(feb)))[..], [Flag::BeforeTask { .. }]));
        let just_before = "2026-02-28T23:55:00Z".parse().unwrap();
        let slack = flags(&facts, &ctx(Some(0.0), Some(just_before)));
        assert!(matches!(slack[..], [Flag::Old { .. }]), "within a clock's slack, not before the task: {slack:?}");
        let april = "2026-04-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            flags(&facts, &ctx(Some(0.0), Some(april))),
            vec![Flag::Old { taken_at: april, days_before_report: 61 }]
        );
        let edited = PhotoFacts { software: Some("Adobe Photoshop 25.0".into()), ..facts.clone() };
        assert_eq!(
            flags(&edited, &ctx(Some(0.0), may)),
            vec![Flag::Edited { software: "Adobe Photoshop 25.0".into() }]
        );
        let camera = PhotoFacts { software: Some("MIUI 14".into()), ..facts.clone() };
        assert_eq!(flags(&camera, &ctx(Some(0.0), may)), vec![], "a phone's firmware is not an editor");
        let twice = Context { reused: Some(ReusedBy::Likeness), ..ctx(Some(0.0), may) };
        assert_eq!(flags(&facts, &twice), vec![Flag::Reused { by: ReusedBy::Likeness }]);
    }

    #[test]
    fn a_report_is_flagged_for_where_the_phone_was_and_its_clock() {
        let now: DateTime<Utc> = "2026-06-01T08:00:00Z".parse().unwrap();
        assert_eq!(report_flags(Some(300.0), Some(20.0), 500.0, Some(now), now), vec![]);
        assert_eq!(
            report_flags(Some(900.0), Some(50.0), 500.0, None, now),
            vec![Flag::Far { distance_m: 900.0, limit_m: 500.0 }]
        );
        assert_eq!(report_flags(Some(900.0), Some(450.0), 500.0, None, now), vec![], "within the phone's accuracy");
        let slow: DateTime<Utc> = "2026-06-01T06:30:00Z".parse().unwrap();
        assert_eq!(
            report_flags(None, None, 500.0, Some(slow), now),
            vec![Flag::Clock { device_time: slow, minutes_off: -90 }]
        );
        let close: DateTime<Utc> = "2026-06-01T08:09:00Z".parse().unwrap();
        assert_eq!(report_flags(None, None, 500.0, Some(close), now), vec![]);
    }

    #[test]
    fn a_time_without_offset_is_the_countys() {
        let facts = PhotoFacts {
            taken_local: Some(NaiveDateTime::parse_from_str("2026:05:30 16:00:00", "%Y:%m:%d %H:%M:%S").unwrap()),
            ..Default::default()
        };
        let shanghai = FixedOffset::east_opt(8 * 3600).unwrap();
        assert_eq!(facts.taken_at(shanghai), Some("2026-05-30T08:00:00Z".parse().unwrap()));
        let with_offset = PhotoFacts { taken_offset: FixedOffset::east_opt(0), ..facts };
        assert_eq!(with_offset.taken_at(shanghai), Some("2026-05-30T16:00:00Z".parse().unwrap()));
    }

    #[test]
    fn a_photo_without_exif_says_nothing() {
        assert_eq!(read(b"not a photo"), PhotoFacts::default());
    }
}
