//! Report photos: recognised from their bytes, never from their name or declared type, decoded
//! whole before they are kept, and re-encoded without metadata for the public.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// The largest photo accepted, and how many one report may carry.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_PER_REPORT: usize = 6;

/// The image type of `bytes` by its signature, if it is one we keep.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// The largest side and the most pixels a photo may have: a phone's 108-megapixel sensor is the
/// most a field photo needs, and a bound keeps a small file that claims huge dimensions (a
/// decompression bomb) from taking the server's memory.
pub const MAX_SIDE: u32 = 16_000;
pub const MAX_PIXELS: u64 = 110_000_000;
/// The public copy's longest side: enough to see the site, no more of the original than that.
pub const PUBLIC_SIDE: u32 = 2048;

/// What a photo proved to be when decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    pub media_type: &'static str,
    pub width: u32,
    pub height: u32,
    /// The picture's difference hash (`dhash`): alike for a re-saved or resized copy.
    pub dhash: u64,
}

fn format_of(media_type: &str) -> ImageFormat {
    match media_type {
        "image/png" => ImageFormat::Png,
        "image/webp" => ImageFormat::WebP,
        _ => ImageFormat::Jpeg,
    }
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // Four bytes a pixel, plus the decoder's own buffers.
    limits.max_alloc = Some(MAX_PIXELS * 4 + 64 * 1024 * 1024);
    limits
}

/// Why a photo is refused after its signature was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// It does not decode; the decoder's words.
    Unreadable(String),
    /// Beyond `MAX_SIDE` or `MAX_PIXELS`.
    TooBig,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Unreadable(why) => write!(f, "cannot be read as a photo ({why})"),
            Refusal::TooBig => {
                write!(f, "is larger than {MAX_SIDE} pixels a side or {} megapixels", MAX_PIXELS / 1_000_000)
            }
        }
    }
}

impl std::error::Error for Refusal {}

/// Decodes `bytes` whole: a photo is kept only if it is a JPEG, PNG or WebP from its first byte to
/// its last pixel, within the size bounds.
pub fn check(bytes: &[u8]) -> Result<Checked, Refusal> {
    let media_type = sniff(bytes).ok_or_else(|| Refusal::Unreadable("not a JPEG, PNG or WebP image".into()))?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format_of(media_type));
    reader.limits(limits());
    let decoder = reader.into_decoder().map_err(|e| refusal(media_type, &e))?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(Refusal::TooBig);
    }
    let img = DynamicImage::from_decoder(decoder).map_err(|e| refusal(media_type, &e))?;
    Ok(Checked { media_type, width, height, dhash: dhash(&img) })
}

/// A 64-bit difference hash: the picture shrunk to 9×8 grey pixels, one bit for each pair of
/// neighbours in a row (is the left one darker). A copy saved again at another quality or size
/// differs from the original in a few bits at most; another picture in about half of them.
pub fn dhash(img: &DynamicImage) -> u64 {
    let small = img.thumbnail_exact(9, 8).to_luma8();
    let mut hash = 0u64;
    for y in 0..8 {
        for x in 0..8 {
            let darker = small.get_pixel(x, y).0[0] < small.get_pixel(x + 1, y).0[0];
            hash = (hash << 1) | u64::from(darker);
        }
    }
    hash
}

/// How many bits two hashes differ in.
pub fn hash_distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// At most this many differing bits, two photos are taken for the same picture.
pub const ALIKE_BITS: u32 = 6;

fn refusal(media_type: &str, e: &image::ImageError) -> Refusal {
    let kind = media_type.trim_start_matches("image/").to_uppercase();
    match e {
        image::ImageError::Limits(_) => Refusal::TooBig,
        _ => Refusal::Unreadable(format!("it starts like a {kind} image: {e}")),
    }
}

/// The smaller copies the pages ask for: a thumbnail for lists (a township's phone data is paid
/// for), and a phone screen's width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Thumb,
    Phone,
}

impl Size {
    pub const ALL: &'static [(&'static str, Size)] = &[("thumb", Size::Thumb), ("phone", Size::Phone)];

    pub fn as_str(self) -> &'static str {
        match self {
            Size::Thumb => "thumb",
            Size::Phone => "phone",
        }
    }

    /// The longest side, in pixels.
    pub fn side(self) -> u32 {
        match self {
            Size::Thumb => 320,
            Size::Phone => 1024,
        }
    }
}

/// A smaller copy of a public copy (which is upright and carries no metadata): at most
/// `size.side()` pixels a side, again a JPEG with no metadata.
pub fn smaller_copy(public: &[u8], size: Size) -> Result<Vec<u8>, Refusal> {
    let img = image::load_from_memory_with_format(public, ImageFormat::Jpeg)
        .map_err(|e| Refusal::Unreadable(format!("the public copy cannot be read: {e}")))?;
    let img = if img.width().max(img.height()) > size.side() {
        img.resize(size.side(), size.side(), image::imageops::FilterType::Triangle)
    } else {
        img
    };
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80);
    img.to_rgb8().write_with_encoder(encoder).map_err(|e| Refusal::Unreadable(format!("re-encoding failed: {e}")))?;
    Ok(out)
}

