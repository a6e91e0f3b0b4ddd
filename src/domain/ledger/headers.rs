//! The header map: which column fills which task field. Bureaus name their columns in many ways
//! (任务名称, 项目名称, 标题 …); the defaults know the usual names and greenledger's own export
//! headers, and a caller's `map` overrides them for a sheet of its own (`{"标题列": "title"}`).
//! A column that maps to nothing is not refused: it is listed in the answer as ignored, with why,
//! so a dry run shows what would be left behind.

use serde::Serialize;
use serde_json::Value;

use super::{Table, cell_ref, column_letter};
use crate::domain::task::WRITABLE;
use crate::domain::{Code, FieldError, Message};

/// Where a column's values go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A writable task property, by its API name (`title`, `due_date`, …).
    Field(&'static str),
    Lon,
    Lat,
    /// The whole geometry as WKT (what greenledger's CSV export writes).
    Wkt,
    /// Known, and deliberately not read.
    Ignore,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Field(f) => f,
            Target::Lon => "lon",
            Target::Lat => "lat",
            Target::Wkt => "wkt",
            Target::Ignore => "ignore",
        }
    }

    /// The target a caller's map names.
    pub fn named(name: &str) -> Result<Target, String> {
        match name.trim() {
            "lon" => Ok(Target::Lon),
            "lat" => Ok(Target::Lat),
            "wkt" => Ok(Target::Wkt),
            "ignore" => Ok(Target::Ignore),
            n => WRITABLE.iter().find(|f| **f == n).map(|f| Target::Field(f)).ok_or_else(|| {
                format!(
                    "'{n}' is not a task field; map a column to one of: {}, lon, lat, wkt, ignore",
                    WRITABLE.join(", ")
                )
            }),
        }
    }
}

use Target::{Field, Ignore, Lat, Lon, Wkt};

/// The default header map: for each target the headers meaning it, preferred first (a sheet with
/// both 乡镇代码 and 乡镇(街道), as greenledger's workbook, is read by code). Headers are compared
/// after [`normalize`]: full-width brackets as ASCII, no spaces or line breaks, no `*`, lower case.
const DEFAULTS: &[(Target, &[&str])] = &[
    (Field("title"), &["title", "任务名称", "标题", "项目名称", "任务", "名称", "整治任务", "整治项目", "工程名称"]),
    (
        Field("description"),
        &["description", "任务内容", "整治内容", "建设内容", "工作内容", "主要内容", "具体内容", "描述"],
    ),
    (Field("category"), &["category", "类别代码", "类别", "任务类别", "项目类别", "任务类型", "类型", "category_name"]),
    (Field("status"), &["status", "状态", "任务状态", "当前状态", "进展状态"]),
    (Field("progress"), &["progress", "进度(%)", "进度", "完成进度", "完成进度(%)", "完成比例", "进度百分比"]),
    (Field("lead_unit"), &["lead_unit", "牵头单位", "责任单位", "实施单位", "牵头部门", "责任主体", "主体单位"]),
    (Field("contact_person"), &["contact_person", "联系人", "责任人"]),
    (Field("contact_phone"), &["contact_phone", "联系电话", "电话", "联系方式", "手机"]),
    (Field("due_date"), &["due_date", "完成时限", "截止日期", "完成期限", "计划完成时间", "计划完成日期", "办结时限"]),
    (
        Field("planned_investment"),
        &[
            "planned_investment",
            "计划投资(万元)",
            "计划投资",
            "计划总投资(万元)",
            "总投资(万元)",
            "投资额(万元)",
            "投资(万元)",
        ],
    ),
    (
        Field("actual_investment"),
        &["actual_investment", "实际投资(万元)", "实际投资", "已完成投资(万元)", "完成投资(万元)"],
    ),
    (Field("target_quantity"), &["target_quantity", "目标量", "目标数量", "工程量"]),
    (Field("target_unit"), &["target_unit", "单位", "计量单位", "目标单位"]),
    (Field("visibility"), &["visibility", "公开范围", "是否公开"]),
    (Field("supervised"), &["supervised", "是否督办", "督办"]),
    (
        Field("township"),
        &[
            "township",
            "乡镇代码",
            "乡镇(街道)",
            "乡镇",
            "所属乡镇",
            "所属乡镇(街道)",
            "乡镇街道",
            "镇街",
            "township_name",
        ],
    ),
    (Field("completed_at"), &["completed_at", "完成时间", "实际完成时间", "完成日期"]),
    (Field("cancel_reason"), &["cancel_reason", "取消原因"]),
    (Lon, &["lon", "lng", "longitude", "经度"]),
    (Lat, &["lat", "latitude", "纬度"]),
    (Wkt, &["wkt", "几何(wkt)", "几何", "geometry"]),
];

