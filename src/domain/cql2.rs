//! CQL2 (OGC API - Features Part 3 filtering), text and JSON encodings, read into one expression
//! tree: comparisons, LIKE, IN, BETWEEN, IS NULL, AND/OR/NOT, S_INTERSECTS with a geometry literal,
//! dates and timestamps. The store turns the tree into SQL with every value bound as a parameter;
//! property names are only ever looked up in the collection's table of columns, never pasted.

use serde_json::Value;

/// A literal value of a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Number(f64),
    Bool(bool),
    /// YYYY-MM-DD.
    Date(String),
    /// RFC 3339.
    Timestamp(String),
    /// A geometry as GeoJSON, WGS 84.
    Geometry(Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn sql(self) -> &'static str {
        match self {
            CmpOp::Eq => " = ",
            CmpOp::Ne => " <> ",
            CmpOp::Lt => " < ",
            CmpOp::Le => " <= ",
            CmpOp::Gt => " > ",
            CmpOp::Ge => " >= ",
        }
    }
}

/// A filter expression; properties are named as the collection's queryables name them.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Compare {
        property: String,
        op: CmpOp,
        value: Literal,
    },
    /// `casei`: ILIKE, which only the draft language (`cql-text`) has.
    Like {
        property: String,
        pattern: String,
        casei: bool,
    },
    In {
        property: String,
        values: Vec<Literal>,
    },
    Between {
        property: String,
        low: Literal,
        high: Literal,
    },
    IsNull {
        property: String,
    },
    Intersects {
        property: String,
        geometry: Value,
    },
}

impl Expr {
    /// Calls `f` on the coordinates of every geometry literal.
    fn each_geometry(&mut self, f: &dyn Fn(&mut Value)) {
        match self {
            Expr::And(xs) | Expr::Or(xs) => xs.iter_mut().for_each(|x| x.each_geometry(f)),
            Expr::Not(x) => x.each_geometry(f),
            Expr::Intersects { geometry, .. } => f(&mut geometry["coordinates"]),
            _ => {}
        }
    }

    /// Every property the expression names, for checking them against what the caller may see.
    pub fn properties(&self) -> Vec<&str> {
        match self {
            Expr::And(xs) | Expr::Or(xs) => xs.iter().flat_map(Expr::properties).collect(),
            Expr::Not(x) => x.properties(),
            Expr::Compare { property, .. }
            | Expr::Like { property, .. }
            | Expr::In { property, .. }
            | Expr::Between { property, .. }
            | Expr::IsNull { property }
            | Expr::Intersects { property, .. } => vec![property.as_str()],
        }
    }
}

/// Why a filter cannot be read, and where (a character offset of the text, or a JSON pointer).
#[derive(Debug, Clone, PartialEq)]
pub struct CqlError {
    pub at: String,
    pub detail: String,
}

impl CqlError {
    /// The refusal of the `filter` parameter, saying where in the filter.
    pub fn message(&self) -> super::Message {
        let detail = format!("the filter cannot be used at {}: {}", self.at, self.detail);
        super::Message::new(super::Code::BadFilter, detail)
            .with("at", self.at.as_str())
            .with("why", self.detail.as_str())
    }
}

/// A filter as `filter`, `filter-lang` (cql2-text, the default, or cql2-json) and `filter-crs`
/// (the system of its geometries' positions) give it, with its geometries in WGS 84.
pub fn read(text: &str, lang: Option<&str>, crs: Option<&str>) -> Result<Expr, super::Message> {
    let mut x = match lang.map(str::trim) {
        // `cql-text` is the draft's name, which GDAL's OGC API driver still sends, in its own dialect.
        None | Some("cql2-text") => parse_text(text).map_err(|e| e.message())?,
        Some("cql-text") => parse_draft_text(text).map_err(|e| e.message())?,
        Some("cql2-json") => {
            let v: Value = serde_json::from_str(text).map_err(|e| {
                CqlError { at: format!("character {}", e.column()), detail: format!("not JSON: {e}") }.message()
            })?;
            parse_json(&v).map_err(|e| e.message())?
        }
        Some(other) => {
            let detail = format!("filter-lang '{other}' is not offered; it is cql2-text or cql2-json");
            return Err(super::Message::new(super::Code::UnknownValue, detail)
                .with("got", other)
                .with("allowed", vec!["cql2-text", "cql2-json"]));
        }
    };
    if let Some(crs) = crs {
        let crs = super::ogc_crs::OgcCrs::parse(crs)?;
        x.each_geometry(&|g| to_lon_lat(g, crs));
    }
    Ok(x)
}

fn to_lon_lat(v: &mut Value, crs: super::ogc_crs::OgcCrs) {
    match v {
        Value::Array(a) if a.first().is_some_and(Value::is_number) && a.len() >= 2 => {
            let (x, y) = (a[0].as_f64().unwrap_or_default(), a[1].as_f64().unwrap_or_default());
            let [lon, lat] = crs.to_lon_lat([x, y]);
            a[0] = lon.into();
            a[1] = lat.into();
        }
        Value::Array(a) => a.iter_mut().for_each(|x| to_lon_lat(x, crs)),
        _ => {}
    }
}

