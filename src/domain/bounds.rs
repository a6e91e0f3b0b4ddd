//! Where a task may lie: in a township of the county, or within a tolerance of one (the
//! administrator's `GREENLEDGER_OUTSIDE_TOLERANCE_M`). PostGIS measures it (see migrations/0007);
//! here is what a write's query string may say about it: `outside=accept`, the bureau's explicit
//! acceptance of a place beyond the tolerance for this one write, which the history records.

use super::FieldError;
use super::chinacoords::Datum;

/// The tolerance when the administrator sets none, in metres: wide enough for a task on a border
/// drawn a little loosely, far too narrow for a position with a wrong digit.
pub const DEFAULT_TOLERANCE_M: f64 = 2000.0;

/// The value of `outside`: `accept` or `refuse` (the default).
pub fn accept_outside(value: &str) -> Result<bool, String> {
    match value {
        "accept" => Ok(true),
        "refuse" | "" => Ok(false),
        other => Err(format!(
            "'{other}' is not accept or refuse: outside=accept stores a geometry beyond the county's tolerance (and the history says so)"
        )),
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
                "coords" => q.datum = Datum::parse(value)?,
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
    fn reads_the_datum_and_the_acceptance() {
        assert_eq!(WriteQuery::parse(&[]).unwrap(), WriteQuery::default());
        let q = WriteQuery::parse(&pairs(&[("coords", "gcj02"), ("outside", "accept")])).unwrap();
        assert_eq!(q, WriteQuery { datum: Datum::Gcj02, accept_outside: true });
        let e = WriteQuery::parse(&pairs(&[("outside", "yes"), ("limit", "3")])).unwrap_err();
        assert_eq!(e.iter().map(|e| e.pointer.as_str()).collect::<Vec<_>>(), ["outside", "limit"]);
    }
}
