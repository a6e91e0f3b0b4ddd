//! The attribute half of a Shapefile (`.dbf`, dBASE III): a header, 32-byte field descriptors, then
//! fixed-width records. Text is kept as bytes here: which encoding it is in is decided for the whole
//! table at once (`text.rs`), never value by value.

/// One value as stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Character data, trailing blanks removed, not yet decoded.
    Text(Vec<u8>),
    Number(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The field name as stored (up to 10 bytes; may be GBK like the values).
    pub name: Vec<u8>,
    kind: u8,
    offset: usize,
    width: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub fields: Vec<Field>,
    /// Records in file order; `None` for a record marked deleted.
    pub records: Vec<Option<Vec<Cell>>>,
}

fn le_u16(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

pub fn read(bytes: &[u8]) -> Result<Table, String> {
    if bytes.len() < 32 {
        return Err("it is too short to be a dBASE table (.dbf)".into());
    }
    let count = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    let (header_len, record_len) = (le_u16(bytes, 8), le_u16(bytes, 10));
    let mut fields = Vec::new();
    let mut offset = 1; // each record starts with its deletion flag
    let mut at = 32;
    while at + 32 <= header_len.min(bytes.len()) && bytes[at] != 0x0d {
        let d = &bytes[at..at + 32];
        let name_end = d[..11].iter().position(|&b| b == 0).unwrap_or(11);
        let width = usize::from(d[16]);
        fields.push(Field { name: d[..name_end].to_vec(), kind: d[11], offset, width });
        offset += width;
        at += 32;
    }
    if fields.is_empty() || offset > record_len {
        return Err("its header describes no fields, or fields wider than its records: it is not a valid .dbf".into());
    }
    let mut records = Vec::with_capacity(count);
    for i in 0..count {
        let start = header_len + i * record_len;
        let Some(r) = bytes.get(start..start + record_len) else {
            return Err(format!("it announces {count} records but ends after {i}"));
        };
        records.push(if r[0] == b'*' { None } else { Some(fields.iter().map(|f| cell(f, r)).collect()) });
    }
    Ok(Table { fields, records })
}

fn cell(f: &Field, record: &[u8]) -> Cell {
    let raw = &record[f.offset..f.offset + f.width];
    let end = raw.iter().rposition(|&b| b != b' ' && b != 0).map_or(0, |i| i + 1);
    let raw = &raw[..end];
    let text = || String::from_utf8_lossy(raw).trim().to_owned();
    match f.kind {
        b'N' | b'F' => text().parse().map_or(Cell::Null, Cell::Number),
        b'L' => match raw.first() {
            Some(b'T' | b't' | b'Y' | b'y') => Cell::Bool(true),
            Some(b'F' | b'f' | b'N' | b'n') => Cell::Bool(false),
            _ => Cell::Null,
        },
        // Character, date (YYYYMMDD) and anything else readable as text.
        _ if raw.is_empty() => Cell::Null,
        _ => Cell::Text(raw.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A two-field table: NAME (C, 8 bytes) and CODE (N, 9 digits).
    fn table(rows: &[(&[u8], &str, bool)]) -> Vec<u8> {
        let header_len = 32 + 2 * 32 + 1;
        let record_len = 1 + 8 + 9;
        let mut b = vec![3u8, 126, 1, 1];
        b.extend_from_slice(&(rows.len() as u32).to_le_bytes());
        b.extend_from_slice(&(header_len as u16).to_le_bytes());
        b.extend_from_slice(&(record_len as u16).to_le_bytes());
        b.resize(32, 0);
        for (name, kind, width) in [(&b"NAME"[..], b'C', 8u8), (b"CODE", b'N', 9)] {
            let mut d = [0u8; 32];
            d[..name.len()].copy_from_slice(name);
            d[11] = kind;
            d[16] = width;
            b.extend_from_slice(&d);
        }
        b.push(0x0d);
        for (name, code, deleted) in rows {
            b.push(if *deleted { b'*' } else { b' ' });
            let mut n = name.to_vec();
            n.resize(8, b' ');
            b.extend_from_slice(&n);
            b.extend_from_slice(format!("{code:>9}").as_bytes());
        }
        b
    }

    #[test]
    fn reads_text_as_bytes_numbers_as_numbers_and_marks_deleted_records() {
        let gbk_qingxi = [0xc7, 0xe0, 0xcf, 0xaa, 0xd5, 0xf2]; // 青溪镇 in GBK
        let t = read(&table(&[(&gbk_qingxi, "330599101", false), (b"", "", true)])).unwrap();
        assert_eq!(t.fields.iter().map(|f| f.name.clone()).collect::<Vec<_>>(), [b"NAME".to_vec(), b"CODE".to_vec()]);
        assert_eq!(t.records[0], Some(vec![Cell::Text(gbk_qingxi.to_vec()), Cell::Number(330599101.0)]));
        assert_eq!(t.records[1], None);
    }

    #[test]
    fn a_table_shorter_than_it_says_is_refused() {
        let mut b = table(&[(b"A", "1", false), (b"B", "2", false)]);
        b.truncate(b.len() - 5);
        assert_eq!(read(&b).unwrap_err(), "it announces 2 records but ends after 1");
        assert!(read(b"short").is_err());
    }
}
