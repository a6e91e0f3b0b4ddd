//! Reminders (催办): the administrator's settings and each unit's channels as validated values,
//! the words a digest or a chase is sent in, the DingTalk robot's signature and the retry backoff.

use std::time::Duration;

use base64::Engine;
use chrono::{NaiveDate, NaiveTime};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fields::{self, Props};
use super::{Code, FieldError, Message};

/// The settings' bounds (the table's CHECKs say the same).
pub const DUE_WITHIN: (i64, i64) = (1, 90);
pub const STALE_AFTER: (i64, i64) = (1, 365);
/// A unit's channel may name at most this many e-mail addresses.
pub const MAX_EMAILS: usize = 20;
/// Tasks a digest names per section; its counts cover them all.
pub const ITEMS_PER_SECTION: i64 = 20;

/// What the administrator decides: how far ahead "due soon" looks, when an open task without a
/// report is stale, and the hour (county time) of the daily run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Settings {
    /// A task due today or within the next this many days is due soon. 1–90, default 7.
    pub due_within_days: i32,
    /// An open task whose latest report, or creation, is older than this many days is stale. 1–365, default 30.
    pub stale_after_days: i32,
    /// When the day's digests are made, `HH:MM` in the county's time zone. Default 08:00.
    #[schema(value_type = String, example = "08:00")]
    #[serde(with = "hh_mm")]
    pub run_at: NaiveTime,
}

mod hh_mm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.format("%H:%M").to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let s = String::deserialize(d)?;
        NaiveTime::parse_from_str(&s, "%H:%M").map_err(serde::de::Error::custom)
    }
}

impl Settings {
    /// Reads a whole settings object, every problem at its pointer.
    pub fn parse(body: &Value) -> Result<Settings, Vec<FieldError>> {
        let mut p = Props::object(body, "")?;
        p.refuse_unknown(&["due_within_days", "stale_after_days", "run_at"], &[]);
        let due = p.required("due_within_days", fields::integer(DUE_WITHIN.0, DUE_WITHIN.1));
        let stale = p.required("stale_after_days", fields::integer(STALE_AFTER.0, STALE_AFTER.1));
        let run_at = p.required("run_at", clock_time);
        match (due, stale, run_at) {
            (Some(d), Some(s), Some(r)) if p.errors.is_empty() => {
                Ok(Settings { due_within_days: d as i32, stale_after_days: s as i32, run_at: r })
            }
            _ => Err(p.errors),
        }
    }
}

/// A time of day written `HH:MM` (24 hours).
fn clock_time(v: &Value) -> Result<NaiveTime, Message> {
    let s = fields::string(v)?;
    NaiveTime::parse_from_str(s, "%H:%M").ok().filter(|_| s.len() == 5).ok_or_else(|| {
        Message::new(Code::Format, format!("'{s}' is not a time of day HH:MM such as 08:00"))
            .with("expected", "time_of_day")
            .with("got", s)
    })
}

/// Who a reminder is for: a township or a department, by code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    Township,
    Department,
}

impl UnitKind {
    pub const ALL: &'static [(&'static str, UnitKind)] =
        &[("township", UnitKind::Township), ("department", UnitKind::Department)];

    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Township => "township",
            UnitKind::Department => "department",
        }
    }

    pub fn parse(s: &str) -> Option<UnitKind> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, k)| *k)
    }
}

/// The group robot a unit's reminders are posted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RobotKind {
    /// 企业微信群机器人: keyed by its URL, not signed.
    Wecom,
    /// 钉钉群机器人: signed with its secret when the robot is set up to require it.
    Dingtalk,
}

impl RobotKind {
    pub const ALL: &'static [(&'static str, RobotKind)] =
        &[("wecom", RobotKind::Wecom), ("dingtalk", RobotKind::Dingtalk)];

    pub fn as_str(self) -> &'static str {
        match self {
            RobotKind::Wecom => "wecom",
            RobotKind::Dingtalk => "dingtalk",
        }
    }

    pub fn parse(s: &str) -> Option<RobotKind> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, k)| *k)
    }
}

