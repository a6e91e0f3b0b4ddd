//! The reader's language. Every refusal carries a stable `Code` and its parameters; the words for
//! them live here, in Chinese and English, one row per code (and per variant, where a parameter
//! may be left out). The service writes a problem's `detail` from these tables in the language the
//! request prefers (`Accept-Language`, Chinese unless it asks for English); the web app keeps its
//! own copy of the tables (web/js/i18n.js) keyed by the same codes.
//!
//! English details written where a refusal is made stay the English answer: they are the most
//! precise (a script's author reads them). The English rows here describe each code in general:
//! the API description lists them (`catalogue`), and they keep the two languages' parameters alike.

use serde::Serialize;
use serde_json::{Map, Value};

use super::FieldError;

/// The language a refusal is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Simplified Chinese: the county's language, so the default.
    #[default]
    Zh,
    En,
}

impl Lang {
    /// The language an `Accept-Language` header (RFC 9110 §12.5.4) prefers between Chinese and
    /// English: the one with the highest weight, the first listed on a tie; Chinese when the header
    /// is absent, cannot be read, or names neither.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for range in header.unwrap_or("").split(',') {
            let mut parts = range.split(';').map(str::trim);
            let tag = parts.next().unwrap_or("").to_ascii_lowercase();
            let lang = match tag.split('-').next() {
                Some("zh") => Lang::Zh,
                Some("en") => Lang::En,
                _ => continue,
            };
            let q = match parts.find_map(|p| p.strip_prefix("q=")) {
                None => Some(1.0),
                Some(q) => q.parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q)),
            };
            match q {
                Some(q) if q > 0.0 && best.is_none_or(|(b, _)| q > b) => best = Some((q, lang)),
                _ => {}
            }
        }
        best.map_or(Lang::Zh, |(_, lang)| lang)
    }

    /// The `Content-Language` of a detail written in this language.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident => $slug:literal,)*) => {
        /// What kind of refusal a field error (or a problem) is: a closed list, stable across
        /// releases, so a client can word it in its own language from `code` and `params`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum Code {
            $($(#[$doc])* $name,)*
        }

        impl Code {
            /// Every code, in the order of the tables.
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            /// The code as it is written in JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$name => $slug,)*
                }
            }
        }
    };
}

