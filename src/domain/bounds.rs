//! Where a task may lie: in a township of the county, or within a tolerance of one (the
//! administrator's `GREENLEDGER_OUTSIDE_TOLERANCE_M`). PostGIS measures it (see migrations/0007);
//! here is what a write's query string may say about it: `outside=accept`, the bureau's explicit
//! acceptance of a place beyond the tolerance for this one write, which the history records.

use super::chinacoords::Datum;
use super::{Code, FieldError, Message};

/// The tolerance when the administrator sets none, in metres: wide enough for a task on a border
/// drawn a little loosely, far too narrow for a position with a wrong digit.
pub const DEFAULT_TOLERANCE_M: f64 = 2000.0;

/// The value of `outside`: `accept` or `refuse` (the default).
pub fn accept_outside(value: &str) -> Result<bool, Message> {
    match value {
        "accept" => Ok(true),
        "refuse" | "" => Ok(false),
        other => Err(Message::new(
            Code::UnknownValue,
            format!(
                "'{other}' is not accept or refuse: outside=accept stores a geometry beyond the county's tolerance (and the history says so)"
            ),
        )
        .with("got", other)
        .with("allowed", vec!["accept", "refuse"])),
    }
}

/// The datum named by `coords=`, as a query parameter's refusal when it names none.
pub fn datum(value: &str) -> Result<Datum, Message> {
    Datum::parse(value).map_err(|e| {
        Message::new(Code::UnknownValue, e).with("got", value.trim()).with("allowed", Datum::NAMES.to_vec())
    })
}

/// The refusal of a position beyond the county's tolerance, from the sentence PostGIS writes for it
/// (`county_bounds` in migrations/0007: "this position lies 9.6 km from the nearest township, 青溪镇
/// (330599101), beyond the 2.0 km the county allows: ..."), with the figures and the township as
/// parameters. A sentence of another shape keeps its words and has no parameters.
pub fn outside_county(sentence: &str) -> Message {
    let why = Message::new(Code::OutsideCounty, sentence);
    let parse = || {
        let rest = sentence.strip_prefix("this position lies ")?;
        let (km, rest) = rest.split_once(" km from the nearest township, ")?;
        let (township, rest) = rest.split_once(" (")?;
        let (code, rest) = rest.split_once("), beyond the ")?;
        let (tolerance, _) = rest.split_once(" km")?;
        Some((km.parse::<f64>().ok()?, township, code, tolerance.parse::<f64>().ok()?))
    };
    match parse() {
        Some((km, township, code, tolerance)) => why
            .with("distance_km", km)
            .with("township", township)
            .with("township_code", code)
            .with("tolerance_km", tolerance),
        None => why,
    }
}

/// What a write's query string may say: the datum of its coordinates and whether a place beyond
/// the county is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteQuery {
    pub datum: Datum,
    pub accept_outside: bool,
}

impl WriteQuery {
    /// `coords=wgs84|gcj02|bd09` and `outside=accept|refuse`; anything else is refused.
    pub fn parse(pairs: &[(String, String)]) -> Result<WriteQuery, Vec<FieldError>> {
        let mut q = WriteQuery::default();
        let hint = "this endpoint takes only coords=gcj02|bd09|wgs84 and outside=accept";
        let errors = super::filter::each_parameter(pairs, &["coords", "outside"], hint, |key, value| {
            match key {
                "coords" => q.datum = datum(value)?,
                _ => q.accept_outside = accept_outside(value)?,
            }
            Ok(())
        });
        if errors.is_empty() { Ok(q) } else { Err(errors) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_refusal_of_a_far_position_carries_its_figures() {
        let m = outside_county(
            "this position lies 9.6 km from the nearest township, 清源经济开发区 (330599401), beyond the 2.0 km the county allows: check the coordinates or, if the task really lies there, send it again with outside=accept",
        );
        assert_eq!(m.params["distance_km"], 9.6);
        assert_eq!(m.params["township"], "清源经济开发区");
        assert_eq!(m.params["township_code"], "330599401");
        assert_eq!(m.params["tolerance_km"], 2.0);
        let zh = m.render(crate::domain::Lang::Zh);
        assert!(zh.starts_with("此点距最近的乡镇清源经济开发区（330599401）9.6 公里，超出本县允许的 2 公里"), "{zh}");
        assert!(outside_county("something else").params.is_empty());
    }

    #[test]
    fn reads_the_datum_and_the_acceptance() {
        assert_eq!(WriteQuery::parse(&[]).unwrap(), WriteQuery::default());
        let q = WriteQuery::parse(&pairs(&[("coords", "gcj02"), ("outside", "accept")])).unwrap();
        assert_eq!(q, WriteQuery { datum: Datum::Gcj02, accept_outside: true });
        let e = WriteQuery::parse(&pairs(&[("outside", "yes"), ("limit", "3")])).unwrap_err();
        assert_eq!(e.iter().map(|e| e.pointer.as_str()).collect::<Vec<_>>(), ["outside", "limit"]);
    }
}
