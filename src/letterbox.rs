//! The letterbox: fit an image into the model's input without changing its aspect ratio.
//!
//! It follows Ultralytics' `LetterBox(auto=False)` to the pixel, since that is what the
//! models were trained and validated with and what AnyLabeling does: scale
//! `r = min(h_t/h, w_t/w)`, new size `round(w·r) × round(h·r)` (Python's round, ties to
//! even), a bilinear resize bit-exact with OpenCV's `INTER_LINEAR` ([`crate::resize`]), grey
//! padding of 114 split as `round(d/2 - 0.1)` before and the rest after, RGB, `/255`, NCHW.
//!
//! [`Letterbox`] is the geometry alone, so that boxes are mapped back to the original
//! image by one function ([`Letterbox::to_original`]) and never by hand elsewhere.

use anyhow::{Result, anyhow};

use crate::resize::Resizer;

/// The grey level of the padding, as Ultralytics and AnyLabeling use it.
pub const PAD_VALUE: u8 = 114;

/// Where an image of `src` size was placed inside a `dst`-sized model input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    pub src_w: u32,
    pub src_h: u32,
    pub dst_w: u32,
    pub dst_h: u32,
    /// The scale factor `r`.
    pub gain: f64,
    /// The size of the resized image inside the input.
    pub new_w: u32,
    pub new_h: u32,
    /// The padding before the image, in input pixels.
    pub left: u32,
    pub top: u32,
    /// 1, or 2, 4 or 8 when the `src_w × src_h` pixels are a JPEG decoded at that fraction
    /// of its size ([`crate::decode::RgbImage::reduction`]).
    pub reduction: u32,
    /// The size of the image itself, which boxes are mapped back to: `src_w × src_h`
    /// unless reduced.
    pub full_w: u32,
    pub full_h: u32,
}

impl Letterbox {
    /// The geometry Ultralytics' `LetterBox(auto=False, scaleup=True, center=True)` computes.
    pub fn new(src_w: u32, src_h: u32, dst_w: u32, dst_h: u32) -> Letterbox {
        assert!(src_w > 0 && src_h > 0 && dst_w > 0 && dst_h > 0);
        let gain = f64::min(dst_h as f64 / src_h as f64, dst_w as f64 / src_w as f64);
        let new_w = ((src_w as f64 * gain).round_ties_even() as u32).clamp(1, dst_w);
        let new_h = ((src_h as f64 * gain).round_ties_even() as u32).clamp(1, dst_h);
        let dw = (dst_w - new_w) as f64 / 2.0;
        let dh = (dst_h - new_h) as f64 / 2.0;
        let left = (dw - 0.1).round_ties_even().max(0.0) as u32;
        let top = (dh - 0.1).round_ties_even().max(0.0) as u32;
        Letterbox {
            src_w,
            src_h,
            dst_w,
            dst_h,
            gain,
            new_w,
            new_h,
            left,
            top,
            reduction: 1,
            full_w: src_w,
            full_h: src_h,
        }
    }

    /// The letterbox of a decoded image, which may be a reduced JPEG: the geometry is that
    /// of its pixels, and boxes map back to the full image.
    pub fn of_image(img: &crate::decode::RgbImage, dst_w: u32, dst_h: u32) -> Letterbox {
        Letterbox {
            reduction: img.reduction,
            full_w: img.full_width,
            full_h: img.full_height,
            ..Letterbox::new(img.width, img.height, dst_w, dst_h)
        }
    }

    /// Maps an `[x1, y1, x2, y2]` box from input pixels back to the original image, clipped
    /// to it. A reduced JPEG's pixel `i` covers the image's `[i·d, (i+1)·d)` (the scaled
    /// IDCT turns each 8×8 block into `8/d × 8/d`), so its coordinates scale by `d` exactly.
    pub fn to_original(&self, b: [f32; 4]) -> [f32; 4] {
        let (l, t, g) = (self.left as f64, self.top as f64, self.gain);
        let d = self.reduction as f64;
        let (w, h) = (self.full_w as f64, self.full_h as f64);
        let x = |v: f32| ((v as f64 - l) / g * d).clamp(0.0, w) as f32;
        let y = |v: f32| ((v as f64 - t) / g * d).clamp(0.0, h) as f32;
        [x(b[0]), y(b[1]), x(b[2]), y(b[3])]
    }

