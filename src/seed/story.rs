//! A demo task's past. data/tasks.geojson says what each task is today (status, progress, when it
//! was completed, its due date, whether it is supervised); this makes up the year of work that led
//! there: created by the bureau, started and reported on by its township, completed, sometimes
//! returned and answered, verified or cancelled, each step in order, by the one who may take it.
//! Pure and deterministic (the task's id seeds it); `replay` then walks the story through the
//! workflow's own rules (`domain::workflow`, `domain::review`), as the service would have.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use uuid::Uuid;

use crate::domain::review;
use crate::domain::stage;
use crate::domain::task::Status;
use crate::domain::workflow::{self, Action, Lifecycle};
use demo_photos::Rng;
pub use demo_photos::Stage;

/// How far back the demo's year of work reaches, in days before today.
const YEAR: i64 = 364;

/// Who takes a step: the bureau, or the officer of the task's own township.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Bureau,
    Township,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Did {
    /// A township's report: progress, a note, photos, and maybe the start or the completion.
    Report { action: Option<Action>, progress: Option<i16>, note: String, photos: Vec<Stage> },
    /// A bureau transition: verify, return, cancel, supervise.
    Transition { action: Action, reason: Option<String> },
    /// The bureau enters the money spent (实际投资) in the ledger.
    Investment,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub at: DateTime<Utc>,
    pub who: Who,
    pub did: Did,
}

#[derive(Debug)]
pub struct Story {
    pub created_at: DateTime<Utc>,
    /// Progress when created (a planned task may carry preparatory work).
    pub initial_progress: i16,
    pub steps: Vec<Step>,
}

/// What the file says a task is today.
pub struct Facts<'a> {
    pub id: Uuid,
    pub category: &'a str,
    pub status: Status,
    pub progress: i16,
    pub due: Option<NaiveDate>,
    pub completed_at: Option<DateTime<Utc>>,
    pub supervised: bool,
    pub cancel_reason: Option<&'a str>,
    /// Money has been spent (an actual investment is recorded).
    pub invested: bool,
}

/// The loader's today: the county's date and offset from UTC, and the instant.
#[derive(Debug, Clone, Copy)]
pub struct Today {
    pub date: NaiveDate,
    pub offset: FixedOffset,
    pub now: DateTime<Utc>,
}

impl Today {
    /// Days from today to the county's date of `at` (negative: past).
    pub fn day_of(&self, at: DateTime<Utc>) -> i64 {
        (at.with_timezone(&self.offset).date_naive() - self.date).num_days()
    }

    /// `minute` minutes after midnight, `day` days from today, in the county's zone.
    fn at(&self, day: i64, minute: i64) -> DateTime<Utc> {
        let date = self.date + Duration::days(day);
        let local = date.and_time(NaiveTime::MIN) + Duration::minutes(minute);
        self.offset.from_local_datetime(&local).single().map_or(self.now, |t| t.with_timezone(&Utc))
    }
}

/// A step placed on a day (at a working hour chosen later), or at an exact time.
struct Planned {
    day: i64,
    exact: Option<DateTime<Utc>>,
    who: Who,
    did: Did,
}

/// Builds a story step by step.
struct Plot<'a> {
    facts: &'a Facts<'a>,
    today: Today,
    rng: Rng,
    /// Which of its family's kinds of work the task is, for the words of its reports.
    theme: usize,
    steps: Vec<Planned>,
    /// Photos on the reports so far (verification without one needs a reason).
    photos: usize,
}

/// A story for `facts`, ending before `today.now`.
pub fn tell(facts: &Facts, today: Today) -> Story {
    let mut rng = Rng::new(facts.id.as_u128() as u64);
    let theme = rng.range(0, 5) as usize;
    let mut p = Plot { facts, today, rng, theme, steps: Vec::new(), photos: 0 };
    let (created, initial_progress) = match facts.status {
        Status::Planned => (p.planned(), facts.progress),
        Status::InProgress => (p.in_progress(), 0),
        Status::Completed | Status::Verified => (p.finished(), 0),
        Status::Cancelled => (p.cancelled(), 0),
    };
    p.supervision(created);
    p.investment();
    let created_at = today.at(created, p.rng.range(9 * 60, 11 * 60));
    Story { created_at, initial_progress, steps: p.timed(created_at) }
}

