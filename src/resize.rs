//! Bilinear resize of packed RGB8 images, bit-exact with OpenCV's
//! `cv2.resize(img, (dw, dh), interpolation=cv2.INTER_LINEAR)` (opencv-python-headless 5.0.0.93).
//!
//! Why bit-exact: the detection models are sensitive enough that a one-grey-level difference
//! in the letterboxed input shifts their scores, and anylabel is cross-checked against a
//! Python + OpenCV reference pipeline. So this is not "a" bilinear resize but OpenCV's
//! fixed-point one, reproduced operation by operation (see `modules/imgproc/src/resize.cpp`
//! and `resize.simd.hpp`: `cv::hal::resize`/`resize_cpu`, `HResizeLinear`, the `VResizeLinear`
//! specialisation for `uchar` and `VResizeLinearVec_32s8u`):
//!
//! * Geometry: `inv_scale = dw / sw` (double), `scale = 1 / inv_scale`; a destination
//!   coordinate maps to `f = (float)((d + 0.5) * scale - 0.5)`, `s = floor(f)`, `f -= s`.
//!   Horizontally, `s < 0` becomes `s = 0, f = 0` and `s >= sw - 1` becomes `s = sw - 1,
//!   f = 0`. Vertically `f` is *not* reset: the two rows are clamped into the image
//!   independently (`clip(s)`, `clip(s + 1)`) with the unclamped weights.
//! * Weights: `saturate_cast<short>((1 - f) * 2048)` and `saturate_cast<short>(f * 2048)`
//!   (round half to even), so the pair need not sum to 2048.
//! * Horizontal pass, exact in `i32`: `h = p0 * a0 + p1 * a1`.
//! * Vertical pass: `((b0 * (h0 >> 4)) >> 16) + ((b1 * (h1 >> 4)) >> 16) + 2) >> 2`. OpenCV's
//!   SIMD kernel (`v_mul_hi` of the packed `h >> 4`, then `v_rshr_pack_u<2>`) and its scalar
//!   tail compute exactly this, so no column depends on the vector width or alignment.
//! * Special cases taken by `cv::resize`: same size is a copy; an exact 2× downscale in both
//!   directions (`sw == 2 dw && sh == 2 dh`) is turned into `INTER_AREA`'s fast path, which is
//!   `(p00 + p01 + p10 + p11 + 2) >> 2`. The IPP path is not taken for 8-bit `INTER_LINEAR`
//!   (it is not bit-exact, so OpenCV skips it unless `useIPP_NotExact` is set).
//!
//! The horizontal pass is done once per source row and cached (an output row needs two source
//! rows, usually shared with its neighbour), then the vertical pass runs over whole rows.

/// Fixed-point precision of the interpolation weights (`INTER_RESIZE_COEF_BITS`).
const COEF_BITS: u32 = 11;
const COEF_SCALE: f32 = (1 << COEF_BITS) as f32;

/// One destination column: byte offsets of the two source pixels and their weights.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct XTap {
    o0: u32,
    o1: u32,
    a0: i16,
    a1: i16,
}

/// One destination row: the two source rows (already clamped) and their weights.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct YTap {
    r0: u32,
    r1: u32,
    b0: i16,
    b1: i16,
}

/// Reusable bilinear resizer; keeps its coefficient tables and row buffers between calls.
#[derive(Debug)]
pub struct Resizer {
    /// (sw, sh, dw, dh) the tables were built for.
    geometry: Option<(usize, usize, usize, usize)>,
    xtab: Vec<XTap>,
    /// The horizontal weights once per output element, `[a0, a1]` × 3 per destination pixel,
    /// laid out for `pmaddwd`.
    coef: Vec<i16>,
    /// Leading destination pixels whose 8-byte source load stays inside the row, rounded
    /// down to the SIMD block (8 pixels).
    simd_px: usize,
    ytab: Vec<YTap>,
    /// Two horizontally resized source rows, stored as `h >> 4` (at most 32655, fits in i16).
    rows: [Vec<i16>; 2],
    /// Use the SSSE3 horizontal kernel (x86_64, detected at run time).
    ssse3: bool,
    /// Use the SSE2 vertical kernel and 2×2 average (x86_64 baseline).
    sse2: bool,
}

