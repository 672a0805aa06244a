//! The gallery's thumbnails: each record's image decoded upright (as its boxes are),
//! shrunk without aliasing and written as a JPEG, and the size a tile shows it at.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, anyhow};

use super::GalleryOptions;
use crate::decode;
use crate::record::Record;
use crate::resize::Resizer;

/// The size of a tile's picture: `w × h` scaled so that its longest side is `max` (up or
/// down), each side at least 1. `None` for an empty size.
pub fn fit(w: u32, h: u32, max: u32) -> Option<(u32, u32)> {
    if w == 0 || h == 0 || max == 0 {
        return None;
    }
    let scale = max as f64 / w.max(h) as f64;
    let side = |v: u32| ((v as f64 * scale).round() as u32).clamp(1, max);
    Some((side(w), side(h)))
}

/// `bbox` (`[x1, y1, x2, y2]` in pixels of an image of size `from`) in the coordinates of
/// the same image shown at size `to`, clipped to it and with its corners in order. `None`
/// when `from` is empty or a coordinate is not a number.
pub fn scale_box(bbox: [f32; 4], from: (u32, u32), to: (u32, u32)) -> Option<[f32; 4]> {
    if from.0 == 0 || from.1 == 0 || bbox.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let sx = to.0 as f32 / from.0 as f32;
    let sy = to.1 as f32 / from.1 as f32;
    let x = |v: f32| (v * sx).clamp(0.0, to.0 as f32);
    let y = |v: f32| (v * sy).clamp(0.0, to.1 as f32);
    let (x1, x2) = (x(bbox[0]), x(bbox[2]));
    let (y1, y2) = (y(bbox[1]), y(bbox[3]));
    Some([x1.min(x2), y1.min(y2), x1.max(x2), y1.max(y2)])
}

/// One tile's picture.
pub(super) enum Thumb {
    /// A thumbnail file, shown at `w × h`.
    Made { w: u32, h: u32 },
    /// The record has `error` set: no picture.
    Failed,
    /// The image could not be read: a placeholder of `w × h` (the record's aspect, when
    /// known) with the reason.
    Missing { w: u32, h: u32, reason: String },
}

pub(super) struct Tile {
    /// The thumbnail's URL, relative to the pages.
    pub(super) src: String,
    pub(super) thumb: Thumb,
}

/// Makes the thumbnail of `record` at `dest`. Unreadable images are a [`Thumb::Missing`]
/// and a warning; only a failure to write `dest` is an error.
pub(super) fn make_thumb(
    record: &Record,
    root: &Path,
    dest: &Path,
    opts: &GalleryOptions,
) -> anyhow::Result<Thumb> {
    if record.error.is_some() {
        return Ok(Thumb::Failed);
    }
    let path = root.join(&record.path);
    let decoded = std::panic::catch_unwind(|| decode::decode_file(&path, &opts.decode))
        .unwrap_or_else(|_| Err("the decoder panicked".into()));
    let image = match decoded {
        Ok(image) => image,
        Err(e) => {
            tracing::warn!("{}: no thumbnail: {e}", record.path);
            let (w, h) = fit(record.width, record.height, opts.thumb_size)
                .unwrap_or((opts.thumb_size, opts.thumb_size));
            return Ok(Thumb::Missing {
                w,
                h,
                reason: e.to_string(),
            });
        }
    };
    if (record.width, record.height) != (0, 0)
        && (record.width, record.height) != (image.width, image.height)
    {
        tracing::warn!(
            "{}: the image is {}×{} but its record says {}×{}: its boxes may not line up",
            record.path,
            image.width,
            image.height,
            record.width,
            record.height
        );
    }
    // Boxes are in the record's pixels, so the tile has the record's shape.
    let (w, h) = fit(record.width, record.height, opts.thumb_size)
        .or_else(|| fit(image.width, image.height, opts.thumb_size))
        .ok_or_else(|| anyhow!("{}: an empty image", record.path))?;
    // The file is never larger than the image itself; the browser scales it up.
    let (fw, fh) = if image.width.max(image.height) <= opts.thumb_size {
        (image.width, image.height)
    } else {
        fit(image.width, image.height, opts.thumb_size).expect("not empty")
    };
    let pixels = shrink(image.pixels, (image.width, image.height), (fw, fh));
    let small = image::RgbImage::from_raw(fw, fh, pixels)
        .ok_or_else(|| anyhow!("{}: the decoder returned a short buffer", record.path))?;
    let file =
        std::fs::File::create(dest).with_context(|| format!("cannot write {}", dest.display()))?;
    let mut out = std::io::BufWriter::new(file);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, opts.jpeg_quality.clamp(1, 100))
        .encode_image(&small)
        .with_context(|| format!("cannot write {}", dest.display()))?;
    out.flush()
        .with_context(|| format!("cannot write {}", dest.display()))?;
    Ok(Thumb::Made { w, h })
}