    /// Maps a box from the original image into input pixels (the inverse of
    /// [`Letterbox::to_original`] for boxes inside the image).
    pub fn to_input(&self, b: [f32; 4]) -> [f32; 4] {
        let (l, t) = (self.left as f64, self.top as f64);
        let g = self.gain / self.reduction as f64;
        let x = |v: f32| (v as f64 * g + l) as f32;
        let y = |v: f32| (v as f64 * g + t) as f32;
        [x(b[0]), y(b[1]), x(b[2]), y(b[3])]
    }
}

impl Letterbox {
    /// Maps `xyxy` boxes from input pixels to the original image, in place (clipped).
    pub fn map_to_original(&self, boxes: &mut [[f32; 4]]) {
        for b in boxes {
            *b = self.to_original(*b);
        }
    }

    /// Maps `xyxy` boxes from the original image to input pixels, in place.
    pub fn map_to_input(&self, boxes: &mut [[f32; 4]]) {
        for b in boxes {
            *b = self.to_input(*b);
        }
    }
}

/// Letterboxes RGB images into a normalised CHW `f32` buffer, reusing its scratch memory
/// from one image to the next. One per worker thread.
pub struct Preprocessor {
    resizer: Resizer,
    resized: Vec<u8>,
    lut: [f32; 256],
    /// Whether the SSSE3 kernel splits and normalises rows ([`x86::split_row_ssse3`]).
    ssse3: bool,
}

impl Default for Preprocessor {
    fn default() -> Self {
        Preprocessor::new()
    }
}

impl Preprocessor {
    pub fn new() -> Preprocessor {
        let mut lut = [0f32; 256];
        for (i, v) in lut.iter_mut().enumerate() {
            // The same float32 division numpy does for `img.astype(np.float32) / 255`.
            *v = i as f32 / 255.0;
        }
        Preprocessor {
            resizer: Resizer::new(),
            resized: Vec::new(),
            lut,
            #[cfg(target_arch = "x86_64")]
            ssse3: std::arch::is_x86_feature_detected!("ssse3"),
            #[cfg(not(target_arch = "x86_64"))]
            ssse3: false,
        }
    }

    /// Turns the SIMD kernels off, leaving the portable code (the same arithmetic); for testing.
    #[doc(hidden)]
    pub fn force_portable(&mut self) {
        self.ssse3 = false;
        self.resizer.force_portable();
    }

