//! The app shell as the service hands it out: every asset of web/ under a versioned path
//! (`/v/<version>/js/app.js`) a browser may keep for a year, the page that names them (with a
//! `modulepreload` hint for every module the map's start-up imports, so a slow link fetches them
//! at once instead of one import level per round trip), and the service worker that keeps them on
//! the phone. The version is a hash of the files, so it changes exactly when one of them does.
//!
//! When scripts/build-web.sh has combined the modules into web/dist/ (and that is newer than
//! web/js/), the page loads the combined files instead: a handful of requests in place of fifty,
//! which on a slow link is most of the wait. Without it (a checkout nobody built) the modules are
//! served as they are.
//!
//! Read once at start: a change to web/ is served after a restart.

use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Folders and files of web/ whose URLs the page and its modules write absolute, rewritten to
/// their versioned form.
const ASSET_ROOTS: [&str; 7] =
    ["js/", "dist/", "css/", "node_modules/", "icons/", "favicon.svg", "manifest.webmanifest"];

/// What esbuild says of the combined files it wrote (scripts/build-web.sh).
const BUNDLE_META: &str = "dist/meta.json";

/// Files of web/ that are not part of the shell the browser keeps.
const NOT_SHELL: [&str; 4] = ["index.html", "sw.js", "package.json", "package-lock.json"];

/// The rendered shell: its version, the page, the service worker and the files the worker keeps.
#[derive(Debug, Clone, Default)]
pub struct Shell {
    pub version: String,
    pub index: String,
    pub worker: String,
    /// Versioned URLs the service worker fetches when it installs.
    pub files: Vec<String>,
}