codes! {
    /// A value that must be given is missing, null or empty.
    Required => "required",
    /// Must be given together with `field`.
    RequiredWith => "required_with",
    /// The `action` must say why.
    ReasonRequired => "reason_required",
    /// The JSON value has the wrong type: `expected`, `type` (what came).
    WrongType => "wrong_type",
    /// Text longer than `max` characters (`got`).
    TooLong => "too_long",
    /// Text shorter than `min` characters.
    TooShort => "too_short",
    /// A number outside `min`..`max` (`got`).
    Range => "range",
    /// More than `max` decimal places (`got`).
    Decimals => "decimals",
    /// `got` names nothing known; `allowed` lists what is, where the list is short.
    UnknownValue => "unknown_value",
    /// A property, member, parameter or form field `name` that is not accepted (`allowed`).
    UnknownField => "unknown_field",
    /// The parameter `name` is given twice.
    Repeated => "repeated",
    /// `got` is not written as `expected` must be.
    Format => "format",
    /// Text holding the control character `char` (at `position`).
    ControlCharacter => "control_character",
    /// Bytes that are not UTF-8 text.
    NotText => "not_text",
    /// A time (`got`) in the future.
    InFuture => "in_future",
    /// A range that ends (`to`) before it starts (`from`).
    Reversed => "reversed",
    /// Not allowed for a task in `status`, or for an account of `role`.
    NotAllowed => "not_allowed",
    /// A task in `status` has progress 100 (`got`).
    ProgressFull => "progress_full",
    /// Status changes only through reports and transitions.
    WorkflowOnly => "workflow_only",
    /// The task is in `status`, not `got`.
    StatusMismatch => "status_mismatch",
    /// A report lowers progress (`from`, `to`) without `confirm_lower`.
    LoweringUnconfirmed => "lowering_unconfirmed",
    /// A report lowers progress (`from`, `to`) without a note saying why.
    LoweringNeedsNote => "lowering_needs_note",
    /// Verifying needs a photo on some report, or a reason.
    VerifyNeedsEvidence => "verify_needs_evidence",
    /// `photos` photos of the finished work are in doubt: verifying needs a reason.
    VerifyDoubted => "verify_doubted",
    /// A report with nothing in it.
    EmptyReport => "empty_report",
    /// A patch that changes nothing.
    EmptyPatch => "empty_patch",
    /// More than `max` items (`got`).
    TooMany => "too_many",
    /// The new password is the current one.
    SamePassword => "same_password",
    /// The current password given is wrong.
    WrongPassword => "wrong_password",
    /// A commonly used password.
    CommonPassword => "common_password",
    /// A password containing the username.
    ContainsUsername => "contains_username",
    /// An Idempotency-Key used before for another request.
    IdempotencyReused => "idempotency_reused",
    /// A JSON member `name` is missing.
    MissingMember => "missing_member",
    /// PostGIS finds the `kind` of geometry invalid: `reason` (at `lon`, `lat`).
    InvalidGeometry => "invalid_geometry",
    /// A geometry type (`got`) a task cannot have.
    UnsupportedGeometry => "unsupported_geometry",
    /// A boundary that is a `kind` other than an area.
    NotAnArea => "not_an_area",
    /// A position of `got` numbers.
    PositionSize => "position_size",
    /// A line or ring of `got` positions, fewer than `min`.
    TooFewPositions => "too_few_positions",
    /// Polygon ring number `ring` does not end where it starts.
    RingNotClosed => "ring_not_closed",
    /// A geometry without coordinates.
    EmptyGeometry => "empty_geometry",
    /// More than `max` positions.
    TooManyVertices => "too_many_vertices",
    /// A coordinate reference system (`got`) other than WGS 84 longitude/latitude.
    UnsupportedCrs => "unsupported_crs",
    /// A boundary file's coordinate system is unknown or cannot be transformed (`got`).
    UnknownCrs => "unknown_crs",
    /// A position `distance_km` from the nearest township (`township`, `township_code`), beyond
    /// the `tolerance_km` the county allows.
    OutsideCounty => "outside_county",
    /// A geometry that touches no township.
    NoTownship => "no_township",
    /// A geometry that would lie in the county with longitude and latitude swapped.
    SwappedAxes => "swapped_axes",
    /// A collection or file without features.
    NoFeatures => "no_features",
    /// A boundary file (`file`) that cannot be read.
    BadFile => "bad_file",
    /// A boundary file without the column `got` (its `columns`).
    NoColumn => "no_column",
    /// A township code (`got`) also used by feature `index` (`name`).
    Duplicate => "duplicate",
    /// A CQL2 filter that cannot be used, `at` where, and `why`.
    BadFilter => "bad_filter",
    /// The department `got` is named twice on a task (a lead is not also a supporting one).
    DepartmentTwice => "department_twice",
    /// The `department` is retired: no task can be given to it.
    DepartmentRetired => "department_retired",
    /// A boundary with no area left once made valid.
    NoArea => "no_area",
    /// The data breaks the database rule `name`.
    Constraint => "constraint",
    /// A task in `status` cannot take the `action`.
    WrongState => "wrong_state",
    /// A task in `status` takes no reports.
    ReportClosed => "report_closed",
    /// A planned task must be started before progress is reported.
    NotStarted => "not_started",
    /// A completion report needs a photo or a note.
    CompletionNeedsEvidence => "completion_needs_evidence",
    /// A completion needs a photo of the finished work (the task's family asks for one).
    CompletionNeedsAfterPhoto => "completion_needs_after_photo",
    /// A start needs a photo of the site before the work (the task's family asks for one).
    StartNeedsBeforePhoto => "start_needs_before_photo",
    /// The task is already under supervision.
    AlreadySupervised => "already_supervised",
    /// The task is not under supervision.
    NotSupervised => "not_supervised",
    /// Only the bureau may take the `action`.
    BureauOnly => "bureau_only",
    /// The task is neither the caller's township's nor led by its department.
    OtherTownship => "other_township",
    /// The `action` needs a bureau or township account.
    NeedsAccount => "needs_account",
    /// The `username` is taken.
    UsernameTaken => "username_taken",
    /// An upload (`file`) that is not a photo the ledger keeps (JPEG, PNG or WebP, by content).
    NotAPhoto => "not_a_photo",
    /// An upload (`file`) that starts like a photo but does not decode as one.
    PhotoUnreadable => "photo_unreadable",
    /// A photo (`file`) larger than `max_side` pixels a side or `max_megapixels`.
    PhotoTooBig => "photo_too_big",
    /// A task family (`family`) that is retired takes no new tasks.
    FamilyRetired => "family_retired",
    /// The code or prefix of a family (`family`, `prefix`) that `tasks` tasks are filed under.
    FamilyInUse => "family_in_use",
    /// A township name (`got`) that several townships (`candidates`, their codes) have.
    AmbiguousTownship => "ambiguous_township",
    /// A roster of accounts without a row.
    EmptyRoster => "empty_roster",
    /// Cannot be given together with `field`.
    Exclusive => "exclusive",
    /// A ledger's `field` is read from two columns (`first`, `second`).
    MappedTwice => "mapped_twice",
    /// A ledger's header row (`row`) has merged cells (`range`).
    MergedHeader => "merged_header",
    /// A code of the authenticator app that is not the current one.
    WrongCode => "wrong_code",
    /// A code of the authenticator app that was used already (each is good once).
    CodeUsed => "code_used",
    /// A recovery code that is wrong or was used already.
    WrongRecoveryCode => "wrong_recovery_code",
    /// An administrator may only turn an account's two-step verification off.
    TwoFactorOffOnly => "two_factor_off_only",
    /// Two-step verification is on already for the account.
    TwoFactorOn => "two_factor_on",
    /// Two-step verification is not on for the account.
    TwoFactorOff => "two_factor_off",
    /// No enrolment is waiting for its first code.
    NoEnrolment => "no_enrolment",
    /// The administrator requires two-step verification of every account of `role`.
    TwoFactorRequired => "two_factor_required",
    /// An administrator must use two-step verification before requiring it of administrators.
    EnrolFirst => "enrol_first",
    /// A campaign already has a target for this `year`, `township` and `family`.
    TargetExists => "target_exists",
    /// The campaign's years cannot shrink past `year`, which has targets or a scheme.
    YearInUse => "year_in_use",
    /// A scheme names the indicator `name` more than once.
    IndicatorRepeated => "indicator_repeated",
    /// A scheme's weights add up to `got`, not 100.
    WeightsSum => "weights_sum",
}

