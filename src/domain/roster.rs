//! Accounts in bulk: a roster of officers read from a CSV file (UTF-8 or GBK, as Excel saves it in
//! China) or a JSON array, checked as a whole before anything is stored. Every refused row is named
//! by a pointer `/<row>/<field>`: for CSV the row as a spreadsheet numbers it (the header is row 1),
//! for JSON the index in the array. Accounts without a password get a temporary one, shown once.

use std::collections::{HashMap, HashSet};

use encoding_rs::{Encoding, GBK, UTF_8};
use serde::Serialize;
use serde_json::{Map, Value};

use super::access::Role;
use super::account::{self, NewAccount, check_password_for, check_role_unit};
use super::export::{BOM, csv_field, csv_text};
use super::fields::{self, Props, wrong_type};
use super::{Code, FieldError, Message};

/// The most rows one roster may hold: each password is hashed on purpose slowly (about 50 ms), two
/// at a time, so a full roster is answered in about half a minute.
pub const MAX_ROWS: usize = 1000;

/// The columns, each with the headings it is also found under in counties' spreadsheets.
const COLUMNS: &[(&str, &[&str])] = &[
    ("username", &["用户名", "账号", "帐号", "登录名"]),
    ("display_name", &["姓名", "显示名", "显示名称"]),
    ("role", &["角色"]),
    ("township", &["乡镇", "所属乡镇", "乡镇代码", "乡镇名称", "乡镇（街道）"]),
    ("department", &["部门", "所属部门", "部门代码", "部门名称"]),
    ("password", &["密码", "初始密码"]),
];

/// Roles as a roster may write them: the API's names, or the words the bureau uses.
const ROLES: &[(&str, Role)] = &[
    ("admin", Role::Admin),
    ("bureau", Role::Bureau),
    ("township", Role::Township),
    ("管理员", Role::Admin),
    ("环保局", Role::Bureau),
    ("乡镇", Role::Township),
    ("department", Role::Department),
    ("部门", Role::Department),
];

/// How a roster is taken (the query string of POST /api/users/bulk).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// Rows whose username exists are left out (and listed) instead of refused.
    pub skip_existing: bool,
    /// The CSV file's encoding, when it is neither UTF-8 nor GBK or cannot be told.
    pub encoding: Option<String>,
}

impl Options {
    pub fn parse(pairs: &[(String, String)]) -> Result<Options, Vec<FieldError>> {
        let (mut options, mut errors) = (Options::default(), Vec::new());
        for (name, value) in pairs {
            match (name.as_str(), value.as_str()) {
                ("skip_existing", "true" | "") => options.skip_existing = true,
                ("skip_existing", "false") => options.skip_existing = false,
                ("skip_existing", v) => errors.push(
                    FieldError::new(name, Code::Format, format!("'{v}' is not true or false"))
                        .with("expected", "boolean")
                        .with("got", v),
                ),
                ("encoding", v) => options.encoding = Some(v.to_owned()),
                _ => errors.push(
                    FieldError::new(
                        name,
                        Code::UnknownField,
                        "unknown parameter; parameters are: skip_existing, encoding",
                    )
                    .with("name", name.as_str())
                    .with("allowed", vec!["skip_existing", "encoding"]),
                ),
            }
        }
        if errors.is_empty() { Ok(options) } else { Err(errors) }
    }
}

/// One row as read: its number (see the module's note) and its fields as a JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub row: usize,
    pub fields: Value,
}

/// A JSON array of account objects.
pub fn from_json(body: &Value) -> Result<Vec<Row>, Vec<FieldError>> {
    let Value::Array(items) = body else {
        return Err(vec![wrong_type("array", "must be a JSON array of accounts", body).at("")]);
    };
    Ok(items.iter().enumerate().map(|(i, v)| Row { row: i, fields: v.clone() }).collect())
}