impl Shell {
    /// Reads web/ and renders the shell; a web folder without index.html gives an empty shell
    /// (the API alone, as some tests serve it).
    pub fn load(web_dir: &Path) -> std::io::Result<Shell> {
        let Ok(index) = std::fs::read_to_string(web_dir.join("index.html")) else {
            return Ok(Shell::default());
        };
        let own = own_files(web_dir)?;
        let mut hasher = Sha256::new();
        let mut sources = HashMap::new();
        for rel in &own {
            let bytes = std::fs::read(web_dir.join(rel))?;
            hasher.update((rel.len() as u64).to_le_bytes());
            hasher.update(rel.as_bytes());
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
            if rel.ends_with(".js") {
                sources.insert(rel.clone(), String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        let version: String = hasher.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect();
        let entries = entry_modules(&index);
        let (index, modules, bundled) = match bundle(web_dir, &entries) {
            Some(b) => (b.page(&index), b.start_up, true),
            None => {
                let imports = import_map(&index);
                let read =
                    |rel: &str| sources.get(rel).cloned().or_else(|| std::fs::read_to_string(web_dir.join(rel)).ok());
                let modules = module_graph(&entries, &imports, read);
                (index, modules, false)
            }
        };
        let preload: Vec<String> = modules.iter().map(|m| format!("/{m}")).collect();
        // The phone keeps what the page loads: the combined files or the modules, not both, and
        // no source maps.
        let unused = if bundled { "js/" } else { "dist/" };
        let mut files: BTreeSet<String> = own
            .iter()
            .filter(|f| !NOT_SHELL.contains(&f.as_str()) && !f.starts_with(unused))
            .filter(|f| !f.ends_with(".map") && f.as_str() != BUNDLE_META)
            .map(|f| format!("/{f}"))
            .collect();
        files.extend(preload.iter().cloned());
        files.extend(referenced_libraries(&index));
        let files: Vec<String> = files.iter().map(|f| versioned_path(f, &version)).collect();
        let index = versioned(&with_preloads(&index, &preload), &version);
        let worker = std::fs::read_to_string(web_dir.join("sw.js")).unwrap_or_default();
        let worker = format!(
            "const SHELL_VERSION = {};\nconst SHELL_FILES = {};\n{}",
            serde_json::Value::from(version.clone()),
            serde_json::Value::from(files.clone()),
            versioned(&worker, &version)
        );
        Ok(Shell { version, index, worker, files })
    }
}

/// The combined modules: the file the page loads first, and every file it imports statically.
struct Bundle {
    /// The page's entry module and the combined file that replaces it (`js/app.js`, `dist/app.js`).
    replaces: (String, String),
    start_up: Vec<String>,
}

impl Bundle {
    /// The page loading the combined file; its import map, which only the modules need, left out.
    fn page(&self, html: &str) -> String {
        let (module, combined) = &self.replaces;
        let mut page = html.replace(&format!("src=\"/{module}\""), &format!("src=\"/{combined}\""));
        if let Some(start) = page.find("<script type=\"importmap\">")
            && let Some(len) = page[start..].find("</script>")
        {
            let end = start + len + "</script>".len();
            let line_end = page[end..].find('\n').map_or(end, |n| end + n + 1);
            let line_start = page[..start].rfind('\n').map_or(start, |n| n + 1);
            let whole_line = page[line_start..start].trim().is_empty() && page[end..line_end].trim().is_empty();
            page.replace_range(if whole_line { line_start..line_end } else { start..end }, "");
        }
        page
    }
}

/// The combined files for the page's single entry module, when web/dist has them and is not
/// older than any module of web/js (a bundle of older sources would serve yesterday's map).
fn bundle(web_dir: &Path, entries: &[String]) -> Option<Bundle> {
    let [entry] = entries else { return None };
    let meta_path = web_dir.join(BUNDLE_META);
    let built = std::fs::metadata(&meta_path).and_then(|m| m.modified()).ok()?;
    let newest_source =
        std::fs::read_dir(web_dir.join("js")).ok()?.filter_map(|e| e.ok()?.metadata().ok()?.modified().ok()).max();
    if newest_source.is_some_and(|t| t > built) {
        tracing::warn!("web/dist is older than web/js: serving the modules as they are (scripts/build-web.sh)");
        return None;
    }
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta_path).ok()?).ok()?;
    let bundle = bundle_from_meta(&meta, entry);
    if bundle.is_none() {
        tracing::warn!("{} does not name {entry}: serving the modules as they are", meta_path.display());
    }
    bundle
}

/// Reads esbuild's metafile: the output whose entry point is `entry`, and the outputs it imports
/// statically, transitively (dynamic imports are loaded on demand).
fn bundle_from_meta(meta: &serde_json::Value, entry: &str) -> Option<Bundle> {
    let outputs = meta["outputs"].as_object()?;
    let combined = outputs.iter().find(|(_, o)| o["entryPoint"].as_str() == Some(entry))?.0.clone();
    let mut start_up = Vec::new();
    let mut queue = vec![combined.clone()];
    while let Some(file) = queue.pop() {
        if start_up.contains(&file) {
            continue;
        }
        let imports = outputs.get(&file)?["imports"].as_array().cloned().unwrap_or_default();
        for import in imports {
            if import["kind"] == "import-statement"
                && let Some(path) = import["path"].as_str()
            {
                queue.push(path.to_owned());
            }
        }
        start_up.push(file);
    }
    Some(Bundle { replaces: (entry.to_owned(), combined), start_up })
}

/// Every file under web/ outside node_modules and dot-folders, as paths relative to it, sorted.
fn own_files(web_dir: &Path) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(web_dir.join(&rel))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "node_modules" {
                continue;
            }
            let path = rel.join(&name);
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else {
                out.push(path.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The versioned form of an absolute asset path: `/js/app.js` → `/v/<version>/js/app.js`.
fn versioned_path(path: &str, version: &str) -> String {
    format!("/v/{version}{path}")
}

/// A versioned URL path as (version, plain path): `/v/ab12/js/app.js` → (`ab12`, `/js/app.js`).
pub fn split_version(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/v/")?;
    let slash = rest.find('/')?;
    (slash > 0).then(|| (&rest[..slash], &rest[slash..]))
}

/// `text` with every quoted absolute URL of an asset root (`"/js/…`, `'/node_modules/…`) under
/// the version's path. Other URLs (the API, `/`, anchors) are left as they are.
pub fn versioned(text: &str, version: &str) -> String {
    let mut out = text.to_owned();
    for quote in ['"', '\''] {
        for root in ASSET_ROOTS {
            let from = format!("{quote}/{root}");
            out = out.replace(&from, &format!("{quote}/v/{version}/{root}"));
        }
    }
    out
}

/// `html` with a modulepreload link for each module, before `</head>`.
fn with_preloads(html: &str, modules: &[String]) -> String {
    let links: String = modules.iter().map(|m| format!("  <link rel=\"modulepreload\" href=\"{m}\">\n")).collect();
    match html.find("</head>") {
        Some(at) => format!("{}{links}{}", &html[..at], &html[at..]),
        None => html.to_owned(),
    }
}

/// The bare module names the page's import map resolves, to web/-relative paths.
fn import_map(html: &str) -> HashMap<String, String> {
    let Some(start) = html.find("<script type=\"importmap\">") else {
        return HashMap::new();
    };
    let body = &html[start + "<script type=\"importmap\">".len()..];
    let body = &body[..body.find("</script>").unwrap_or(body.len())];
    let parsed: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    parsed["imports"]
        .as_object()
        .map(|m| {
            m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.trim_start_matches('/').to_owned()))).collect()
        })
        .unwrap_or_default()
}