impl Plot<'_> {
    /// The day the task was created, no later than `latest` (and 20 days before its due date when
    /// there is room): some in the campaign's first three weeks, the rest over the year.
    fn creation(&mut self, latest: i64) -> i64 {
        let mut latest = latest.clamp(-YEAR, -1);
        if let Some(due) = self.facts.due.map(|d| (d - self.today.date).num_days() - 20) {
            latest = latest.min(due.max(-YEAR));
        }
        let day = if self.rng.chance(0.15) { -YEAR + self.rng.range(0, 20) } else { self.rng.range(-YEAR, latest) };
        day.min(latest)
    }

    fn push(&mut self, day: i64, who: Who, did: Did) {
        if let Did::Report { photos, .. } = &did {
            self.photos += photos.len();
        }
        self.steps.push(Planned { day, exact: None, who, did });
    }

    fn report(&mut self, day: i64, action: Option<Action>, progress: Option<i16>, note: String, photos: Vec<Stage>) {
        self.push(day, Who::Township, Did::Report { action, progress, note, photos });
    }

    fn bureau(&mut self, day: i64, action: Action, reason: Option<String>) {
        self.push(day, Who::Bureau, Did::Transition { action, reason });
    }

    fn maybe_photo(&mut self, chance: f64, stage: Stage) -> Vec<Stage> {
        if self.rng.chance(chance) { vec![stage] } else { Vec::new() }
    }

    fn planned(&mut self) -> i64 {
        self.creation(-1)
    }

    /// Started on `start` at `from` per cent, then reports on days up to `last` climbing to `to`.
    fn work(&mut self, start: i64, from: i16, last: i64, to: i16) {
        let photos = self.maybe_photo(0.25, Stage::Before);
        let note = text::start(self.facts.category, self.theme);
        self.report(start, Some(Action::Start), Some(from), note, photos);
        // About one report a month, at most six.
        let n = ((last - start) / 35).clamp(1, 6) as usize;
        let days = spread(&mut self.rng, start, last, n);
        let values = climb(&mut self.rng, from, to, days.len());
        // The last report on the last day, whether or not every day got one.
        for (day, progress) in days[days.len() - values.len()..].iter().zip(&values) {
            let photos = self.maybe_photo(0.08, Stage::During);
            let note = text::progress(self.facts.category, self.theme, *progress);
            self.report(*day, None, Some(*progress), note, photos);
        }
    }

    /// The township reports the work done: usually with photos, else saying why there are none.
    fn complete(&mut self, day: i64, exact: Option<DateTime<Utc>>) {
        let photos = match self.rng.range(0, 9) {
            0 => Vec::new(),
            1..=6 => vec![Stage::After],
            _ => vec![Stage::Before, Stage::After],
        };
        let note = text::complete(&mut self.rng, self.facts.category, self.theme, photos.is_empty());
        self.report(day, Some(Action::Complete), Some(100), note, photos);
        self.steps.last_mut().expect("just pushed").exact = exact;
    }

    /// Completed on `done`, returned a few days later, answered on `answer` (the last report
    /// before `next`), progress climbing again from `accepted` to `to`.
    fn returned(&mut self, done: i64, next: i64, accepted: i16, to: Option<i16>) {
        self.complete(done, None);
        let back = (done + self.rng.range(2, 7)).min(next - 1);
        let (reason, answer) = text::returned(&mut self.rng, self.photos == 0);
        self.bureau(back, Action::Return, Some(reason.to_owned()));
        if let Some(to) = to.filter(|&to| to > accepted) {
            let day = (back + self.rng.range(2, 8)).min(next);
            let photos = self.maybe_photo(0.75, Stage::After);
            self.report(day, None, Some(to), answer.to_owned(), photos);
        }
    }

    fn in_progress(&mut self) -> i64 {
        let (to, stale) = (self.facts.progress, self.rng.chance(0.15));
        let last = if stale { -self.rng.range(31, 100) } else { -self.rng.range(1, 21) };
        // Some were sent back after a completion: answered since, or (with little done) not yet.
        let cycle = match to {
            0..=30 if self.rng.chance(0.12) => Some(false),
            40.. if self.rng.chance(0.1) => Some(true),
            _ => None,
        };
        let end = if cycle.is_some() { last - 16 } else { last };
        let created = self.creation(end - 25);
        let start = created + self.rng.range(2, ((end - created) / 3).clamp(2, 40));
        let from = if cycle == Some(false) { to } else { to.min(5 * self.rng.range(0, 4) as i16) };
        match cycle {
            None => self.work(start, from, last, to),
            Some(answered) => {
                let peak = to.max(5 * self.rng.range(16, 19) as i16).min(95);
                self.work(start, from, end, peak);
                let done = end + self.rng.range(1, 5);
                self.returned(done, last, from, answered.then_some(to));
            }
        }
        created
    }

    fn finished(&mut self) -> i64 {
        let done_at = self.facts.completed_at.unwrap_or(self.today.now - Duration::days(7));
        let done = self.today.day_of(done_at);
        let cycle = self.rng.chance(if self.facts.status == Status::Completed { 0.25 } else { 0.18 });
        let created = self.creation(done - if cycle { 50 } else { 30 });
        let end = if cycle { done - self.rng.range(14, 24) } else { done - self.rng.range(1, 6) };
        let start = created + self.rng.range(2, ((end - created) / 3).clamp(2, 40));
        let from = 5 * self.rng.range(0, 3) as i16;
        let peak = 5 * self.rng.range(16, 19) as i16;
        self.work(start, from, end - 2, peak);
        if cycle {
            self.returned(end, done - 1, from, Some(peak));
        }
        self.complete(done, Some(done_at));
        if self.facts.status == Status::Verified {
            // Mostly within a fortnight; now and then the bureau takes a month.
            let wait = if self.rng.chance(0.8) { self.rng.range(1, 12) } else { self.rng.range(12, 30) };
            let verified = (done + wait).min(-1).max(done);
            let reason = text::verify(&mut self.rng, self.photos == 0);
            self.bureau(verified, Action::Verify, reason);
        }
        created
    }

    fn cancelled(&mut self) -> i64 {
        let to = self.facts.progress;
        let last = -self.rng.range(10, 120);
        let created = self.creation(if to > 0 { last - 30 } else { last - 15 });
        if to > 0 {
            let start = created + self.rng.range(2, ((last - created) / 3).clamp(2, 30));
            let from = to.min(5 * self.rng.range(0, 2) as i16);
            self.work(start, from, last, to);
        }
        let cancel = (last + self.rng.range(3, 30)).min(-1);
        let reason = self.facts.cancel_reason.map(str::to_owned);
        self.bureau(cancel, Action::Cancel, reason);
        created
    }

    /// A supervised task was put under supervision while it was still open.
    fn supervision(&mut self, created: i64) {
        if !self.facts.supervised {
            return;
        }
        let closed = self
            .steps
            .iter()
            .rposition(|s| matches!(s.did, Did::Transition { action: Action::Verify | Action::Cancel, .. }));
        let until = closed.map_or(-1, |i| self.steps[i].day - 1).max(created + 1);
        let day = self.rng.range((created + 7).min(until), until);
        let reason = Some(self.rng.pick(text::SUPERVISE).to_string());
        let at = self.steps.iter().position(|s| s.day > day).unwrap_or(self.steps.len());
        let at = closed.map_or(at, |c| at.min(c));
        self.steps.insert(
            at,
            Planned { day, exact: None, who: Who::Bureau, did: Did::Transition { action: Action::Supervise, reason } },
        );
    }

    /// The bureau enters the money spent after the township's last report.
    fn investment(&mut self) {
        if !self.facts.invested {
            return;
        }
        if let Some(i) = self.steps.iter().rposition(|s| s.who == Who::Township) {
            let day = self.steps[i].day;
            self.steps.insert(i + 1, Planned { day, exact: None, who: Who::Bureau, did: Did::Investment });
        }
    }

    /// Gives every step a time: a working hour on its day, after the step before it.
    fn timed(&mut self, created_at: DateTime<Utc>) -> Vec<Step> {
        let mut last = created_at;
        let mut steps = Vec::with_capacity(self.steps.len());
        for s in std::mem::take(&mut self.steps) {
            let hours = if s.who == Who::Township { (8 * 60, 18 * 60) } else { (9 * 60, 17 * 60 + 30) };
            let mut at = s.exact.unwrap_or_else(|| self.today.at(s.day, self.rng.range(hours.0, hours.1)));
            if at <= last {
                at = last + Duration::minutes(self.rng.range(12, 90));
            }
            last = at;
            steps.push(Step { at, who: s.who, did: s.did });
        }
        steps
    }
}

