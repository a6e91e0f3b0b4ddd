//! Responsible departments (牵头单位 / 配合单位) as an administrator keeps them: what each field may
//! hold. A department's code never changes once made: accounts, tasks and other systems name it.

use serde_json::Value;

use super::account::department_code;
use super::fields::{self, Props};
use super::{FieldError, Message};

const FIELDS: &[&str] = &["code", "name_zh", "name_en", "sort_order"];

fn name(v: &Value) -> Result<String, Message> {
    fields::text(100, false)(v)
}

fn sort_order(v: &Value) -> Result<i32, Message> {
    fields::integer(-100_000, 100_000)(v).map(|n| n as i32)
}

/// A department to add. Without `sort_order` it goes after the others.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDepartment {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub sort_order: Option<i32>,
}

impl NewDepartment {
    pub fn parse(body: &Value) -> Result<NewDepartment, Vec<FieldError>> {
        let mut p = Props::object(body, "")?;
        p.refuse_unknown(FIELDS, &[]);
        let department = NewDepartment {
            code: p.required("code", department_code).unwrap_or_default(),
            name_zh: p.required("name_zh", name).unwrap_or_default(),
            name_en: p.required("name_en", name).unwrap_or_default(),
            sort_order: p.optional("sort_order", sort_order),
        };
        if p.errors.is_empty() { Ok(department) } else { Err(p.errors) }
    }
}

/// A change to a department: its names, its place in lists, and `retired` (true: no task may be
/// given to it any more; false: open again).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DepartmentChange {
    pub name_zh: Option<String>,
    pub name_en: Option<String>,
    pub sort_order: Option<i32>,
    pub retired: Option<bool>,
}

impl DepartmentChange {
    pub fn parse(body: &Value) -> Result<DepartmentChange, Vec<FieldError>> {
        let mut p = Props::object(body, "")?;
        p.refuse_unknown(&["name_zh", "name_en", "sort_order", "retired"], &[]);
        let change = DepartmentChange {
            name_zh: p.change("name_zh", name),
            name_en: p.change("name_en", name),
            sort_order: p.change("sort_order", sort_order),
            retired: p.change("retired", fields::boolean),
        };
        if p.errors.is_empty() { Ok(change) } else { Err(p.errors) }
    }

    pub fn retire(yes: bool) -> DepartmentChange {
        DepartmentChange { retired: Some(yes), ..DepartmentChange::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Code;
    use serde_json::json;

    #[test]
    fn a_department_needs_a_code_and_both_names() {
        let d = NewDepartment::parse(&json!({"code": "forestry", "name_zh": "林业局", "name_en": "Forestry Bureau"}))
            .unwrap();
        assert_eq!((d.code.as_str(), d.sort_order), ("forestry", None));
        let e = NewDepartment::parse(&json!({"code": "林业", "name_zh": " ", "sort_order": "1"})).unwrap_err();
        let pointers: Vec<_> = e.iter().map(|x| x.pointer.as_str()).collect();
        assert_eq!(pointers, ["/code", "/name_zh", "/name_en", "/sort_order"]);
    }

    #[test]
    fn a_department_code_never_changes() {
        let e = DepartmentChange::parse(&json!({"code": "water2", "retired": true})).unwrap_err();
        assert_eq!((e[0].pointer.as_str(), e[0].code), ("/code", Code::UnknownField));
        assert_eq!(DepartmentChange::parse(&json!({"retired": true})).unwrap(), DepartmentChange::retire(true));
    }
}