/// Headers known and not read, with why: what greenledger computes itself (its exports carry them)
/// and a sheet's own bookkeeping.
const SKIPPED: &[(&str, &[&str])] = &[
    ("greenledger gives every imported task a new code and id", &["id", "code", "任务编号", "编号"]),
    ("a row number", &["序号"]),
    (
        "computed by greenledger",
        &[
            "overdue",
            "是否逾期",
            "verified_at",
            "销号时间",
            "last_report_at",
            "最近上报",
            "created_at",
            "创建时间",
            "updated_at",
        ],
    ),
    ("kept by the workflow: a return is not imported", &["return_reason", "退回原因"]),
];

/// A header as compared: full-width brackets and colons as ASCII, without white space (line breaks
/// inside a cell included) or the `*` marking required columns, ASCII letters in lower case.
pub fn normalize(header: &str) -> String {
    header
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '*' && *c != '＊')
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            '：' => ':',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// The caller's map, a JSON object from header to target name.
pub fn parse_map(text: &str) -> Result<Vec<(String, String)>, Message> {
    let example = r#"send a JSON object from column name to field, e.g. {"标题列": "title", "备注": "ignore"}"#;
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(text) else {
        return Err(Message::new(Code::Format, example).with("expected", "object").with("got", text));
    };
    let mut map = Vec::new();
    for (header, target) in obj {
        let Some(target) = target.as_str() else {
            return Err(Message::new(Code::WrongType, format!("the field for '{header}' must be a string; {example}"))
                .with("expected", "string")
                .with("type", json_type(&target)));
        };
        Target::named(target).map_err(|e| {
            let mut allowed: Vec<&str> = WRITABLE.to_vec();
            allowed.extend(["lon", "lat", "wkt", "ignore"]);
            Message::new(Code::UnknownValue, format!("'{header}': {e}")).with("got", target).with("allowed", allowed)
        })?;
        map.push((header, target.trim().to_owned()));
    }
    Ok(map)
}

/// The refusals of the map's headers that name no column of `table` (`headers`, normalised).
fn not_columns(table: &Table, headers: &[String], map: &[(String, String)]) -> Vec<FieldError> {
    let unknown = map.iter().filter(|(header, _)| !headers.contains(&normalize(header)));
    unknown
        .map(|(header, _)| {
            let columns = named_columns(table);
            let detail =
                format!("'{header}' is not a column of {}; its columns are: {}", table.file, columns.join(", "));
            FieldError::new("map", Code::NoColumn, detail).with("got", header.as_str()).with("columns", columns)
        })
        .collect()
}

/// The headers of `table` that name a column.
fn named_columns(table: &Table) -> Vec<String> {
    table.headers.iter().filter(|h| !h.trim().is_empty()).cloned().collect()
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// How one column of the file is used, as the answer lists it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ColumnUse {
    /// The column's letter.
    #[schema(example = "B")]
    pub column: String,
    #[schema(example = "任务名称")]
    pub header: String,
    /// The task field it fills (`title`, `lon`, `wkt`, …); null when the column is ignored.
    pub field: Option<String>,
    /// Why an ignored column is ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Which column fills which target, decided once for the whole sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub columns: Vec<ColumnUse>,
    chosen: Vec<(Target, usize)>,
}

/// A column's claim on a target: (caller's map first, then the default's rank, then position).
type Claim = (Target, (bool, usize), usize);