/// `n` days after `from` up to `to` (the last of them `to`), increasing and spread out.
fn spread(rng: &mut Rng, from: i64, to: i64, n: usize) -> Vec<i64> {
    let n = n.min((to - from).max(0) as usize);
    let mut days: Vec<i64> = (1..n)
        .map(|k| {
            let step = (to - from) as f64 / n as f64;
            from + (step * (k as f64 + rng.unit() * 0.5 - 0.25)).round() as i64
        })
        .collect();
    days.push(to);
    days.retain(|&d| d > from && d <= to);
    days.dedup();
    days
}

/// `n` progress values above `from` climbing to `to` (the last one), multiples of 5 on the way.
fn climb(rng: &mut Rng, from: i16, to: i16, n: usize) -> Vec<i16> {
    if n == 0 || to <= from {
        return Vec::new();
    }
    let mut values: Vec<i16> = (1..n)
        .map(|k| {
            let f = (k as f64 + rng.unit() - 0.5) / n as f64;
            (((from as f64 + (to - from) as f64 * f) / 5.0).round() * 5.0) as i16
        })
        .filter(|&v| v > from && v < to)
        .collect();
    values.sort_unstable();
    values.dedup();
    values.push(to);
    values
}

/// The state a story leaves its task in, and what each step did to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: Status,
    pub progress: i16,
    pub accepted_progress: i16,
    pub supervised: bool,
    pub return_reason: Option<String>,
    pub cancel_reason: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    pub verified_at: Option<DateTime<Utc>>,
    pub last_report_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// One per stored change, the creation included (as the tasks' trigger counts).
    pub version: i32,
}

