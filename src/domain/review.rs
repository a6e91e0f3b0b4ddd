//! The bureau's review rules: what verification needs, when a report may lower progress, what a
//! returned task shows, and what the review queue (待审核) holds.
//!
//! "Accepted" progress is the progress the bureau last stood behind: the progress a task had when
//! it was last verified, or else what the township reported when it started the work. Returning a
//! task sets its progress back to that value, so the public never keeps seeing a 100 % the bureau
//! sent back.

use serde::Serialize;

use super::workflow::Action;
use super::{Code, FieldError};

/// The evidence flags that put a photo of the finished work in doubt: taken far from the task,
/// before it existed, long before the report, the very same file already used in another report
/// (`reused` by content; a picture merely alike may be the same view photographed again, so it is
/// shown but not held against the report), or edited. A photo without position or time is not
/// doubted for that alone: many phones strip them.
pub const DOUBTS: &[&str] = &["far", "before_task", "old", "reused", "edited"];

/// Verification (销号) needs evidence: at least one photo on the task's reports, none of its photos
/// of the finished work in doubt (`DOUBTS`), or else the bureau's reason for verifying anyway
/// (kept in the history).
pub fn check_verify(photos: i64, doubted_after: i64, reason: Option<&str>) -> Result<(), FieldError> {
    if reason.is_some_and(|r| !r.trim().is_empty()) || (photos > 0 && doubted_after == 0) {
        return Ok(());
    }
    if photos == 0 {
        return Err(FieldError::new(
            "/reason",
            Code::VerifyNeedsEvidence,
            "no report of this task has a photo: verify only with the on-site evidence, or give a reason for verifying without a photo (the history keeps it)",
        ));
    }
    let detail = format!(
        "{doubted_after} photo(s) of the finished work are in doubt (taken far away, before the task, long before the report, already used, or edited): give the reason to verify anyway (the history keeps it)"
    );
    Err(FieldError::new("/reason", Code::VerifyDoubted, detail).with("photos", doubted_after))
}

/// A report that lowers progress must say so: `confirm_lower` set and a note saying why. The
/// township's figures go down only on purpose.
pub fn check_lowering(current: i16, reported: Option<i16>, confirmed: bool, note: &str) -> Vec<FieldError> {
    let Some(new) = reported.filter(|&p| p < current) else { return Vec::new() };
    let mut errors = Vec::new();
    if !confirmed {
        errors.push(
            FieldError::new(
                "/confirm_lower",
                Code::LoweringUnconfirmed,
                format!(
                    "this report lowers progress from {current} % to {new} %: send confirm_lower true if that is meant"
                ),
            )
            .with("from", current)
            .with("to", new),
        );
    }
    if note.trim().is_empty() {
        let detail = format!("say why progress goes down from {current} % to {new} %");
        errors.push(FieldError::new("/note", Code::LoweringNeedsNote, detail).with("from", current).with("to", new));
    }
    errors
}

/// The accepted progress after an action: starting the work sets it to what was reported with
/// the start, verifying to the progress verified; nothing else moves it.
pub fn accepted_after(action: Option<Action>, progress_after: i16, accepted_before: i16) -> i16 {
    if moves_acceptance(action) { progress_after } else { accepted_before }
}

/// Whether an action sets the accepted progress (see `accepted_after`).
pub fn moves_acceptance(action: Option<Action>) -> bool {
    matches!(action, Some(Action::Start | Action::Verify))
}

/// The progress a returned task shows: the last accepted value (see the module's note).
pub fn progress_after_return(accepted: i16) -> i16 {
    accepted.clamp(0, 100)
}

/// What an item of the review queue asks of the bureau.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A report the clerk has not marked seen.
    NewReport,
    /// A report answering a return (filed after the task was last returned), not yet seen.
    ReturnAnswered,
    /// A completed task waiting for verification.
    AwaitingVerification,
    /// An open task past its due date that no one has reported on.
    OverdueWithoutReport,
}

/// Which kind a report not yet seen is: an answer to a return if it came after the task was last
/// returned, otherwise a new report.
pub fn report_kind(returned_before: bool) -> ItemKind {
    if returned_before { ItemKind::ReturnAnswered } else { ItemKind::NewReport }
}

/// The flags a completion waiting for verification carries, for the clerk to weigh.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Flags {
    /// No report of the task has a photo: verifying needs a reason.
    pub no_photo: bool,
    /// The bureau supervises the task (督办).
    pub supervised: bool,
    /// Completed after its due date.
    pub late: bool,
    /// Returned before at least once.
    pub returned_before: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_needs_a_photo_or_a_reason() {
        assert!(check_verify(1, 0, None).is_ok());
        assert_eq!(check_verify(0, 0, None).unwrap_err().pointer, "/reason");
        assert!(check_verify(0, 0, Some("   ")).is_err());
        assert!(check_verify(0, 0, Some("现场核查已完成，照片由监测站存档")).is_ok());
        assert_eq!(check_verify(3, 1, Some("  ")).unwrap_err().code, Code::VerifyDoubted);
        assert!(check_verify(3, 1, Some("现场复核确认，照片为监理所拍")).is_ok());
    }

    #[test]
    fn lowering_progress_needs_a_confirmation_and_a_note() {
        assert!(check_lowering(81, Some(90), false, "").is_empty());
        assert!(check_lowering(81, Some(81), false, "").is_empty());
        assert!(check_lowering(81, None, false, "").is_empty());
        let both: Vec<_> = check_lowering(81, Some(35), false, " ").into_iter().map(|e| e.pointer).collect();
        assert_eq!(both, ["/confirm_lower", "/note"]);
        let detail = &check_lowering(81, Some(35), false, "")[0].detail;
        assert!(detail.contains("81") && detail.contains("35"), "{detail}");
        assert_eq!(check_lowering(81, Some(35), true, "").len(), 1);
        assert_eq!(check_lowering(81, Some(35), false, "河道塌方，重新清淤").len(), 1);
        assert!(check_lowering(81, Some(35), true, "河道塌方，重新清淤").is_empty());
    }

    #[test]
    fn accepted_progress_moves_at_start_and_verification_only() {
        assert_eq!(accepted_after(Some(Action::Start), 10, 0), 10);
        assert_eq!(accepted_after(Some(Action::Verify), 100, 10), 100);
        assert_eq!(accepted_after(Some(Action::Complete), 100, 10), 10);
        assert_eq!(accepted_after(None, 60, 10), 10);
        assert_eq!(progress_after_return(10), 10);
        assert_eq!(progress_after_return(-3), 0);
    }

    #[test]
    fn a_report_after_a_return_answers_it() {
        assert_eq!(report_kind(true), ItemKind::ReturnAnswered);
        assert_eq!(report_kind(false), ItemKind::NewReport);
    }
}