/// The text of a CSV file: in `encoding` when given, else UTF-8 (with or without a byte order
/// mark) when it is valid UTF-8, else GBK (what Excel writes on a Chinese Windows).
pub fn decode(bytes: &[u8], encoding: Option<&str>) -> Result<(String, &'static str), FieldError> {
    let named = match encoding.map(str::trim).filter(|l| !l.is_empty()) {
        Some(label) => Some(Encoding::for_label(label.as_bytes()).ok_or_else(|| {
            let detail = format!("'{label}' is not an encoding greenledger knows (UTF-8, GBK, GB18030)");
            FieldError::new("encoding", Code::UnknownValue, detail).with("got", label)
        })?),
        None => None,
    };
    let bytes = bytes.strip_prefix(BOM.as_bytes()).unwrap_or(bytes);
    let chosen = named.unwrap_or(if std::str::from_utf8(bytes).is_ok() { UTF_8 } else { GBK });
    match chosen.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(text) => Ok((text.into_owned(), chosen.name())),
        None => Err(FieldError::new(
            "",
            Code::NotText,
            format!(
                "the file is not valid {} text: save it as CSV in UTF-8 or GBK, or name its encoding",
                chosen.name()
            ),
        )),
    }
}

/// The column a heading names, if any.
fn column(heading: &str) -> Option<&'static str> {
    let h = heading.trim().trim_start_matches('\u{feff}');
    COLUMNS.iter().find(|(name, aliases)| h.eq_ignore_ascii_case(name) || aliases.contains(&h)).map(|(name, _)| *name)
}

/// The rows of a CSV text with a heading row. Rows with every cell empty (Excel leaves some at the
/// end) are left out; an empty cell is a field not given.
pub fn from_csv(text: &str) -> Result<Vec<Row>, Vec<FieldError>> {
    // Line ends as LF: after a CRLF the reader's positions name the line before.
    let text = text.replace("\r\n", "\n");
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(text.as_bytes());
    let headings = reader
        .headers()
        .map_err(|e| vec![FieldError::new("/1", Code::BadFile, format!("cannot read the headings: {e}"))])?;
    let mut errors = Vec::new();
    let columns: Vec<Option<&str>> = headings.iter().map(column).collect();
    for (heading, _) in headings.iter().zip(&columns).filter(|(h, c)| c.is_none() && !h.trim().is_empty()) {
        let known: Vec<&str> = COLUMNS.iter().map(|(n, _)| *n).collect();
        let detail = format!("unknown column '{heading}'; columns are: {}", known.join(", "));
        errors.push(FieldError::new("/1", Code::UnknownField, detail).with("name", heading).with("allowed", known));
    }
    if !columns.contains(&Some("username")) {
        let found: Vec<&str> = headings.iter().collect();
        errors.push(
            FieldError::new("/1", Code::NoColumn, "the file has no 'username' (用户名) column")
                .with("got", "username")
                .with("columns", found),
        );
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                errors.push(FieldError::new(format!("/{line}"), Code::BadFile, format!("cannot read the row: {e}")));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        let fields: Map<String, Value> = columns
            .iter()
            .zip(record.iter())
            .filter_map(|(c, cell)| Some((c.as_ref()?.to_string(), cell.trim())))
            .filter(|(_, cell)| !cell.is_empty())
            .map(|(c, cell)| (c, Value::from(cell)))
            .collect();
        if !fields.is_empty() {
            rows.push(Row { row: line, fields: Value::Object(fields) });
        }
    }
    if errors.is_empty() { Ok(rows) } else { Err(errors) }
}

fn role(v: &Value) -> Result<Role, Message> {
    let s = fields::string(v)?.trim();
    ROLES.iter().find(|(name, _)| *name == s).map(|(_, r)| *r).ok_or_else(|| {
        let detail = format!("'{s}' is not a role: admin (管理员), bureau (环保局) or township (乡镇)");
        let allowed: Vec<&str> = ROLES.iter().map(|(name, _)| *name).collect();
        Message::new(Code::UnknownValue, detail).with("got", s).with("allowed", allowed)
    })
}

/// What a roster is checked against: the county's townships (code, name), the usernames already
/// taken, and whether a taken one is skipped rather than refused.
pub struct Ledger<'a> {
    pub townships: &'a [(String, String)],
    /// (code, name in Chinese, name in English) of every department.
    pub departments: &'a [(String, String, String)],
    pub taken: &'a HashSet<String>,
    pub skip_existing: bool,
}

