//! Text the ledger can keep. PostgreSQL's `text` and `jsonb` cannot hold U+0000 at all (the
//! statement fails), so it is refused where input is read, with a pointer, instead of surfacing as a
//! database error; other control characters are refused in the text fields people read (titles,
//! notes, names), where they are only ever a copy-paste accident. Invalid UTF-8 cannot reach these
//! functions: the query parser and the JSON reader refuse it first.

use serde_json::Value;

use super::{Code, FieldError, Message};

/// Why `s` cannot be stored as a text field, if it cannot: NUL or a control character other than
/// tab, line feed and carriage return.
pub fn refusal(s: &str) -> Option<Message> {
    let (at, c) = s.char_indices().find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))?;
    let position = s[..at].chars().count() + 1;
    let char = format!("U+{:04X}", u32::from(c));
    let detail = format!("contains the control character {char} at character {position}; text cannot hold it");
    Some(Message::new(Code::ControlCharacter, detail).with("char", char).with("position", position))
}

/// The refusal of text holding U+0000 where its place in the text is not counted.
pub fn nul_refusal(detail: &str) -> Message {
    Message::new(Code::ControlCharacter, detail).with("char", "U+0000")
}

/// True when `s` holds U+0000, which no PostgreSQL text or jsonb value can.
pub fn has_nul(s: &str) -> bool {
    s.contains('\0')
}

/// The JSON pointer (RFC 6901) of the first string or member name in `v` that holds U+0000.
pub fn nul_in_json(v: &Value, base: &str) -> Option<String> {
    match v {
        Value::String(s) if has_nul(s) => Some(base.to_owned()),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, x)| nul_in_json(x, &format!("{base}/{i}"))),
        Value::Object(map) => map.iter().find_map(|(k, x)| {
            let pointer = format!("{base}/{}", k.replace('~', "~0").replace('/', "~1"));
            if has_nul(k) { Some(pointer) } else { nul_in_json(x, &pointer) }
        }),
        _ => None,
    }
}

/// Decodes an `application/x-www-form-urlencoded` query string into name/value pairs, in order.
/// Unlike a lossy decoder it refuses, as (parameter, why) pairs, a name or value whose bytes are not
/// UTF-8 or that holds U+0000, so they never turn into replacement characters or database errors.
/// Each error names its parameter (or, for a name that is not text, its place: `#3`).
pub fn query_pairs(q: &str) -> Result<Vec<(String, String)>, Vec<FieldError>> {
    let mut pairs = Vec::new();
    let mut errors = Vec::new();
    for (i, part) in q.split('&').filter(|p| !p.is_empty()).enumerate() {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        let name = match String::from_utf8(percent_decode(name)) {
            Ok(n) if !has_nul(&n) => n,
            _ => {
                errors.push(FieldError::new(
                    format!("#{}", i + 1),
                    Code::NotText,
                    format!("parameter {} has a name that is not text", i + 1),
                ));
                continue;
            }
        };
        match String::from_utf8(percent_decode(value)) {
            Ok(v) if !has_nul(&v) => pairs.push((name, v)),
            Ok(_) => errors.push(nul_refusal("holds the character U+0000 (%00), which no text can hold").at(name)),
            Err(_) => errors.push(FieldError::new(name, Code::NotText, "is not valid UTF-8 once percent-decoded")),
        }
    }
    if errors.is_empty() { Ok(pairs) } else { Err(errors) }
}

fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn query_strings_decode_like_forms_and_refuse_what_is_not_text() {
        let ok = query_pairs("q=%E9%9D%92%E6%BA%AA+river&limit=5&flag&x=%zz%4").unwrap();
        assert_eq!(
            ok,
            vec![
                ("q".to_owned(), "青溪 river".to_owned()),
                ("limit".to_owned(), "5".to_owned()),
                ("flag".to_owned(), String::new()),
                ("x".to_owned(), "%zz%4".to_owned()),
            ]
        );
        let bad = query_pairs("q=a%00b&township=%FF%FE&%C3=1").unwrap_err();
        assert_eq!(bad.iter().map(|e| e.pointer.as_str()).collect::<Vec<_>>(), ["q", "township", "#3"]);
    }

    #[test]
    fn text_refuses_nul_and_stray_controls_but_keeps_line_breaks() {
        assert_eq!(refusal("青溪河\n第二段\t(2026)\r\n"), None);
        let nul = refusal("ab\0c").unwrap().detail;
        assert!(nul.contains("U+0000") && nul.contains("character 3"), "{nul}");
        assert!(refusal("bell\u{7}").unwrap().detail.contains("U+0007"));
        assert!(refusal("\u{9b}csi").unwrap().detail.contains("U+009B"));
    }

    #[test]
    fn finds_nul_anywhere_in_a_document_with_its_pointer() {
        let doc = json!({"properties": {"title": "ok", "tags": ["a", "b\u{0}"]}, "geometry": null});
        assert_eq!(nul_in_json(&doc, "").as_deref(), Some("/properties/tags/1"));
        let key = json!({"properties": {"a/b\u{0}": 1}});
        assert_eq!(nul_in_json(&key, "").as_deref(), Some("/properties/a~1b\u{0}"));
        assert_eq!(nul_in_json(&json!({"title": "青溪河"}), ""), None);
    }
}