fn err<T>(at: impl std::fmt::Display, detail: impl Into<String>) -> Result<T, CqlError> {
    Err(CqlError { at: at.to_string(), detail: detail.into() })
}

/// Nesting beyond this is refused (a filter is typed by a person or built by a client, never this deep).
const MAX_DEPTH: usize = 32;

// ---------------------------------------------------------------------------------------------
// CQL2 text

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Str(String),
    Num(f64),
    Op(&'static str),
    Open,
    Close,
    Comma,
}

fn tokens(s: &str) -> Result<Vec<(usize, Tok)>, CqlError> {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let pos = s[..at].chars().count() + 1;
        let (tok, next) = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => (Tok::Open, i + 1),
            ')' => (Tok::Close, i + 1),
            ',' => (Tok::Comma, i + 1),
            '\'' => quoted(&chars, i, pos).map(|(t, n)| (Tok::Str(t), n))?,
            '"' => quoted(&chars, i, pos).map(|(t, n)| (Tok::Quoted(t), n))?,
            '<' | '>' | '=' => {
                let (op, len) = match (c, chars.get(i + 1).map(|x| x.1)) {
                    ('<', Some('>')) => ("<>", 2),
                    ('<', Some('=')) => ("<=", 2),
                    ('>', Some('=')) => (">=", 2),
                    ('<', _) => ("<", 1),
                    ('>', _) => (">", 1),
                    _ => ("=", 1),
                };
                (Tok::Op(op), i + len)
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                number(&chars, i, pos).map(|(n, next)| (Tok::Num(n), next))?
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut end = i;
                while chars.get(end).is_some_and(|x| x.1.is_alphanumeric() || x.1 == '_' || x.1 == ':') {
                    end += 1;
                }
                (Tok::Word(chars[i..end].iter().map(|x| x.1).collect()), end)
            }
            other => return err(format!("character {pos}"), format!("'{other}' has no meaning here")),
        };
        out.push((pos, tok));
        i = next;
    }
    Ok(out)
}

/// The text of a quoted string or name starting at `i` (its quote), and where the next token starts.
fn quoted(chars: &[(usize, char)], mut i: usize, pos: usize) -> Result<(String, usize), CqlError> {
    let c = chars[i].1;
    let mut text = String::new();
    i += 1;
    loop {
        match chars.get(i) {
            None => return err(format!("character {pos}"), "a quoted text is not closed"),
            // A doubled quote is the quote itself.
            Some((_, q)) if *q == c && chars.get(i + 1).map(|x| x.1) == Some(c) => {
                text.push(c);
                i += 2;
            }
            Some((_, q)) if *q == c => return Ok((text, i + 1)),
            Some((_, x)) => {
                text.push(*x);
                i += 1;
            }
        }
    }
}

/// The number starting at `start`, and where the next token starts.
fn number(chars: &[(usize, char)], start: usize, pos: usize) -> Result<(f64, usize), CqlError> {
    let mut i = start + 1;
    while chars.get(i).is_some_and(|x| x.1.is_ascii_alphanumeric() || matches!(x.1, '.' | '-' | '+')) {
        // An exponent's sign only after an e.
        if matches!(chars[i].1, '-' | '+') && !matches!(chars[i - 1].1, 'e' | 'E') {
            break;
        }
        i += 1;
    }
    let text: String = chars[start..i].iter().map(|x| x.1).collect();
    match text.parse::<f64>().ok().filter(|n| n.is_finite()) {
        Some(n) => Ok((n, i)),
        None => err(format!("character {pos}"), format!("'{text}' is not a number")),
    }
}

struct Text {
    toks: Vec<(usize, Tok)>,
    at: usize,
    end: usize,
    /// The draft language (`cql-text`), which also has ILIKE.
    draft: bool,
}