impl Plan {
    /// The plan for `table`'s headers with the caller's `map`, or every reason there can be none:
    /// a map naming a header the sheet lacks, two columns mapped to one field, no title, category
    /// or position column.
    pub fn build(table: &Table, map: &[(String, String)]) -> Result<Plan, Vec<FieldError>> {
        let headers: Vec<String> = table.headers.iter().map(|h| normalize(h)).collect();
        let mut errors = not_columns(table, &headers, map);
        let claims: Vec<Option<Claim>> =
            headers.iter().enumerate().map(|(col, h)| claim(h, map).map(|(t, rank)| (t, rank, col))).collect();
        let mut chosen: Vec<(Target, usize)> = Vec::new();
        let mut columns = Vec::new();
        for (col, header) in table.headers.iter().enumerate() {
            let (field, note) = match claims[col] {
                _ if header.trim().is_empty() => {
                    if !table.rows.iter().any(|r| !r.cell(col).is_blank()) {
                        continue;
                    }
                    (None, Some(format!("no name in row {}: ignored", table.header_row)))
                }
                None => (None, Some(unknown_note(header))),
                Some((Ignore, _, _)) => (None, Some(skip_reason(&headers[col]).to_owned())),
                Some((target, rank, _)) => match first_claim(&claims, target) {
                    Some((_, first_rank, first)) if first != col => {
                        if !rank.0 && !first_rank.0 {
                            let detail = format!(
                                "the map gives {} to both column {} ({}) and column {} ({header}): map one of them to ignore",
                                target.name(),
                                column_letter(first),
                                table.headers[first],
                                column_letter(col)
                            );
                            errors.push(
                                FieldError::new(cell_ref(col, table.header_row), Code::MappedTwice, detail)
                                    .with("field", target.name())
                                    .with("first", format!("{}（{}）", column_letter(first), table.headers[first]))
                                    .with("second", format!("{}（{header}）", column_letter(col))),
                            );
                        }
                        let note = format!("{} is read from column {}: ignored", target.name(), column_letter(first));
                        (None, Some(note))
                    }
                    _ => {
                        chosen.push((target, col));
                        (Some(target.name().to_owned()), None)
                    }
                },
            };
            columns.push(ColumnUse { column: column_letter(col), header: header.clone(), field, note });
        }
        let plan = Plan { columns, chosen };
        errors.extend(plan.missing(table));
        if errors.is_empty() { Ok(plan) } else { Err(errors) }
    }

    /// The column read for `target`.
    pub fn column(&self, target: Target) -> Option<usize> {
        self.chosen.iter().find(|(t, _)| *t == target).map(|(_, c)| *c)
    }

    /// Every (target, column) read, left to right.
    pub fn targets(&self) -> impl Iterator<Item = (Target, usize)> + '_ {
        self.chosen.iter().copied()
    }

    /// The column's header as the file writes it.
    pub fn header(&self, column: usize) -> Option<&str> {
        let letter = column_letter(column);
        self.columns.iter().find(|c| c.column == letter).map(|c| c.header.as_str())
    }

    /// The refusals for columns a task cannot be made without.
    fn missing(&self, table: &Table) -> Vec<FieldError> {
        let at = format!("{0}:{0}", table.header_row);
        let mut errors = Vec::new();
        let columns = named_columns(table);
        let refusal = |detail: String| FieldError::new(&at, Code::NoColumn, detail).with("columns", columns.clone());
        let named = |target: Target, names: &str| {
            format!(
                "{}: no column gives the task's {}: name one {names}, or map a column to it (map={{\"<column>\": \"{}\"}})",
                table.file,
                target.name(),
                target.name()
            )
        };
        if self.column(Field("title")).is_none() {
            errors.push(refusal(named(Field("title"), "任务名称 or 项目名称")));
        }
        if self.column(Field("category")).is_none() {
            errors.push(refusal(named(Field("category"), "类别")));
        }
        let (lon, lat) = (self.column(Lon), self.column(Lat));
        if self.column(Wkt).is_none() && (lon.is_none() || lat.is_none()) {
            let which = match (lon, lat) {
                (Some(_), None) => "there is a 经度 (longitude) column but no 纬度 (latitude) column",
                (None, Some(_)) => "there is a 纬度 (latitude) column but no 经度 (longitude) column",
                _ => "no column gives the position",
            };
            errors.push(refusal(format!("{}: {which}: name two columns 经度 and 纬度, or one WKT", table.file)));
        }
        errors
    }
}