/// What a PUT of a unit's channels says of the robot's secret, which is never shown back: keep the
/// stored one (absent), clear it (null) or set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretChange {
    Keep,
    Clear,
    Set(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RobotInput {
    pub kind: RobotKind,
    pub url: String,
    pub secret: SecretChange,
}

/// A unit's channels as the administrator sets them: `{"robot": {kind, url, secret?} | null,
/// "emails": [..]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelsInput {
    pub robot: Option<RobotInput>,
    pub emails: Vec<String>,
}

impl ChannelsInput {
    pub fn parse(body: &Value) -> Result<ChannelsInput, Vec<FieldError>> {
        let mut p = Props::object(body, "")?;
        p.refuse_unknown(&["robot", "emails"], &[]);
        let emails = p.optional("emails", email_list).unwrap_or_default();
        let mut errors = std::mem::take(&mut p.errors);
        let robot = match body.get("robot") {
            None | Some(Value::Null) => None,
            Some(v) => match robot(v) {
                Ok(r) => Some(r),
                Err(e) => {
                    errors.extend(e);
                    None
                }
            },
        };
        if errors.is_empty() { Ok(ChannelsInput { robot, emails }) } else { Err(errors) }
    }
}

fn robot(v: &Value) -> Result<RobotInput, Vec<FieldError>> {
    let mut p = Props::object(v, "/robot")?;
    p.refuse_unknown(&["kind", "url", "secret"], &[]);
    let kind = p.required("kind", fields::one_of(RobotKind::ALL));
    let url = p.required("url", robot_url);
    let secret = match p.read("secret", fields::text(200, false)) {
        fields::Slot::Absent => SecretChange::Keep,
        fields::Slot::Null => SecretChange::Clear,
        fields::Slot::Value(s) => SecretChange::Set(s),
        fields::Slot::Invalid => SecretChange::Keep,
    };
    if kind == Some(RobotKind::Wecom) && matches!(secret, SecretChange::Set(_)) {
        p.fail("secret", Message::new(Code::NotAllowed, "a WeCom robot is keyed by its URL and takes no secret"));
    }
    match (kind, url) {
        (Some(kind), Some(url)) if p.errors.is_empty() => Ok(RobotInput { kind, url, secret }),
        _ => Err(p.errors),
    }
}

/// An http(s) URL without spaces, at most 500 characters (robots are reached over https; plain
/// http is for a relay inside the county's network).
fn robot_url(v: &Value) -> Result<String, Message> {
    let s = fields::text(500, false)(v)?;
    let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !s.chars().any(char::is_whitespace) => Ok(s),
        _ => Err(Message::new(Code::Format, format!("'{s}' is not an http(s) URL"))
            .with("expected", "url")
            .with("got", s.as_str())),
    }
}

fn email_list(v: &Value) -> Result<Vec<String>, Message> {
    let list = v.as_array().ok_or_else(|| fields::wrong_type("array", "must be a list of e-mail addresses", v))?;
    if list.len() > MAX_EMAILS {
        return Err(fields::out_of_range(0, MAX_EMAILS as i64, list.len() as i64));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let s = item.as_str().map(str::trim).unwrap_or_default();
        if !is_email(s) {
            let got = item.as_str().map_or_else(|| item.to_string(), str::to_owned);
            return Err(Message::new(Code::Format, format!("item {i}: '{got}' is not an e-mail address"))
                .with("expected", "email")
                .with("got", got));
        }
        if !out.iter().any(|e| e.eq_ignore_ascii_case(s)) {
            out.push(s.to_owned());
        }
    }
    Ok(out)
}

/// `local@domain.tld`, printable ASCII without spaces, at most 254 characters: what an SMTP relay
/// of a county's mail system accepts.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    let fine = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_graphic() && !"@<>()[]\\,;:\"".contains(c));
    s.len() <= 254
        && fine(local)
        && fine(domain)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

/// A URL for display: scheme, host and path, with each query value reduced to its last four
/// characters (a WeCom URL's `key` and a DingTalk URL's `access_token` are the robot's secret).
pub fn masked_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else { return url.to_owned() };
    let masked: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => format!("{k}={}", masked_tail(v)),
            None => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", masked.join("&"))
}