/// (code, variant, Chinese, English). A row with a variant is used when that parameter is given;
/// the row without one otherwise. `{name}` is replaced by the parameter `name`.
const TABLE: &[(Code, Option<&str>, &str, &str)] = &[
    (Code::Required, None, "必填", "is required"),
    (Code::RequiredWith, None, "填写了{field}时，此项必填", "is required when {field} is given"),
    (Code::ReasonRequired, None, "{action}需要说明原因", "a {action} needs a reason"),
    (Code::WrongType, None, "应为{expected}，收到的是{type}", "must be {expected}, got {type}"),
    (Code::TooLong, None, "最多 {max} 个字，现有 {got} 个", "must be at most {max} characters, got {got}"),
    (Code::TooShort, None, "至少需要 {min} 个字符", "needs at least {min} characters"),
    (Code::Range, Some("got"), "应在 {min} 到 {max} 之间，收到 {got}", "must be between {min} and {max}, got {got}"),
    (Code::Range, None, "应在 {min} 到 {max} 之间", "must be between {min} and {max}"),
    (Code::Decimals, None, "最多 {max} 位小数，收到 {got}", "must have at most {max} decimal places, got {got}"),
    (Code::UnknownValue, Some("allowed"), "“{got}”不在可选范围内，可选：{allowed}", "'{got}' is not one of: {allowed}"),
    (Code::UnknownValue, None, "找不到“{got}”", "there is no '{got}'"),
    (
        Code::UnknownField,
        Some("allowed"),
        "不接受“{name}”这一项；可用的有：{allowed}",
        "unknown field '{name}'; known fields are: {allowed}",
    ),
    (Code::UnknownField, None, "不接受“{name}”这一项", "unknown field '{name}'"),
    (
        Code::Repeated,
        None,
        "“{name}”出现了多次；多个值请用逗号分隔",
        "'{name}' is given more than once; separate values with commas",
    ),
    (Code::Format, Some("got"), "“{got}”不是有效的{expected}", "'{got}' is not {expected}"),
    (Code::Format, None, "不是有效的{expected}", "is not {expected}"),
    (
        Code::ControlCharacter,
        Some("position"),
        "第 {position} 个字符是无法保存的控制字符 {char}",
        "contains the control character {char} at character {position}, which text cannot hold",
    ),
    (
        Code::ControlCharacter,
        None,
        "含有无法保存的控制字符 {char}",
        "holds the control character {char}, which text cannot hold",
    ),
    (Code::NotText, None, "不是文字：字节编码无效", "is not text: its bytes are not valid UTF-8"),
    (Code::InFuture, None, "{got} 晚于现在", "{got} is in the future"),
    (Code::Reversed, None, "结束（{to}）早于开始（{from}）", "ends ({to}) before it starts ({from})"),
    (Code::NotAllowed, Some("status"), "任务为“{status}”时不能填写此项", "not allowed for a task that is {status}"),
    (Code::NotAllowed, Some("role"), "{role}不能填写此项", "not allowed for {role}"),
    (Code::NotAllowed, None, "此处不能填写", "not allowed here"),
    (
        Code::ProgressFull,
        None,
        "任务为“{status}”时进度应为 100，收到 {got}",
        "a task that is {status} has progress 100, got {got}",
    ),
    (
        Code::WorkflowOnly,
        None,
        "状态只能通过上报（开始、完成）或审核（核验、退回、取消）改变",
        "status changes only through reports (start, complete) and transitions (verify, return, cancel)",
    ),
    (
        Code::StatusMismatch,
        None,
        "任务当前为“{status}”，不是“{got}”：状态只能通过上报或审核改变",
        "the task is {status}, not {got}: status changes through reports and transitions",
    ),
    (
        Code::LoweringUnconfirmed,
        None,
        "这次上报把进度从 {from}% 降到 {to}%：如确需降低，请确认",
        "this report lowers progress from {from} % to {to} %: confirm that it is meant",
    ),
    (
        Code::LoweringNeedsNote,
        None,
        "请说明进度为什么从 {from}% 降到 {to}%",
        "say why progress goes down from {from} % to {to} %",
    ),
    (
        Code::VerifyDoubted,
        None,
        "有 {photos} 张整改后照片存疑（拍摄地点过远、早于任务或上报、重复使用或经过编辑）：如仍要核验，请填写理由（会记入历史）",
        "{photos} photo(s) of the finished work are in doubt (far away, too early, reused or edited): give the reason to verify anyway",
    ),
    (
        Code::VerifyNeedsEvidence,
        None,
        "此任务的上报都没有照片：请凭现场照片核验，或填写无照片核验的理由（会记入历史）",
        "no report of this task has a photo: verify with on-site evidence, or give a reason (the history keeps it)",
    ),
    (
        Code::EmptyReport,
        None,
        "上报内容为空：请填写进度、说明、照片或操作",
        "an empty report: send progress, a note, photos or an action",
    ),
    (Code::EmptyPatch, None, "没有修改任何内容", "the change changes nothing"),
    (Code::TooMany, Some("got"), "最多 {max} 个，收到 {got} 个", "at most {max}, got {got}"),
    (Code::TooMany, None, "最多 {max} 个", "at most {max}"),
    (Code::SamePassword, None, "新密码须与当前密码不同", "choose a password different from the current one"),
    (Code::WrongPassword, None, "当前密码不正确", "this is not your current password"),
    (
        Code::CommonPassword,
        None,
        "这是常用密码，容易被猜中，请换一个",
        "this password is commonly used; choose another",
    ),
    (Code::ContainsUsername, None, "密码不能包含用户名", "a password may not contain the username"),
    (
        Code::IdempotencyReused,
        None,
        "这个请求编号已用于另一个请求；新的请求请使用新编号",
        "this Idempotency-Key was used for a different request; use a new key",
    ),
    (Code::MissingMember, None, "缺少“{name}”", "has no '{name}'"),
    (
        Code::InvalidGeometry,
        Some("lon"),
        "{kind}无效：{reason}（经度 {lon}，纬度 {lat}）",
        "the {kind} is not valid: {reason} at [{lon}, {lat}]",
    ),
    (Code::InvalidGeometry, None, "{kind}无效：{reason}", "the {kind} is not valid: {reason}"),
    (
        Code::UnsupportedGeometry,
        None,
        "不支持“{got}”这种图形：任务是一个点、一条线或一个面",
        "unsupported geometry type '{got}': a task is a point, a line or an area",
    ),
    (
        Code::NotAnArea,
        None,
        "边界应为面，而不是{kind}",
        "a boundary is an area (Polygon or MultiPolygon), not a {kind}",
    ),
    (
        Code::PositionSize,
        None,
        "坐标应为经度、纬度两个数（可再加高程），收到 {got} 个数",
        "a position is [longitude, latitude] (optionally with elevation), got {got} numbers",
    ),
    (
        Code::TooFewPositions,
        None,
        "至少需要 {min} 个坐标点，收到 {got} 个",
        "needs at least {min} positions, got {got}",
    ),
    (
        Code::RingNotClosed,
        None,
        "第 {ring} 个环没有闭合：最后一个点应与第一个点相同",
        "ring {ring} is not closed: the last position must repeat the first",
    ),
    (Code::EmptyGeometry, None, "图形没有坐标", "the geometry has no coordinates"),
    (
        Code::TooManyVertices,
        None,
        "图形的坐标点超过 {max} 个，请简化后再提交",
        "the geometry has more than {max} positions; simplify it",
    ),
    (
        Code::UnsupportedCrs,
        Some("got"),
        "不支持坐标系“{got}”：请使用经纬度坐标",
        "coordinate reference system '{got}' is not supported: send WGS 84 longitude/latitude",
    ),
    (
        Code::UnsupportedCrs,
        None,
        "坐标系只能是经纬度坐标，或不注明",
        "the coordinate reference system must be WGS 84 or left out",
    ),
    (
        Code::UnknownCrs,
        Some("got"),
        "无法使用坐标系“{got}”：请注明文件所用的坐标系编号",
        "cannot use the coordinate system '{got}': name the file's coordinate system",
    ),
    (
        Code::UnknownCrs,
        None,
        "无法确定文件的坐标系：请注明坐标系编号",
        "the file's coordinate system is unknown: name it",
    ),
    (
        Code::OutsideCounty,
        None,
        "此点距最近的乡镇{township}（{township_code}）{distance_km} 公里，超出本县允许的 {tolerance_km} 公里：请检查坐标；如任务确实在此，请确认后再次提交",
        "this position lies {distance_km} km from the nearest township, {township} ({township_code}), beyond the {tolerance_km} km the county allows",
    ),
    (Code::NoTownship, None, "图形不在本县任何乡镇内", "the geometry touches no township of the county"),
    (
        Code::SwappedAxes,
        None,
        "图形在本县之外，但把经度和纬度对调后就在县内：坐标应为先经度、后纬度",
        "the geometry lies outside the county, but would lie inside it with longitude and latitude swapped",
    ),
    (Code::NoFeatures, None, "没有任何要素，没有可导入的内容", "there are no features: nothing to import"),
    (Code::BadFile, Some("file"), "无法读取文件“{file}”", "cannot read the file '{file}'"),
    (Code::BadFile, None, "无法读取上传的文件", "cannot read the uploaded file"),
    (
        Code::NoColumn,
        Some("got"),
        "文件中没有“{got}”列；文件的列有：{columns}",
        "the file has no column '{got}'; its columns are {columns}",
    ),
    (
        Code::NoColumn,
        None,
        "找不到所需的列，请指明；文件的列有：{columns}",
        "no column looks like it; the file's columns are {columns}",
    ),
    (
        Code::Duplicate,
        None,
        "代码 {got} 重复：第 {index} 个要素（{name}）也用了它",
        "the code {got} is also feature {index}'s ({name})",
    ),
    (Code::BadFilter, None, "筛选条件在 {at} 处有误：{why}", "the filter cannot be used at {at}: {why}"),
    (
        Code::DepartmentTwice,
        None,
        "部门 {got} 重复列出（牵头单位不再列为配合单位）",
        "the department {got} is named twice (a lead department is not also a supporting one)",
    ),
    (
        Code::DepartmentRetired,
        None,
        "部门 {department} 已停用：不能再把任务交给它",
        "the department {department} is retired: no task can be given to it any more",
    ),
    (Code::NoArea, None, "修复后边界没有剩余面积", "has no area left once made valid"),
    (Code::Constraint, None, "数据违反了规则 {name}", "the data breaks the rule {name}"),
    (Code::WrongState, None, "任务为“{status}”，不能{action}", "cannot {action} a task that is {status}"),
    (
        Code::ReportClosed,
        None,
        "任务为“{status}”，不再接受上报",
        "the task is {status}: reports are taken while it is planned or in progress",
    ),
    (
        Code::NotStarted,
        None,
        "任务尚未开始：请先上报开始，再上报进度",
        "the task is still planned: report it started before reporting progress",
    ),
    (
        Code::CompletionNeedsAfterPhoto,
        None,
        "上报完成需要至少一张整改后的照片",
        "reporting completion needs at least one photo of the finished work",
    ),
    (
        Code::StartNeedsBeforePhoto,
        None,
        "此类任务开始整治时需要一张整改前的照片",
        "this family's work starts with a photo of the site before it",
    ),
    (
        Code::CompletionNeedsEvidence,
        None,
        "上报完成需要至少一张照片，或在说明中写明没有照片的原因",
        "reporting completion needs a photo, or a note saying why there is none",
    ),
    (Code::AlreadySupervised, None, "任务已在督办中", "the task is already under supervision"),
    (Code::NotSupervised, None, "任务未列入督办", "the task is not under supervision"),
    (Code::BureauOnly, None, "只有环保局可以{action}", "only the bureau may {action} a task"),
    (
        Code::OtherTownship,
        None,
        "此任务不属于本乡镇，也不由本部门牵头：只能上报本乡镇的任务或本部门牵头的任务",
        "this task is neither your township's nor led by your department",
    ),
    (Code::NeedsAccount, None, "{action}需要环保局或乡镇的账号", "{action} needs a bureau or township account"),
    (Code::UsernameTaken, Some("row"), "用户名“{username}”与第 {row} 行重复", "'{username}' is also on row {row}"),
    (Code::UsernameTaken, None, "用户名“{username}”已被使用", "the username '{username}' is taken"),
    (
        Code::NotAPhoto,
        None,
        "“{file}”不是可识别的照片，请换一张相机拍摄的照片",
        "'{file}' is not a JPEG, PNG or WebP image",
    ),
    (
        Code::PhotoUnreadable,
        None,
        "“{file}”无法作为照片读取，可能已损坏，请重新拍摄或选择",
        "'{file}' cannot be read as a photo",
    ),
    (
        Code::PhotoTooBig,
        None,
        "“{file}”尺寸过大：每边最多 {max_side} 像素、总共最多 {max_megapixels} 百万像素",
        "'{file}' is larger than {max_side} pixels a side or {max_megapixels} megapixels",
    ),
    (
        Code::FamilyRetired,
        None,
        "任务类别“{family}”已停用：原有任务保留，但不能再登记新任务",
        "the task family '{family}' is retired: its tasks are kept, but no task can be filed under it any more",
    ),
    (
        Code::FamilyInUse,
        None,
        "类别“{family}”下已有 {tasks} 项任务（编号 {prefix}-…），导出和其他系统按它识别，不能再改；名称、颜色和顺序可以修改",
        "the family '{family}' has {tasks} task(s) (codes {prefix}-…) that exports and other systems know by it: this cannot change; its names, colour and order can",
    ),
    (
        Code::AmbiguousTownship,
        None,
        "有多个乡镇叫“{got}”（{candidates}）：请填写乡镇代码",
        "several townships are called '{got}' ({candidates}): give the code",
    ),
    (Code::EmptyRoster, None, "名单中没有任何账号", "the roster holds no accounts"),
    (Code::Exclusive, None, "不能与{field}同时填写", "cannot be given together with {field}"),
    (
        Code::MappedTwice,
        None,
        "{first} 列和 {second} 列都对应“{field}”：请把其中一列设为不导入",
        "columns {first} and {second} both give {field}: map one of them to ignore",
    ),
    (
        Code::MergedHeader,
        None,
        "表头行（第 {row} 行）有合并单元格 {range}：请取消合并，每列在表头行单独写一个列名",
        "the header row (row {row}) has merged cells {range}: unmerge them and give each column one name",
    ),
    (
        Code::WrongCode,
        None,
        "验证码不正确：请输入验证器当前显示的验证码，并检查手机时间是否准确",
        "wrong code: check that your phone's clock is right",
    ),
    (
        Code::CodeUsed,
        None,
        "这个验证码已经用过：请等验证器显示下一个",
        "this code was used already: wait for the next one your app shows",
    ),
    (Code::WrongRecoveryCode, None, "恢复码不正确或已经用过", "this recovery code is wrong or was used already"),
    (
        Code::TwoFactorOffOnly,
        None,
        "管理员只能关闭两步验证（如手机丢失）；开启须由本人完成",
        "an administrator can only turn two-step verification off; the account turns it on itself",
    ),
    (Code::TwoFactorOn, None, "两步验证已经开启；要换手机，请先关闭再重新开启", "two-step verification is on already"),
    (Code::TwoFactorOff, None, "您的账号没有开启两步验证", "two-step verification is not on for your account"),
    (
        Code::NoEnrolment,
        None,
        "没有等待验证的设置：请重新开始设置两步验证",
        "there is no enrolment waiting for a code: start one first",
    ),
    (
        Code::TwoFactorRequired,
        None,
        "管理员要求{role}使用两步验证，不能关闭；手机丢失时可用恢复码登录，或请管理员重置",
        "the administrator requires two-step verification of {role}: it cannot be turned off",
    ),
    (
        Code::EnrolFirst,
        None,
        "请先为自己的账号开启两步验证，再要求管理员使用",
        "turn on two-step verification for your own account first, then require it of administrators",
    ),
    (
        Code::TargetExists,
        None,
        "{year} 年{township}的“{family}”已有目标，请修改那一条",
        "the campaign already has a target for {year}, {township}, {family}: change that one",
    ),
    (
        Code::YearInUse,
        None,
        "{year} 年已有目标或考核方案，活动年份不能不含该年",
        "{year} has targets or a scoring scheme: the campaign's years must include it",
    ),
    (Code::IndicatorRepeated, None, "指标“{name}”出现了多次", "the indicator '{name}' is given more than once"),
    (Code::WeightsSum, None, "各项权重合计应为 100，现为 {got}", "the weights must add up to 100, got {got}"),
];