/// The target a (normalised) header claims, and how strongly.
fn claim(header: &str, map: &[(String, String)]) -> Option<(Target, (bool, usize))> {
    if let Some((_, target)) = map.iter().find(|(h, _)| normalize(h) == header) {
        return Target::named(target).ok().map(|t| (t, (false, 0)));
    }
    if SKIPPED.iter().any(|(_, names)| names.contains(&header)) {
        return Some((Ignore, (true, 0)));
    }
    DEFAULTS
        .iter()
        .find_map(|(target, names)| names.iter().position(|n| *n == header).map(|rank| (*target, (true, rank))))
}

/// The strongest claim on `target`: the caller's map, then the default's rank, then the leftmost.
/// (`(false, _)` sorts before `(true, _)`: a mapped column wins over a default.)
fn first_claim(claims: &[Option<Claim>], target: Target) -> Option<Claim> {
    claims.iter().flatten().filter(|(t, ..)| *t == target).min_by_key(|(_, rank, col)| (*rank, *col)).copied()
}

fn skip_reason(header: &str) -> &'static str {
    SKIPPED.iter().find(|(_, names)| names.contains(&header)).map_or("ignored", |(why, _)| why)
}

fn unknown_note(header: &str) -> String {
    format!("not a task field: ignored (to read it, map it: map={{\"{header}\": \"description\"}} or another field)")
}

#[cfg(test)]
mod tests {
    use super::super::{Cell, Row};
    use super::*;

    fn table(headers: &[&str]) -> Table {
        Table {
            file: "台账.xlsx".into(),
            format: "xlsx",
            sheet: None,
            encoding: None,
            header_row: 1,
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: vec![Row { number: 2, cells: vec![Cell::Text("x".into()); headers.len()] }],
        }
    }