/// What one step did: status and progress before and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub status_before: Status,
    pub status_after: Status,
    pub progress_before: i16,
    pub progress_after: i16,
}

/// Walks the story through the workflow's rules from a newly created planned task, refusing a
/// step the service would refuse, a step out of time order, or one after `now`.
pub fn replay(story: &Story, now: DateTime<Utc>) -> Result<(Outcome, Vec<Applied>), String> {
    let mut o = Outcome {
        status: Status::Planned,
        progress: story.initial_progress,
        accepted_progress: 0,
        supervised: false,
        return_reason: None,
        cancel_reason: None,
        completed_at: None,
        verified_at: None,
        last_report_at: None,
        updated_at: story.created_at,
        version: 1,
    };
    let (mut photos, mut applied) = (0i64, Vec::new());
    for (i, step) in story.steps.iter().enumerate() {
        if step.at <= o.updated_at || step.at > now {
            return Err(format!("step {i} at {} is out of order (previous {}, now {now})", step.at, o.updated_at));
        }
        let (status_before, progress_before) = (o.status, o.progress);
        match &step.did {
            Did::Report { action, progress, note, photos: shots } => {
                report(&mut o, *action, *progress, note, shots.len(), step.who)?;
                photos += shots.len() as i64;
                o.last_report_at = Some(step.at);
            }
            Did::Transition { action, reason } => transition(&mut o, *action, reason.as_deref(), photos, step.who)?,
            Did::Investment if step.who == Who::Bureau => {}
            Did::Investment => return Err("only the bureau edits the ledger".into()),
        }
        // As the tasks' trigger keeps them: the time of the latest completion while finished.
        if o.status == Status::Completed && status_before != Status::Completed {
            o.completed_at = Some(step.at);
        } else if !o.status.is_finished() {
            o.completed_at = None;
        }
        if o.status == Status::Verified && status_before != Status::Verified {
            o.verified_at = Some(step.at);
        }
        o.updated_at = step.at;
        o.version += 1;
        applied.push(Applied { status_before, status_after: o.status, progress_before, progress_after: o.progress });
    }
    Ok((o, applied))
}