impl Text {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|t| &t.1)
    }

    fn here(&self) -> String {
        match self.toks.get(self.at) {
            Some((pos, _)) => format!("character {pos}"),
            None => format!("character {} (the end)", self.end),
        }
    }

    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k))
    }

    fn eat_keyword(&mut self, k: &str) -> bool {
        let yes = self.keyword(k);
        if yes {
            self.at += 1;
        }
        yes
    }

    fn expect(&mut self, t: Tok, what: &str) -> Result<(), CqlError> {
        if self.peek() == Some(&t) {
            self.at += 1;
            Ok(())
        } else {
            err(self.here(), format!("expected {what}"))
        }
    }

    fn or(&mut self, depth: usize) -> Result<Expr, CqlError> {
        if depth > MAX_DEPTH {
            return err(self.here(), format!("the filter nests deeper than {MAX_DEPTH} levels"));
        }
        let mut xs = vec![self.and(depth)?];
        while self.eat_keyword("OR") {
            xs.push(self.and(depth)?);
        }
        Ok(if xs.len() == 1 { xs.remove(0) } else { Expr::Or(xs) })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, CqlError> {
        let mut xs = vec![self.not(depth)?];
        while self.eat_keyword("AND") {
            xs.push(self.not(depth)?);
        }
        Ok(if xs.len() == 1 { xs.remove(0) } else { Expr::And(xs) })
    }

    fn not(&mut self, depth: usize) -> Result<Expr, CqlError> {
        if self.eat_keyword("NOT") {
            return Ok(Expr::Not(Box::new(self.not(depth + 1)?)));
        }
        if self.peek() == Some(&Tok::Open) {
            self.at += 1;
            let x = self.or(depth + 1)?;
            self.expect(Tok::Close, "')'")?;
            return Ok(x);
        }
        self.predicate()
    }

    fn property(&mut self) -> Result<String, CqlError> {
        match self.toks.get(self.at).map(|t| t.1.clone()) {
            Some(Tok::Word(w)) | Some(Tok::Quoted(w)) => {
                self.at += 1;
                Ok(w)
            }
            _ => err(self.here(), "expected a property name"),
        }
    }

    fn predicate(&mut self) -> Result<Expr, CqlError> {
        if self.keyword("S_INTERSECTS") {
            self.at += 1;
            self.expect(Tok::Open, "'(' after S_INTERSECTS")?;
            let property = self.property()?;
            self.expect(Tok::Comma, "',' between the property and the geometry")?;
            let geometry = self.geometry()?;
            self.expect(Tok::Close, "')'")?;
            return Ok(Expr::Intersects { property, geometry });
        }
        let property = self.property()?;
        let negated = self.eat_keyword("NOT");
        let x = if self.eat_keyword("LIKE") || (self.draft && self.keyword("ILIKE")) {
            let casei = self.eat_keyword("ILIKE");
            match self.literal()? {
                Literal::Text(pattern) => Expr::Like { property, pattern, casei },
                _ => return err(self.here(), "LIKE takes a quoted pattern"),
            }
        } else if self.eat_keyword("IN") {
            self.expect(Tok::Open, "'(' after IN")?;
            let mut values = vec![self.literal()?];
            while self.peek() == Some(&Tok::Comma) {
                self.at += 1;
                values.push(self.literal()?);
            }
            self.expect(Tok::Close, "')' closing the list")?;
            Expr::In { property, values }
        } else if self.eat_keyword("BETWEEN") {
            let low = self.literal()?;
            if !self.eat_keyword("AND") {
                return err(self.here(), "expected AND between BETWEEN's bounds");
            }
            Expr::Between { property, low, high: self.literal()? }
        } else if !negated && self.eat_keyword("IS") {
            let not = self.eat_keyword("NOT");
            if !self.eat_keyword("NULL") {
                return err(self.here(), "expected NULL after IS");
            }
            let x = Expr::IsNull { property };
            return Ok(if not { Expr::Not(Box::new(x)) } else { x });
        } else if negated {
            return err(self.here(), "expected LIKE, IN or BETWEEN after NOT");
        } else {
            self.comparison(property)?
        };
        Ok(if negated { Expr::Not(Box::new(x)) } else { x })
    }

    fn comparison(&mut self, property: String) -> Result<Expr, CqlError> {
        let op = match self.peek() {
            Some(Tok::Op(o)) => cmp_op(o),
            _ => return err(self.here(), "expected a comparison (=, <>, <, <=, >, >=), LIKE, IN, BETWEEN or IS NULL"),
        };
        self.at += 1;
        Ok(Expr::Compare { property, op, value: self.literal()? })
    }

    fn literal(&mut self) -> Result<Literal, CqlError> {
        let here = self.here();
        let t = self.toks.get(self.at).map(|t| t.1.clone());
        self.at += 1;
        match t {
            Some(Tok::Str(s)) => Ok(Literal::Text(s)),
            Some(Tok::Num(n)) => Ok(Literal::Number(n)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("TRUE") => Ok(Literal::Bool(true)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("FALSE") => Ok(Literal::Bool(false)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("DATE") || w.eq_ignore_ascii_case("TIMESTAMP") => {
                self.expect(Tok::Open, "'('")?;
                let text = match self.toks.get(self.at).map(|t| t.1.clone()) {
                    Some(Tok::Str(s)) => s,
                    _ => return err(self.here(), "expected a quoted date or time"),
                };
                self.at += 1;
                self.expect(Tok::Close, "')'")?;
                instant(&w, text).or_else(|d| err(here, d))
            }
            _ => err(here, "expected a value: a quoted text, a number, TRUE, FALSE, DATE('…') or TIMESTAMP('…')"),
        }
    }

    fn numbers(&mut self) -> Result<Vec<f64>, CqlError> {
        let mut out = Vec::new();
        while let Some(Tok::Num(n)) = self.peek() {
            out.push(*n);
            self.at += 1;
        }
        if out.len() < 2 {
            return err(self.here(), "expected a position: two numbers, longitude then latitude");
        }
        Ok(out[..2].to_vec())
    }

    /// `(x y, x y, …)`
    fn ring(&mut self) -> Result<Vec<Vec<f64>>, CqlError> {
        self.expect(Tok::Open, "'('")?;
        let mut ps = vec![self.numbers()?];
        while self.peek() == Some(&Tok::Comma) {
            self.at += 1;
            ps.push(self.numbers()?);
        }
        self.expect(Tok::Close, "')'")?;
        Ok(ps)
    }

    fn geometry(&mut self) -> Result<Value, CqlError> {
        let here = self.here();
        let kind = match self.toks.get(self.at).map(|t| t.1.clone()) {
            Some(Tok::Word(w)) => w.to_ascii_uppercase(),
            _ => return err(here, "expected a geometry: POINT, LINESTRING, POLYGON or BBOX"),
        };
        self.at += 1;
        let g = match kind.as_str() {
            "POINT" => {
                self.expect(Tok::Open, "'('")?;
                let p = self.numbers()?;
                self.expect(Tok::Close, "')'")?;
                serde_json::json!({"type": "Point", "coordinates": p})
            }
            "LINESTRING" => serde_json::json!({"type": "LineString", "coordinates": self.ring()?}),
            "POLYGON" => {
                self.expect(Tok::Open, "'('")?;
                let mut rings = vec![self.ring()?];
                while self.peek() == Some(&Tok::Comma) {
                    self.at += 1;
                    rings.push(self.ring()?);
                }
                self.expect(Tok::Close, "')'")?;
                serde_json::json!({"type": "Polygon", "coordinates": rings})
            }
            "BBOX" => {
                self.expect(Tok::Open, "'('")?;
                let mut n = Vec::new();
                loop {
                    match self.peek() {
                        Some(Tok::Num(x)) => n.push(*x),
                        _ => return err(self.here(), "BBOX takes four numbers: west, south, east, north"),
                    }
                    self.at += 1;
                    if self.peek() == Some(&Tok::Comma) {
                        self.at += 1;
                    } else {
                        break;
                    }
                }
                self.expect(Tok::Close, "')'")?;
                bbox_polygon(&n).or_else(|d| err(here, d))?
            }
            other => {
                return err(
                    here,
                    format!("'{other}' is not a geometry offered here: POINT, LINESTRING, POLYGON or BBOX"),
                );
            }
        };
        Ok(g)
    }
}

fn cmp_op(op: &str) -> CmpOp {
    match op {
        "=" => CmpOp::Eq,
        "<>" => CmpOp::Ne,
        "<" => CmpOp::Lt,
        "<=" => CmpOp::Le,
        ">" => CmpOp::Gt,
        _ => CmpOp::Ge,
    }
}

fn bbox_polygon(n: &[f64]) -> Result<Value, String> {
    let [w, s, e, n] = n[..] else { return Err("BBOX takes four numbers: west, south, east, north".into()) };
    if w > e || s > n {
        return Err("BBOX's west/south corner comes first".into());
    }
    Ok(serde_json::json!({"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}))
}

fn instant(kind: &str, text: String) -> Result<Literal, String> {
    if kind.eq_ignore_ascii_case("DATE") {
        chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map(|_| Literal::Date(text.clone()))
            .map_err(|_| format!("'{text}' is not a date (YYYY-MM-DD)"))
    } else {
        chrono::DateTime::parse_from_rfc3339(&text)
            .map(|_| Literal::Timestamp(text.clone()))
            .map_err(|_| format!("'{text}' is not a timestamp (RFC 3339, e.g. 2026-05-01T08:00:00Z)"))
    }
}

/// A filter in CQL2 text.
pub fn parse_text(s: &str) -> Result<Expr, CqlError> {
    parse_text_as(s, false)
}

/// A filter in the draft language (`cql-text`) as GDAL's OAPIF driver writes it: CQL2 text with
/// ILIKE, and its values read as [`draft_literals`] says.
pub fn parse_draft_text(s: &str) -> Result<Expr, CqlError> {
    let mut x = parse_text_as(s, true)?;
    draft_literals(&mut x);
    Ok(x)
}

fn parse_text_as(s: &str, draft: bool) -> Result<Expr, CqlError> {
    let toks = tokens(s)?;
    if toks.is_empty() {
        return err("character 1", "the filter is empty");
    }
    let mut p = Text { toks, at: 0, end: s.chars().count() + 1, draft };
    let x = p.or(0)?;
    if p.at < p.toks.len() {
        return err(p.here(), "expected AND, OR or the end of the filter");
    }
    Ok(x)
}

// ---------------------------------------------------------------------------------------------
// CQL2 JSON

/// A filter in CQL2 JSON.
pub fn parse_json(v: &Value) -> Result<Expr, CqlError> {
    json_expr(v, "", 0)
}

fn json_expr(v: &Value, at: &str, depth: usize) -> Result<Expr, CqlError> {
    if depth > MAX_DEPTH {
        return err(at, format!("the filter nests deeper than {MAX_DEPTH} levels"));
    }
    let Some(op) = v.get("op").and_then(Value::as_str) else {
        return err(at, "expected an object with \"op\" and \"args\"");
    };
    let Some(args) = v.get("args").and_then(Value::as_array) else {
        return err(format!("{at}/args"), "expected \"args\", an array");
    };
    let arg = |i: usize| format!("{at}/args/{i}");
    match op.to_ascii_lowercase().as_str() {
        "and" | "or" if args.len() >= 2 => {
            let xs =
                args.iter().enumerate().map(|(i, a)| json_expr(a, &arg(i), depth + 1)).collect::<Result<_, _>>()?;
            Ok(if op.eq_ignore_ascii_case("and") { Expr::And(xs) } else { Expr::Or(xs) })
        }
        "and" | "or" => err(format!("{at}/args"), format!("'{op}' takes two arguments or more")),
        "not" if args.len() == 1 => Ok(Expr::Not(Box::new(json_expr(&args[0], &arg(0), depth + 1)?))),
        "not" => err(format!("{at}/args"), "'not' takes 1 arguments"),
        _ => json_predicate(op, args, at),
    }
}

/// A comparison, LIKE, IN, BETWEEN, IS NULL or S_INTERSECTS of CQL2 JSON.
fn json_predicate(op: &str, args: &[Value], at: &str) -> Result<Expr, CqlError> {
    let arg = |i: usize| format!("{at}/args/{i}");
    let property = |i: usize| match args.get(i).and_then(|a| a.get("property")).and_then(Value::as_str) {
        Some(p) => Ok(p.to_owned()),
        None => err(arg(i), "expected {\"property\": \"…\"}"),
    };
    let count = |n: usize| {
        if args.len() == n { Ok(()) } else { err(format!("{at}/args"), format!("'{op}' takes {n} arguments")) }
    };
    Ok(match op.to_ascii_lowercase().as_str() {
        "=" | "<>" | "<" | "<=" | ">" | ">=" => {
            count(2)?;
            Expr::Compare { property: property(0)?, op: cmp_op(op), value: json_literal(&args[1], &arg(1))? }
        }
        "like" => {
            count(2)?;
            match json_literal(&args[1], &arg(1))? {
                Literal::Text(pattern) => Expr::Like { property: property(0)?, pattern, casei: false },
                _ => return err(arg(1), "LIKE takes a text pattern"),
            }
        }
        "in" => {
            count(2)?;
            let Some(list) = args[1].as_array() else { return err(arg(1), "IN takes an array of values") };
            let values = list
                .iter()
                .enumerate()
                .map(|(i, x)| json_literal(x, &format!("{}/{i}", arg(1))))
                .collect::<Result<_, _>>()?;
            Expr::In { property: property(0)?, values }
        }
        "between" => {
            count(3)?;
            Expr::Between {
                property: property(0)?,
                low: json_literal(&args[1], &arg(1))?,
                high: json_literal(&args[2], &arg(2))?,
            }
        }
        "isnull" => {
            count(1)?;
            Expr::IsNull { property: property(0)? }
        }
        "s_intersects" => {
            count(2)?;
            match json_literal(&args[1], &arg(1))? {
                Literal::Geometry(geometry) => Expr::Intersects { property: property(0)?, geometry },
                _ => return err(arg(1), "S_INTERSECTS takes a GeoJSON geometry or {\"bbox\": […]}"),
            }
        }
        other => return err(format!("{at}/op"), format!("'{other}' is not an operator offered here")),
    })
}

fn json_literal(v: &Value, at: &str) -> Result<Literal, CqlError> {
    match v {
        Value::String(s) => Ok(Literal::Text(s.clone())),
        Value::Number(n) => Ok(Literal::Number(n.as_f64().unwrap_or_default())),
        Value::Bool(b) => Ok(Literal::Bool(*b)),
        Value::Object(m) => {
            if let Some(d) = m.get("date").and_then(Value::as_str) {
                return instant("DATE", d.to_owned()).or_else(|e| err(at, e));
            }
            if let Some(t) = m.get("timestamp").and_then(Value::as_str) {
                return instant("TIMESTAMP", t.to_owned()).or_else(|e| err(at, e));
            }
            if let Some(b) = m.get("bbox").and_then(Value::as_array) {
                let n: Vec<f64> = b.iter().filter_map(Value::as_f64).collect();
                return bbox_polygon(&n).map(Literal::Geometry).or_else(|e| err(at, e));
            }
            if m.get("type").and_then(Value::as_str).is_some() && m.contains_key("coordinates") {
                return Ok(Literal::Geometry(v.clone()));
            }
            err(
                at,
                "expected a value: text, number, boolean, {\"date\": …}, {\"timestamp\": …}, a geometry or {\"bbox\": …}",
            )
        }
        _ => err(at, "expected a value"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(s: &str) -> Expr {
        parse_text(s).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }

    #[test]
    fn text_and_json_say_the_same() {
        let t = text(
            "status IN ('planned', 'in_progress') AND (progress >= 50 OR supervised = TRUE) AND NOT title LIKE '%河%'",
        );
        let j = parse_json(&json!({"op": "and", "args": [
            {"op": "in", "args": [{"property": "status"}, ["planned", "in_progress"]]},
            {"op": "or", "args": [{"op": ">=", "args": [{"property": "progress"}, 50]},
                                  {"op": "=", "args": [{"property": "supervised"}, true]}]},
            {"op": "not", "args": [{"op": "like", "args": [{"property": "title"}, "%河%"]}]}
        ]}))
        .unwrap();
        assert_eq!(t, j);
        assert_eq!(t.properties(), ["status", "progress", "supervised", "title"]);
    }

    #[test]
    fn dates_between_nulls_and_geometries() {
        assert_eq!(
            text("due_date BETWEEN DATE('2026-01-01') AND DATE('2026-06-30')"),
            Expr::Between {
                property: "due_date".into(),
                low: Literal::Date("2026-01-01".into()),
                high: Literal::Date("2026-06-30".into())
            }
        );
        assert_eq!(
            text("completed_at IS NOT NULL"),
            Expr::Not(Box::new(Expr::IsNull { property: "completed_at".into() }))
        );
        let Expr::Intersects { geometry, .. } =
            text("S_INTERSECTS(geometry, POLYGON((119.9 30.8, 120 30.8, 120 30.9, 119.9 30.8)))")
        else {
            panic!()
        };
        assert_eq!(geometry["type"], "Polygon");
        let Expr::Intersects { geometry, .. } = text("s_intersects(geometry, bbox(119.9, 30.8, 120.0, 30.9))") else {
            panic!()
        };
        assert_eq!(geometry["coordinates"][0][2], json!([120.0, 30.9]));
        assert_eq!(
            text("\"title\" = 'it''s'"),
            Expr::Compare { property: "title".into(), op: CmpOp::Eq, value: Literal::Text("it's".into()) }
        );
        assert_eq!(text("progress > -1.5e1").properties(), ["progress"]);
    }

    #[test]
    fn a_mistake_is_told_with_its_position() {
        for (bad, at) in [
            ("status = ", "character 10 (the end)"),
            ("status == 'planned'", "character 9"),
            ("progress > 50 AND", "character 18 (the end)"),
            ("title = 'open", "character 9"),
            ("(status = 'planned'", "character 20 (the end)"),
            ("due_date > DATE('2026-13-01')", "character 12"),
            ("status ~ 'x'", "character 8"),
        ] {
            let e = parse_text(bad).unwrap_err();
            assert_eq!(e.at, at, "{bad}: {}", e.detail);
        }
        let deep = format!("{}status = 'x'{}", "(".repeat(40), ")".repeat(40));
        assert!(parse_text(&deep).unwrap_err().detail.contains("deeper"));
        let e = parse_json(&json!({"op": "and", "args": [{"op": "=", "args": [{"property": "status"}]}, true]}))
            .unwrap_err();
        assert_eq!(e.at, "/args/0/args");
        assert_eq!(parse_json(&json!({"op": "regex", "args": []})).unwrap_err().at, "/op");
    }
}

// ---------------------------------------------------------------------------------------------
// What a task filter may name, and checking an expression against it

/// The type of a queryable property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Number,
    Bool,
    Date,
    Timestamp,
    Geometry,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Number => "a number",
            Kind::Bool => "true or false",
            Kind::Date => "a date, DATE('YYYY-MM-DD')",
            Kind::Timestamp => "a time, TIMESTAMP('…')",
            Kind::Geometry => "a geometry",
        }
    }

    fn takes(self, l: &Literal) -> bool {
        matches!(
            (self, l),
            (Kind::Text, Literal::Text(_))
                | (Kind::Number, Literal::Number(_))
                | (Kind::Bool, Literal::Bool(_))
                | (Kind::Date, Literal::Date(_))
                | (Kind::Timestamp, Literal::Timestamp(_))
        )
    }
}

/// The task properties a filter may name: (name, type, for staff only). The store maps each to its
/// column (`store::tasks`), and the queryables (`http::ogc`) describe them.
pub const TASK_QUERYABLES: &[(&str, Kind, bool)] = &[
    ("geometry", Kind::Geometry, false),
    ("code", Kind::Text, false),
    ("title", Kind::Text, false),
    ("category", Kind::Text, false),
    ("status", Kind::Text, false),
    ("progress", Kind::Number, false),
    ("township", Kind::Text, false),
    ("lead_department", Kind::Text, false),
    ("lead_unit", Kind::Text, false),
    ("due_date", Kind::Date, false),
    ("overdue", Kind::Bool, false),
    ("supervised", Kind::Bool, false),
    ("planned_investment", Kind::Number, false),
    ("actual_investment", Kind::Number, false),
    ("target_quantity", Kind::Number, false),
    ("completed_at", Kind::Timestamp, false),
    ("verified_at", Kind::Timestamp, false),
    ("last_report_at", Kind::Timestamp, false),
    ("created_at", Kind::Timestamp, false),
    ("updated_at", Kind::Timestamp, false),
    ("contact_person", Kind::Text, true),
    ("contact_phone", Kind::Text, true),
];

/// The draft language (`cql-text`) as GDAL's OAPIF driver writes it: dates and times as quoted text
/// ('2026-06-01T' for a day, '2026-06-01T08Z' or '2026-06-01T08:30:00Z' for a time) and true/false
/// as 1/0, as OGR's SQL holds them. Such values of a date, time or boolean queryable are read as
/// the DATE, TIMESTAMP or boolean CQL2 would spell; anything else is left for `check` to refuse.
pub fn draft_literals(x: &mut Expr) {
    let fix = |property: &str, l: &mut Literal| {
        let Some(kind) = TASK_QUERYABLES.iter().find(|q| q.0 == property).map(|q| q.1) else { return };
        let fixed = match (kind, &*l) {
            (Kind::Date | Kind::Timestamp, Literal::Text(t)) => draft_instant(kind, t),
            (Kind::Bool, Literal::Number(n)) if *n == 0.0 || *n == 1.0 => Some(Literal::Bool(*n == 1.0)),
            _ => None,
        };
        if let Some(fixed) = fixed {
            *l = fixed;
        }
    };
    match x {
        Expr::And(xs) | Expr::Or(xs) => xs.iter_mut().for_each(draft_literals),
        Expr::Not(x) => draft_literals(x),
        Expr::Compare { property, value, .. } => fix(property, value),
        Expr::In { property, values } => values.iter_mut().for_each(|v| fix(property, v)),
        Expr::Between { property, low, high } => {
            fix(property, low);
            fix(property, high);
        }
        Expr::Like { .. } | Expr::IsNull { .. } | Expr::Intersects { .. } => {}
    }
}

/// A day (`YYYY-MM-DD`, with or without a bare `T`) or, for a time, a day and hours, minutes and
/// seconds as far as they are given, in UTC (`Z`) or RFC 3339.
fn draft_instant(kind: Kind, text: &str) -> Option<Literal> {
    let (day, time) = text.split_once('T').unwrap_or((text, ""));
    let day = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok().filter(|_| day.len() == 10)?;
    if kind == Kind::Date {
        return time.is_empty().then(|| Literal::Date(day.format("%Y-%m-%d").to_string()));
    }
    if chrono::DateTime::parse_from_rfc3339(text).is_ok() {
        return Some(Literal::Timestamp(text.to_owned()));
    }
    let hms = if time.is_empty() { "00".to_owned() } else { time.strip_suffix('Z')?.to_owned() };
    let parts = hms.split(':').count();
    let padded = format!("{day}T{hms}{}Z", ":00".repeat(3usize.checked_sub(parts)?));
    chrono::DateTime::parse_from_rfc3339(&padded).ok().map(|_| Literal::Timestamp(padded))
}

/// Checks that `x` names only properties the caller may filter on (`staff`: the private ones too),
/// each with a value of its type, and that its geometries are whole.
pub fn check(x: &Expr, staff: bool) -> Result<(), CqlError> {
    let kind_of = |p: &str| -> Result<Kind, CqlError> {
        match TASK_QUERYABLES.iter().find(|(n, _, _)| *n == p) {
            Some((_, _, true)) if !staff => err(p, format!("'{p}' is not a property you may filter on")),
            Some((_, k, _)) => Ok(*k),
            None => {
                let open: Vec<&str> = TASK_QUERYABLES.iter().filter(|q| staff || !q.2).map(|q| q.0).collect();
                err(p, format!("there is no property '{p}' to filter on; queryables are: {}", open.join(", ")))
            }
        }
    };
    let typed = |p: &str, l: &Literal| -> Result<(), CqlError> {
        let k = kind_of(p)?;
        if k.takes(l) { Ok(()) } else { err(p, format!("'{p}' is {}: {l:?} is not", k.name())) }
    };
    match x {
        Expr::And(xs) | Expr::Or(xs) => xs.iter().try_for_each(|x| check(x, staff)),
        Expr::Not(x) => check(x, staff),
        Expr::Compare { property, value, .. } => typed(property, value),
        Expr::Like { property, pattern, .. } => typed(property, &Literal::Text(pattern.clone())),
        Expr::In { property, values } => values.iter().try_for_each(|v| typed(property, v)),
        Expr::Between { property, low, high } => typed(property, low).and_then(|()| typed(property, high)),
        Expr::IsNull { property } => kind_of(property).map(|_| ()),
        Expr::Intersects { property, geometry } => match kind_of(property)? {
            Kind::Geometry => whole(geometry).or_else(|d| err(property, d)),
            k => err(property, format!("'{property}' is {}, not a geometry", k.name())),
        },
    }
}

/// A geometry literal PostGIS can read: positions of two finite numbers within WGS 84's range,
/// lines of two positions or more, rings closed and of four or more.
fn whole(g: &Value) -> Result<(), String> {
    fn position(p: &Value) -> Result<(), String> {
        let n: Vec<f64> = p.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default();
        match n[..] {
            [lon, lat, ..] if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) => Ok(()),
            _ => Err(format!("{p} is not a longitude/latitude position")),
        }
    }
    fn line(l: &Value, ring: bool) -> Result<(), String> {
        let ps = l.as_array().ok_or("a line is an array of positions")?;
        ps.iter().try_for_each(position)?;
        if ring && (ps.len() < 4 || ps.first() != ps.last()) {
            return Err("a polygon's ring has four positions or more and ends where it starts".into());
        }
        if ps.len() < 2 { Err("a line has two positions or more".into()) } else { Ok(()) }
    }
    let c = &g["coordinates"];
    let each = |v: &Value, f: &dyn Fn(&Value) -> Result<(), String>| {
        v.as_array().ok_or_else(|| "coordinates are arrays".to_owned())?.iter().try_for_each(f)
    };
    match g["type"].as_str() {
        Some("Point") => position(c),
        Some("MultiPoint") => each(c, &position),
        Some("LineString") => line(c, false),
        Some("MultiLineString") => each(c, &|l| line(l, false)),
        Some("Polygon") => each(c, &|r| line(r, true)),
        Some("MultiPolygon") => each(c, &|p| each(p, &|r| line(r, true))),
        _ => Err("the geometry is not a Point, LineString, Polygon or one of their Multi kinds".into()),
    }
}

#[cfg(test)]
mod check_tests {
    use super::*;

    fn draft(s: &str) -> Expr {
        parse_draft_text(s).unwrap()
    }

    #[test]
    fn the_draft_dialect_of_gdal_reads_as_cql2() {
        assert_eq!(
            draft("(category = 'watershed') AND (due_date < '2026-06-01T')"),
            parse_text("category = 'watershed' AND due_date < DATE('2026-06-01')").unwrap()
        );
        assert_eq!(draft("due_date >= '2026-06-01'"), parse_text("due_date >= DATE('2026-06-01')").unwrap());
        let at = |s: &str| parse_text(&format!("created_at > TIMESTAMP('{s}')")).unwrap();
        assert_eq!(draft("created_at > '2026-06-01T'"), at("2026-06-01T00:00:00Z"));
        assert_eq!(draft("created_at > '2026-06-01T08Z'"), at("2026-06-01T08:00:00Z"));
        assert_eq!(draft("created_at > '2026-06-01T08:30Z'"), at("2026-06-01T08:30:00Z"));
        assert_eq!(draft("created_at > '2026-06-01T08:30:15Z'"), at("2026-06-01T08:30:15Z"));
        assert_eq!(draft("created_at > '2026-06-01T08:30:15+08:00'"), at("2026-06-01T08:30:15+08:00"));
        assert_eq!(
            draft("overdue = 1 AND supervised <> 0"),
            parse_text("overdue = TRUE AND supervised <> FALSE").unwrap()
        );
        // Not a day, a time on a date, a number other than 0/1, text of a text queryable: unchanged,
        // so `check` refuses (or, for text, keeps) them as CQL2 would.
        for kept in [
            "due_date < '2026-13-01'",
            "due_date < '2026-06-01T08Z'",
            "created_at > '2026-06-01T25Z'",
            "overdue = 2",
            "title = '2026-06-01'",
        ] {
            assert_eq!(draft(kept), parse_text(kept).unwrap(), "{kept}");
        }
        assert!(check(&draft("due_date < '2026-06-01T08Z'"), false).is_err());
        assert!(check(&draft("(status = 'planned') AND (due_date < '2026-06-01T')"), false).is_ok());
        let like = |casei| Expr::Like { property: "code".into(), pattern: "ch-%".into(), casei };
        assert_eq!(draft("code ILIKE 'ch-%'"), like(true));
        assert_eq!(draft("code LIKE 'ch-%'"), like(false));
        assert_eq!(parse_text("code ILIKE 'ch-%'").unwrap_err().at, "character 6", "CQL2 has no ILIKE");
    }

    #[test]
    fn only_the_draft_language_is_lenient() {
        assert!(read("due_date < '2026-06-01T'", Some("cql-text"), None).is_ok());
        let x = read("due_date < '2026-06-01T'", Some("cql2-text"), None).unwrap();
        assert!(check(&x, false).is_err());
    }

    #[test]
    fn names_types_and_private_fields_are_checked() {
        assert!(check(&parse_text("status = 'planned' AND progress > 10").unwrap(), false).is_ok());
        let e = check(&parse_text("progress = 'ten'").unwrap(), false).unwrap_err();
        assert!(e.at == "progress" && e.detail.contains("number"), "{e:?}");
        let e = check(&parse_text("contact_phone LIKE '139%'").unwrap(), false).unwrap_err();
        assert_eq!(e.at, "contact_phone");
        assert!(check(&parse_text("contact_phone LIKE '139%'").unwrap(), true).is_ok());
        let e = check(&parse_text("colour = 'red'").unwrap(), false).unwrap_err();
        assert!(e.detail.contains("queryables are") && !e.detail.contains("contact"), "{e:?}");
        assert!(check(&parse_text("due_date < DATE('2026-01-01')").unwrap(), false).is_ok());
        assert!(check(&parse_text("due_date < TIMESTAMP('2026-01-01T00:00:00Z')").unwrap(), false).is_err());
        let open = parse_text("S_INTERSECTS(geometry, POLYGON((119.9 30.8, 120 30.8, 120 30.9)))").unwrap();
        assert!(check(&open, false).unwrap_err().detail.contains("ends where it starts"));
        let far = parse_text("S_INTERSECTS(geometry, POINT(200 30))").unwrap();
        assert!(check(&far, false).is_err());
        assert!(check(&parse_text("S_INTERSECTS(title, POINT(120 30))").unwrap(), false).is_err());
    }
}