/// Words that parameters hold as values of a closed list: (parameter, value, Chinese, English).
/// Other values (what a person typed, codes, numbers) are data and appear as they are.
const TERMS: &[(&str, &str, &str, &str)] = &[
    ("type", "null", "空值", "null"),
    ("type", "boolean", "真假值", "a boolean"),
    ("type", "number", "数字", "a number"),
    ("type", "string", "文字", "a string"),
    ("type", "array", "数组", "an array"),
    ("type", "object", "对象", "an object"),
    ("expected", "string", "文字", "a string"),
    ("expected", "number", "数字", "a number"),
    ("expected", "integer", "整数", "a whole number"),
    ("expected", "boolean", "是或否", "true or false"),
    ("expected", "object", "对象", "an object"),
    ("expected", "array", "数组", "an array"),
    ("expected", "date", "日期（年-月-日）", "a date YYYY-MM-DD"),
    ("expected", "timestamp", "带时区的时间", "an RFC 3339 timestamp"),
    ("expected", "datetime", "日期或时间区间", "a date, date-time or interval"),
    ("expected", "phone", "电话号码", "a phone number"),
    ("expected", "township_code", "乡镇代码（9 或 12 位数字）", "a township code (9 or 12 digits)"),
    ("expected", "category_code", "类别代码", "a category code"),
    ("expected", "task_code_prefix", "任务编号前缀（2 到 4 个大写字母）", "a task code prefix"),
    ("expected", "campaign_code", "活动代码（2 到 40 个小写字母、数字、_ 或 -）", "a campaign code"),
    ("expected", "year", "年份（如 2026）", "a year such as 2026"),
    ("expected", "version", "版本（草稿或从 1 起的序号）", "a version (draft, or a number from 1)"),
    ("expected", "color", "颜色（# 加六位十六进制数，如 #336699）", "a colour #rrggbb"),
    ("expected", "bbox", "范围（西、南、东、北四个数）", "a bbox minLon,minLat,maxLon,maxLat"),
    ("expected", "tile", "瓦片地址", "a tile address"),
    ("expected", "id", "编号", "an id"),
    ("expected", "username", "用户名（2 到 64 个小写字母、数字或 . _ -）", "a username"),
    ("expected", "feature", "单个地理要素", "a GeoJSON Feature"),
    ("expected", "feature_collection", "地理要素集合", "a GeoJSON FeatureCollection"),
    ("expected", "geometry", "几何图形", "a GeoJSON geometry"),
    ("expected", "wkt", "图形文本", "WKT such as POINT(119.95 30.85)"),
    ("expected", "second_factor", "验证码（验证器显示的 6 位数字，或一个恢复码）", "a code or a recovery code"),
    ("expected", "app_code", "验证器为新账号显示的 6 位数字验证码", "the 6-digit code of the app"),
    ("expected", "time_of_day", "时刻（时:分，如 08:00）", "a time of day HH:MM"),
    ("expected", "url", "完整网址", "an http(s) URL"),
    ("expected", "email", "电子邮件地址", "an e-mail address"),
    ("status", "planned", "未开始", "planned"),
    ("status", "in_progress", "进行中", "in_progress"),
    ("status", "completed", "已完成待核验", "completed"),
    ("status", "verified", "已销号", "verified"),
    ("status", "cancelled", "已取消", "cancelled"),
    ("action", "start", "开始", "start"),
    ("action", "complete", "完成", "complete"),
    ("action", "verify", "核验销号", "verify"),
    ("action", "return", "退回整改", "return"),
    ("action", "cancel", "取消任务", "cancel"),
    ("action", "supervise", "督办", "supervise"),
    ("action", "unsupervise", "解除督办", "unsupervise"),
    ("role", "admin", "管理员", "administrators"),
    ("role", "bureau", "环保局工作人员", "bureau staff"),
    ("role", "township", "乡镇工作人员", "township officers"),
    ("role", "department", "部门工作人员", "department officers"),
    ("kind", "Point", "点", "Point"),
    ("kind", "MultiPoint", "多个点", "MultiPoint"),
    ("kind", "LineString", "线", "LineString"),
    ("kind", "MultiLineString", "多条线", "MultiLineString"),
    ("kind", "Polygon", "面", "Polygon"),
    ("kind", "MultiPolygon", "多个面", "MultiPolygon"),
    ("kind", "GeometryCollection", "几何集合", "GeometryCollection"),
    ("reason", "self-intersection", "自相交", "self-intersection"),
    ("reason", "ring self-intersection", "环自相交", "ring self-intersection"),
    ("reason", "too few points", "点数过少", "too few points"),
    ("reason", "hole lies outside shell", "内环在外环之外", "hole lies outside shell"),
    ("reason", "nested holes", "内环相互嵌套", "nested holes"),
    ("reason", "nested shells", "外环相互嵌套", "nested shells"),
    ("reason", "interior is disconnected", "内部不连通", "interior is disconnected"),
    ("reason", "invalid coordinate", "坐标无效", "invalid coordinate"),
    ("reason", "ring is not closed", "环没有闭合", "ring is not closed"),
    ("field", "title", "任务名称", "title"),
    ("field", "description", "任务描述", "description"),
    ("field", "category", "任务类别", "category"),
    ("field", "status", "状态", "status"),
    ("field", "progress", "进度", "progress"),
    ("field", "lead_unit", "责任单位", "lead_unit"),
    ("field", "lead_department", "牵头部门", "lead_department"),
    ("field", "support_departments", "配合部门", "support_departments"),
    ("field", "department", "所属部门", "department"),
    ("field", "contact_person", "联系人", "contact_person"),
    ("field", "contact_phone", "联系电话", "contact_phone"),
    ("field", "due_date", "完成期限", "due_date"),
    ("field", "planned_investment", "计划投资", "planned_investment"),
    ("field", "actual_investment", "实际投资", "actual_investment"),
    ("field", "target_quantity", "目标量", "target_quantity"),
    ("field", "target_unit", "目标单位", "target_unit"),
    ("field", "visibility", "公开范围", "visibility"),
    ("field", "township", "所属乡镇", "township"),
    ("field", "supervised", "督办", "supervised"),
    ("field", "completed_at", "完成时间", "completed_at"),
    ("field", "cancel_reason", "取消原因", "cancel_reason"),
    ("field", "geometry", "图形", "geometry"),
    ("field", "note", "说明", "note"),
    ("field", "reason", "理由", "reason"),
    ("field", "action", "操作", "action"),
    ("field", "photo", "照片", "photo"),
    ("field", "username", "用户名", "username"),
    ("field", "password", "密码", "password"),
    ("field", "current_password", "当前密码", "current_password"),
    ("field", "new_password", "新密码", "new_password"),
    ("field", "name", "名称", "name"),
    ("field", "display_name", "姓名", "display_name"),
    ("field", "role", "角色", "role"),
    ("field", "code", "代码", "code"),
    ("field", "prefix", "编号前缀", "prefix"),
    ("field", "name_zh", "中文名称", "name_zh"),
    ("field", "name_en", "英文名称", "name_en"),
    ("field", "color", "颜色", "color"),
    ("field", "sort_order", "顺序", "sort_order"),
    ("field", "required_for", "须用两步验证的角色", "required_for"),
    ("field", "two_factor", "两步验证", "two_factor"),
];

