//! Which encoding a Shapefile's attributes are in. Chinese files are mostly GBK: a `.cpg` beside
//! the `.shp` says so when the tool that wrote it cared. Without one the table is read both ways,
//! never guessed: UTF-8 if every text is valid UTF-8 (GBK Chinese practically never is), else GBK if
//! every text decodes as GBK, else the file is refused naming the first value that is neither.

use encoding_rs::{Encoding, GBK, UTF_8};

/// The encoding named by a `.cpg` (or `--encoding`): an encoding label, or a Windows code page
/// number as ArcGIS writes it (`936`, `ANSI 936`, `65001`).
pub fn named(label: &str) -> Result<&'static Encoding, String> {
    let l = label.trim().trim_start_matches('\u{feff}');
    let number =
        l.trim_start_matches("ANSI ").trim_start_matches("ansi ").trim_start_matches("CP").trim_start_matches("cp");
    let by_page = match number {
        "936" => Some(GBK),
        "65001" => Some(UTF_8),
        "54936" => Some(encoding_rs::GB18030),
        "950" => Some(encoding_rs::BIG5),
        "1252" => Some(encoding_rs::WINDOWS_1252),
        "88591" | "28591" => Some(encoding_rs::WINDOWS_1252),
        _ => None,
    };
    by_page
        .or_else(|| Encoding::for_label(l.as_bytes()))
        .or_else(|| (l.eq_ignore_ascii_case("utf8")).then_some(UTF_8))
        .ok_or_else(|| format!("'{l}' is not an encoding greenledger knows (GBK, UTF-8, GB18030, Big5, 936, 65001)"))
}

/// How the encoding was decided, for the dry-run report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    pub encoding: &'static Encoding,
    pub how: String,
}

/// Decides the encoding of `texts` (each with a description of where it is, for the refusal).
pub fn detect<'a>(texts: impl Iterator<Item = (&'a [u8], String)> + Clone) -> Result<Chosen, String> {
    if texts.clone().all(|(t, _)| std::str::from_utf8(t).is_ok()) {
        return Ok(Chosen { encoding: UTF_8, how: "detected: every text is valid UTF-8".into() });
    }
    for (t, at) in texts {
        if GBK.decode_without_bom_handling_and_without_replacement(t).is_none() {
            return Err(format!(
                "{at} is neither UTF-8 nor GBK ({} bytes starting {:02x?})",
                t.len(),
                &t[..t.len().min(8)]
            ));
        }
    }
    Ok(Chosen { encoding: GBK, how: "detected: the texts are not UTF-8 and all decode as GBK".into() })
}

/// Decodes with a chosen encoding; `None` if the bytes are not valid in it.
pub fn decode(encoding: &'static Encoding, bytes: &[u8]) -> Option<String> {
    encoding.decode_without_bom_handling_and_without_replacement(bytes).map(|s| s.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const QINGXI_GBK: &[u8] = &[0xc7, 0xe0, 0xcf, 0xaa, 0xd5, 0xf2];

    fn at(texts: &[&'static [u8]]) -> impl Iterator<Item = (&'static [u8], String)> + Clone {
        texts.iter().copied().enumerate().map(|(i, t)| (t, format!("value {i}"))).collect::<Vec<_>>().into_iter()
    }

    #[test]
    fn cpg_labels_and_code_pages_name_encodings() {
        assert_eq!(named("GBK").unwrap(), GBK);
        assert_eq!(named("ANSI 936\r\n").unwrap(), GBK);
        assert_eq!(named("UTF-8").unwrap(), UTF_8);
        assert_eq!(named("65001").unwrap(), UTF_8);
        assert_eq!(named("gb2312").unwrap(), GBK);
        assert!(named("EBCDIC-KLINGON").unwrap_err().contains("EBCDIC-KLINGON"));
    }

    #[test]
    fn gbk_is_told_from_utf8_by_decoding_and_neither_is_refused() {
        assert_eq!(detect(at(&["青溪镇".as_bytes(), b"abc"])).unwrap().encoding, UTF_8);
        let gbk = detect(at(&[b"abc", QINGXI_GBK])).unwrap();
        assert_eq!(gbk.encoding, GBK);
        assert_eq!(decode(gbk.encoding, QINGXI_GBK).as_deref(), Some("青溪镇"));
        // 0xff is a lead byte in neither encoding.
        let e = detect(at(&[QINGXI_GBK, &[0xff, 0xff, 0x41]])).unwrap_err();
        assert!(e.starts_with("value 1 is neither UTF-8 nor GBK"), "{e}");
    }
}