/// A township's report, as `store::reports` checks and applies it.
fn report(
    o: &mut Outcome,
    action: Option<Action>,
    progress: Option<i16>,
    note: &str,
    photos: usize,
    who: Who,
) -> Result<(), String> {
    if who != Who::Township || action.is_some_and(|a| !a.is_report_action()) {
        return Err("reports are the township's".into());
    }
    workflow::check_report(o.status, action, progress).map_err(|e| format!("{e:?}"))?;
    // The demo's past predates the families' photo rules: a completion then needed a photo or a
    // note saying why there was none.
    let lenient = stage::FamilyRules { require_after: false, require_before: false };
    let stages = vec![stage::Stage::During; photos];
    stage::check(action, &stages, note, lenient).map_err(|e| format!("{e:?}"))?;
    let lowering = review::check_lowering(o.progress, progress, false, note);
    if !lowering.is_empty() {
        return Err(format!("the demo never lowers progress: {}", lowering[0].detail));
    }
    if let Some(action) = action {
        o.status = workflow::advance(Lifecycle { status: o.status, supervised: o.supervised }, action)
            .map_err(|e| format!("{e:?}"))?
            .status;
    }
    o.progress = if o.status.is_finished() { 100 } else { progress.unwrap_or(o.progress) };
    if review::moves_acceptance(action) {
        o.accepted_progress = o.progress;
    }
    if o.status == Status::Completed {
        o.return_reason = None;
    }
    Ok(())
}

/// A bureau transition, as `store::tasks::transition` checks and applies it.
fn transition(o: &mut Outcome, action: Action, reason: Option<&str>, photos: i64, who: Who) -> Result<(), String> {
    if who != Who::Bureau || action.is_report_action() {
        return Err(format!("{} is the bureau's", action.as_str()));
    }
    workflow::check_reason(action, reason).map_err(|e| e.detail)?;
    let after = workflow::advance(Lifecycle { status: o.status, supervised: o.supervised }, action)
        .map_err(|e| format!("{e:?}"))?;
    match action {
        Action::Verify => {
            review::check_verify(photos, 0, reason).map_err(|e| e.detail)?;
            o.accepted_progress = review::accepted_after(Some(action), o.progress, o.accepted_progress);
        }
        Action::Return => {
            o.progress = review::progress_after_return(o.accepted_progress);
            o.return_reason = reason.map(str::to_owned);
        }
        Action::Cancel => o.cancel_reason = reason.map(str::to_owned),
        _ => {}
    }
    (o.status, o.supervised) = (after.status, after.supervised);
    Ok(())
}

/// The words of the demo's reports and of the bureau's reasons.
mod text {
    use super::Rng;