fn masked_tail(v: &str) -> String {
    let n = v.chars().count();
    if n <= 4 { "…".to_owned() } else { format!("…{}", v.chars().skip(n - 4).collect::<String>()) }
}

/// The sections of a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// Open, due today or within the settings' days.
    DueSoon,
    /// Open, past the due date.
    Overdue,
    /// Open, no report (nor creation) within the settings' days.
    Stale,
    /// Sent back by the bureau (退回整改) and not reported on since.
    Returned,
    /// The task a chase is about.
    Chase,
}

impl Section {
    pub const ALL: [Section; 4] = [Section::Overdue, Section::Returned, Section::DueSoon, Section::Stale];

    pub fn as_str(self) -> &'static str {
        match self {
            Section::DueSoon => "due_soon",
            Section::Overdue => "overdue",
            Section::Stale => "stale",
            Section::Returned => "returned",
            Section::Chase => "chase",
        }
    }

    /// The section's heading in the county's language, as robots and e-mail carry it.
    pub fn heading_zh(self) -> &'static str {
        match self {
            Section::DueSoon => "即将到期",
            Section::Overdue => "已逾期",
            Section::Stale => "长期未报告进展",
            Section::Returned => "退回整改未答复",
            Section::Chase => "催办",
        }
    }
}

/// A task a digest names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DigestItem {
    pub section: Section,
    /// The task's id (links in the web app).
    pub id: uuid::Uuid,
    pub code: String,
    pub title: String,
    pub due_date: Option<NaiveDate>,
}

/// The words of one reminder, as a robot and an e-mail carry them (in the county's language).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words {
    /// The e-mail subject and the robot message's title.
    pub title: String,
    /// Markdown for the robots (both accept the same subset: headings, bold, lists).
    pub markdown: String,
    /// Plain text for e-mail.
    pub plain: String,
}

/// A digest for `unit` on `day`: per section its count and the tasks named, most urgent first.
pub fn digest_words(unit: &str, day: NaiveDate, counts: &Value, items: &[DigestItem]) -> Words {
    let title = format!("【催办】{unit} {day} 待办提醒");
    let (mut markdown, mut plain) = (format!("### {title}\n"), format!("{title}\n"));
    for section in Section::ALL {
        let n = counts.get(section.as_str()).and_then(Value::as_i64).unwrap_or(0);
        if n == 0 {
            continue;
        }
        markdown.push_str(&format!("\n**{}：{n} 项**\n", section.heading_zh()));
        plain.push_str(&format!("\n{}：{n} 项\n", section.heading_zh()));
        let named: Vec<&DigestItem> = items.iter().filter(|i| i.section == section).collect();
        for item in &named {
            let due = item.due_date.map(|d| format!("（期限 {d}）")).unwrap_or_default();
            markdown.push_str(&format!("- {} {}{due}\n", item.code, item.title));
            plain.push_str(&format!("  - {} {}{due}\n", item.code, item.title));
        }
        if (named.len() as i64) < n {
            let more = format!("……另有 {} 项，请登录台账查看\n", n - named.len() as i64);
            markdown.push_str(&more);
            plain.push_str(&format!("  {more}"));
        }
    }
    Words { title, markdown, plain }
}

/// A chase of one task by the bureau.
pub fn chase_words(unit: &str, code: &str, title: &str, due_date: Option<NaiveDate>, message: &str) -> Words {
    let heading = format!("【催办】{code} {title}");
    let due = due_date.map(|d| format!("期限：{d}\n")).unwrap_or_default();
    Words {
        markdown: format!("### {heading}\n\n{unit}：\n\n{message}\n\n{due}"),
        plain: format!("{unit}：\n\n{message}\n\n任务：{code} {title}\n{due}"),
        title: heading,
    }
}

