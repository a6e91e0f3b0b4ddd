//! Who may see what. The roles of PRODUCT.md, and how a caller stands to a task.

use serde::{Deserialize, Serialize};

use crate::domain::workflow::Relation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Bureau rights plus user and township management.
    Admin,
    /// Environmental bureau staff: create, edit, verify, return, cancel, supervise.
    Bureau,
    /// A township officer: reports on its own township's tasks.
    Township,
}

impl Role {
    pub const ALL: &'static [(&'static str, Role)] =
        &[("admin", Role::Admin), ("bureau", Role::Bureau), ("township", Role::Township)];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Bureau => "bureau",
            Role::Township => "township",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, r)| *r)
    }

    pub fn is_staff(self) -> bool {
        matches!(self, Role::Admin | Role::Bureau)
    }
}

/// What a reader may see of the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// Public tasks, public fields.
    Public,
    /// Everything of its own township's tasks; other townships' as the public sees them.
    Township(String),
    /// Everything.
    Staff,
}

impl Viewer {
    pub fn relation(&self, task_township: &str) -> Relation {
        match self {
            Viewer::Staff => Relation::Staff,
            Viewer::Township(own) if own == task_township => Relation::OwnTownship,
            Viewer::Township(_) => Relation::OtherTownship,
            Viewer::Public => Relation::Public,
        }
    }

    /// Contact details, reasons and report notes of a task in `township`.
    pub fn sees_private(&self, task_township: &str) -> bool {
        matches!(self.relation(task_township), Relation::Staff | Relation::OwnTownship)
    }

    /// The township whose internal tasks this viewer may also see (None: all or none).
    pub fn own_township(&self) -> Option<&str> {
        match self {
            Viewer::Township(code) => Some(code),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_township_sees_private_fields_of_its_own_tasks_only() {
        let v = Viewer::Township("330599101".into());
        assert!(v.sees_private("330599101"));
        assert!(!v.sees_private("330599102"));
        assert!(Viewer::Staff.sees_private("330599102"));
        assert!(!Viewer::Public.sees_private("330599101"));
    }
}