impl Default for Resizer {
    fn default() -> Resizer {
        Resizer::new()
    }
}

/// `saturate_cast<short>(float)`: round half to even, then clamp.
fn saturate_i16(v: f32) -> i16 {
    v.round_ties_even().clamp(i16::MIN as f32, i16::MAX as f32) as i16
}

/// Source coordinate and fractional part for destination index `d`, as OpenCV computes them.
pub(crate) fn map_coord(d: usize, scale: f64) -> (i64, f32) {
    let f = ((d as f64 + 0.5) * scale - 0.5) as f32;
    let s = f.floor();
    (s as i64, f - s)
}

pub(crate) fn weights(f: f32) -> (i16, i16) {
    (
        saturate_i16((1.0 - f) * COEF_SCALE),
        saturate_i16(f * COEF_SCALE),
    )
}

impl Resizer {
    pub fn new() -> Resizer {
        #[cfg(target_arch = "x86_64")]
        let (ssse3, sse2) = (
            std::arch::is_x86_feature_detected!("ssse3"),
            cfg!(target_feature = "sse2"),
        );
        #[cfg(not(target_arch = "x86_64"))]
        let (ssse3, sse2) = (false, false);
        Resizer {
            geometry: None,
            xtab: Vec::new(),
            coef: Vec::new(),
            simd_px: 0,
            ytab: Vec::new(),
            rows: [Vec::new(), Vec::new()],
            ssse3,
            sse2,
        }
    }

    /// Turns the SIMD kernels off, leaving the portable code (the same arithmetic); for testing.
    #[doc(hidden)]
    pub fn force_portable(&mut self) {
        self.ssse3 = false;
        self.sse2 = false;
    }

    /// Resizes `src` (sw×sh packed RGB8, row stride sw*3) into `dst` (dw×dh packed RGB8, len dw*dh*3).
    pub fn resize_rgb8(
        &mut self,
        src: &[u8],
        sw: usize,
        sh: usize,
        dst: &mut [u8],
        dw: usize,
        dh: usize,
    ) {
        assert!(sw > 0 && sh > 0 && dw > 0 && dh > 0, "resize: empty image");
        assert!(src.len() >= sw * sh * 3, "resize: source buffer too small");
        assert!(
            dst.len() >= dw * dh * 3,
            "resize: destination buffer too small"
        );
        let src = &src[..sw * sh * 3];
        let dst = &mut dst[..dw * dh * 3];
        if sw == dw && sh == dh {
            dst.copy_from_slice(src);
            return;
        }
        if sw == 2 * dw && sh == 2 * dh {
            area_half(src, sw, dst, dw, self.ssse3);
            return;
        }
        self.build_tables(sw, sh, dw, dh);
        self.run(src, sw, dst, dw);
    }

    fn build_tables(&mut self, sw: usize, sh: usize, dw: usize, dh: usize) {
        if self.geometry == Some((sw, sh, dw, dh)) {
            return;
        }
        let scale_x = 1.0 / (dw as f64 / sw as f64);
        let scale_y = 1.0 / (dh as f64 / sh as f64);
        self.xtab.clear();
        self.coef.clear();
        for dx in 0..dw {
            let (mut sx, mut fx) = map_coord(dx, scale_x);
            // OpenCV resets f to 0 at both ends; from `xmax` on it uses `p * 2048`, which is
            // what the weights (2048, 0) give too.
            if sx < 0 {
                sx = 0;
                fx = 0.0;
            }
            if sx >= sw as i64 - 1 {
                sx = sw as i64 - 1;
                fx = 0.0;
            }
            let (a0, a1) = weights(fx);
            let s1 = (sx + 1).min(sw as i64 - 1);
            self.xtab.push(XTap {
                o0: (sx * 3) as u32,
                o1: (s1 * 3) as u32,
                a0,
                a1,
            });
            self.coef.extend_from_slice(&[a0, a1, a0, a1, a0, a1]);
        }
        // The SIMD kernel reads 8 bytes from `o0` (both pixels, as o1 == o0 + 3 wherever a1 != 0).
        let fits = self.xtab.partition_point(|t| t.o0 as usize + 8 <= sw * 3);
        self.simd_px = fits / 8 * 8;
        self.ytab.clear();
        let clip = |s: i64| s.clamp(0, sh as i64 - 1) as u32;
        for dy in 0..dh {
            let (sy, fy) = map_coord(dy, scale_y);
            let (b0, b1) = weights(fy);
            self.ytab.push(YTap {
                r0: clip(sy),
                r1: clip(sy + 1),
                b0,
                b1,
            });
        }
        for row in &mut self.rows {
            row.clear();
            row.resize(dw * 3, 0);
        }
        self.geometry = Some((sw, sh, dw, dh));
    }

