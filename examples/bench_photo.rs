//! What reading a report photo as evidence costs beside decoding it alone, for a camera-sized
//! photo of about 10 MB (12 megapixels of detail at quality 95: 9.3 MB, with EXIF position and time):
//!
//!   decode     the image crate's decode of the whole picture, nothing else
//!   evidence   what the service does with each photo it is sent: the decode and the difference
//!              hash (domain::photo::check), the EXIF read (domain::evidence::read) and the
//!              distance to a task's area (geo)
//!
//! Runs alternate, the figures are medians and the ratio evidence / decode (the target: within 2×).
//!
//!   cargo run --release --example bench_photo [runs]

use std::io::Cursor;
use std::time::{Duration, Instant};

use exif::{Field, In, Rational, Tag, Value};
use greenledger::domain::{evidence, photo};

/// A 4000×3000 picture with fine detail everywhere (a JPEG at quality 95 of it is about 10 MB),
/// with an EXIF block after SOI as a phone writes it.
fn camera_photo() -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let img = image::RgbImage::from_fn(4000, 3000, |x, y| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let n = (state & 0x0F) as u32;
        image::Rgb([((x / 16 + n) % 256) as u8, ((y / 12 + n * 2) % 256) as u8, (((x + y) / 20 + n) % 256) as u8])
    });
    let mut jpeg = Vec::new();
    img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)).unwrap();
    let dms = |v: f64| {
        let (d, m) = (v.trunc(), (v.fract() * 60.0).trunc());
        let s = ((v.fract() * 60.0).fract() * 60.0 * 1000.0).round() as u32;
        Value::Rational(vec![Rational::from((d as u32, 1)), Rational::from((m as u32, 1)), Rational::from((s, 1000))])
    };
    let fields = [
        Field { tag: Tag::Make, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"HUAWEI".to_vec()]) },
        Field { tag: Tag::Model, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"Mate 60".to_vec()]) },
        Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"2026:05:30 10:00:00".to_vec()]),
        },
        Field { tag: Tag::GPSLatitudeRef, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"N".to_vec()]) },
        Field { tag: Tag::GPSLatitude, ifd_num: In::PRIMARY, value: dms(30.851) },
        Field { tag: Tag::GPSLongitudeRef, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"E".to_vec()]) },
        Field { tag: Tag::GPSLongitude, ifd_num: In::PRIMARY, value: dms(119.951) },
    ];
    let mut writer = exif::experimental::Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer.write(&mut tiff, false).unwrap();
    let tiff = tiff.into_inner();
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(7);
    let bytes = camera_photo();
    let area = geo::Geometry::Polygon(geo::Polygon::new(
        geo::LineString::from(vec![
            (119.94, 30.84),
            (119.96, 30.84),
            (119.96, 30.86),
            (119.94, 30.86),
            (119.94, 30.84),
        ]),
        vec![],
    ));
    let facts = evidence::read(&bytes);
    assert!(facts.position.is_some() && facts.taken_local.is_some(), "the EXIF is read back: {facts:?}");
    println!("bench-photo: {:.1} MB JPEG, 4000×3000, {runs} runs each, alternating", bytes.len() as f64 / 1048576.0);
    let (mut decode, mut full) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let start = Instant::now();
        let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).unwrap();
        decode.push(start.elapsed());
        std::hint::black_box(img);

        let start = Instant::now();
        let checked = photo::check(&bytes).unwrap();
        let facts = evidence::read(&bytes);
        let distance = facts.position.and_then(|p| evidence::distance_m(p, &area));
        full.push(start.elapsed());
        std::hint::black_box((checked.dhash, distance));
    }
    let (d, f) = (median(decode), median(full));
    println!("| step | median |");
    println!("| --- | --- |");
    println!("| decode alone | {:.0} ms |", d.as_secs_f64() * 1000.0);
    println!("| evidence (decode, hash, EXIF, distance) | {:.0} ms |", f.as_secs_f64() * 1000.0);
    println!("| evidence ÷ decode | {:.2} |", f.as_secs_f64() / d.as_secs_f64());
}
