//! The EXIF block of a demo photo (EXIF 2.32, a big-endian TIFF structure): camera, when the photo
//! was taken (local time and its offset from UTC) and where (GPS, WGS 84), as a phone writes them.

use chrono::{DateTime, FixedOffset, Utc};

pub struct Tags {
    pub taken: DateTime<FixedOffset>,
    pub utc: DateTime<Utc>,
    pub lon: f64,
    pub lat: f64,
}

/// TIFF field types.
const BYTE: u16 = 1;
const ASCII: u16 = 2;
const SHORT: u16 = 3;
const LONG: u16 = 4;
const RATIONAL: u16 = 5;
const UNDEFINED: u16 = 7;

/// One IFD entry: tag, type, count and the value's bytes (big-endian).
struct Entry(u16, u16, u32, Vec<u8>);

fn ascii(tag: u16, text: &str) -> Entry {
    let mut bytes = text.as_bytes().to_vec();
    bytes.push(0);
    Entry(tag, ASCII, bytes.len() as u32, bytes)
}

fn long(tag: u16, value: u32) -> Entry {
    Entry(tag, LONG, 1, value.to_be_bytes().to_vec())
}

/// Degrees, minutes and seconds (to 1/1000) as three rationals.
fn dms(tag: u16, value: f64) -> Entry {
    let millis = (value.abs() * 3_600_000.0).round() as u64;
    let (d, m, s) = (millis / 3_600_000, millis / 60_000 % 60, millis % 60_000);
    let mut bytes = Vec::new();
    for (n, den) in [(d, 1u32), (m, 1), (s, 1000)] {
        bytes.extend((n as u32).to_be_bytes());
        bytes.extend(den.to_be_bytes());
    }
    Entry(tag, RATIONAL, 3, bytes)
}

/// An IFD starting at `start` (an offset from the TIFF header): its entries, no next IFD, then
/// the values longer than four bytes.
fn ifd(start: u32, entries: &[Entry]) -> Vec<u8> {
    let data_at = start + 2 + 12 * entries.len() as u32 + 4;
    let (mut head, mut data) = (Vec::new(), Vec::new());
    head.extend((entries.len() as u16).to_be_bytes());
    for Entry(tag, kind, count, value) in entries {
        head.extend(tag.to_be_bytes());
        head.extend(kind.to_be_bytes());
        head.extend(count.to_be_bytes());
        if value.len() <= 4 {
            let mut inline = value.clone();
            inline.resize(4, 0);
            head.extend(inline);
        } else {
            head.extend((data_at + data.len() as u32).to_be_bytes());
            data.extend(value);
            // Values start on a word boundary.
            if data.len() % 2 == 1 {
                data.push(0);
            }
        }
    }
    head.extend(0u32.to_be_bytes());
    head.extend(data);
    head
}

/// The TIFF structure that follows "Exif\0\0" in the APP1 segment.
pub fn block(t: &Tags) -> Vec<u8> {
    let when = t.taken.format("%Y:%m:%d %H:%M:%S").to_string();
    let offset = t.taken.format("%:z").to_string();
    let ifd0 = |exif_at: u32, gps_at: u32| {
        vec![
            ascii(0x010F, "greenledger"),
            ascii(0x0110, "demo"),
            Entry(0x0112, SHORT, 1, 1u16.to_be_bytes().to_vec()),
            ascii(0x0132, &when),
            long(0x8769, exif_at),
            long(0x8825, gps_at),
        ]
    };
    let exif = vec![Entry(0x9000, UNDEFINED, 4, b"0232".to_vec()), ascii(0x9003, &when), ascii(0x9011, &offset)];
    let utc_time = t.utc.format("%H %M %S").to_string();
    let hms: Vec<u64> = utc_time.split(' ').map(|n| n.parse().unwrap_or(0)).collect();
    let mut stamp = Vec::new();
    for n in hms {
        stamp.extend((n as u32).to_be_bytes());
        stamp.extend(1u32.to_be_bytes());
    }
    let gps = vec![
        Entry(0x0000, BYTE, 4, vec![2, 3, 0, 0]),
        ascii(0x0001, if t.lat >= 0.0 { "N" } else { "S" }),
        dms(0x0002, t.lat),
        ascii(0x0003, if t.lon >= 0.0 { "E" } else { "W" }),
        dms(0x0004, t.lon),
        Entry(0x0007, RATIONAL, 3, stamp),
        ascii(0x001D, &t.utc.format("%Y:%m:%d").to_string()),
    ];
    // The IFDs' sizes do not depend on the offsets written in them, so lay out once to learn them.
    let exif_at = 8 + ifd(8, &ifd0(0, 0)).len() as u32;
    let gps_at = exif_at + ifd(exif_at, &exif).len() as u32;
    let mut out = b"MM\0\x2a".to_vec();
    out.extend(8u32.to_be_bytes());
    out.extend(ifd(8, &ifd0(exif_at, gps_at)));
    out.extend(ifd(exif_at, &exif));
    out.extend(ifd(gps_at, &gps));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_be_bytes([b[at], b[at + 1]])
    }

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    /// The value offset (or inline value) of `tag` in the IFD at `at`.
    fn find(b: &[u8], at: usize, tag: u16) -> Option<(u16, u32, u32)> {
        (0..u16_at(b, at) as usize)
            .map(|i| at + 2 + 12 * i)
            .find(|&e| u16_at(b, e) == tag)
            .map(|e| (u16_at(b, e + 2), u32_at(b, e + 4), u32_at(b, e + 8)))
    }

    #[test]
    fn a_reader_finds_the_time_and_the_place() {
        let taken: DateTime<FixedOffset> = "2026-03-05T14:07:09+08:00".parse().unwrap();
        let b = block(&Tags { taken, utc: taken.with_timezone(&Utc), lon: 119.958_3, lat: 30.841_25 });
        assert_eq!(&b[..8], b"MM\0\x2a\0\0\0\x08");
        let (_, _, exif_at) = find(&b, 8, 0x8769).unwrap();
        let (kind, count, at) = find(&b, exif_at as usize, 0x9003).unwrap();
        assert_eq!((kind, count), (ASCII, 20));
        assert_eq!(&b[at as usize..at as usize + 19], b"2026:03:05 14:07:09");
        let (_, _, gps_at) = find(&b, 8, 0x8825).unwrap();
        let (kind, count, at) = find(&b, gps_at as usize, 0x0004).unwrap();
        assert_eq!((kind, count), (RATIONAL, 3));
        let r = |i: usize| u32_at(&b, at as usize + 8 * i) as f64 / u32_at(&b, at as usize + 8 * i + 4) as f64;
        let lon = r(0) + r(1) / 60.0 + r(2) / 3600.0;
        assert!((lon - 119.958_3).abs() < 1e-6, "{lon}");
        let (_, _, stamp) = find(&b, gps_at as usize, 0x001D).unwrap();
        assert_eq!(&b[stamp as usize..stamp as usize + 10], b"2026:03:05");
        let (_, _, time) = find(&b, gps_at as usize, 0x0007).unwrap();
        assert_eq!(u32_at(&b, time as usize), 6, "06:07:09 UTC");
    }
}