    fn run(&mut self, src: &[u8], sw: usize, dst: &mut [u8], dw: usize) {
        let stride = sw * 3;
        let [row_a, row_b] = &mut self.rows;
        let h = HPass {
            xtab: &self.xtab,
            coef: &self.coef,
            simd_px: self.simd_px,
            ssse3: self.ssse3,
        };
        // Which source row each buffer holds (u32::MAX: none yet).
        let (mut id_a, mut id_b) = (u32::MAX, u32::MAX);
        for (y, out) in self.ytab.iter().zip(dst.chunks_exact_mut(dw * 3)) {
            // Keep r0 in row_a and r1 in row_b, reusing whatever is already there.
            if id_a != y.r0 {
                if id_b == y.r0 {
                    std::mem::swap(row_a, row_b);
                    std::mem::swap(&mut id_a, &mut id_b);
                } else {
                    h.run(&src[y.r0 as usize * stride..][..stride], row_a);
                    id_a = y.r0;
                }
            }
            let r1: &[i16] = if y.r1 == y.r0 {
                row_a
            } else {
                if id_b != y.r1 {
                    h.run(&src[y.r1 as usize * stride..][..stride], row_b);
                    id_b = y.r1;
                }
                row_b
            };
            vresize(row_a, r1, y.b0, y.b1, out, self.sse2);
        }
    }
}

/// The horizontal pass with its tables.
struct HPass<'a> {
    xtab: &'a [XTap],
    coef: &'a [i16],
    simd_px: usize,
    ssse3: bool,
}

impl HPass<'_> {
    /// One source row into `out` (`dw * 3` values of `(p0 * a0 + p1 * a1) >> 4`).
    fn run(&self, src: &[u8], out: &mut [i16]) {
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if self.ssse3 && self.simd_px > 0 {
            // SAFETY: SSSE3 is available (detected in `Resizer::new`); `simd_px` pixels have
            // `o0 + 8 <= src.len()` and `coef`/`out` hold `dw * 6` / `dw * 3` values.
            unsafe { x86::hresize_ssse3(src, self.xtab, self.coef, self.simd_px, out) };
            done = self.simd_px;
        }
        hresize(src, &self.xtab[done..], &mut out[done * 3..]);
    }
}

/// Horizontal pass, portable: `(p0 * a0 + p1 * a1) >> 4` per channel.
fn hresize(src: &[u8], xtab: &[XTap], out: &mut [i16]) {
    for (t, o) in xtab.iter().zip(out.chunks_exact_mut(3)) {
        let (a0, a1) = (i32::from(t.a0), i32::from(t.a1));
        let p0 = &src[t.o0 as usize..][..3];
        let p1 = &src[t.o1 as usize..][..3];
        for c in 0..3 {
            o[c] = ((i32::from(p0[c]) * a0 + i32::from(p1[c]) * a1) >> 4) as i16;
        }
    }
}