/// The page's module scripts (`<script type="module" src="/js/app.js">`), web/-relative.
fn entry_modules(html: &str) -> Vec<String> {
    html.split("<script type=\"module\" src=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(|s| s.trim_start_matches('/').to_owned())
        .collect()
}

/// The quoted library URLs the page names itself (stylesheets, classic scripts).
fn referenced_libraries(html: &str) -> Vec<String> {
    html.split("\"/node_modules/")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(|s| format!("/node_modules/{s}"))
        .collect()
}

/// Specifiers of a module's static imports and re-exports (`import … from 'x'`, `import 'x'`,
/// `export … from 'x'`); dynamic `import('x')` is left out: what it loads is loaded on demand.
pub fn static_imports(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_statement = false;
    for line in source.lines() {
        let line = line.trim();
        if line.starts_with("import ") || line.starts_with("import{") || line.starts_with("export ") {
            in_statement = line.starts_with("import") || line.contains(" from ");
        }
        if !in_statement {
            continue;
        }
        let quoted = line.find(" from ").map(|at| &line[at + 6..]).or_else(|| line.strip_prefix("import "));
        if let Some(spec) = quoted.and_then(quoted_string) {
            out.push(spec.to_owned());
            in_statement = false;
        } else if line.ends_with(';') {
            in_statement = false;
        }
    }
    out
}

/// The string literal `s` starts with, if it does.
fn quoted_string(s: &str) -> Option<&str> {
    let s = s.trim_start();
    let quote = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let rest = &s[1..];
    rest.find(quote).map(|end| &rest[..end])
}

/// Every module reachable from `entries` by static imports, web/-relative, in the order found.
/// `read` gives a module's source; bare names resolve through `imports`.
pub fn module_graph(
    entries: &[String],
    imports: &HashMap<String, String>,
    read: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut queue: Vec<String> = entries.to_vec();
    while let Some(module) = queue.pop() {
        if seen.contains(&module) {
            continue;
        }
        let Some(source) = read(&module) else { continue };
        seen.push(module.clone());
        for spec in static_imports(&source) {
            if let Some(resolved) = resolve(&module, &spec, imports) {
                queue.push(resolved);
            }
        }
    }
    seen
}

/// A specifier seen in `from` (web/-relative) as a web/-relative path.
fn resolve(from: &str, spec: &str, imports: &HashMap<String, String>) -> Option<String> {
    if let Some(mapped) = imports.get(spec) {
        return Some(mapped.clone());
    }
    if spec.starts_with('/') {
        return Some(spec.trim_start_matches('/').to_owned());
    }
    if !(spec.starts_with("./") || spec.starts_with("../")) {
        return None;
    }
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for piece in spec.split('/') {
        match piece {
            "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_urls_get_the_version_and_others_stay() {
        let html = r##"<link href="/css/app.css"><script src='/js/app.js'></script><a href="/api/export/x.csv">
            {"imports": {"pbf": "/node_modules/pbf/index.js"}} <a href="#sidebar"> <a href="/">"##;
        let out = versioned(html, "abc");
        assert!(out.contains(r#"href="/v/abc/css/app.css""#));
        assert!(out.contains("src='/v/abc/js/app.js'"));
        assert!(out.contains(r#""/v/abc/node_modules/pbf/index.js""#));
        assert!(out.contains(r#"href="/api/export/x.csv""#));
        assert!(out.contains(r##"href="#sidebar""##));
        assert!(out.contains(r#"<a href="/">"#));
    }

    #[test]
    fn a_versioned_path_splits_into_version_and_file() {
        assert_eq!(split_version("/v/ab12/js/app.js"), Some(("ab12", "/js/app.js")));
        assert_eq!(split_version("/v/ab12/node_modules/pbf/index.js"), Some(("ab12", "/node_modules/pbf/index.js")));
        assert_eq!(split_version("/v//js/app.js"), None);
        assert_eq!(split_version("/v/ab12"), None);
        assert_eq!(split_version("/js/app.js"), None);
    }

    #[test]
    fn static_imports_are_read_and_dynamic_ones_left_out() {
        let src = "import { a } from './a.js';\nimport {\n  b,\n  c,\n} from \"../lib/b.js\";\nimport './side.js';\n\
                   export { d } from './d.js';\nexport function f() { return import('./lazy.js'); }\n\
                   const x = 'import y from \"./not.js\"';\nimport * as o from './o.js';";
        assert_eq!(static_imports(src), ["./a.js", "../lib/b.js", "./side.js", "./d.js", "./o.js"]);
    }

    #[test]
    fn the_graph_follows_relative_and_mapped_imports_once() {
        let imports = HashMap::from([("pbf".to_owned(), "node_modules/pbf/index.js".to_owned())]);
        let files = HashMap::from([
            ("js/app.js", "import { x } from './x.js';\nimport { y } from './y.js';"),
            ("js/x.js", "import { y } from './y.js';\nimport Pbf from 'pbf';\nconst e = () => import('./editor.js');"),
            ("js/y.js", "export const y = 1;"),
            ("js/editor.js", "export const e = 1;"),
            ("node_modules/pbf/index.js", "import { z } from './lib/z.js';"),
            ("node_modules/pbf/lib/z.js", ""),
        ]);
        let mut graph = module_graph(&["js/app.js".to_owned()], &imports, |m| files.get(m).map(|s| s.to_string()));
        graph.sort();
        assert_eq!(
            graph,
            ["js/app.js", "js/x.js", "js/y.js", "node_modules/pbf/index.js", "node_modules/pbf/lib/z.js"]
        );
    }

    #[test]
    fn the_page_names_its_entry_module_import_map_and_libraries() {
        let html = r#"<head><link rel="stylesheet" href="/node_modules/leaflet/dist/leaflet.css">
            <script type="importmap">{"imports": {"pbf": "/node_modules/pbf/index.js"}}</script>
            <script src="/node_modules/leaflet/dist/leaflet.js" defer></script>
            <script type="module" src="/js/app.js"></script></head>"#;
        assert_eq!(entry_modules(html), ["js/app.js"]);
        assert_eq!(import_map(html)["pbf"], "node_modules/pbf/index.js");
        assert_eq!(
            referenced_libraries(html),
            [
                "/node_modules/leaflet/dist/leaflet.css",
                "/node_modules/pbf/index.js",
                "/node_modules/leaflet/dist/leaflet.js"
            ]
        );
        let with = with_preloads(html, &["/js/app.js".to_owned()]);
        assert!(with.contains("<link rel=\"modulepreload\" href=\"/js/app.js\">\n</head>"));
    }

    #[test]
    fn the_combined_files_replace_the_entry_and_only_static_imports_are_preloaded() {
        let meta = serde_json::json!({"outputs": {
            "dist/app.js": {"entryPoint": "js/app.js", "imports": [
                {"path": "dist/chunk-A.js", "kind": "import-statement"},
                {"path": "dist/editor.js", "kind": "dynamic-import"}]},
            "dist/chunk-A.js": {"imports": [{"path": "dist/chunk-B.js", "kind": "import-statement"}]},
            "dist/chunk-B.js": {"imports": []},
            "dist/editor.js": {"entryPoint": "js/editor.js", "imports": [{"path": "dist/chunk-B.js", "kind": "import-statement"}]},
            "dist/app.js.map": {"imports": []}
        }});
        let bundle = bundle_from_meta(&meta, "js/app.js").unwrap();
        let mut start_up = bundle.start_up.clone();
        start_up.sort();
        assert_eq!(start_up, ["dist/app.js", "dist/chunk-A.js", "dist/chunk-B.js"]);
        assert!(bundle_from_meta(&meta, "js/other.js").is_none(), "a metafile of another entry is not used");

        let html = "<head>\n  <script type=\"importmap\">\n{\"imports\": {}}\n  </script>\n  <script type=\"module\" src=\"/js/app.js\"></script>\n</head>";
        let page = bundle.page(html);
        assert_eq!(page, "<head>\n  <script type=\"module\" src=\"/dist/app.js\"></script>\n</head>");
    }

    #[test]
    fn a_bundle_older_than_the_modules_is_not_served() {
        let dir = std::env::temp_dir().join(format!("greenledger-bundle-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("js")).unwrap();
        std::fs::create_dir_all(dir.join("dist")).unwrap();
        std::fs::write(dir.join("index.html"), r#"<head><script type="module" src="/js/app.js"></script></head>"#)
            .unwrap();
        std::fs::write(dir.join("js/app.js"), "import { y } from './y.js';").unwrap();
        std::fs::write(dir.join("js/y.js"), "export const y = 1;").unwrap();
        std::fs::write(dir.join("dist/app.js"), "const y = 1;").unwrap();
        let meta = r#"{"outputs": {"dist/app.js": {"entryPoint": "js/app.js", "imports": []}}}"#;
        std::fs::write(dir.join(BUNDLE_META), meta).unwrap();
        let shell = Shell::load(&dir).unwrap();
        let v = &shell.version;
        assert!(shell.index.contains(&format!("src=\"/v/{v}/dist/app.js\"")), "{}", shell.index);
        assert!(shell.files.contains(&format!("/v/{v}/dist/app.js")));
        assert!(!shell.files.iter().any(|f| f.contains("/js/") || f.ends_with("meta.json")), "{:?}", shell.files);

        // A module edited after the build: the page goes back to the modules.
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options().write(true).open(dir.join("js/y.js")).unwrap().set_modified(later).unwrap();
        let shell = Shell::load(&dir).unwrap();
        let v = &shell.version;
        assert!(shell.index.contains(&format!("src=\"/v/{v}/js/app.js\"")), "{}", shell.index);
        assert!(shell.files.contains(&format!("/v/{v}/js/y.js")));
        assert!(!shell.files.iter().any(|f| f.contains("/dist/")), "{:?}", shell.files);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_version_follows_the_files() {
        let dir = std::env::temp_dir().join(format!("greenledger-shell-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("js")).unwrap();
        std::fs::write(dir.join("index.html"), r#"<head><script type="module" src="/js/app.js"></script></head>"#)
            .unwrap();
        std::fs::write(dir.join("js/app.js"), "import { y } from './y.js';").unwrap();
        std::fs::write(dir.join("js/y.js"), "export const y = 1;").unwrap();
        std::fs::write(dir.join("sw.js"), "const x = '/js/y.js';").unwrap();
        let first = Shell::load(&dir).unwrap();
        assert_eq!(first.version.len(), 12);
        assert!(first.index.contains(&format!("<link rel=\"modulepreload\" href=\"/v/{}/js/y.js\">", first.version)));
        assert!(first.worker.contains(&format!("const x = '/v/{}/js/y.js';", first.version)));
        assert!(first.files.contains(&format!("/v/{}/js/y.js", first.version)));
        assert!(!first.files.iter().any(|f| f.ends_with("/index.html") || f.ends_with("/sw.js")));
        std::fs::write(dir.join("js/y.js"), "export const y = 2;").unwrap();
        let second = Shell::load(&dir).unwrap();
        assert_ne!(first.version, second.version);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
