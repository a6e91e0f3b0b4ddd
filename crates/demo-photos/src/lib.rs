//! The demo's site photos: a scene drawn for the task's family and the stage of the work (before,
//! under way, done), encoded as a JPEG carrying the EXIF a phone camera writes: when it was taken
//! (local time and its offset) and where (GPS, near the task). Drawn rather than shipped, so the
//! times and places match a ledger whose dates move with the day it is loaded. Nothing here is a
//! real photograph, and the EXIF says so (Make "greenledger", Model "demo").

use chrono::{DateTime, FixedOffset, Timelike, Utc};
use jpeg_encoder::{ColorType, Encoder};

mod exif;
mod rng;

pub use rng::Rng;

const WIDTH: usize = 480;
const HEIGHT: usize = 360;
const QUALITY: u8 = 80;

/// What the photo shows of the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Before,
    During,
    After,
}

/// One photo to make.
pub struct Shot<'a> {
    pub category: &'a str,
    pub stage: Stage,
    /// When it was taken, in the county's zone.
    pub taken: DateTime<FixedOffset>,
    pub lon: f64,
    pub lat: f64,
    pub seed: u64,
}

/// The photo as a JPEG file.
pub fn jpeg(shot: &Shot) -> Vec<u8> {
    let mut rng = Rng::new(shot.seed);
    let mut c = Canvas::new();
    let horizon = rng.range(HEIGHT as i64 * 36 / 100, HEIGHT as i64 * 48 / 100) as usize;
    c.sky(horizon, shot.taken.hour(), rng.chance(0.3));
    match shot.category {
        "watershed" => river(&mut c, &mut rng, shot.stage, horizon),
        "chemical" => plant(&mut c, &mut rng, shot.stage, horizon),
        "energy" => works(&mut c, &mut rng, shot.stage, horizon),
        _ => village(&mut c, &mut rng, shot.stage, horizon),
    }
    c.grain(&mut rng);
    let mut out = Vec::with_capacity(48 * 1024);
    let mut encoder = Encoder::new(&mut out, QUALITY);
    let tags = exif::Tags { taken: shot.taken, utc: shot.taken.with_timezone(&Utc), lon: shot.lon, lat: shot.lat };
    // Neither can fail: the EXIF block is far below a segment's 64 kB and the pixels fit the size.
    let _ = encoder.add_exif_metadata(&exif::block(&tags));
    let _ = encoder.encode(&c.px, WIDTH as u16, HEIGHT as u16, ColorType::Rgb);
    out
}

type Rgb = [f32; 3];

struct Canvas {
    px: Vec<u8>,
}

impl Canvas {
    fn new() -> Self {
        Canvas { px: vec![0; WIDTH * HEIGHT * 3] }
    }

    /// Paints `color` over the pixel at `alpha`.
    fn blend(&mut self, x: usize, y: usize, color: Rgb, alpha: f32) {
        if x >= WIDTH || y >= HEIGHT {
            return;
        }
        let i = (y * WIDTH + x) * 3;
        for (k, c) in color.iter().enumerate() {
            let old = f32::from(self.px[i + k]);
            self.px[i + k] = (old + (c - old) * alpha).clamp(0.0, 255.0) as u8;
        }
    }

    /// Fills rows `y0..y1`, each from `span(y)`'s left to right end.
    fn spans(&mut self, y0: f32, y1: f32, color: Rgb, alpha: f32, span: impl Fn(f32) -> (f32, f32)) {
        let (top, bottom) = (y0.max(0.0) as usize, (y1.min(HEIGHT as f32)).max(0.0) as usize);
        let opaque = color.map(|v| v.clamp(0.0, 255.0) as u8);
        for y in top..bottom {
            let (l, r) = span(y as f32);
            let (l, r) = (l.max(0.0) as usize, r.clamp(0.0, WIDTH as f32) as usize);
            if alpha >= 1.0 && l < r {
                let row = &mut self.px[(y * WIDTH + l) * 3..(y * WIDTH + r) * 3];
                row.chunks_exact_mut(3).for_each(|p| p.copy_from_slice(&opaque));
                continue;
            }
            for x in l..r {
                self.blend(x, y, color, alpha);
            }
        }
    }

    fn rect(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, color: Rgb) {
        self.spans(y0, y1, color, 1.0, |_| (x0, x1));
    }