/// Vertical pass over one output row: `((b0 * h0) >> 16) + ((b1 * h1) >> 16) + 2) >> 2`.
fn vresize(r0: &[i16], r1: &[i16], b0: i16, b1: i16, out: &mut [u8], sse2: bool) {
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if sse2 {
        // SAFETY: SSE2 is enabled for the target (checked in `Resizer::new`).
        done = unsafe { x86::vresize_sse2(r0, r1, b0, b1, out) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = sse2;
    for ((o, &h0), &h1) in out[done..].iter_mut().zip(&r0[done..]).zip(&r1[done..]) {
        let m0 = (i32::from(b0) * i32::from(h0)) >> 16;
        let m1 = (i32::from(b1) * i32::from(h1)) >> 16;
        *o = ((m0 + m1 + 2) >> 2).clamp(0, 255) as u8;
    }
}

/// The exact 2× downscale `cv::resize` hands to `INTER_AREA`: the rounded mean of 2×2 pixels.
fn area_half(src: &[u8], sw: usize, dst: &mut [u8], dw: usize, ssse3: bool) {
    let stride = sw * 3;
    for (y, out) in dst.chunks_exact_mut(dw * 3).enumerate() {
        let s0 = &src[2 * y * stride..][..stride];
        let s1 = &src[(2 * y + 1) * stride..][..stride];
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if ssse3 {
            // SAFETY: SSSE3 was detected in `Resizer::new`.
            done = unsafe { x86::area_half_ssse3(s0, s1, out) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = ssse3;
        for (x, o) in out.chunks_exact_mut(3).enumerate().skip(done) {
            let (p0, p1) = (&s0[6 * x..6 * x + 6], &s1[6 * x..6 * x + 6]);
            for c in 0..3 {
                let sum = u16::from(p0[c])
                    + u16::from(p0[c + 3])
                    + u16::from(p1[c])
                    + u16::from(p1[c + 3]);
                o[c] = ((sum + 2) >> 2) as u8;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::XTap;

    /// Horizontal pass for the first `n` destination pixels (`n` a multiple of 8), 8 at a time.
    ///
    /// Each pixel's 8-byte load at `o0` holds both taps (left RGB in bytes 0..3, right RGB in
    /// bytes 3..6; where `a1 == 0` the right bytes are whatever follows and get weight 0).
    /// `pshufb` zero-extends them into `(left, right)` i16 pairs, `pmaddwd` with `[a0, a1]`
    /// gives the exact i32 sums, `>> 4` and a pack give the stored i16 values.
    ///
    /// # Safety
    /// SSSE3 must be available; for `i < n`, `xtab[i].o0 + 8 <= src.len()`;
    /// `coef.len() >= 6 * n`, `out.len() >= 3 * n`.
    #[target_feature(enable = "ssse3")]
    pub(super) unsafe fn hresize_ssse3(
        src: &[u8],
        xtab: &[XTap],
        coef: &[i16],
        n: usize,
        out: &mut [i16],
    ) {
        debug_assert!(
            n.is_multiple_of(8) && n <= xtab.len() && coef.len() >= 6 * n && out.len() >= 3 * n
        );
        debug_assert!(xtab[..n].iter().all(|t| t.o0 as usize + 8 <= src.len()));
        const Z: i8 = -1; // pshufb: zero
        // Two pixels per register: pixel A in bytes 0..8, pixel B in bytes 8..16.
        // Pairs for (A.r, A.g, A.b, B.r), (B.g, B.b | …), (… | A.r, A.g) and (A.b, B.r, B.g, B.b).
        let m_first = _mm_setr_epi8(0, Z, 3, Z, 1, Z, 4, Z, 2, Z, 5, Z, 8, Z, 11, Z);
        let m_mid_hi = _mm_setr_epi8(9, Z, 12, Z, 10, Z, 13, Z, Z, Z, Z, Z, Z, Z, Z, Z);
        let m_mid_lo = _mm_setr_epi8(Z, Z, Z, Z, Z, Z, Z, Z, 0, Z, 3, Z, 1, Z, 4, Z);
        let m_last = _mm_setr_epi8(2, Z, 5, Z, 8, Z, 11, Z, 9, Z, 12, Z, 10, Z, 13, Z);
        let s = src.as_ptr();
        let c = coef.as_ptr() as *const __m128i;
        let o = out.as_mut_ptr() as *mut __m128i;
        let mut i = 0;
        while i < n {
            let t = &xtab[i..i + 8];
            // SAFETY (here and below): in bounds by the function's contract.
            let ld =
                |k: usize| unsafe { _mm_loadl_epi64(s.add(t[k].o0 as usize) as *const __m128i) };
            let v0 = _mm_unpacklo_epi64(ld(0), ld(1));
            let v1 = _mm_unpacklo_epi64(ld(2), ld(3));
            let v2 = _mm_unpacklo_epi64(ld(4), ld(5));
            let v3 = _mm_unpacklo_epi64(ld(6), ld(7));
            let p0 = _mm_shuffle_epi8(v0, m_first);
            let p1 = _mm_or_si128(
                _mm_shuffle_epi8(v0, m_mid_hi),
                _mm_shuffle_epi8(v1, m_mid_lo),
            );
            let p2 = _mm_shuffle_epi8(v1, m_last);
            let p3 = _mm_shuffle_epi8(v2, m_first);
            let p4 = _mm_or_si128(
                _mm_shuffle_epi8(v2, m_mid_hi),
                _mm_shuffle_epi8(v3, m_mid_lo),
            );
            let p5 = _mm_shuffle_epi8(v3, m_last);
            let cb = unsafe { c.add(i / 8 * 6) };
            let mac = |p: __m128i, k: usize| {
                _mm_srai_epi32::<4>(_mm_madd_epi16(p, unsafe { _mm_loadu_si128(cb.add(k)) }))
            };
            let ob = unsafe { o.add(i / 8 * 3) };
            unsafe {
                _mm_storeu_si128(ob, _mm_packs_epi32(mac(p0, 0), mac(p1, 1)));
                _mm_storeu_si128(ob.add(1), _mm_packs_epi32(mac(p2, 2), mac(p3, 3)));
                _mm_storeu_si128(ob.add(2), _mm_packs_epi32(mac(p4, 4), mac(p5, 5)));
            }
            i += 8;
        }
    }

    /// Vertical pass, 16 outputs at a time, as OpenCV's `VResizeLinearVec_32s8u`:
    /// `v_mul_hi` by the weights, add, `v_rshr_pack_u<2>`. Returns how many outputs it wrote.
    ///
    /// # Safety
    /// SSE2 must be available.
    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn vresize_sse2(
        r0: &[i16],
        r1: &[i16],
        b0: i16,
        b1: i16,
        out: &mut [u8],
    ) -> usize {
        let n = out.len().min(r0.len()).min(r1.len()) / 16 * 16;
        let (vb0, vb1, two) = (_mm_set1_epi16(b0), _mm_set1_epi16(b1), _mm_set1_epi16(2));
        let mut i = 0;
        while i < n {
            // SAFETY: i + 16 <= n <= the length of all three slices.
            unsafe {
                let h =
                    |r: &[i16], k: usize| _mm_loadu_si128(r.as_ptr().add(i + k) as *const __m128i);
                let lo = _mm_adds_epi16(
                    _mm_mulhi_epi16(h(r0, 0), vb0),
                    _mm_mulhi_epi16(h(r1, 0), vb1),
                );
                let hi = _mm_adds_epi16(
                    _mm_mulhi_epi16(h(r0, 8), vb0),
                    _mm_mulhi_epi16(h(r1, 8), vb1),
                );
                let lo = _mm_srai_epi16::<2>(_mm_adds_epi16(lo, two));
                let hi = _mm_srai_epi16::<2>(_mm_adds_epi16(hi, two));
                _mm_storeu_si128(
                    out.as_mut_ptr().add(i) as *mut __m128i,
                    _mm_packus_epi16(lo, hi),
                );
            }
            i += 16;
        }
        n
    }

    /// One output row of the exact 2× downscale, 4 pixels at a time: `pshufb` pairs each
    /// byte with its right neighbour's, `pmaddubsw` by 1 sums the pairs, the two rows are
    /// added and `(sum + 2) >> 2` packed. Returns how many output pixels it wrote.
    ///
    /// # Safety
    /// SSSE3 must be available.
    #[target_feature(enable = "ssse3")]
    pub(super) unsafe fn area_half_ssse3(s0: &[u8], s1: &[u8], out: &mut [u8]) -> usize {
        const Z: i8 = -1;
        let n = (out.len() / 3).min(s0.len() / 6).min(s1.len() / 6) / 4 * 4;
        // 24 source bytes (4 output pixels) per row, loaded as bytes 0..16 and 8..24.
        let m_a = _mm_setr_epi8(0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11, Z, Z, Z, Z);
        let m_b_hi = _mm_setr_epi8(Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, 4, 7, 5, 8);
        let m_b = _mm_setr_epi8(6, 9, 10, 13, 11, 14, 12, 15, Z, Z, Z, Z, Z, Z, Z, Z);
        let (ones, two) = (_mm_set1_epi8(1), _mm_set1_epi16(2));
        let mut x = 0;
        while x < n {
            // SAFETY: 6 * x + 24 <= 6 * n <= s0.len(), s1.len(); 3 * x + 12 <= out.len().
            unsafe {
                let sums = |s: &[u8]| {
                    let a = _mm_loadu_si128(s.as_ptr().add(6 * x) as *const __m128i);
                    let b = _mm_loadu_si128(s.as_ptr().add(6 * x + 8) as *const __m128i);
                    let lo = _mm_or_si128(_mm_shuffle_epi8(a, m_a), _mm_shuffle_epi8(b, m_b_hi));
                    let hi = _mm_shuffle_epi8(b, m_b);
                    (_mm_maddubs_epi16(lo, ones), _mm_maddubs_epi16(hi, ones))
                };
                let ((lo0, hi0), (lo1, hi1)) = (sums(s0), sums(s1));
                let lo = _mm_srli_epi16::<2>(_mm_add_epi16(_mm_add_epi16(lo0, lo1), two));
                let hi = _mm_srli_epi16::<2>(_mm_add_epi16(_mm_add_epi16(hi0, hi1), two));
                let v = _mm_packus_epi16(lo, hi); // 12 bytes used
                let d = out.as_mut_ptr().add(3 * x);
                _mm_storel_epi64(d as *mut __m128i, v);
                (d.add(8) as *mut i32).write_unaligned(_mm_cvtsi128_si32(_mm_srli_si128::<8>(v)));
            }
            x += 4;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The source pattern the expected outputs below were made from, with
    /// `cv2.resize(src, (dw, dh), interpolation=cv2.INTER_LINEAR)` (opencv-python-headless 5.0.0.93).
    fn pattern(w: usize, h: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                for c in 0..3 {
                    v.push(((x * 37 + y * 91 + c * 53 + (x * y * 11) % 7 * 29) % 256) as u8);
                }
            }
        }
        v
    }

    fn resize(src: &[u8], sw: usize, sh: usize, dw: usize, dh: usize, portable: bool) -> Vec<u8> {
        let mut r = Resizer::new();
        if portable {
            r.force_portable();
        }
        let mut dst = vec![0; dw * dh * 3];
        r.resize_rgb8(src, sw, sh, &mut dst, dw, dh);
        dst
    }

    fn both(src: &[u8], sw: usize, sh: usize, dw: usize, dh: usize) -> Vec<u8> {
        let simd = resize(src, sw, sh, dw, dh, false);
        assert_eq!(
            simd,
            resize(src, sw, sh, dw, dh, true),
            "{sw}x{sh} -> {dw}x{dh}: SIMD != portable"
        );
        simd
    }

    #[test]
    fn identity_is_a_copy() {
        let src = pattern(7, 5);
        assert_eq!(both(&src, 7, 5, 7, 5), src);
    }

    #[test]
    fn two_pixel_ramp_upscale() {
        // Left pixel weight 1, then 0.75/0.25, 0.25/0.75, then the right pixel.
        let src = [0, 10, 255, 255, 20, 0];
        let want = [0, 10, 255, 64, 13, 191, 191, 18, 64, 255, 20, 0];
        assert_eq!(both(&src, 2, 1, 4, 1), want);
        // Two identical rows upscaled to three do *not* come out identical: row 0 has
        // sy = -1, fy = 0.8333 → weights (341, 1707) on the same row, and the truncating
        // vertical step gives, for G at x = 1 (h >> 4 = (10 * 1536 + 20 * 512) >> 4 = 1600):
        // ((341 * 1600) >> 16) + ((1707 * 1600) >> 16) = 8 + 41, (49 + 2) >> 2 = 12, not 13.
        let src2 = [src, src].concat();
        let edge = [0, 10, 255, 64, 12, 191, 191, 17, 64, 255, 20, 0];
        assert_eq!(both(&src2, 2, 2, 4, 3), [edge, want, edge].concat());
    }

    #[test]
    fn exact_half_is_the_rounded_2x2_mean() {
        let src = [1, 0, 255, 2, 1, 255, 2, 2, 254, 2, 3, 255];
        // Per channel: (1 + 2 + 2 + 2 + 2) >> 2, (0 + 1 + 2 + 3 + 2) >> 2, (1019 + 2) >> 2.
        assert_eq!(both(&src, 2, 2, 1, 1), [2, 2, 255]);
    }

    #[test]
    fn matches_opencv_on_small_cases() {
        #[rustfmt::skip]
        let cases: [(usize, usize, usize, usize, &[u8]); 5] = [
            (5, 3, 3, 2, &[45, 76, 129, 104, 157, 146, 116, 169, 222, 189, 156, 81, 92, 145, 134, 140, 193, 118]),
            (3, 2, 7, 5, &[0, 53, 106, 5, 58, 111, 21, 74, 127, 37, 90, 143, 53, 106, 159, 69, 121, 175, 74, 127,
                180, 9, 62, 115, 16, 65, 118, 37, 75, 128, 58, 85, 138, 70, 108, 150, 82, 131, 162, 86, 139, 166,
                46, 99, 152, 59, 94, 147, 100, 80, 133, 141, 66, 119, 138, 117, 116, 135, 170, 113, 134, 187, 112,
                82, 135, 188, 102, 122, 175, 163, 84, 137, 223, 46, 99, 206, 127, 81, 188, 208, 63, 182, 235, 58,
                91, 144, 197, 113, 129, 182, 178, 85, 138, 244, 41, 94, 222, 129, 73, 201, 217, 51, 194, 247, 44]),
            (4, 4, 2, 2, &[93, 82, 135, 118, 171, 160, 162, 151, 76, 129, 182, 107]),
            (6, 1, 4, 1, &[9, 62, 115, 65, 118, 171, 120, 173, 226, 176, 229, 90]),
            (9, 7, 4, 3, &[132, 78, 131, 104, 158, 189, 188, 230, 59, 106, 95, 148, 131, 184, 77, 160, 213, 10, 59,
                112, 165, 88, 141, 98, 151, 204, 33, 173, 151, 33, 202, 180, 62, 151, 204, 54]),
        ];
        for (sw, sh, dw, dh, want) in cases {
            assert_eq!(
                both(&pattern(sw, sh), sw, sh, dw, dh),
                want,
                "{sw}x{sh} -> {dw}x{dh}"
            );
        }
    }

    #[test]
    fn simd_and_portable_agree() {
        // Sizes around the 8-pixel SIMD block and the 16-byte vertical vectors, down and up.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let src: Vec<u8> = (0..300 * 200 * 3)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 32) as u8
            })
            .collect();
        for (sw, sh) in [(300, 200), (37, 23), (9, 2), (1, 1)] {
            for (dw, dh) in [
                (1, 1),
                (5, 3),
                (8, 8),
                (15, 9),
                (16, 16),
                (17, 40),
                (150, 100),
                (333, 251),
            ] {
                both(&src[..sw * sh * 3], sw, sh, dw, dh);
            }
        }
    }

    #[test]
    fn resizer_is_reusable_across_geometries() {
        let mut r = Resizer::new();
        for (sw, sh, dw, dh) in [
            (9, 7, 4, 3),
            (5, 3, 3, 2),
            (9, 7, 4, 3),
            (9, 7, 9, 7),
            (8, 8, 4, 4),
        ] {
            let src = pattern(sw, sh);
            let mut dst = vec![0; dw * dh * 3];
            r.resize_rgb8(&src, sw, sh, &mut dst, dw, dh);
            assert_eq!(dst, resize(&src, sw, sh, dw, dh, false));
        }
    }
}