impl Ledger<'_> {
    /// The township code a cell names: a code of the county, or the name of exactly one township.
    fn township(&self, v: &Value) -> Result<String, Message> {
        let s = fields::text(100, false)(v)?;
        if self.townships.iter().any(|(code, _)| *code == s) {
            return Ok(s);
        }
        let named: Vec<&str> = self.townships.iter().filter(|(_, n)| *n == s).map(|(c, _)| c.as_str()).collect();
        match named[..] {
            [code] => Ok(code.to_owned()),
            [] if s.bytes().all(|b| b.is_ascii_digit()) => {
                Err(Message::new(Code::UnknownValue, format!("unknown township '{s}'")).with("got", s))
            }
            [] => {
                let detail = format!(
                    "no township of the county is called '{s}' (give its name as the ledger has it, or its code)"
                );
                Err(Message::new(Code::UnknownValue, detail).with("got", s))
            }
            _ => {
                let detail = format!("several townships are called '{s}' ({}): give the code", named.join(", "));
                Err(Message::new(Code::AmbiguousTownship, detail).with("got", s.as_str()).with("candidates", named))
            }
        }
    }

    /// The department code a cell names: a code, or a department's name in either language.
    fn department(&self, v: &Value) -> Result<String, Message> {
        let s = fields::text(100, false)(v)?;
        let found =
            self.departments.iter().find(|(code, zh, en)| *code == s || *zh == s || en.eq_ignore_ascii_case(&s));
        match found {
            Some((code, _, _)) => Ok(code.clone()),
            None => {
                let detail =
                    format!("no department is called '{s}' (give its code or its name as the administrator keeps it)");
                Err(Message::new(Code::UnknownValue, detail).with("got", s))
            }
        }
    }
}

/// An account the roster makes: its row, and whether its password was made here (to hand out).
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub row: usize,
    pub account: NewAccount,
    pub generated: bool,
}

/// A row left out because its username exists (with `skip_existing`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Skipped {
    pub row: usize,
    pub username: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub accounts: Vec<Planned>,
    pub skipped: Vec<Skipped>,
}

/// Checks one row; `None` when it is refused (its errors are in `errors`).
fn read_row(r: &Row, ledger: &Ledger, errors: &mut Vec<FieldError>) -> Option<(NewAccount, bool)> {
    let mut p = match Props::object(&r.fields, &format!("/{}", r.row)) {
        Ok(p) => p,
        Err(e) => {
            errors.extend(e);
            return None;
        }
    };
    p.refuse_unknown(&COLUMNS.iter().map(|(n, _)| *n).collect::<Vec<_>>(), &[]);
    let username = p.required("username", account::username);
    let display_name = p.optional("display_name", fields::text(100, true)).unwrap_or_default();
    let role = p.required("role", role);
    let township = p.optional("township", |v| ledger.township(v));
    let department = p.optional("department", |v| ledger.department(v));
    let password = p.optional("password", account::password);
    let (Some(username), Some(role)) = (username, role) else {
        errors.append(&mut p.errors);
        return None;
    };
    if p.errors.is_empty() {
        let rules = check_role_unit(role, township.as_deref(), department.as_deref())
            .and_then(|()| password.as_deref().map_or(Ok(()), |pw| check_password_for(&username, pw)));
        if let Err(e) = rules {
            let pointer = format!("/{}{}", r.row, e.pointer);
            p.errors.push(e.moved(pointer));
        }
    }
    if !p.errors.is_empty() {
        errors.append(&mut p.errors);
        return None;
    }
    let generated = password.is_none();
    let account =
        NewAccount { username, display_name, role, township, department, password: password.unwrap_or_default() };
    Some((account, generated))
}