    fn ellipse(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, color: Rgb, alpha: f32) {
        self.spans(cy - ry, cy + ry + 1.0, color, alpha, |y| {
            let d = (1.0 - ((y - cy) / ry).powi(2)).max(0.0).sqrt() * rx;
            (cx - d, cx + d)
        });
    }

    /// A roof, a heap or a plume's foot: a triangle standing on `base_y`, apex over `cx`.
    fn triangle(&mut self, cx: f32, top: f32, half: f32, base_y: f32, color: Rgb) {
        self.spans(top, base_y, color, 1.0, |y| {
            let w = half * (y - top) / (base_y - top);
            (cx - w, cx + w)
        });
    }

    /// A sky from zenith to horizon, warmer early and late in the day, grey when overcast; then
    /// the ground below the horizon.
    fn sky(&mut self, horizon: usize, hour: u32, overcast: bool) {
        let warm = if (9..16).contains(&hour) { 0.0 } else { 0.35 };
        let (zenith, low): (Rgb, Rgb) = if overcast {
            ([150.0, 156.0, 164.0], [196.0, 199.0, 203.0])
        } else {
            ([70.0 + 90.0 * warm, 130.0, 205.0 - 60.0 * warm], [190.0 + 50.0 * warm, 214.0, 236.0 - 40.0 * warm])
        };
        for (y, row) in self.px.chunks_exact_mut(WIDTH * 3).enumerate() {
            let t = (y as f32 / horizon.max(1) as f32).min(1.0);
            let c = if y < horizon { mix(zenith, low, t) } else { [118.0, 128.0, 84.0] };
            let rgb = c.map(|v| v.clamp(0.0, 255.0) as u8);
            for px in row.chunks_exact_mut(3) {
                px.copy_from_slice(&rgb);
            }
        }
    }

    /// Sensor noise and a lens's darker corners, so flat colours read as a photo. In integers
    /// (gains in 1/256), as this pass touches every byte.
    fn grain(&mut self, rng: &mut Rng) {
        let exposure = 236.0 + 40.0 * rng.unit();
        // Darker by 12 % of the squared distance from the centre, split into its two axes.
        let fall =
            |i: usize, n: usize| (exposure * 0.12 * ((i as f64 - n as f64 / 2.0) / (n as f64 / 2.0)).powi(2)) as i32;
        let columns: Vec<i32> = (0..WIDTH).map(|x| fall(x, WIDTH)).collect();
        let mut noise = rng.next_u64();
        for (y, row) in self.px.chunks_exact_mut(WIDTH * 3).enumerate() {
            let base = exposure as i32 - fall(y, HEIGHT);
            for (px, column) in row.chunks_exact_mut(3).zip(&columns) {
                noise ^= noise << 13;
                noise ^= noise >> 7;
                noise ^= noise << 17;
                let (gain, n) = (base - column, (noise % 13) as i32 - 6);
                for v in px {
                    *v = (((i32::from(*v) * gain) >> 8) + n).clamp(0, 255) as u8;
                }
            }
        }
    }
}

fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]
}

fn jitter(rng: &mut Rng, c: Rgb, by: f32) -> Rgb {
    let d = (rng.unit() as f32 - 0.5) * 2.0 * by;
    [c[0] + d, c[1] + d, c[2] + d]
}

const W: f32 = WIDTH as f32;
const H: f32 = HEIGHT as f32;

/// A row of trees (or a far shore) along the horizon.
fn tree_line(c: &mut Canvas, rng: &mut Rng, horizon: f32) {
    let mut x = -10.0;
    while x < W + 10.0 {
        let r = 8.0 + 14.0 * rng.unit() as f32;
        c.ellipse(x, horizon - r * 0.5, r, r * 0.9, jitter(rng, [52.0, 84.0, 48.0], 14.0), 1.0);
        x += r * 1.1;
    }
}

/// Small things strewn over an area: litter, floating rubbish, flowers.
fn scatter(c: &mut Canvas, rng: &mut Rng, area: (f32, f32, f32, f32), n: usize, colors: &[Rgb]) {
    let (x0, y0, x1, y1) = area;
    for _ in 0..n {
        let (x, y) = (x0 + (x1 - x0) * rng.unit() as f32, y0 + (y1 - y0) * rng.unit() as f32);
        let r = 1.5 + 3.5 * rng.unit() as f32;
        c.ellipse(x, y, r * 1.4, r, *rng.pick(colors), 0.9);
    }
}

