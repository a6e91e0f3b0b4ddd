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
    /// A department officer (水利局, 住建局, …): reports on the tasks its department leads.
    Department,
}

impl Role {
    pub const ALL: &'static [(&'static str, Role)] = &[
        ("admin", Role::Admin),
        ("bureau", Role::Bureau),
        ("township", Role::Township),
        ("department", Role::Department),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Bureau => "bureau",
            Role::Township => "township",
            Role::Department => "department",
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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Viewer {
    /// Public tasks, public fields.
    Public,
    /// Everything of its own township's tasks; other townships' as the public sees them.
    Township(String),
    /// Everything of the tasks its department leads; others as the public sees them.
    Department(String),
    /// Everything.
    Staff,
}

impl Viewer {
    pub fn relation(&self, task: Unit<'_>) -> Relation {
        match self {
            Viewer::Staff => Relation::Staff,
            Viewer::Township(own) if own == task.township => Relation::Own,
            Viewer::Department(own) if Some(own.as_str()) == task.lead_department => Relation::Own,
            Viewer::Township(_) | Viewer::Department(_) => Relation::Other,
            Viewer::Public => Relation::Public,
        }
    }

    /// Contact details, reasons and report notes of a task.
    pub fn sees_private(&self, task: Unit<'_>) -> bool {
        matches!(self.relation(task), Relation::Staff | Relation::Own)
    }

    /// The township whose internal tasks this viewer may also see (None: all or none).
    pub fn own_township(&self) -> Option<&str> {
        match self {
            Viewer::Township(code) => Some(code),
            _ => None,
        }
    }

    /// The department whose led tasks this viewer may see in full.
    pub fn own_department(&self) -> Option<&str> {
        match self {
            Viewer::Department(code) => Some(code),
            _ => None,
        }
    }

    /// A township or department officer: whoever the reports and reminders of some tasks are for.
    pub fn is_officer(&self) -> bool {
        matches!(self, Viewer::Township(_) | Viewer::Department(_))
    }
}

/// Who answers for a task: its township, and the department leading it if any. A township officer
/// of that township, or a department officer of that department, stands to the task as its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit<'a> {
    pub township: &'a str,
    pub lead_department: Option<&'a str>,
}

impl<'a> Unit<'a> {
    pub fn new(township: &'a str, lead_department: Option<&'a str>) -> Unit<'a> {
        Unit { township, lead_department }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_township_sees_private_fields_of_its_own_tasks_only() {
        let v = Viewer::Township("330599101".into());
        assert!(v.sees_private(Unit::new("330599101", None)));
        assert!(v.sees_private(Unit::new("330599101", Some("water"))));
        assert!(!v.sees_private(Unit::new("330599102", None)));
        assert!(Viewer::Staff.sees_private(Unit::new("330599102", None)));
        assert!(!Viewer::Public.sees_private(Unit::new("330599101", None)));
    }

    #[test]
    fn a_department_stands_to_the_tasks_it_leads_as_a_township_to_its_own() {
        let v = Viewer::Department("water".into());
        assert_eq!(v.relation(Unit::new("330599101", Some("water"))), Relation::Own);
        assert_eq!(v.relation(Unit::new("330599101", Some("housing"))), Relation::Other);
        // Supporting is not leading: the lead reports, the others are kept informed.
        assert_eq!(v.relation(Unit::new("330599101", None)), Relation::Other);
        // A department's code never matches a township's, even if an administrator chose it so.
        assert_eq!(Viewer::Department("330599101".into()).relation(Unit::new("330599101", None)), Relation::Other);
    }
}