/// Checks every row of the roster against the ledger and gives each account without a password
/// one from `generate`; all the refusals at once, or the plan.
pub fn plan(rows: &[Row], ledger: &Ledger, mut generate: impl FnMut() -> String) -> Result<Plan, Vec<FieldError>> {
    if rows.is_empty() {
        return Err(vec![FieldError::new("", Code::EmptyRoster, "the roster holds no accounts")]);
    }
    if rows.len() > MAX_ROWS {
        let detail = format!("at most {MAX_ROWS} accounts at a time, got {}", rows.len());
        return Err(vec![FieldError::new("", Code::TooMany, detail).with("max", MAX_ROWS).with("got", rows.len())]);
    }
    let (mut errors, mut plan) = (Vec::new(), Plan { accounts: Vec::new(), skipped: Vec::new() });
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in rows {
        let Some((mut account, generated)) = read_row(r, ledger, &mut errors) else { continue };
        let pointer = format!("/{}/username", r.row);
        if let Some(first) = seen.insert(account.username.clone(), r.row) {
            let detail = format!("'{}' is also on row {first}", account.username);
            let e = FieldError::new(pointer, Code::UsernameTaken, detail).with("username", account.username.as_str());
            errors.push(e.with("row", first));
        } else if ledger.taken.contains(&account.username) && ledger.skip_existing {
            let reason = format!("the username '{}' exists; skipped", account.username);
            plan.skipped.push(Skipped { row: r.row, username: account.username, reason });
        } else if ledger.taken.contains(&account.username) {
            let why = format!("the username '{}' is taken (skip_existing leaves such rows out)", account.username);
            errors.push(FieldError::new(pointer, Code::UsernameTaken, why).with("username", account.username.as_str()));
        } else {
            if generated {
                account.password = generate();
            }
            plan.accounts.push(Planned { row: r.row, account, generated });
        }
    }
    if errors.is_empty() { Ok(plan) } else { Err(errors) }
}

