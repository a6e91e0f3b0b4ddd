//! Before, during and after (整改前 / 整改中 / 整改后): what a report photo shows, and what each task
//! family asks of the photos when work starts and when it is reported finished.

use serde::Serialize;

use super::workflow::{Action, Refusal};
use super::{Code, Message};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The site before the work (整改前).
    Before,
    /// The work under way (整改中).
    During,
    /// The finished work (整改后).
    After,
}

impl Stage {
    pub const ALL: &'static [(&'static str, Stage)] =
        &[("before", Stage::Before), ("during", Stage::During), ("after", Stage::After)];

    pub fn as_str(self) -> &'static str {
        Self::ALL.iter().find(|(_, s)| *s == self).map_or("during", |(n, _)| n)
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, s)| *s)
    }

    /// A photo sent without saying what it shows: a completion's shows the finished work, a
    /// start's the site before, any other the work under way. (Phones that queued a report before
    /// photos were marked send them so.)
    pub fn default_for(action: Option<Action>) -> Stage {
        match action {
            Some(Action::Complete) => Stage::After,
            Some(Action::Start) => Stage::Before,
            _ => Stage::During,
        }
    }

    /// The multipart part a photo of this stage comes in: `photo_before`, `photo_during`,
    /// `photo_after` (or plain `photo`, see `default_for`).
    pub fn from_part(name: &str) -> Option<Option<Stage>> {
        match name {
            "photo" | "photos" => Some(None),
            _ => name.strip_prefix("photo_").and_then(Stage::parse).map(Some),
        }
    }
}

/// What a task family asks of the photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyRules {
    /// A completion needs a photo of the finished work.
    pub require_after: bool,
    /// A start needs a photo of the site before the work.
    pub require_before: bool,
}

/// Whether a report's photos (their stages) are what its action needs. Without the family asking
/// for an after photo, a completion still needs a photo or a note saying why there is none.
pub fn check(action: Option<Action>, stages: &[Stage], note: &str, rules: FamilyRules) -> Result<(), Refusal> {
    let refuse = |code, detail: &str| Err(Refusal::WrongState(Message::new(code, detail)));
    match action {
        Some(Action::Complete) if rules.require_after && !stages.contains(&Stage::After) => refuse(
            Code::CompletionNeedsAfterPhoto,
            "reporting completion needs at least one photo of the finished work (整改后): send it as photo_after",
        ),
        Some(Action::Complete) if stages.is_empty() && note.trim().is_empty() => refuse(
            Code::CompletionNeedsEvidence,
            "reporting completion needs at least one photo, or a note saying why there is none",
        ),
        Some(Action::Start) if rules.require_before && !stages.contains(&Stage::Before) => refuse(
            Code::StartNeedsBeforePhoto,
            "this family's work starts with a photo of the site before it (整改前): send it as photo_before",
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: FamilyRules = FamilyRules { require_after: true, require_before: true };
    const LENIENT: FamilyRules = FamilyRules { require_after: false, require_before: false };

    fn code(r: Result<(), Refusal>) -> Option<Code> {
        match r {
            Err(Refusal::WrongState(m)) => Some(m.code),
            _ => None,
        }
    }

    #[test]
    fn a_completion_needs_a_photo_of_the_finished_work_where_the_family_asks() {
        let complete = Some(Action::Complete);
        assert_eq!(
            code(check(complete, &[Stage::Before, Stage::During], "done", STRICT)),
            Some(Code::CompletionNeedsAfterPhoto)
        );
        assert_eq!(code(check(complete, &[], "夜间施工无法拍照", STRICT)), Some(Code::CompletionNeedsAfterPhoto));
        assert_eq!(code(check(complete, &[Stage::Before, Stage::After], "", STRICT)), None);
        // Where it does not, a photo of any stage or a note saying why there is none will do.
        assert_eq!(code(check(complete, &[Stage::During], "", LENIENT)), None);
        assert_eq!(code(check(complete, &[], "夜间施工无法拍照", LENIENT)), None);
        assert_eq!(code(check(complete, &[], " ", LENIENT)), Some(Code::CompletionNeedsEvidence));
    }

    #[test]
    fn a_start_needs_a_before_photo_only_where_the_family_asks() {
        let start = Some(Action::Start);
        assert_eq!(code(check(start, &[], "", STRICT)), Some(Code::StartNeedsBeforePhoto));
        assert_eq!(code(check(start, &[Stage::Before], "", STRICT)), None);
        assert_eq!(code(check(start, &[], "", LENIENT)), None);
        assert_eq!(code(check(None, &[], "进展顺利", STRICT)), None, "a progress report needs no photo");
    }

    #[test]
    fn an_unmarked_photo_shows_what_its_report_is_about() {
        assert_eq!(Stage::default_for(Some(Action::Complete)), Stage::After);
        assert_eq!(Stage::default_for(Some(Action::Start)), Stage::Before);
        assert_eq!(Stage::default_for(None), Stage::During);
        assert_eq!(Stage::from_part("photo_after"), Some(Some(Stage::After)));
        assert_eq!(Stage::from_part("photo"), Some(None));
        assert_eq!(Stage::from_part("photo_later"), None);
        assert_eq!(Stage::from_part("note"), None);
    }
}