const LITTER: &[Rgb] = &[[235.0, 235.0, 228.0], [60.0, 110.0, 190.0], [200.0, 60.0, 50.0], [30.0, 30.0, 30.0]];

/// A river between a far bank of trees and a near bank: murky with rubbish before, dredged
/// with an excavator on the bank during, clear behind a stone embankment after.
fn river(c: &mut Canvas, rng: &mut Rng, stage: Stage, horizon: usize) {
    let hz = horizon as f32;
    tree_line(c, rng, hz + 6.0);
    let water = match stage {
        Stage::Before => [98.0, 104.0, 70.0],
        Stage::During => [112.0, 106.0, 82.0],
        Stage::After => [72.0, 122.0, 150.0],
    };
    let (phase, bank) = (rng.unit() as f32 * 6.0, H * (0.78 + 0.08 * rng.unit() as f32));
    c.spans(hz + 6.0, H, water, 1.0, |_| (0.0, W));
    for _ in 0..40 {
        let y = hz + 8.0 + (bank - hz - 8.0) * rng.unit() as f32;
        let x = W * rng.unit() as f32;
        c.rect(x, y, x + 10.0 + 40.0 * rng.unit() as f32, y + 1.0, mix(water, [230.0, 236.0, 240.0], 0.3));
    }
    let near = if stage == Stage::After { [150.0, 148.0, 140.0] } else { [120.0, 104.0, 76.0] };
    c.spans(bank - 20.0, H, near, 1.0, |y| {
        (0.0, W * (0.4 + 0.6 * ((y - bank + 20.0) / 20.0).min(1.0)) + (y + phase).sin())
    });
    match stage {
        Stage::Before => scatter(c, rng, (0.0, hz + 12.0, W, bank - 4.0), 70, LITTER),
        Stage::During => {
            c.ellipse(W * 0.25, bank - 6.0, 60.0, 18.0, [82.0, 70.0, 52.0], 1.0);
            machine(c, W * 0.62, bank - 8.0);
        }
        Stage::After => {
            for k in 0..24 {
                let x = k as f32 * W / 12.0 - (k % 2) as f32 * 10.0;
                c.rect(
                    x,
                    bank - 20.0 + (k / 12) as f32 * 10.0,
                    x + W / 13.0,
                    bank - 11.0 + (k / 12) as f32 * 10.0,
                    [168.0, 166.0, 158.0],
                );
            }
        }
    }
}

/// An excavator standing on `ground`, its arm reaching left.
fn machine(c: &mut Canvas, x: f32, ground: f32) {
    let yellow = [226.0, 170.0, 30.0];
    c.rect(x - 30.0, ground - 10.0, x + 34.0, ground, [40.0, 40.0, 40.0]);
    c.rect(x - 24.0, ground - 34.0, x + 28.0, ground - 10.0, yellow);
    c.rect(x + 2.0, ground - 52.0, x + 26.0, ground - 34.0, [60.0, 80.0, 96.0]);
    for k in 0..40 {
        let t = k as f32 / 40.0;
        c.ellipse(x - 24.0 - 50.0 * t, ground - 34.0 - 30.0 * (t * 3.1).sin(), 3.5, 3.5, yellow, 1.0);
    }
}

/// Factory halls on a concrete yard.
fn halls(c: &mut Canvas, rng: &mut Rng, hz: f32) {
    c.spans(hz, H, [150.0, 150.0, 146.0], 1.0, |_| (0.0, W));
    let mut x = rng.range(-20, 30) as f32;
    while x < W {
        let (w, h) = (70.0 + 90.0 * rng.unit() as f32, 40.0 + 50.0 * rng.unit() as f32);
        let wall = jitter(rng, [206.0, 208.0, 210.0], 16.0);
        c.rect(x, hz - h, x + w, hz + 12.0, wall);
        c.rect(x - 3.0, hz - h - 6.0, x + w + 3.0, hz - h, [90.0, 110.0, 140.0]);
        for row in 0..((h / 18.0) as usize) {
            for col in 0..((w / 16.0) as usize) {
                let (wx, wy) = (x + 6.0 + col as f32 * 16.0, hz - h + 8.0 + row as f32 * 18.0);
                c.rect(wx, wy, wx + 8.0, wy + 9.0, [70.0, 90.0, 110.0]);
            }
        }
        x += w + 10.0 + 30.0 * rng.unit() as f32;
    }
}

