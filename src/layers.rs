//! The dependency direction, checked (compiled for tests only): domain ← store ← http, with auth beside http. A test reads
//! the `crate::` paths of every file under src/domain, src/store and src/auth and names each file
//! and line that reaches where its layer may not.

/// Each layer, and the top-level modules it may not import.
const RULES: &[(&str, &[&str])] =
    &[("domain", &["store", "http", "auth", "error"]), ("store", &["http", "auth"]), ("auth", &["http"])];

/// Names the crate root re-exports from a layer (`crate::AppState` is `crate::http::AppState`).
const ROOT_ALIASES: &[(&str, &str)] = &[("AppState", "http")];

/// The top-level modules named by the `crate::` paths on each line of `text` (with their line
/// numbers), including each member of a `crate::{a, b::c}` group, even one spread over lines.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().map(|l| l.split("//").next().unwrap_or("")).collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let line = line.replace("super::super::", "crate::");
        for (at, _) in line.match_indices("crate::") {
            let rest = &line[at + "crate::".len()..];
            if rest.starts_with('{') {
                let group: String = lines[i..].join("\n");
                let group = &group[group.find(rest).unwrap_or(0) + 1..];
                let group = &group[..group.find('}').unwrap_or(group.len())];
                for member in group.split(',') {
                    found.push((i + 1, leading_name(member)));
                }
            } else {
                found.push((i + 1, leading_name(rest)));
            }
        }
    }
    found.retain(|(_, name)| !name.is_empty());
    found
}

fn leading_name(path: &str) -> String {
    let name: String = path.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    ROOT_ALIASES.iter().find(|(alias, _)| *alias == name).map_or(name, |(_, module)| (*module).to_owned())
}

/// Every line of `text` (the file `file` in `layer`) that imports a module the layer may not.
fn violations(layer: &str, file: &str, text: &str) -> Vec<String> {
    let forbidden = RULES.iter().find(|(l, _)| *l == layer).map_or(&[][..], |(_, f)| *f);
    crate_paths(text)
        .into_iter()
        .filter(|(_, module)| forbidden.contains(&module.as_str()))
        .map(|(line, module)| format!("{file}:{line}: {layer} imports {module}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("the layer's folder is readable") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn dependencies_point_one_way() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = Vec::new();
        for (layer, _) in RULES {
            let mut files = Vec::new();
            rust_files(&src.join(layer), &mut files);
            assert!(!files.is_empty(), "src/{layer} has no files");
            for file in files {
                let text = std::fs::read_to_string(&file).expect("a source file is readable");
                let name = file.strip_prefix(&src).unwrap_or(&file).display().to_string();
                found.extend(violations(layer, &format!("src/{name}"), &text));
            }
        }
        assert!(found.is_empty(), "imports against the layering:\n{}", found.join("\n"));
    }

    #[test]
    fn a_forbidden_import_is_found_in_every_spelling() {
        let text = "use crate::domain::task::Status;\n\
                    use crate::error::ApiError; // a reason\n\
                    use crate::{\n    domain::access,\n    http::AppState,\n};\n\
                    fn f() -> crate::auth::User { todo!() }\n\
                    // crate::store::tasks in a comment is no import\n\
                    use super::super::store::Db;\n\
                    use crate::AppState;\n";
        assert_eq!(
            violations("domain", "src/domain/x.rs", text),
            [
                "src/domain/x.rs:2: domain imports error",
                "src/domain/x.rs:3: domain imports http",
                "src/domain/x.rs:7: domain imports auth",
                "src/domain/x.rs:9: domain imports store",
                "src/domain/x.rs:10: domain imports http",
            ]
        );
        assert_eq!(violations("store", "src/store/x.rs", text).len(), 3);
        assert!(violations("store", "src/store/x.rs", "use crate::domain::FieldError;").is_empty());
    }
}