/// The words for a refusal's `code` with its `params`, in `lang`.
pub fn render(code: Code, params: &Map<String, Value>, lang: Lang) -> String {
    let given = |k: &str| params.get(k).is_some_and(|v| !v.is_null());
    let row = TABLE
        .iter()
        .filter(|(c, _, _, _)| *c == code)
        .find(|(_, variant, _, _)| variant.is_none_or(given))
        .expect("every code has a row without a variant");
    let template = match lang {
        Lang::Zh => row.2,
        Lang::En => row.3,
    };
    fill(template, params, lang)
}

fn fill(template: &str, params: &Map<String, Value>, lang: Lang) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else { break };
        let key = &rest[open + 1..open + close];
        out.push_str(&value(key, params.get(key).unwrap_or(&Value::Null), lang));
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

fn value(key: &str, v: &Value, lang: Lang) -> String {
    match v {
        Value::String(s) => term(key, s, lang).map_or_else(|| s.clone(), str::to_owned),
        Value::Array(items) => {
            let sep = if lang == Lang::Zh { "、" } else { ", " };
            items.iter().map(|x| value(key, x, lang)).collect::<Vec<_>>().join(sep)
        }
        Value::Null => String::new(),
        // 1e8 reads as 100000000, not 100000000.0.
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// Every code with its English words (every variant), one Markdown list item each: the catalogue
/// the API description gives clients.
pub fn catalogue() -> String {
    Code::ALL
        .iter()
        .map(|code| {
            let words: Vec<&str> = TABLE.iter().filter(|(c, _, _, _)| c == code).map(|(_, _, _, en)| *en).collect();
            format!("- `{}`: {}", code.as_str(), words.join(" / "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A value of a closed list in `lang`, when it is one.
pub fn term(key: &str, value: &str, lang: Lang) -> Option<&'static str> {
    TERMS.iter().find(|(k, v, _, _)| *k == key && *v == value).map(|(_, _, zh, en)| match lang {
        Lang::Zh => *zh,
        Lang::En => *en,
    })
}

/// What each kind of problem (its `type` slug) is, in Chinese: the `detail` of a problem that has
/// neither a code of its own nor field errors. The English detail is written where the refusal is.
const PROBLEMS: &[(&str, &str)] = &[
    ("bad-request", "请求有误"),
    ("malformed-json", "提交的内容格式有误"),
    ("invalid-query", "查询条件有误"),
    ("invalid-input", "填写的内容有误"),
    ("unauthenticated", "请先登录"),
    ("wrong-credentials", "用户名或密码不正确"),
    ("forbidden", "没有权限进行此操作"),
    ("password-change-required", "请先设置您自己的密码"),
    ("second-factor-required", "请输入两步验证码"),
    ("wrong-second-factor", "验证码不正确或已用过"),
    ("two-factor-enrolment-required", "请先开启两步验证"),
    ("not-found", "找不到所请求的内容"),
    ("method-not-allowed", "不支持此操作"),
    ("conflict", "当前状态不允许此操作"),
    ("version-mismatch", "内容已被他人修改，请刷新后重试"),
    ("too-large", "提交的内容过大"),
    ("unsupported-media-type", "不支持的文件类型"),
    ("too-many-rows", "导出的行数过多，请缩小范围"),
    ("precondition-required", "请重新打开后再提交"),
    ("too-many-logins", "登录失败次数过多，请稍后再试"),
    ("internal", "服务器出错，已记录，请稍后重试"),
    ("unavailable", "服务暂时不可用，请稍后重试"),
];

/// The Chinese sentence for a kind of problem.
pub fn problem_zh(slug: &str) -> Option<&'static str> {
    PROBLEMS.iter().find(|(s, _)| *s == slug).map(|(_, zh)| *zh)
}

/// A problem's `detail` summing up its field errors in `lang`: `lead`, then the first error (in
/// Chinese named by its field, where the field has a name; in English by its pointer), then how
/// many more there are.
pub fn summary(lead: &str, errors: &[FieldError], lang: Lang) -> String {
    let Some(first) = errors.first() else { return lead.to_owned() };
    let more = errors.len() - 1;
    match lang {
        Lang::En => {
            let head = format!("{lead}: {}: {}", first.pointer, first.detail);
            if more == 0 { head } else { format!("{head} (and {more} more)") }
        }
        Lang::Zh => {
            let field = first.pointer.rsplit('/').next().and_then(|f| term("field", f, Lang::Zh));
            let said = first.render(Lang::Zh);
            let head = match field {
                Some(f) => format!("{lead}：{f}：{said}"),
                None => format!("{lead}：{said}"),
            };
            if more == 0 { head } else { format!("{head}（另有 {more} 处）") }
        }
    }
}

/// True when `s` holds a Latin letter: what a Chinese sentence of ours should not, outside the
/// data it quotes.
pub fn has_latin(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn placeholders(template: &str) -> Vec<&str> {
        template.split('{').skip(1).filter_map(|s| s.split_once('}').map(|(k, _)| k)).collect()
    }

    #[test]
    fn every_code_has_words_in_both_languages() {
        for &code in Code::ALL {
            let rows: Vec<_> = TABLE.iter().filter(|(c, _, _, _)| *c == code).collect();
            assert!(rows.iter().any(|(_, v, _, _)| v.is_none()), "{code:?} has no row without a variant");
            for (_, variant, zh, en) in rows {
                assert!(!zh.is_empty() && !en.is_empty(), "{code:?}");
                // Chinese rows carry no Latin of their own; their parameters are filled in.
                let words: String = zh.split('{').map(|s| s.split_once('}').map_or(s, |(_, after)| after)).collect();
                assert!(!has_latin(&words), "{code:?}: {zh}");
                assert_eq!(placeholders(zh).len(), placeholders(en).len(), "{code:?} {variant:?}: {zh} / {en}");
                for key in placeholders(zh) {
                    assert!(placeholders(en).contains(&key), "{code:?}: {key} only in Chinese");
                }
            }
        }
    }

    #[test]
    fn codes_are_written_in_snake_case_as_serde_writes_them() {
        for &code in Code::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), json!(code.as_str()));
        }
    }

    #[test]
    fn every_expected_form_in_the_code_has_its_words() {
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut files = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(src)];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(std::fs::read_to_string(path).unwrap());
                }
            }
        }
        for text in files {
            for marker in ["\"expected\", \"", "wrong_type(\""] {
                for part in text.split(marker).skip(1) {
                    let value = part.split('"').next().unwrap_or("");
                    if !value.is_empty() && value.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                        assert!(term("expected", value, Lang::Zh).is_some(), "no words for expected {value}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_web_pages_tables_word_every_code_in_both_languages() {
        let js = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/web/js/i18n.js")).unwrap();
        let (zh, en) = js.split_once("\n  en: {").expect("web/js/i18n.js has a Chinese and an English table");
        for &code in Code::ALL {
            for (lang, table) in [("zh", zh), ("en", en)] {
                assert!(
                    table.contains(&format!("'code.{}'", code.as_str())),
                    "web/js/i18n.js {lang} lacks code.{}",
                    code.as_str()
                );
            }
        }
    }

    #[test]
    fn closed_list_terms_are_chinese() {
        for (key, value, zh, _) in TERMS {
            assert!(!has_latin(zh), "{key}={value}: {zh}");
        }
    }

    #[test]
    fn parameters_fill_the_sentence_and_pick_the_variant() {
        let p = params(json!({"min": 0, "max": 100, "got": 120}));
        assert_eq!(render(Code::Range, &p, Lang::Zh), "应在 0 到 100 之间，收到 120");
        assert_eq!(render(Code::Range, &p, Lang::En), "must be between 0 and 100, got 120");
        assert_eq!(render(Code::Range, &params(json!({"min": 1, "max": 5})), Lang::Zh), "应在 1 到 5 之间");
        let p = params(json!({"got": "done", "allowed": ["planned", "in_progress"]}));
        assert_eq!(render(Code::UnknownValue, &p, Lang::Zh), "“done”不在可选范围内，可选：planned、in_progress");
        assert_eq!(render(Code::UnknownValue, &params(json!({"got": "x"})), Lang::En), "there is no 'x'");
    }

    #[test]
    fn closed_list_values_are_translated_and_data_is_not() {
        let p = params(json!({"expected": "integer", "type": "string"}));
        assert_eq!(render(Code::WrongType, &p, Lang::Zh), "应为整数，收到的是文字");
        assert_eq!(render(Code::WrongType, &p, Lang::En), "must be a whole number, got a string");
        let p = params(json!({"status": "verified", "action": "cancel"}));
        assert_eq!(render(Code::WrongState, &p, Lang::Zh), "任务为“已销号”，不能取消任务");
        // What was typed stays as typed, even when it is a word of a list.
        let p = params(json!({"got": "planned", "expected": "date"}));
        assert_eq!(render(Code::Format, &p, Lang::Zh), "“planned”不是有效的日期（年-月-日）");
    }

    #[test]
    fn the_header_chooses_chinese_unless_english_is_preferred() {
        let lang = |h: Option<&str>| Lang::from_accept_language(h);
        assert_eq!(lang(None), Lang::Zh);
        assert_eq!(lang(Some("")), Lang::Zh);
        assert_eq!(lang(Some(";;;q=x")), Lang::Zh);
        assert_eq!(lang(Some("fr-FR, de")), Lang::Zh);
        assert_eq!(lang(Some("en")), Lang::En);
        assert_eq!(lang(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(lang(Some("zh-CN,zh;q=0.9,en;q=0.8")), Lang::Zh);
        assert_eq!(lang(Some("fr, en;q=0.5, zh;q=0.4")), Lang::En);
        assert_eq!(lang(Some("en;q=0, zh-TW")), Lang::Zh);
        assert_eq!(lang(Some("EN-gb;q=0.7, zh;q=0.7")), Lang::En, "the first of equals");
        assert_eq!(lang(Some("en;q=2")), Lang::Zh, "a weight above 1 is not one");
    }

    #[test]
    fn a_summary_names_the_first_field_and_counts_the_rest() {
        let errors = vec![
            FieldError::new("/properties/progress", Code::Range, "must be between 0 and 100, got 120")
                .with("min", 0)
                .with("max", 100)
                .with("got", 120),
            FieldError::new("/properties/title", Code::Required, "'title' is required"),
        ];
        assert_eq!(
            summary("the request body is invalid", &errors, Lang::En),
            "the request body is invalid: /properties/progress: must be between 0 and 100, got 120 (and 1 more)"
        );
        let zh = summary("填写的内容有误", &errors, Lang::Zh);
        assert_eq!(zh, "填写的内容有误：进度：应在 0 到 100 之间，收到 120（另有 1 处）");
        assert!(!has_latin(&zh));
        assert_eq!(summary("lead", &[], Lang::En), "lead");
    }
}