    fn map(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(h, t)| (h.to_string(), t.to_string())).collect()
    }

    fn fields(plan: &Plan) -> Vec<(&str, Option<&str>)> {
        plan.columns.iter().map(|c| (c.header.as_str(), c.field.as_deref())).collect()
    }

    #[test]
    fn the_usual_chinese_headers_map_to_task_fields() {
        let t = table(&[
            "序号",
            "项目名称",
            "任务类别",
            "所属乡镇",
            "牵头单位",
            "完成时限",
            "计划投资（万元）",
            "经 度",
            "纬度",
            "联系人",
            "联系电话",
            "进度",
            "状态",
            "*整治内容",
        ]);
        let plan = Plan::build(&t, &[]).unwrap();
        assert_eq!(
            fields(&plan),
            [
                ("序号", None),
                ("项目名称", Some("title")),
                ("任务类别", Some("category")),
                ("所属乡镇", Some("township")),
                ("牵头单位", Some("lead_unit")),
                ("完成时限", Some("due_date")),
                ("计划投资（万元）", Some("planned_investment")),
                ("经 度", Some("lon")),
                ("纬度", Some("lat")),
                ("联系人", Some("contact_person")),
                ("联系电话", Some("contact_phone")),
                ("进度", Some("progress")),
                ("状态", Some("status")),
                ("*整治内容", Some("description")),
            ]
        );
        assert_eq!(plan.columns[0].note.as_deref(), Some("a row number"));
        assert_eq!(plan.column(Field("due_date")), Some(5));
        assert_eq!(plan.header(6), Some("计划投资（万元）"));
    }

    #[test]
    fn greenledger_own_headers_map_and_the_code_column_wins_over_the_name() {
        let t = table(&["任务编号", "任务名称", "类别", "乡镇代码", "乡镇(街道)", "是否逾期", "经度", "纬度", "WKT"]);
        let plan = Plan::build(&t, &[]).unwrap();
        assert_eq!(plan.column(Field("township")), Some(3));
        let name_column = &plan.columns[4];
        assert_eq!(name_column.field, None);
        assert_eq!(name_column.note.as_deref(), Some("township is read from column D: ignored"));
        assert_eq!(plan.columns[5].note.as_deref(), Some("computed by greenledger"));
        assert_eq!(plan.column(Wkt), Some(8));

        let csv =
            table(&["id", "code", "title", "category", "category_name", "township", "township_name", "lon", "lat"]);
        let plan = Plan::build(&csv, &[]).unwrap();
        assert_eq!(plan.column(Field("category")), Some(3));
        assert_eq!(plan.columns[4].note.as_deref(), Some("category is read from column D: ignored"));
    }

    #[test]
    fn the_callers_map_overrides_the_defaults_and_unknown_columns_are_listed() {
        let t = table(&["标题列", "名称", "分类", "备注", "X", "Y"]);
        let plan =
            Plan::build(&t, &map(&[("标题列", "title"), ("分类", "category"), ("X", "lon"), ("Y", "lat")])).unwrap();
        assert_eq!(plan.column(Field("title")), Some(0), "the mapped column, not the default 名称");
        assert_eq!(plan.columns[1].note.as_deref(), Some("title is read from column A: ignored"));
        assert_eq!(plan.columns[3].field, None);
        assert!(plan.columns[3].note.as_deref().unwrap().starts_with("not a task field: ignored"));
        // 标题列 is no default: with 名称 ignored, nothing gives the title.
        let e = Plan::build(&t, &map(&[("分类", "category"), ("X", "lon"), ("Y", "lat"), ("名称", "ignore")]));
        assert!(e.unwrap_err()[0].detail.contains("no column gives the task's title"));
    }

    #[test]
    fn a_plan_without_title_category_or_position_is_refused_saying_which() {
        let e = Plan::build(&table(&["备注", "经度"]), &[]).unwrap_err();
        let details: Vec<&str> = e.iter().map(|e| e.detail.as_str()).collect();
        assert_eq!(e.iter().map(|e| e.pointer.as_str()).collect::<Vec<_>>(), ["1:1", "1:1", "1:1"]);
        assert!(details[0].contains("no column gives the task's title"), "{}", details[0]);
        assert!(details[1].contains("category"), "{}", details[1]);
        assert!(details[2].contains("no 纬度 (latitude) column"), "{}", details[2]);
    }

    #[test]
    fn a_map_naming_no_column_or_one_field_twice_is_refused() {
        let t = table(&["任务名称", "类别", "经度", "纬度", "甲", "乙"]);
        let e = Plan::build(&t, &map(&[("丙", "title")])).unwrap_err();
        assert_eq!(e[0].pointer, "map");
        assert!(e[0].detail.contains("'丙' is not a column of 台账.xlsx"), "{}", e[0].detail);
        let e = Plan::build(&t, &map(&[("甲", "lead_unit"), ("乙", "lead_unit")])).unwrap_err();
        assert_eq!(e[0].pointer, "F1");
        assert!(e[0].detail.contains("both column E (甲) and column F (乙)"), "{}", e[0].detail);
    }

    #[test]
    fn maps_name_fields_that_exist() {
        assert_eq!(parse_map(r#"{"标题列": "title", "X": "lon"}"#).unwrap().len(), 2);
        assert!(parse_map(r#"{"标题列": "name"}"#).unwrap_err().detail.contains("'name' is not a task field"));
        assert!(parse_map("标题列=title").unwrap_err().detail.contains("JSON object"));
        assert!(parse_map(r#"{"a": 1}"#).unwrap_err().detail.contains("must be a string"));
    }

    #[test]
    fn headers_compare_without_spaces_widths_or_marks() {
        assert_eq!(normalize(" 计划投资\n（万元） "), "计划投资(万元)");
        assert_eq!(normalize("*Title"), "title");
        assert_eq!(normalize("经　度"), "经度");
    }
}
