//! The code's shape, checked (compiled for tests only). The dependency direction: domain ← store ←
//! http, with auth beside http; a test reads the `crate::` paths of every file under src/domain,
//! src/store and src/auth and names each file and line that reaches where its layer may not. And
//! no function over `MAX_FUNCTION_LINES` lines, except the declarative tables in `LONG_TABLES`.

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

/// The most lines a function may span, from `fn` to its closing brace.
const MAX_FUNCTION_LINES: usize = 60;

/// Functions allowed to be longer because they are declarative tables (a document or a list of
/// entries read top to bottom), not logic: (file under src/, function).
const LONG_TABLES: &[(&str, &str)] = &[];

/// `text` with comments and the insides of string and character literals blanked (newlines kept),
/// so braces and the word `fn` in them are not read as code.
fn code_only(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = c.clone();
    let ident = |i: usize| i < c.len() && (c[i].is_alphanumeric() || c[i] == '_');
    let blank = |out: &mut Vec<char>, from: usize, to: usize| {
        for ch in &mut out[from..to.min(c.len())] {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
    };
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        let end = if c[i] == '/' && next == Some('/') {
            (i..c.len()).find(|&j| c[j] == '\n').unwrap_or(c.len())
        } else if c[i] == '/' && next == Some('*') {
            block_comment_end(&c, i)
        } else if c[i] == 'r'
            && matches!(next, Some('"' | '#'))
            && (i == 0 || !ident(i - 1) || (c[i - 1] == 'b' && (i < 2 || !ident(i - 2))))
        {
            raw_string_end(&c, i + 1)
        } else if c[i] == '"' {
            let mut j = i + 1;
            while j < c.len() && c[j] != '"' {
                j += if c[j] == '\\' { 2 } else { 1 };
            }
            j + 1
        } else if c[i] == '\'' && next == Some('\\') {
            (i + 2..c.len()).find(|&j| c[j] == '\'').map_or(c.len(), |j| j + 1)
        } else if c[i] == '\'' && c.get(i + 2) == Some(&'\'') {
            i + 3
        } else {
            i += 1;
            continue;
        };
        blank(&mut out, i, end);
        i = end;
    }
    out.into_iter().collect()
}

/// Where the (possibly nested) block comment opening at `start` ends.
fn block_comment_end(c: &[char], start: usize) -> usize {
    let (mut depth, mut j) = (0, start);
    while j + 1 < c.len() {
        match (c[j], c[j + 1]) {
            ('/', '*') => depth += 1,
            ('*', '/') => depth -= 1,
            _ => {
                j += 1;
                continue;
            }
        }
        j += 2;
        if depth == 0 {
            return j;
        }
    }
    c.len()
}

/// Where the raw string whose hashes or quote start at `from` ends.
fn raw_string_end(c: &[char], from: usize) -> usize {
    let hashes = c[from..].iter().take_while(|&&ch| ch == '#').count();
    let close: Vec<char> = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
    let body = from + hashes + 1;
    (body..c.len()).find(|&j| c[j..].starts_with(&close)).map_or(c.len(), |j| j + close.len())
}

/// Every function with a body in `text`: its name, the line of its `fn` and how many lines it spans.
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let code: Vec<char> = code_only(text).chars().collect();
    let line_at = |i: usize| code[..i].iter().filter(|&&ch| ch == '\n').count() + 1;
    let mut found = Vec::new();
    for i in 0..code.len().saturating_sub(3) {
        let word_start = i == 0 || !(code[i - 1].is_alphanumeric() || code[i - 1] == '_');
        if !(word_start && code[i..].starts_with(&['f', 'n']) && code[i + 2].is_whitespace()) {
            continue;
        }
        let name: String = code[i + 2..]
            .iter()
            .skip_while(|ch| ch.is_whitespace())
            .take_while(|ch| ch.is_alphanumeric() || **ch == '_')
            .collect();
        let Some(open) = (i..code.len()).find(|&j| code[j] == '{' || code[j] == ';') else { continue };
        if name.is_empty() || code[open] == ';' {
            continue;
        }
        let mut depth = 0;
        let close = (open..code.len()).find(|&j| {
            depth += match code[j] {
                '{' => 1,
                '}' => -1,
                _ => 0,
            };
            depth == 0
        });
        let close = close.unwrap_or(code.len() - 1);
        found.push((name, line_at(i), line_at(close) - line_at(i) + 1));
    }
    found
}

/// Every function of `text` (the file `file`) over the limit and not a declarative table.
fn too_long(file: &str, text: &str) -> Vec<String> {
    functions(text)
        .into_iter()
        .filter(|(name, _, lines)| *lines > MAX_FUNCTION_LINES && !LONG_TABLES.contains(&(file, name.as_str())))
        .map(|(name, line, lines)| format!("{file}:{line}: fn {name} is {lines} lines"))
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

    /// Every Rust file under src/, named from the crate (`src/store/tasks.rs`), with its text.
    fn sources() -> Vec<(String, String)> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        files
            .into_iter()
            .map(|file| {
                let text = std::fs::read_to_string(&file).expect("a source file is readable");
                (format!("src/{}", file.strip_prefix(&src).unwrap_or(&file).display()), text)
            })
            .collect()
    }

    #[test]
    fn no_function_is_too_long_to_read() {
        let sources = sources();
        let found: Vec<String> = sources.iter().flat_map(|(file, text)| too_long(file, text)).collect();
        assert!(found.is_empty(), "functions over {MAX_FUNCTION_LINES} lines (split them):\n{}", found.join("\n"));
        for (file, name) in LONG_TABLES {
            let long = sources
                .iter()
                .filter(|(f, _)| f == file)
                .flat_map(|(_, text)| functions(text))
                .any(|(n, _, lines)| n == *name && lines > MAX_FUNCTION_LINES);
            assert!(long, "LONG_TABLES names {file} fn {name}, which is no longer over the limit: drop it");
        }
    }

    #[test]
    fn function_lengths_ignore_braces_in_comments_and_literals() {
        let text = "fn one() {\n    let s = \"}}\";\n    let c = '}';\n}\n\
                    /// fn not_code() {\n\
                    pub async fn two<'a>(x: &'a str) -> impl Fn() -> u8 {\n    let r = r#\"{ \"fn x\" {\"#;\n    /* { /* } */ { */\n    || 1\n}\n\
                    trait T { fn declared(&self); }\n\
                    fn three() { let b = br\"{\"; let e = '\\''; if true { } }\n";
        assert_eq!(functions(text), [("one".to_owned(), 1, 4), ("two".to_owned(), 6, 5), ("three".to_owned(), 12, 1)]);
        let long = format!("fn long() {{\n{}}}\n", "    step();\n".repeat(MAX_FUNCTION_LINES - 1));
        assert_eq!(too_long("x.rs", &long), ["x.rs:1: fn long is 61 lines"]);
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