/// A chemical plant: stained yard and rusty drums before, scaffolding during, a green verge after.
fn plant(c: &mut Canvas, rng: &mut Rng, stage: Stage, horizon: usize) {
    let hz = horizon as f32;
    halls(c, rng, hz);
    for k in 0..rng.range(1, 3) {
        let x = W * (0.15 + 0.3 * k as f32) + 20.0 * rng.unit() as f32;
        c.rect(x, hz - 30.0, x + 34.0, hz + 24.0, [226.0, 228.0, 230.0]);
        c.ellipse(x + 17.0, hz - 30.0, 17.0, 5.0, [200.0, 202.0, 206.0], 1.0);
    }
    match stage {
        Stage::Before => {
            for _ in 0..8 {
                let (x, y) = (W * rng.unit() as f32, hz + 30.0 + (H - hz - 40.0) * rng.unit() as f32);
                c.ellipse(
                    x,
                    y,
                    20.0 + 30.0 * rng.unit() as f32,
                    6.0 + 6.0 * rng.unit() as f32,
                    [70.0, 66.0, 58.0],
                    0.6,
                );
            }
            for k in 0..6 {
                let x = 30.0 + k as f32 * 22.0;
                c.rect(x, H - 60.0, x + 16.0, H - 36.0, jitter(rng, [140.0, 70.0, 40.0], 20.0));
            }
        }
        Stage::During => {
            for k in 0..8 {
                c.rect(
                    W * 0.5 + k as f32 * 14.0,
                    hz - 70.0,
                    W * 0.5 + k as f32 * 14.0 + 2.0,
                    hz + 20.0,
                    [120.0, 120.0, 124.0],
                );
                c.rect(
                    W * 0.5,
                    hz - 70.0 + k as f32 * 12.0,
                    W * 0.5 + 100.0,
                    hz - 68.0 + k as f32 * 12.0,
                    [120.0, 120.0, 124.0],
                );
            }
        }
        Stage::After => {
            c.rect(0.0, H - 46.0, W, H - 20.0, [76.0, 132.0, 62.0]);
            scatter(c, rng, (0.0, H - 46.0, W, H - 22.0), 50, &[[96.0, 150.0, 70.0], [60.0, 110.0, 50.0]]);
        }
    }
}

/// An energy user: a hall with chimneys, black smoke before, a crane during, solar panels and
/// only white steam after.
fn works(c: &mut Canvas, rng: &mut Rng, stage: Stage, horizon: usize) {
    let hz = horizon as f32;
    halls(c, rng, hz);
    let stacks = rng.range(1, 2);
    for k in 0..stacks {
        let x = W * (0.3 + 0.35 * k as f32);
        let top = hz * 0.3;
        c.rect(x, top, x + 16.0, hz, [176.0, 90.0, 80.0]);
        let smoke: Rgb = if stage == Stage::After { [240.0, 240.0, 240.0] } else { [60.0, 58.0, 56.0] };
        let puffs = if stage == Stage::After { 4 } else { 14 };
        for p in 0..puffs {
            let t = p as f32;
            c.ellipse(x + 8.0 + t * 11.0, top - 6.0 - t * 2.5, 8.0 + t * 1.5, 6.0 + t, smoke, 0.55);
        }
    }
    match stage {
        Stage::Before => scatter(c, rng, (0.0, hz + 20.0, W, H), 30, &[[40.0, 40.0, 40.0], [90.0, 80.0, 70.0]]),
        Stage::During => {
            c.rect(W * 0.8, hz * 0.2, W * 0.8 + 6.0, hz + 10.0, [226.0, 170.0, 30.0]);
            c.rect(W * 0.55, hz * 0.2, W * 0.8 + 30.0, hz * 0.2 + 6.0, [226.0, 170.0, 30.0]);
        }
        Stage::After => {
            for row in 0..3 {
                let y = hz + 40.0 + row as f32 * 34.0;
                c.spans(y, y + 22.0, [36.0, 52.0, 98.0], 1.0, |yy| {
                    (20.0 + (y + 22.0 - yy) * 0.6, W - 20.0 + (y + 22.0 - yy) * 0.6)
                });
                for k in 0..16 {
                    c.rect(
                        20.0 + k as f32 * (W - 40.0) / 16.0,
                        y,
                        21.0 + k as f32 * (W - 40.0) / 16.0,
                        y + 22.0,
                        [160.0, 170.0, 190.0],
                    );
                }
            }
        }
    }
}

