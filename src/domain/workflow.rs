//! The task lifecycle of PRODUCT.md as one pure function, and the rules for a township's report.
//!
//! ```text
//! planned ──start──▶ in_progress ──complete──▶ completed ──verify──▶ verified
//!    │                    ▲                        │
//!    │                    └──────── return ◀───────┘
//!    └──cancel──▶ cancelled   (bureau only, with a reason; from any state but verified)
//! ```

use serde::{Deserialize, Serialize};

use super::task::Status;
use super::{Code, FieldError, Message};

/// How the caller stands to a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// Bureau staff or an administrator.
    Staff,
    /// An officer of the task's own unit: its township's, or its lead department's.
    Own,
    /// A township or department officer the task does not belong to.
    Other,
    /// Not logged in.
    Public,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Start,
    Complete,
    Verify,
    Return,
    Cancel,
    Supervise,
    Unsupervise,
}

impl Action {
    pub const ALL: &'static [(&'static str, Action)] = &[
        ("start", Action::Start),
        ("complete", Action::Complete),
        ("verify", Action::Verify),
        ("return", Action::Return),
        ("cancel", Action::Cancel),
        ("supervise", Action::Supervise),
        ("unsupervise", Action::Unsupervise),
    ];

    pub fn as_str(self) -> &'static str {
        Self::ALL.iter().find(|(_, a)| *a == self).map(|(n, _)| *n).unwrap_or("start")
    }

    /// Actions a township reports (through /reports); the rest are the bureau's (/transitions).
    pub fn is_report_action(self) -> bool {
        matches!(self, Action::Start | Action::Complete)
    }

    /// Returning and cancelling must say why: the township reads the reason, the audit keeps it.
    pub fn needs_reason(self) -> bool {
        matches!(self, Action::Return | Action::Cancel)
    }
}

/// The parts of a task the lifecycle acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle {
    pub status: Status,
    pub supervised: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The caller may not take this action on this task (HTTP 403).
    Forbidden(Message),
    /// The action does not apply in the task's current state (HTTP 409).
    WrongState(Message),
}

/// The state after `action`, or why it is refused. Who may act is decided before what state allows
/// it, so a township learns it may never verify rather than that the task is not yet completed.
pub fn transition(current: Lifecycle, action: Action, who: Relation) -> Result<Lifecycle, Refusal> {
    may_act(action, who)?;
    advance(current, action)
}

/// Whether `who` may take `action` on a task at all, whatever its state.
pub fn may_act(action: Action, who: Relation) -> Result<(), Refusal> {
    let may = match who {
        Relation::Staff => true,
        Relation::Own => action.is_report_action(),
        Relation::Other | Relation::Public => false,
    };
    if !may {
        let why = match who {
            Relation::Own => Message::new(Code::BureauOnly, format!("only the bureau may {} a task", action.as_str())),
            Relation::Other => {
                Message::new(Code::OtherTownship, "this task is neither your township's nor led by your department")
            }
            _ => Message::new(Code::NeedsAccount, format!("{} needs a bureau or township account", action.as_str())),
        }
        .with("action", action.as_str());
        return Err(Refusal::Forbidden(why));
    }
    Ok(())
}

/// Whether `who` may file a report (progress, notes, photos) on a task: the bureau, the township
/// the task belongs to, and the department leading it.
pub fn may_report(who: Relation) -> Result<(), Refusal> {
    match who {
        Relation::Staff | Relation::Own => Ok(()),
        Relation::Other | Relation::Public => Err(Refusal::Forbidden(Message::new(
            Code::OtherTownship,
            "this task is neither your township's nor led by your department: you may report only on those",
        ))),
    }
}

/// Returning and cancelling must say why (see `Action::needs_reason`).
pub fn check_reason(action: Action, reason: Option<&str>) -> Result<(), FieldError> {
    if action.needs_reason() && reason.is_none_or(|r| r.trim().is_empty()) {
        return Err(FieldError::new(
            "/reason",
            Code::ReasonRequired,
            format!("say why: a {} needs a reason, which the township and the audit trail keep", action.as_str()),
        )
        .with("action", action.as_str()));
    }
    Ok(())
}