    const START: &[(&str, &[&str])] = &[
        (
            "watershed",
            &[
                "施工单位已进场，围堰及清淤设备就位",
                "完成现场踏勘和测量放样，开始清淤作业",
                "河道保洁队伍进场，开始清理岸坡垃圾",
            ],
        ),
        (
            "chemical",
            &[
                "企业已制定整治方案，开始拆除老旧设备",
                "第三方单位进场开展现场排查",
                "废气收集系统改造开工，施工队已进场",
            ],
        ),
        ("energy", &["节能改造设备已订货，开始拆除旧锅炉", "完成能源审计，启动电机变频改造", "光伏屋顶施工队进场"]),
        (
            "village",
            &["村两委召开动员会，开始集中清理垃圾", "污水管网施工队进场开挖", "开始拆除违章搭建，清理房前屋后杂物"],
        ),
    ];
    const PROGRESS: &[(&str, &[&str])] = &[
        (
            "watershed",
            &["已清淤河段约{p}%，淤泥外运至指定消纳点", "生态护岸砌筑完成{p}%", "截污纳管完成{p}%，排口已封堵一部分"],
        ),
        ("chemical", &["整治工程完成{p}%，废气处理设施安装中", "危废仓库改造完成{p}%", "雨污分流管网完成{p}%"]),
        ("energy", &["改造完成{p}%，新设备调试中", "变频装置安装完成{p}%", "光伏组件安装完成{p}%"]),
        ("village", &["垃圾分类设施配置完成{p}%", "污水管网铺设完成{p}%", "立面整治完成{p}%，道路硬化推进中"]),
    ];
    const COMPLETE: &[(&str, &[&str])] = &[
        ("watershed", &["清淤及护岸工程已完工，河面无漂浮物，附整治前后照片", "排口整治完成，出水清澈，附现场照片"]),
        ("chemical", &["整治设施已建成并试运行，附现场照片", "整改全部完成，危废规范贮存，附照片"]),
        ("energy", &["改造完成并投入运行，能耗监测数据已接入", "设备更新完成，附现场照片及验收单"]),
        ("village", &["村庄环境整治完成，附整治前后照片", "管网铺设及路面恢复完成，附照片"]),
    ];
    const COMPLETE_WITHOUT_PHOTO: &[&str] =
        &["已完工。现场照片因手机故障未能上传，验收资料已纸质报送", "已完工，照片随纸质验收材料一并报送"];
    /// The bureau's reasons for sending work back, each with the township's answer.
    const RETURN: &[(&str, &str)] = &[
        ("现场照片不清晰，请补充整改前后对比照片", "已按要求补充整改前后对比照片"),
        ("现场核查发现仍有垃圾堆放，请继续清理后重新上报", "已重新清理并拍照上传，请复核"),
        ("缺少第三方检测报告，请补齐后重新上报", "第三方检测报告已出具，各项指标达标"),
        ("部分点位未完成整改，请对照整改清单逐项落实", "已对照整改清单逐项落实，附照片"),
        ("台账资料不完整，请补充验收记录", "验收记录已补齐，请复核"),
    ];
    const RETURN_WITHOUT_PHOTO: (&str, &str) = ("未见整改后现场照片，请补充照片后重新上报", "已补充整改后现场照片");
    const VERIFY: &[&str] = &["现场核查合格，同意销号", "复核通过", "资料齐全，整改到位"];
    const VERIFY_WITHOUT_PHOTO: &str = "已派员现场核查，整改到位；照片存于纸质验收材料";
    pub const SUPERVISE: &[&str] = &["列入县级督办事项，请加快推进", "群众反映强烈，列入督办", "进度滞后，列入督办"];