/// A village lane: houses with dark roofs among trees, rubbish by the road before, a trench and
/// a sand heap during, flower beds and bins after.
fn village(c: &mut Canvas, rng: &mut Rng, stage: Stage, horizon: usize) {
    let hz = horizon as f32;
    tree_line(c, rng, hz + 4.0);
    let mut x = rng.range(-30, 10) as f32;
    while x < W {
        let (w, h) = (60.0 + 40.0 * rng.unit() as f32, 36.0 + 24.0 * rng.unit() as f32);
        c.rect(x, hz + 30.0 - h, x + w, hz + 30.0, jitter(rng, [232.0, 230.0, 222.0], 10.0));
        c.triangle(x + w / 2.0, hz + 30.0 - h - 26.0, w / 2.0 + 8.0, hz + 30.0 - h, [64.0, 66.0, 72.0]);
        c.rect(x + w * 0.2, hz + 30.0 - h * 0.6, x + w * 0.35, hz + 30.0 - h * 0.3, [80.0, 90.0, 100.0]);
        c.rect(x + w * 0.6, hz + 30.0 - h * 0.6, x + w * 0.75, hz + 30.0, [120.0, 84.0, 60.0]);
        x += w + 20.0 + 40.0 * rng.unit() as f32;
    }
    let road = H * 0.8;
    c.spans(road, H, [128.0, 126.0, 122.0], 1.0, |_| (0.0, W));
    match stage {
        Stage::Before => scatter(c, rng, (0.0, hz + 32.0, W, road), 90, LITTER),
        Stage::During => {
            c.triangle(W * 0.3, road - 40.0, 50.0, road + 4.0, [196.0, 170.0, 120.0]);
            c.rect(0.0, road + 14.0, W, road + 26.0, [80.0, 64.0, 50.0]);
        }
        Stage::After => {
            c.rect(0.0, road - 16.0, W, road, [86.0, 140.0, 66.0]);
            scatter(
                c,
                rng,
                (0.0, road - 16.0, W, road - 2.0),
                60,
                &[[220.0, 60.0, 90.0], [240.0, 200.0, 60.0], [250.0, 250.0, 250.0]],
            );
            for k in 0..3 {
                let bx = W * 0.2 + k as f32 * 26.0;
                c.rect(bx, road - 34.0, bx + 20.0, road - 8.0, [40.0, 130.0, 70.0]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shot(category: &str, stage: Stage) -> Vec<u8> {
        let taken = "2026-06-01T09:30:00+08:00".parse().unwrap();
        jpeg(&Shot { category, stage, taken, lon: 119.95, lat: 30.85, seed: 42 })
    }

    #[test]
    fn every_family_and_stage_makes_a_jpeg_with_its_exif() {
        for category in ["watershed", "chemical", "energy", "village"] {
            for stage in [Stage::Before, Stage::During, Stage::After] {
                let bytes = shot(category, stage);
                assert_eq!(&bytes[..3], &[0xFF, 0xD8, 0xFF], "starts as a JPEG");
                assert_eq!(&bytes[bytes.len() - 2..], &[0xFF, 0xD9], "ends with EOI");
                assert!((8_000..200_000).contains(&bytes.len()), "{category} {stage:?}: {} bytes", bytes.len());
                let at = bytes.windows(6).position(|w| w == b"Exif\0\0").expect("an EXIF segment");
                assert!(bytes[at..].windows(19).any(|w| w == b"2026:06:01 09:30:00"));
            }
        }
    }

    #[test]
    fn the_same_shot_gives_the_same_bytes_and_another_stage_other_ones() {
        assert_eq!(shot("village", Stage::Before), shot("village", Stage::Before));
        assert_ne!(shot("village", Stage::Before), shot("village", Stage::After));
    }
}