/// The state after `action` from `current`, or why the state does not allow it (who acts is
/// `may_act`'s question).
pub fn advance(current: Lifecycle, action: Action) -> Result<Lifecycle, Refusal> {
    let status = current.status;
    let wrong = |allowed: &str| {
        let detail = format!(
            "cannot {} a task that is {}: only a task that is {allowed} can be",
            action.as_str(),
            status.as_str()
        );
        let why = Message::new(Code::WrongState, detail).with("action", action.as_str());
        Err(Refusal::WrongState(why.with("status", status.as_str())))
    };
    let to = |status| Ok(Lifecycle { status, ..current });
    match action {
        Action::Start => match status {
            Status::Planned => to(Status::InProgress),
            _ => wrong("planned"),
        },
        Action::Complete => match status {
            Status::InProgress => to(Status::Completed),
            _ => wrong("in_progress"),
        },
        Action::Verify => match status {
            Status::Completed => to(Status::Verified),
            _ => wrong("completed"),
        },
        Action::Return => match status {
            Status::Completed => to(Status::InProgress),
            _ => wrong("completed"),
        },
        Action::Cancel => match status {
            Status::Planned | Status::InProgress | Status::Completed => to(Status::Cancelled),
            _ => wrong("planned, in_progress or completed"),
        },
        Action::Supervise => match (status, current.supervised) {
            (Status::Verified | Status::Cancelled, _) => wrong("open (not verified or cancelled)"),
            (_, true) => {
                Err(Refusal::WrongState(Message::new(Code::AlreadySupervised, "the task is already under supervision")))
            }
            _ => Ok(Lifecycle { supervised: true, ..current }),
        },
        Action::Unsupervise => match current.supervised {
            true => Ok(Lifecycle { supervised: false, ..current }),
            false => Err(Refusal::WrongState(Message::new(Code::NotSupervised, "the task is not under supervision"))),
        },
    }
}