/// Shrinks packed RGB8 pixels of size `from` to `to` (no larger): halved with a 2×2 box
/// average (the resizer's exact-2× path) while both sides stay at least twice the target,
/// then one bilinear step of less than 2×. So every source pixel counts (no aliasing) at
/// a fraction of the cost of a general area filter.
fn shrink(mut pixels: Vec<u8>, from: (u32, u32), to: (u32, u32)) -> Vec<u8> {
    let (mut w, mut h) = (from.0 as usize, from.1 as usize);
    let (tw, th) = (to.0 as usize, to.1 as usize);
    let mut resizer = Resizer::new();
    let mut step = |pixels: &[u8], w: usize, h: usize, dw: usize, dh: usize| {
        let mut dst = vec![0u8; dw * dh * 3];
        resizer.resize_rgb8(pixels, w, h, &mut dst, dw, dh);
        dst
    };
    while w >= 2 * tw && h >= 2 * th && w >= 2 && h >= 2 {
        pixels = step(&pixels, w, h, w / 2, h / 2);
        (w, h) = (w / 2, h / 2);
    }
    if (w, h) != (tw, th) {
        pixels = step(&pixels, w, h, tw, th);
    }
    pixels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_the_longest_side() {
        assert_eq!(fit(1000, 500, 256), Some((256, 128)));
        assert_eq!(fit(500, 1000, 256), Some((128, 256)));
        assert_eq!(fit(64, 32, 256), Some((256, 128)));
        assert_eq!(fit(10_000, 1, 256), Some((256, 1)));
        assert_eq!(fit(0, 10, 256), None);
    }

    fn assert_close(got: [f32; 4], want: [f32; 4]) {
        assert!(
            got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-4),
            "{got:?} != {want:?}"
        );
    }

    #[test]
    fn scales_boxes_into_the_thumbnail() {
        // 1000×500 shown at 256×128: both axes scale by 0.256.
        let b = scale_box([100.0, 50.0, 500.0, 250.0], (1000, 500), (256, 128)).unwrap();
        assert_close(b, [25.6, 12.8, 128.0, 64.0]);
        // Axes scale separately when the shown size is not exactly proportional.
        let b = scale_box([0.0, 0.0, 300.0, 100.0], (300, 100), (256, 86)).unwrap();
        assert_eq!(b, [0.0, 0.0, 256.0, 86.0]);
        // Clipped to the picture, corners put in order.
        let b = scale_box([-10.0, 400.0, 2000.0, 20.0], (1000, 500), (256, 128)).unwrap();
        assert_close(b, [0.0, 5.12, 256.0, 102.4]);
        assert_eq!(scale_box([0.0; 4], (0, 500), (256, 128)), None);
        assert_eq!(
            scale_box([f32::NAN, 0.0, 1.0, 1.0], (10, 10), (10, 10)),
            None
        );
    }

    #[test]
    fn shrinking_averages_every_pixel() {
        // Noise shrunk 8× by area averaging keeps the mean and loses most of the variance
        // (std / 8); point sampling or a single bilinear step would keep most of it.
        let (w, h) = (1024u32, 768u32);
        let mut state = 12345u32;
        let noise: Vec<u8> = (0..w * h * 3)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 24) as u8
            })
            .collect();
        let stats = |v: &[u8]| {
            let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
            let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / v.len() as f64;
            (mean, var.sqrt())
        };
        let (mean, std) = stats(&noise);
        let small = shrink(noise, (w, h), (128, 96));
        assert_eq!(small.len(), 128 * 96 * 3);
        let (small_mean, small_std) = stats(&small);
        assert!((small_mean - mean).abs() < 1.0, "{small_mean} vs {mean}");
        assert!(small_std < std / 6.0, "{small_std} vs {std}");
        // Not a multiple of the target, odd sizes: the size asked for.
        let odd = shrink(vec![200; 999 * 333 * 3], (999, 333), (256, 85));
        assert_eq!(odd.len(), 256 * 85 * 3);
        assert!(odd.iter().all(|&v| v == 200));
    }
}
