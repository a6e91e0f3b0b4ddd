//! Plain HTML pages for people who open the OGC API in a browser: every member of the JSON document,
//! links as links, features as a table.
use serde_json::Value;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub fn page(title: &str, doc: &Value) -> String {
    let mut out = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <link rel=\"stylesheet\" href=\"/css/ogc.css\"></head><body><h1>{t}</h1>",
        t = escape(title)
    );
    if let Some(links) = doc.get("links").and_then(Value::as_array) {
        out.push_str("<h2>Links</h2><ul>");
        for l in links {
            let s = |k: &str| l.get(k).and_then(Value::as_str).unwrap_or("");
            out.push_str(&format!(
                "<li><a href=\"{}\" type=\"{}\">{}</a> ({})</li>",
                escape(s("href")),
                escape(s("type")),
                escape(if s("title").is_empty() { s("href") } else { s("title") }),
                escape(s("rel"))
            ));
        }
        out.push_str("</ul>");
    }
    if let Some(features) = doc.get("features").and_then(Value::as_array) {
        features_table(&mut out, features);
    }
    let rest: serde_json::Map<String, Value> = doc
        .as_object()
        .map(|m| {
            m.iter().filter(|(k, _)| *k != "links" && *k != "features").map(|(k, v)| (k.clone(), v.clone())).collect()
        })
        .unwrap_or_default();
    out.push_str("<h2>Details</h2>");
    value(&mut out, &Value::Object(rest));
    out.push_str("</body></html>\n");
    out
}

fn features_table(out: &mut String, features: &[Value]) {
    let mut columns: Vec<String> = Vec::new();
    for f in features {
        if let Some(p) = f.get("properties").and_then(Value::as_object) {
            for k in p.keys() {
                if !columns.contains(k) {
                    columns.push(k.clone());
                }
            }
        }
    }
    out.push_str("<h2>Features</h2><table><tr><th>id</th><th>geometry</th>");
    for c in &columns {
        out.push_str(&format!("<th>{}</th>", escape(c)));
    }
    out.push_str("</tr>");
    for f in features {
        let id =
            f.get("id").map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())).unwrap_or_default();
        let kind = f.pointer("/geometry/type").and_then(Value::as_str).unwrap_or("");
        out.push_str(&format!(
            "<tr><td><a href=\"items/{0}?f=html\">{0}</a></td><td>{1}</td>",
            escape(&id),
            escape(kind)
        ));
        for c in &columns {
            let v = f.pointer(&format!("/properties/{c}")).cloned().unwrap_or(Value::Null);
            out.push_str("<td>");
            scalar(out, &v);
            out.push_str("</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

fn scalar(out: &mut String, v: &Value) {
    match v {
        Value::Null => {}
        Value::String(s) if s.starts_with("http://") || s.starts_with("https://") => {
            out.push_str(&format!("<a href=\"{0}\">{0}</a>", escape(s)));
        }
        Value::String(s) => out.push_str(&escape(s)),
        other => out.push_str(&escape(&other.to_string())),
    }
}

fn value(out: &mut String, v: &Value) {
    match v {
        Value::Object(m) => {
            out.push_str("<dl>");
            for (k, v) in m {
                out.push_str(&format!("<dt>{}</dt><dd>", escape(k)));
                value(out, v);
                out.push_str("</dd>");
            }
            out.push_str("</dl>");
        }
        Value::Array(items) => {
            out.push_str("<ul>");
            for i in items {
                out.push_str("<li>");
                value(out, i);
                out.push_str("</li>");
            }
            out.push_str("</ul>");
        }
        other => scalar(out, other),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pages_escape_text_and_link_links() {
        let doc = serde_json::json!({"title": "<b>", "links": [{"href": "http://x/ogc?f=json", "rel": "self", "type": "application/json", "title": "t"}]});
        let p = super::page("a & b", &doc);
        assert!(p.contains("<title>a &amp; b</title>"));
        assert!(p.contains("&lt;b&gt;"));
        assert!(p.contains("<a href=\"http://x/ogc?f=json\""));
    }
}