    /// Letterboxes the packed RGB8 image `rgb` (`lb.src_w × lb.src_h`) into `out`, which
    /// holds `3 × dst_h × dst_w` values (one image of an NCHW batch).
    pub fn run(&mut self, rgb: &[u8], lb: &Letterbox, out: &mut [f32]) -> Result<()> {
        let (dw, dh) = (lb.dst_w as usize, lb.dst_h as usize);
        let plane = dw * dh;
        if out.len() != 3 * plane {
            return Err(anyhow!(
                "input buffer holds {} values, expected {}",
                out.len(),
                3 * plane
            ));
        }
        let (nw, nh) = (lb.new_w as usize, lb.new_h as usize);
        let resized: &[u8] = if (lb.new_w, lb.new_h) == (lb.src_w, lb.src_h) {
            rgb
        } else {
            let (sw, sh) = (lb.src_w as usize, lb.src_h as usize);
            if rgb.len() != sw * sh * 3 {
                return Err(anyhow!(
                    "image buffer holds {} bytes, expected {sw}×{sh}×3",
                    rgb.len()
                ));
            }
            self.resized.resize(nw * nh * 3, 0);
            self.resizer
                .resize_rgb8(rgb, sw, sh, &mut self.resized, nw, nh);
            &self.resized
        };

        let pad = self.lut[PAD_VALUE as usize];
        let (left, top) = (lb.left as usize, lb.top as usize);
        let (r_plane, rest) = out.split_at_mut(plane);
        let (g_plane, b_plane) = rest.split_at_mut(plane);
        // Padding rows above and below, in all three planes.
        for p in [&mut *r_plane, &mut *g_plane, &mut *b_plane] {
            p[..top * dw].fill(pad);
            p[(top + nh) * dw..].fill(pad);
        }
        // One pass over each source row fills the three planes' rows.
        for y in 0..nh {
            let at = (top + y) * dw;
            let (r, g, b) = (
                &mut r_plane[at..at + dw],
                &mut g_plane[at..at + dw],
                &mut b_plane[at..at + dw],
            );
            for p in [&mut *r, &mut *g, &mut *b] {
                p[..left].fill(pad);
                p[left + nw..].fill(pad);
            }
            let src = &resized[y * nw * 3..(y + 1) * nw * 3];
            let (r, g, b) = (
                &mut r[left..left + nw],
                &mut g[left..left + nw],
                &mut b[left..left + nw],
            );
            // 16 pixels at a time where SSSE3 is there, the rest through the table.
            let mut done = 0;
            #[cfg(target_arch = "x86_64")]
            if self.ssse3 {
                done = nw - nw % 16;
                // SAFETY: SSSE3 was detected; `src` holds `3 × nw` bytes and each plane row
                // `nw` values, `done ≤ nw`.
                unsafe { x86::split_row_ssse3(&src[..3 * done], r, g, b) };
            }
            for (x, px) in src.chunks_exact(3).enumerate().skip(done) {
                r[x] = self.lut[px[0] as usize];
                g[x] = self.lut[px[1] as usize];
                b[x] = self.lut[px[2] as usize];
            }
        }
        Ok(())
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// The `pshufb` masks per colour: colour c of pixel p is byte 3p + c of 48 bytes, which
    /// come as three 16-byte loads; mask `[c][k]` takes from load k the bytes of colour c
    /// that lie in it (-1: zero), so that the three results OR into the 16 bytes in order.
    const SPLIT_MASKS: [[[i8; 16]; 3]; 3] = {
        let mut m = [[[-1i8; 16]; 3]; 3];
        let mut c = 0;
        while c < 3 {
            let mut p = 0;
            while p < 16 {
                let at = 3 * p + c;
                m[c][at / 16][p] = (at % 16) as i8;
                p += 1;
            }
            c += 1;
        }
        m
    };

    /// Splits packed RGB8 pixels (`src`, a multiple of 48 bytes) into the first
    /// `src.len() / 3` values of the planes `r`, `g`, `b`, each divided by 255 in `f32`:
    /// `divps` rounds as the scalar division does, so the values are the table's, bit for bit.
    ///
    /// Per 16 pixels: three 16-byte loads, `pshufb` gathers each colour's 16 bytes from the
    /// three, and each colour is widened to four `f32` vectors.
    ///
    /// # Safety
    /// SSSE3 must be available; `src.len()` is a multiple of 48 and each plane holds at
    /// least `src.len() / 3` values.
    #[target_feature(enable = "ssse3")]
    pub(super) unsafe fn split_row_ssse3(src: &[u8], r: &mut [f32], g: &mut [f32], b: &mut [f32]) {
        let n = src.len() / 3;
        debug_assert!(src.len().is_multiple_of(48) && r.len() >= n && g.len() >= n && b.len() >= n);
        // SAFETY: each mask is 16 bytes, an unaligned load's size.
        let load = |c: usize| SPLIT_MASKS[c].map(|m| unsafe { _mm_loadu_si128(m.as_ptr().cast()) });
        let (mr, mg, mb) = (load(0), load(1), load(2));
        let zero = _mm_setzero_si128();
        let scale = _mm_set1_ps(255.0);
        for (i, px) in src.chunks_exact(48).enumerate() {
            // SAFETY: `px` is 48 bytes; the stores stay below `n` (16 per chunk).
            unsafe {
                let v = [
                    _mm_loadu_si128(px.as_ptr().cast()),
                    _mm_loadu_si128(px.as_ptr().add(16).cast()),
                    _mm_loadu_si128(px.as_ptr().add(32).cast()),
                ];
                for (m, plane) in [(&mr, &mut *r), (&mg, &mut *g), (&mb, &mut *b)] {
                    let bytes = _mm_or_si128(
                        _mm_or_si128(_mm_shuffle_epi8(v[0], m[0]), _mm_shuffle_epi8(v[1], m[1])),
                        _mm_shuffle_epi8(v[2], m[2]),
                    );
                    let (lo, hi) = (
                        _mm_unpacklo_epi8(bytes, zero),
                        _mm_unpackhi_epi8(bytes, zero),
                    );
                    let out = plane.as_mut_ptr().add(16 * i);
                    for (k, half) in [lo, hi].into_iter().enumerate() {
                        let a = _mm_cvtepi32_ps(_mm_unpacklo_epi16(half, zero));
                        let b = _mm_cvtepi32_ps(_mm_unpackhi_epi16(half, zero));
                        _mm_storeu_ps(out.add(8 * k), _mm_div_ps(a, scale));
                        _mm_storeu_ps(out.add(8 * k + 4), _mm_div_ps(b, scale));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_matches_ultralytics() {
        // 1920×1080 into 640: r = 1/3, 640×360, dh = 140 -> top 140 (round(139.9)).
        let lb = Letterbox::new(1920, 1080, 640, 640);
        assert_eq!((lb.new_w, lb.new_h, lb.left, lb.top), (640, 360, 0, 140));
        // 500×333 into 640: r = 1.28, 640×426.24 -> 426, dh = 107 -> top round(106.9) = 107.
        let lb = Letterbox::new(500, 333, 640, 640);
        assert_eq!((lb.new_w, lb.new_h, lb.left, lb.top), (640, 426, 0, 107));
        // An odd padding: 640×639 -> dh = 0.5, top = round(0.4) = 0, the pixel goes below.
        let lb = Letterbox::new(640, 639, 640, 640);
        assert_eq!((lb.new_w, lb.new_h, lb.left, lb.top), (640, 639, 0, 0));
        // 5×2 into 5×5: r = 1, dh = 1.5, top = round(1.4) = 1, two rows below.
        let lb = Letterbox::new(5, 2, 5, 5);
        assert_eq!((lb.new_w, lb.new_h, lb.left, lb.top), (5, 2, 0, 1));
        // Python's round(2.5) is 2 (ties to even): 4×5 into 2×4 gives r = 0.5, 2 × 2.5 -> 2×2.
        let lb = Letterbox::new(4, 5, 2, 4);
        assert_eq!((lb.new_w, lb.new_h, lb.left, lb.top), (2, 2, 0, 1));
        // 4×5 into 10×10: r = 2, 8×10, dw = 1, left = round(0.9) = 1.
        let lb = Letterbox::new(4, 5, 10, 10);
        assert_eq!((lb.new_w, lb.new_h, lb.left, lb.top), (8, 10, 1, 0));
    }

    proptest::proptest! {
        #[test]
        fn mapping_round_trips(
            sw in 1u32..5000, sh in 1u32..5000, dw in 32u32..2048, dh in 32u32..2048,
            fx in 0f32..1.0, fy in 0f32..1.0, fw in 0f32..1.0, fh in 0f32..1.0,
        ) {
            let lb = Letterbox::new(sw, sh, dw, dh);
            let (x1, y1) = (fx * sw as f32, fy * sh as f32);
            let b = [x1, y1, x1 + fw * (sw as f32 - x1), y1 + fh * (sh as f32 - y1)];
            let mut v = [b];
            lb.map_to_input(&mut v);
            lb.map_to_original(&mut v);
            for k in 0..4 {
                proptest::prop_assert!((v[0][k] - b[k]).abs() <= 1e-3 * (1.0 + b[k].abs()), "{:?} -> {:?}", b, v[0]);
            }
        }
    }

    #[test]
    fn boxes_round_trip_and_clip() {
        let lb = Letterbox::new(1280, 720, 640, 640);
        let b = [100.0, 50.5, 1000.25, 700.0];
        let back = lb.to_original(lb.to_input(b));
        for (a, e) in back.iter().zip(b) {
            assert!((a - e).abs() < 1e-3, "{back:?} vs {b:?}");
        }
        // A box reaching into the padding is clipped to the image.
        let clipped = lb.to_original([-10.0, 0.0, 700.0, 640.0]);
        assert_eq!(clipped, [0.0, 0.0, 1280.0, 720.0]);
    }

    #[test]
    fn pads_with_grey_and_keeps_pixels_at_the_same_size() {
        // A 4×2 red image into 4×4: no resize, one row of padding above and below.
        let rgb: Vec<u8> = [255u8, 0, 0].repeat(8);
        let lb = Letterbox::new(4, 2, 4, 4);
        assert_eq!((lb.top, lb.left, lb.new_w, lb.new_h), (1, 0, 4, 2));
        let mut out = vec![0f32; 3 * 16];
        Preprocessor::new().run(&rgb, &lb, &mut out).unwrap();
        let pad = 114.0 / 255.0;
        let r = &out[..16];
        let g = &out[16..32];
        assert_eq!(&r[..4], &[pad; 4]);
        assert_eq!(&r[4..12], &[1.0; 8]);
        assert_eq!(&r[12..], &[pad; 4]);
        assert_eq!(&g[4..12], &[0.0; 8]);
    }

    #[test]
    fn bilinear_resize_has_opencv_geometry() {
        // Upscaling a 2-pixel ramp 0..255 to 4 pixels with half-pixel centres, as
        // cv2.resize(INTER_LINEAR) does, gives 0, 64, 191, 255.
        let rgb = vec![0u8, 0, 0, 255, 255, 255];
        let lb = Letterbox::new(2, 1, 4, 2);
        assert_eq!((lb.new_w, lb.new_h), (4, 2));
        let mut out = vec![0f32; 3 * 8];
        Preprocessor::new().run(&rgb, &lb, &mut out).unwrap();
        let row: Vec<u8> = out[..4].iter().map(|v| (v * 255.0).round() as u8).collect();
        for (got, want) in row.iter().zip([0u8, 64, 191, 255]) {
            assert!(got.abs_diff(want) <= 1, "{row:?}");
        }
    }

    #[test]
    fn the_simd_split_gives_the_tables_values() {
        // Widths around the 16-pixel step, with and without a resize, every byte value.
        let mut rng = crate::rng::XorShift(7);
        for (sw, sh, dw, dh) in [
            (16, 3, 16, 8),
            (47, 5, 64, 64),
            (300, 17, 640, 640),
            (33, 40, 40, 40),
        ] {
            let rgb: Vec<u8> = (0..sw * sh * 3).map(|_| rng.next_u64() as u8).collect();
            let lb = Letterbox::new(sw, sh, dw, dh);
            let (mut fast, mut portable) = (Preprocessor::new(), Preprocessor::new());
            portable.force_portable();
            let n = 3 * (dw * dh) as usize;
            let (mut a, mut b) = (vec![0f32; n], vec![0f32; n]);
            fast.run(&rgb, &lb, &mut a).unwrap();
            portable.run(&rgb, &lb, &mut b).unwrap();
            let a: Vec<u32> = a.iter().map(|v| v.to_bits()).collect();
            let b: Vec<u32> = b.iter().map(|v| v.to_bits()).collect();
            assert_eq!(a, b, "{sw}×{sh} into {dw}×{dh}");
        }
        let every: Vec<u8> = (0..=255u8).flat_map(|v| [v, 255 - v, v / 2]).collect();
        let lb = Letterbox::new(256, 1, 256, 1);
        let mut out = vec![0f32; 3 * 256];
        Preprocessor::new().run(&every, &lb, &mut out).unwrap();
        for (v, got) in out[..256].iter().enumerate() {
            assert_eq!(got.to_bits(), (v as f32 / 255.0).to_bits());
        }
    }
}