/// The temporary passwords to hand out, as CSV (UTF-8 with a byte order mark, for Excel): one line
/// per account whose password was made here; `names` gives each township's name.
pub fn passwords_csv(accounts: &[Planned], names: &[(String, String)]) -> String {
    let mut out = format!("{BOM}username,display_name,role,township,township_name,department,temporary_password\r\n");
    for p in accounts.iter().filter(|p| p.generated) {
        let a = &p.account;
        let township = a.township.as_deref().unwrap_or("");
        let name = names.iter().find(|(c, _)| c == township).map_or("", |(_, n)| n.as_str());
        let cells = [
            csv_field(&a.username),
            csv_text(&a.display_name),
            csv_field(a.role.as_str()),
            csv_field(township),
            csv_text(name),
            csv_field(a.department.as_deref().unwrap_or("")),
            csv_field(&a.password),
        ];
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn townships() -> Vec<(String, String)> {
        [("330599001", "城东街道"), ("330599101", "青溪镇"), ("330599102", "青溪镇")]
            .iter()
            .map(|(c, n)| (c.to_string(), n.to_string()))
            .collect()
    }

    fn check(rows: &[Row], taken: &[&str], skip: bool) -> Result<Plan, Vec<FieldError>> {
        let (t, taken) = (townships(), taken.iter().map(|s| s.to_string()).collect());
        let mut n = 0;
        let d = vec![("water".to_string(), "水利局".to_string(), "Water Resources Bureau".to_string())];
        plan(rows, &Ledger { townships: &t, departments: &d, taken: &taken, skip_existing: skip }, || {
            n += 1;
            format!("temporary-password-{n}")
        })
    }

    fn pointers(e: &[FieldError]) -> Vec<&str> {
        e.iter().map(|x| x.pointer.as_str()).collect()
    }

    #[test]
    fn gbk_from_excel_is_read_and_chinese_headings_are_understood() {
        let text = "用户名,姓名,角色,乡镇,密码\r\nwang.wei,王伟,乡镇,城东街道,\r\n,,,,\r\nli.na,李娜,bureau,,a long password 7\r\n";
        let (gbk, _, _) = GBK.encode(text);
        let (decoded, encoding) = decode(&gbk, None).unwrap();
        assert_eq!((decoded.as_str(), encoding), (text, "GBK"));
        let rows = from_csv(&decoded).unwrap();
        assert_eq!(rows.iter().map(|r| r.row).collect::<Vec<_>>(), [2, 4], "the empty row 3 is left out");
        let plan = check(&rows, &[], false).unwrap();
        let a = &plan.accounts[0];
        assert_eq!((a.account.township.as_deref(), a.generated), (Some("330599001"), true));
        assert_eq!(a.account.password, "temporary-password-1");
        assert!(!plan.accounts[1].generated);
    }

    #[test]
    fn utf8_with_a_byte_order_mark_and_a_named_encoding() {
        let (text, enc) = decode("\u{feff}username\r\nx1\r\n".as_bytes(), None).unwrap();
        assert_eq!((text.as_str(), enc), ("username\r\nx1\r\n", "UTF-8"));
        assert_eq!(decode(b"\xff\xff", Some("utf-8")).unwrap_err().pointer, "");
        assert_eq!(decode(b"x", Some("klingon")).unwrap_err().pointer, "encoding");
    }

    #[test]
    fn every_refused_row_is_named_with_its_field() {
        let text = "username,role,township,colour\nok.one,township,330599001,\nBad Name,boss,青溪镇,\n";
        let e = from_csv(text).unwrap_err();
        assert_eq!(pointers(&e), ["/1"], "an unknown column is refused at the headings");
        let rows = from_csv("username,role,township,password\nok.one,township,330599001,\nBad Name,boss,,\nt2,township,青溪镇,short\nt3,township,仙境镇,\nb1,bureau,330599001,\n").unwrap();
        let e = check(&rows, &[], false).unwrap_err();
        assert_eq!(
            pointers(&e),
            ["/3/username", "/3/role", "/4/township", "/4/password", "/5/township", "/6/township"]
        );
        assert!(e[2].detail.contains("330599101, 330599102"), "{}", e[2].detail);
        assert!(e[4].detail.contains("'仙境镇'"), "{}", e[4].detail);
        assert!(e[5].detail.contains("no township"), "{}", e[5].detail);
    }

    #[test]
    fn taken_and_repeated_usernames_are_refused_or_skipped() {
        let rows = from_json(&json!([
            {"username": "bureau", "role": "bureau"},
            {"username": "new.one", "role": "bureau"},
            {"username": "NEW.ONE", "role": "admin"},
        ]))
        .unwrap();
        let e = check(&rows, &["bureau"], false).unwrap_err();
        assert_eq!(pointers(&e), ["/0/username", "/2/username"]);
        assert!(e[1].detail.contains("also on row 1"), "{}", e[1].detail);
        let plan = check(&rows[..2], &["bureau"], true).unwrap();
        assert_eq!(plan.skipped[0].username, "bureau");
        assert_eq!(plan.accounts.len(), 1);
    }

    #[test]
    fn options_are_read_strictly() {
        let pairs = |q: &[(&str, &str)]| q.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
        let o = Options::parse(&pairs(&[("skip_existing", "true"), ("encoding", "GBK")])).unwrap();
        assert_eq!(o, Options { skip_existing: true, encoding: Some("GBK".into()) });
        let e = Options::parse(&pairs(&[("skip_existing", "yes"), ("skip", "true")])).unwrap_err();
        assert_eq!(pointers(&e), ["skip_existing", "skip"]);
    }

    #[test]
    fn an_empty_or_oversized_roster_is_refused() {
        assert!(check(&[], &[], false).is_err());
        assert!(from_json(&json!({"username": "x"})).is_err());
    }

    #[test]
    fn the_handout_lists_the_made_passwords_only() {
        let rows = from_json(&json!([
            {"username": "t1", "role": "township", "township": "330599001", "display_name": "=SUM(A1)"},
            {"username": "b1", "role": "bureau", "password": "a long password 7"},
        ]))
        .unwrap();
        let plan = check(&rows, &[], false).unwrap();
        let csv = passwords_csv(&plan.accounts, &townships());
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 2, "{csv}");
        assert_eq!(lines[1], "t1,'=SUM(A1),township,330599001,城东街道,,temporary-password-1");
    }

    #[test]
    fn department_officers_are_named_by_their_department_code_or_name() {
        let rows = from_json(&json!([
            {"username": "w1", "role": "部门", "department": "水利局"},
            {"username": "w2", "role": "department", "department": "water"},
            {"username": "w3", "role": "department", "department": "住建局"},
            {"username": "w4", "role": "department"},
        ]))
        .unwrap();
        let e = check(&rows, &[], false).unwrap_err();
        assert_eq!(pointers(&e), ["/2/department", "/3/department"]);
        let plan = check(&rows[..2], &[], false).unwrap();
        assert!(plan.accounts.iter().all(|p| p.account.department.as_deref() == Some("water")));
        let csv = passwords_csv(&plan.accounts, &townships());
        assert!(csv.lines().nth(1).unwrap().starts_with("w1,,department,,,water,"), "{csv}");
    }
}