/// The copy of a photo the public gets: turned upright as its EXIF orientation says, at most
/// `PUBLIC_SIDE` pixels a side, re-encoded as a JPEG with no metadata at all (no GPS position, no
/// camera, no time), whatever the original carried.
pub fn public_copy(bytes: &[u8]) -> Result<Vec<u8>, Refusal> {
    let media_type = sniff(bytes).ok_or_else(|| Refusal::Unreadable("not a JPEG, PNG or WebP image".into()))?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format_of(media_type));
    reader.limits(limits());
    let mut decoder = reader.into_decoder().map_err(|e| refusal(media_type, &e))?;
    let orientation = decoder.orientation().map_err(|e| refusal(media_type, &e))?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| refusal(media_type, &e))?;
    img.apply_orientation(orientation);
    if img.width().max(img.height()) > PUBLIC_SIDE {
        img = img.resize(PUBLIC_SIDE, PUBLIC_SIDE, image::imageops::FilterType::Triangle);
    }
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
    img.to_rgb8().write_with_encoder(encoder).map_err(|e| Refusal::Unreadable(format!("re-encoding failed: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_jpeg_png_and_webp_by_signature() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 "), Some("image/webp"));
    }

    #[test]
    fn refuses_everything_else_whatever_it_is_called() {
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), None);
        assert_eq!(sniff(b"%PDF-1.7"), None);
        assert_eq!(sniff(b"RIFF\x24\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(&[]), None);
    }

    /// A real JPEG of `w`×`h` noise, as a camera's would decode.
    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img =
            image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7) as u8, (y * 13) as u8, ((x ^ y) * 3) as u8]));
        let mut out = Vec::new();
        img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)).unwrap();
        out
    }

    /// `bytes` with an APP1 EXIF segment carrying `orientation` (and a marker text) after SOI.
    fn with_exif(bytes: &[u8], orientation: u16) -> Vec<u8> {
        // TIFF little-endian header, one IFD with one entry: Orientation (0x0112), SHORT, 1 value.
        let mut tiff = b"II*\0\x08\0\0\0".to_vec();
        tiff.extend_from_slice(&1u16.to_le_bytes());
        tiff.extend_from_slice(&0x0112u16.to_le_bytes());
        tiff.extend_from_slice(&3u16.to_le_bytes());
        tiff.extend_from_slice(&1u32.to_le_bytes());
        tiff.extend_from_slice(&u32::from(orientation).to_le_bytes());
        tiff.extend_from_slice(&0u32.to_le_bytes());
        tiff.extend_from_slice(b"SECRET-GPS-30.85N");
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let mut out = bytes[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&app1);
        out.extend_from_slice(&bytes[2..]);
        out
    }

    #[test]
    fn a_real_photo_passes_with_its_size() {
        let c = check(&jpeg(64, 48)).unwrap();
        assert_eq!((c.media_type, c.width, c.height), ("image/jpeg", 64, 48));
    }

    #[test]
    fn a_resaved_or_resized_copy_hashes_alike_and_another_picture_does_not() {
        let original = jpeg(640, 480);
        let img = image::load_from_memory(&original).unwrap();
        let mut resaved = Vec::new();
        img.resize(320, 240, image::imageops::FilterType::Triangle)
            .to_rgb8()
            .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut resaved, 40))
            .unwrap();
        let other =
            image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([(y * 5) as u8, (x * 3) as u8, ((x + y) * 2) as u8]));
        let mut other_bytes = Vec::new();
        other.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut other_bytes, 90)).unwrap();
        let (a, b, c) =
            (check(&original).unwrap().dhash, check(&resaved).unwrap().dhash, check(&other_bytes).unwrap().dhash);
        assert!(hash_distance(a, b) <= ALIKE_BITS, "resized and re-saved: {} bits apart", hash_distance(a, b));
        assert!(hash_distance(a, c) > ALIKE_BITS * 2, "another picture: {} bits apart", hash_distance(a, c));
    }

    #[test]
    fn a_valid_signature_over_garbage_is_refused() {
        let mut fake = vec![0xFF, 0xD8, 0xFF, 0xE0];
        fake.extend((0..4000).map(|i| (i * 31 % 251) as u8));
        let e = check(&fake).unwrap_err();
        assert!(matches!(&e, Refusal::Unreadable(why) if why.contains("JPEG")), "{e}");
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(&[0; 100]);
        assert!(check(&png).unwrap_err().to_string().contains("PNG"));
    }

    #[test]
    fn a_small_file_claiming_huge_dimensions_is_refused_before_decoding() {
        let mut header = jpeg(8, 8);
        // The start-of-frame marker holds height then width; claim 60000×60000.
        let sof = header.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        header[sof + 5..sof + 7].copy_from_slice(&60000u16.to_be_bytes());
        header[sof + 7..sof + 9].copy_from_slice(&60000u16.to_be_bytes());
        assert_eq!(check(&header).unwrap_err(), Refusal::TooBig);
    }

    #[test]
    fn the_public_copy_is_upright_small_and_carries_no_metadata() {
        let original = with_exif(&jpeg(3000, 1000), 6);
        assert!(check(&original).is_ok());
        let public = public_copy(&original).unwrap();
        assert!(!public.windows(6).any(|w| w == b"Exif\0\0"), "no EXIF segment");
        assert!(!public.windows(10).any(|w| w == b"SECRET-GPS"), "nothing of the original's metadata");
        let c = check(&public).unwrap();
        // Orientation 6 (rotate 90° clockwise): the wide photo stands upright, scaled to 2048 high.
        assert_eq!((c.width, c.height), (683, 2048));
    }
}