/// DingTalk's signature of a robot message: HMAC-SHA256 keyed by the secret over
/// "`timestamp`\n`secret`" (milliseconds since 1970), base64.
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The robot URL with DingTalk's `timestamp` and `sign` query parameters (the signature
/// URL-encoded, as it may hold `+`, `/` and `=`).
pub fn dingtalk_signed_url(url: &str, secret: &str, timestamp_ms: i64) -> String {
    let sign: String = form_urlencoded::byte_serialize(dingtalk_sign(secret, timestamp_ms).as_bytes()).collect();
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}timestamp={timestamp_ms}&sign={sign}")
}

/// The robot message: both robots take `msgtype: markdown`; WeCom's has only `content`, DingTalk's
/// a `title` (the notification's line) and `text`.
pub fn robot_body(kind: RobotKind, words: &Words) -> Value {
    match kind {
        RobotKind::Wecom => serde_json::json!({"msgtype": "markdown", "markdown": {"content": words.markdown}}),
        RobotKind::Dingtalk => {
            serde_json::json!({"msgtype": "markdown", "markdown": {"title": words.title, "text": words.markdown}})
        }
    }
}

/// Whether a robot's answer says the message was taken: HTTP 2xx and `errcode` 0 (both robots
/// answer 200 with a non-zero `errcode` for a bad key, a bad signature or too many messages).
pub fn robot_accepted(status: u16, body: &str) -> Result<(), String> {
    if !(200..300).contains(&status) {
        return Err(format!("HTTP {status}: {}", clipped(body, 200)));
    }
    match serde_json::from_str::<Value>(body).ok().and_then(|v| v.get("errcode").and_then(Value::as_i64)) {
        Some(0) | None if body.trim().is_empty() => Ok(()),
        Some(0) => Ok(()),
        _ => Err(format!("the robot refused the message: {}", clipped(body, 200))),
    }
}

/// At most `max` characters of `s`, for error texts kept in the database.
pub fn clipped(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_owned() } else { format!("{}…", s.chars().take(max).collect::<String>()) }
}

/// How deliveries are retried: the first retry after `base`, each next one after twice as long (at
/// most six hours), until `max_attempts` attempts have failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max_attempts: i32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { base: Duration::from_secs(60), max_attempts: 8 }
    }
}