/// Whether a report (progress, note, photos) may be filed in this state, with this action.
pub fn check_report(status: Status, action: Option<Action>, progress: Option<i16>) -> Result<(), Refusal> {
    if !status.is_open() {
        let detail = format!("the task is {}: reports are taken while it is planned or in progress", status.as_str());
        return Err(Refusal::WrongState(Message::new(Code::ReportClosed, detail).with("status", status.as_str())));
    }
    if action.is_none() && status == Status::Planned && progress.is_some_and(|p| p > 0) {
        return Err(Refusal::WrongState(Message::new(
            Code::NotStarted,
            "the task is still planned: report it started (action start) before reporting progress",
        )));
    }
    // What the photos must show is the family's to say (`stage::check`).
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUSES: [Status; 5] =
        [Status::Planned, Status::InProgress, Status::Completed, Status::Verified, Status::Cancelled];
    const WHO: [Relation; 4] = [Relation::Staff, Relation::Own, Relation::Other, Relation::Public];

    /// The expected outcome of every (state, action, caller), written out as a table: the lifecycle
    /// diagram in PRODUCT.md, cell by cell.
    fn expected(status: Status, action: Action, who: Relation) -> Result<Status, &'static str> {
        use Action::*;
        use Status::*;
        let staff = who == Relation::Staff;
        let own = who == Relation::Own;
        match action {
            Start | Complete if !(staff || own) => Err("forbidden"),
            Verify | Return | Cancel | Supervise | Unsupervise if !staff => Err("forbidden"),
            Start if status == Planned => Ok(InProgress),
            Complete if status == InProgress => Ok(Completed),
            Verify if status == Completed => Ok(Verified),
            Return if status == Completed => Ok(InProgress),
            Cancel if matches!(status, Planned | InProgress | Completed) => Ok(Cancelled),
            Supervise if matches!(status, Verified | Cancelled) => Err("wrong state"),
            Supervise | Unsupervise => Ok(status),
            _ => Err("wrong state"),
        }
    }

    #[test]
    fn every_state_action_and_caller() {
        let mut checked = 0;
        for status in STATUSES {
            for &(_, action) in Action::ALL {
                for who in WHO {
                    // Supervision depends on the flag too; start from the state where it applies.
                    let supervised = action == Action::Unsupervise;
                    let got = transition(Lifecycle { status, supervised }, action, who);
                    let want = expected(status, action, who);
                    match (got, want) {
                        (Ok(l), Ok(s)) => assert_eq!(l.status, s, "{status:?} {action:?} {who:?}"),
                        (Err(Refusal::Forbidden(_)), Err("forbidden")) => {}
                        (Err(Refusal::WrongState(_)), Err("wrong state")) => {}
                        (got, want) => panic!("{status:?} {action:?} {who:?}: got {got:?}, want {want:?}"),
                    }
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 5 * 7 * 4);
    }

    #[test]
    fn supervision_is_a_flag_that_cannot_be_set_twice() {
        let open = Lifecycle { status: Status::InProgress, supervised: false };
        let on = transition(open, Action::Supervise, Relation::Staff).unwrap();
        assert!(on.supervised);
        assert_eq!(on.status, Status::InProgress);
        assert!(matches!(transition(on, Action::Supervise, Relation::Staff), Err(Refusal::WrongState(_))));
        assert!(!transition(on, Action::Unsupervise, Relation::Staff).unwrap().supervised);
        assert!(matches!(transition(open, Action::Unsupervise, Relation::Staff), Err(Refusal::WrongState(_))));
    }

    #[test]
    fn refusals_say_why() {
        let done = Lifecycle { status: Status::Completed, supervised: false };
        let Err(Refusal::Forbidden(why)) = transition(done, Action::Verify, Relation::Own) else {
            panic!("a township may not verify")
        };
        assert_eq!(why.detail, "only the bureau may verify a task");
        assert_eq!((why.code, &why.params["action"]), (Code::BureauOnly, &serde_json::json!("verify")));
        let planned = Lifecycle { status: Status::Planned, supervised: false };
        let Err(Refusal::WrongState(why)) = transition(planned, Action::Verify, Relation::Staff) else {
            panic!("a planned task is not verified")
        };
        assert_eq!(why.detail, "cannot verify a task that is planned: only a task that is completed can be");
        assert_eq!(why.render(crate::domain::Lang::Zh), "任务为“未开始”，不能核验销号");
    }

    #[test]
    fn reports_are_for_the_bureau_and_the_tasks_own_township() {
        assert!(may_report(Relation::Staff).is_ok());
        assert!(may_report(Relation::Own).is_ok());
        assert!(matches!(may_report(Relation::Other), Err(Refusal::Forbidden(_))));
        assert!(matches!(may_report(Relation::Public), Err(Refusal::Forbidden(_))));
    }

    #[test]
    fn returning_and_cancelling_need_a_reason() {
        assert_eq!(check_reason(Action::Return, Some("  ")).unwrap_err().pointer, "/reason");
        assert!(check_reason(Action::Cancel, None).is_err());
        assert!(check_reason(Action::Cancel, Some("duplicate of WS-2026-0001")).is_ok());
        assert!(check_reason(Action::Verify, None).is_ok());
    }

    #[test]
    fn reports_are_for_open_work_and_progress_follows_a_start() {
        assert!(check_report(Status::InProgress, None, Some(40)).is_ok());
        assert!(check_report(Status::Planned, Some(Action::Start), Some(10)).is_ok());
        assert!(check_report(Status::Planned, None, Some(0)).is_ok());
        assert!(check_report(Status::Planned, None, Some(20)).is_err());
        assert!(check_report(Status::Completed, None, None).is_err());
        assert!(check_report(Status::InProgress, Some(Action::Complete), None).is_ok());
    }
}