    /// The line of `table` for the family and the task's theme.
    fn of(table: &[(&str, &[&'static str])], category: &str, theme: usize) -> &'static str {
        let lines = table.iter().find(|(c, _)| *c == category).map_or(table[0].1, |(_, l)| *l);
        lines[theme % lines.len()]
    }

    pub fn start(category: &str, theme: usize) -> String {
        of(START, category, theme).to_owned()
    }

    pub fn progress(category: &str, theme: usize, progress: i16) -> String {
        of(PROGRESS, category, theme).replace("{p}", &progress.to_string())
    }

    pub fn complete(rng: &mut Rng, category: &str, theme: usize, without_photo: bool) -> String {
        if without_photo {
            rng.pick(COMPLETE_WITHOUT_PHOTO).to_string()
        } else {
            of(COMPLETE, category, theme).to_owned()
        }
    }

    /// Why the bureau sends work back, and what the township answers.
    pub fn returned(rng: &mut Rng, without_photo: bool) -> (&'static str, &'static str) {
        if without_photo { RETURN_WITHOUT_PHOTO } else { *rng.pick(RETURN) }
    }

    /// The bureau's word on a verification: needed without a photo, otherwise now and then.
    pub fn verify(rng: &mut Rng, without_photo: bool) -> Option<String> {
        if without_photo {
            Some(VERIFY_WITHOUT_PHOTO.to_owned())
        } else {
            rng.chance(0.4).then(|| rng.pick(VERIFY).to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Today {
        let now: DateTime<Utc> = "2026-12-01T03:30:00Z".parse().unwrap();
        let offset = FixedOffset::east_opt(8 * 3600).unwrap();
        Today { date: now.with_timezone(&offset).date_naive(), offset, now }
    }

    /// Tasks of every kind the file holds: each status, low and high progress, overdue or not,
    /// supervised or not, completed early or late in the year.
    fn all_kinds() -> Vec<(Uuid, Status, i16, i64, Option<i64>, bool)> {
        let mut kinds = Vec::new();
        for n in 0..400u128 {
            let id = Uuid::from_u128(n.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835));
            let status = [Status::Planned, Status::InProgress, Status::Completed, Status::Verified, Status::Cancelled]
                [n as usize % 5];
            let progress = match status {
                Status::Completed | Status::Verified => 100,
                Status::Planned | Status::Cancelled => [0, 0, 15, 40][n as usize / 5 % 4],
                Status::InProgress => [10, 25, 50, 95][n as usize / 5 % 4],
            };
            let due = [-250, -30, -2, 40, 200][n as usize / 20 % 5];
            let done = status.is_finished().then_some([-314, -200, -60, -6][n as usize / 7 % 4]);
            kinds.push((id, status, progress, due, done, status != Status::Cancelled && n % 3 == 0));
        }
        kinds
    }

    fn story_of(kind: &(Uuid, Status, i16, i64, Option<i64>, bool)) -> (Story, Facts<'static>) {
        let t = today();
        let &(id, status, progress, due, done, supervised) = kind;
        let facts = Facts {
            id,
            category: ["watershed", "chemical", "energy", "village"][id.as_u128() as usize % 4],
            status,
            progress,
            due: Some(t.date + Duration::days(due)),
            completed_at: done.map(|d| t.now + Duration::days(d) + Duration::hours(3)),
            supervised,
            cancel_reason: (status == Status::Cancelled).then_some("企业已整体关停搬迁"),
            invested: progress > 0,
        };
        (tell(&facts, t), facts)
    }

    #[test]
    fn every_story_keeps_the_workflows_rules_and_ends_where_the_file_says() {
        let t = today();
        for kind in all_kinds() {
            let (story, facts) = story_of(&kind);
            let (o, applied) = replay(&story, t.now).unwrap_or_else(|e| panic!("{kind:?}: {e}\n{story:#?}"));
            assert_eq!(
                (o.status, o.progress, o.supervised, o.completed_at, o.cancel_reason.as_deref()),
                (facts.status, facts.progress, facts.supervised, facts.completed_at, facts.cancel_reason),
                "{kind:?}\n{story:#?}"
            );
            assert_eq!(applied.len(), story.steps.len());
            assert!(story.created_at >= t.now - Duration::days(YEAR + 1), "{kind:?}: created {}", story.created_at);
            assert_eq!(o.verified_at.is_some(), facts.status == Status::Verified);
            // Anything but a plan, or one cancelled before it began, was started and reported on.
            if facts.status != Status::Planned && facts.progress > 0 {
                assert!(story.steps.len() >= 2, "{kind:?}: {story:#?}");
            }
        }
    }

    #[test]
    fn a_finished_task_was_started_reported_on_and_completed_in_that_order() {
        for kind in all_kinds().iter().filter(|k| k.1.is_finished()) {
            let (story, _) = story_of(kind);
            let actions: Vec<Action> = story
                .steps
                .iter()
                .filter_map(|s| match &s.did {
                    Did::Report { action, .. } => *action,
                    Did::Transition { action, .. } if *action != Action::Supervise => Some(*action),
                    _ => None,
                })
                .collect();
            assert_eq!(actions[0], Action::Start, "{kind:?}");
            let tail =
                if kind.1 == Status::Verified { &[Action::Complete, Action::Verify][..] } else { &[Action::Complete] };
            assert!(actions.ends_with(tail), "{kind:?}: {actions:?}");
            assert!(story.steps.iter().all(|s| (s.who == Who::Township) == matches!(s.did, Did::Report { .. })));
        }
    }

    #[test]
    fn the_same_task_gets_the_same_story() {
        for kind in all_kinds().iter().take(25) {
            let (a, _) = story_of(kind);
            let (b, _) = story_of(kind);
            assert_eq!(a.created_at, b.created_at);
            assert_eq!(
                a.steps.iter().map(|s| (s.at, s.did.clone())).collect::<Vec<_>>(),
                b.steps.iter().map(|s| (s.at, s.did.clone())).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn replay_refuses_what_the_service_refuses() {
        let t = today();
        let at = |h: i64| t.now - Duration::days(30) + Duration::hours(h);
        let report = |action, progress, photos: usize| Did::Report {
            action,
            progress: Some(progress),
            note: String::new(),
            photos: vec![Stage::After; photos],
        };
        let story = |steps: Vec<(Who, Did)>| Story {
            created_at: at(0),
            initial_progress: 0,
            steps: steps
                .into_iter()
                .enumerate()
                .map(|(i, (who, did))| Step { at: at(i as i64 + 1), who, did })
                .collect(),
        };
        let verify = Did::Transition { action: Action::Verify, reason: None };
        // Progress before the start, a completion without photo or note, verification without evidence.
        for steps in [
            vec![(Who::Township, report(None, 20, 0))],
            vec![
                (Who::Township, report(Some(Action::Start), 10, 0)),
                (Who::Township, report(Some(Action::Complete), 100, 0)),
            ],
            vec![
                (Who::Township, report(Some(Action::Start), 10, 0)),
                (
                    Who::Township,
                    Did::Report {
                        action: Some(Action::Complete),
                        progress: Some(100),
                        note: "照片另报".into(),
                        photos: vec![],
                    },
                ),
                (Who::Bureau, verify.clone()),
            ],
            vec![(Who::Township, report(Some(Action::Start), 50, 0)), (Who::Township, report(None, 40, 0))],
            vec![(Who::Bureau, Did::Transition { action: Action::Cancel, reason: None })],
            vec![(Who::Township, report(Some(Action::Start), 10, 1)), (Who::Bureau, verify)],
        ] {
            assert!(replay(&story(steps.clone()), t.now).is_err(), "{steps:?}");
        }
        let mut late = story(vec![(Who::Township, report(Some(Action::Start), 10, 0))]);
        late.steps[0].at = t.now + Duration::minutes(1);
        assert!(replay(&late, t.now).is_err(), "a step after now");
    }
}