impl RetryPolicy {
    /// After `attempts` failed attempts: wait this long before the next, or `None` to give up.
    pub fn next_wait(&self, attempts: i32) -> Option<Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let doubling = 2u32.saturating_pow(attempts.saturating_sub(1).max(0) as u32);
        Some(self.base.saturating_mul(doubling).min(Duration::from_secs(6 * 3600)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_are_read_whole_and_every_problem_is_named() {
        let s = Settings::parse(&json!({"due_within_days": 7, "stale_after_days": 30, "run_at": "08:30"})).unwrap();
        assert_eq!(s.run_at, NaiveTime::from_hms_opt(8, 30, 0).unwrap());
        let errors = Settings::parse(&json!({"due_within_days": 0, "run_at": "8am", "extra": 1})).unwrap_err();
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/extra", "/due_within_days", "/stale_after_days", "/run_at"]);
        assert_eq!(errors[1].code, Code::Range);
        assert_eq!(errors[3].code, Code::Format);
        assert!(Settings::parse(&json!({"due_within_days": 7, "stale_after_days": 30, "run_at": "24:00"})).is_err());
    }

    #[test]
    fn channels_keep_or_clear_the_secret_and_refuse_what_cannot_be_sent() {
        let c = ChannelsInput::parse(
            &json!({"robot": {"kind": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=abc"},
            "emails": ["a@example.org", "A@example.org", "b@example.org"]}),
        )
        .unwrap();
        assert_eq!(c.robot.unwrap().secret, SecretChange::Keep);
        assert_eq!(c.emails, ["a@example.org", "b@example.org"]);
        let c = ChannelsInput::parse(&json!({"robot": {"kind": "dingtalk", "url": "https://x.cn/r", "secret": null}}))
            .unwrap();
        assert_eq!(c.robot.unwrap().secret, SecretChange::Clear);
        let errors = ChannelsInput::parse(&json!({"robot": {"kind": "wecom", "url": "ftp://x", "secret": "SEC1"},
            "emails": ["not-an-address"]}))
        .unwrap_err();
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/emails", "/robot/url", "/robot/secret"]);
        assert!(ChannelsInput::parse(&json!({"robot": {"kind": "feishu", "url": "https://x.cn"}})).is_err());
    }

    #[test]
    fn addresses_and_masks() {
        assert!(is_email("zhang.san@qingxi.gov.cn"));
        for bad in ["", "a@b", "a b@c.cn", "@c.cn", "a@.cn", "a@c.cn.", "a<b>@c.cn"] {
            assert!(!is_email(bad), "{bad}");
        }
        assert_eq!(
            masked_url("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"),
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…5aaa"
        );
        assert_eq!(masked_url("http://127.0.0.1:9/hook"), "http://127.0.0.1:9/hook");
    }

    #[test]
    fn the_dingtalk_signature_is_the_documented_hmac() {
        // Worked out independently: python3 -c "import hmac,hashlib,base64;
        // print(base64.b64encode(hmac.new(b'SEC123', b'1700000000000\nSEC123', hashlib.sha256).digest()))"
        assert_eq!(dingtalk_sign("SEC123", 1_700_000_000_000), "lkcPI1uoxBY1gUnCnnPH1Kkru0Hqjo7rFpA3haIVhEQ=");
        let url =
            dingtalk_signed_url("https://oapi.dingtalk.com/robot/send?access_token=t", "SEC123", 1_700_000_000_000);
        assert_eq!(
            url,
            "https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1700000000000&sign=lkcPI1uoxBY1gUnCnnPH1Kkru0Hqjo7rFpA3haIVhEQ%3D"
        );
    }

    #[test]
    fn a_digest_names_its_sections_most_urgent_first_and_says_how_many_more() {
        let day = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let item = |section, code: &str| DigestItem {
            section,
            id: uuid::Uuid::nil(),
            code: code.into(),
            title: "河道清淤".into(),
            due_date: Some(day),
        };
        let items = [item(Section::DueSoon, "WS-2026-0002"), item(Section::Overdue, "WS-2026-0001")];
        let w = digest_words("青溪镇", day, &json!({"overdue": 1, "due_soon": 3, "stale": 0}), &items);
        assert_eq!(w.title, "【催办】青溪镇 2026-06-01 待办提醒");
        let overdue = w.markdown.find("已逾期：1 项").unwrap();
        let soon = w.markdown.find("即将到期：3 项").unwrap();
        assert!(overdue < soon, "{}", w.markdown);
        assert!(w.markdown.contains("- WS-2026-0001 河道清淤（期限 2026-06-01）"));
        assert!(w.plain.contains("另有 2 项"));
        assert!(!w.plain.contains("长期未报告"));
    }

    #[test]
    fn robots_answer_with_errcode() {
        assert!(robot_accepted(200, r#"{"errcode":0,"errmsg":"ok"}"#).is_ok());
        assert!(robot_accepted(200, r#"{"errcode":310000,"errmsg":"sign not match"}"#).is_err());
        assert!(robot_accepted(500, "oops").unwrap_err().starts_with("HTTP 500"));
        let body = robot_body(RobotKind::Dingtalk, &chase_words("青溪镇", "WS-1", "清淤", None, "请加快"));
        assert_eq!(body["markdown"]["title"], "【催办】WS-1 清淤");
    }

    #[test]
    fn retries_back_off_doubling_then_give_up() {
        let p = RetryPolicy { base: Duration::from_secs(60), max_attempts: 4 };
        assert_eq!(p.next_wait(1), Some(Duration::from_secs(60)));
        assert_eq!(p.next_wait(2), Some(Duration::from_secs(120)));
        assert_eq!(p.next_wait(3), Some(Duration::from_secs(240)));
        assert_eq!(p.next_wait(4), None);
        let long = RetryPolicy { base: Duration::from_secs(3600), max_attempts: 20 };
        assert_eq!(long.next_wait(10), Some(Duration::from_secs(6 * 3600)));
    }
}
