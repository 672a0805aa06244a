//! The letterbox on the GPU: a batch of RGB8 images of any sizes into one
//! `[n, 3, h, w]` `f32` device tensor, equal value for value to the CPU's
//! ([`crate::letterbox::Preprocessor`]).
//!
//! One kernel (`letterbox.cu`) does the resize, the padding, `/255` and HWC→CHW, one thread
//! per output pixel. The host packs the images into one pinned buffer and writes, per
//! image, where it lies and how it is resized ([`META`] ints) followed by the bilinear
//! tables (source offsets and fixed-point weights per output column and row). The tables
//! are made here by the same geometry code as [`crate::resize`]'s (f64 coordinates,
//! `saturate_cast<short>` weights), so the kernel does only integer arithmetic and its
//! output is the CPU's exactly; `tests` checks the whole layout on the CPU by running the
//! kernel's arithmetic in Rust.
//!
//! The tensor stays on the GPU ([`GpuTensor::device_ptr`], for ONNX Runtime's I/O binding);
//! [`GpuTensor::to_host`] copies it back, for tests.

use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use cudarc::driver::{
    CudaFunction, CudaSlice, CudaStream, DevicePtr, LaunchConfig, PinnedHostSlice, PushKernelArg,
};
use rayon::prelude::*;

use super::jpeg::DeviceImage;
use super::{Gpu, Kernel};
use crate::decode::RgbImage;
use crate::letterbox::{Letterbox, PAD_VALUE};
use crate::resize::{map_coord, weights};

pub const KERNEL: Kernel = Kernel {
    name: "letterbox",
    source: include_str!("letterbox.cu"),
};

/// Ints per image at the start of the meta buffer: byte offset of its pixels (low, high),
/// `src_w`, `src_h`, `new_w`, `new_h`, `left`, `top`, mode, offset of its tables, two spare.
pub const META: usize = 12;

/// How an image is resized; the kernel's `MODE_*`, chosen as [`crate::resize::Resizer`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
enum Mode {
    /// Same size: a copy.
    Copy = 0,
    /// An exact 2× downscale both ways: OpenCV hands it to `INTER_AREA`'s 2×2 mean.
    Half = 1,
    Bilinear = 2,
}

fn mode(lb: &Letterbox) -> Mode {
    if (lb.new_w, lb.new_h) == (lb.src_w, lb.src_h) {
        Mode::Copy
    } else if lb.src_w == 2 * lb.new_w && lb.src_h == 2 * lb.new_h {
        Mode::Half
    } else {
        Mode::Bilinear
    }
}

// The bilinear geometry of src/resize.rs (`map_coord`, `weights`, as `build_tables`
// uses them), laid out for the kernel.

/// Appends the tables for `sw×sh → dw×dh`: per output column `(o0, o1, a0, a1)` (byte
/// offsets in a row, weights), then per output row `(r0, r1, b0, b1)` (rows, weights).
fn push_tables(sw: usize, sh: usize, dw: usize, dh: usize, out: &mut Vec<i32>) {
    let scale_x = 1.0 / (dw as f64 / sw as f64);
    let scale_y = 1.0 / (dh as f64 / sh as f64);
    let last_x = sw as i64 - 1;
    for dx in 0..dw {
        let (mut sx, mut fx) = map_coord(dx, scale_x);
        if sx < 0 {
            sx = 0;
            fx = 0.0;
        }
        if sx >= last_x {
            sx = last_x;
            fx = 0.0;
        }
        let (a0, a1) = weights(fx);
        let (a0, a1) = (a0 as i32, a1 as i32);
        let s1 = (sx + 1).min(last_x);
        out.extend_from_slice(&[(sx * 3) as i32, (s1 * 3) as i32, a0, a1]);
    }
    let clip = |s: i64| s.clamp(0, sh as i64 - 1) as i32;
    for dy in 0..dh {
        let (sy, fy) = map_coord(dy, scale_y);
        let (b0, b1) = weights(fy);
        let (b0, b1) = (b0 as i32, b1 as i32);
        out.extend_from_slice(&[clip(sy), clip(sy + 1), b0, b1]);
    }
}

/// Lays out a batch for the kernel: the letterbox of each image, the meta buffer
/// ([`META`] ints per image, then the tables) and where each image's pixels lie in the
/// packed pixel buffer (the same on the host and the GPU; the last ends at the total).
type Layout = (Vec<Letterbox>, Vec<i32>, Vec<std::ops::Range<usize>>);

fn plan(sizes: &[(u32, u32)], dst_w: u32, dst_h: u32) -> Layout {
    let mut meta = vec![0i32; sizes.len() * META];
    let mut boxes = Vec::with_capacity(sizes.len());
    let mut places = Vec::with_capacity(sizes.len());
    let mut offset = 0usize;
    for (i, &(w, h)) in sizes.iter().enumerate() {
        let lb = Letterbox::new(w, h, dst_w, dst_h);
        let m = mode(&lb);
        let tables = meta.len();
        if m == Mode::Bilinear {
            push_tables(
                w as usize,
                h as usize,
                lb.new_w as usize,
                lb.new_h as usize,
                &mut meta,
            );
        }
        let head = &mut meta[i * META..(i + 1) * META];
        head[0] = offset as u32 as i32;
        head[1] = (offset as u64 >> 32) as u32 as i32;
        head[2] = w as i32;
        head[3] = h as i32;
        head[4] = lb.new_w as i32;
        head[5] = lb.new_h as i32;
        head[6] = lb.left as i32;
        head[7] = lb.top as i32;
        head[8] = m as i32;
        head[9] = tables as i32;
        let len = w as usize * h as usize * 3;
        places.push(offset..offset + len);
        offset += len;
        boxes.push(lb);
    }
    (boxes, meta, places)
}

/// The pixel bytes of a layout's images together.
fn total(places: &[std::ops::Range<usize>]) -> usize {
    places.last().map_or(0, |r| r.end)
}

/// One decoded image of a batch: in host memory (libjpeg-turbo's, or any format's), or
/// already on the GPU (nvJPEG's, [`super::jpeg`]).
#[derive(Clone, Copy)]
pub enum Pixels<'a> {
    Host(&'a RgbImage),
    Device(&'a DeviceImage),
}

impl Pixels<'_> {
    fn size(&self) -> (u32, u32) {
        match self {
            Pixels::Host(im) => (im.width, im.height),
            Pixels::Device(im) => (im.width, im.height),
        }
    }

    fn len(&self) -> usize {
        let (w, h) = self.size();
        w as usize * h as usize * 3
    }

    /// The host pixels' length is `width × height × 3`.
    fn is_whole(&self) -> bool {
        match self {
            Pixels::Host(im) => im.pixels.len() == self.len(),
            Pixels::Device(im) => im.buf.len() >= self.len(),
        }
    }
}

/// Letterboxes batches of images on the GPU into one reused device tensor.
pub struct GpuLetterbox {
    stream: Arc<CudaStream>,
    func: CudaFunction,
    max_batch: usize,
    /// `[h, w]` of the model input.
    size: [u32; 2],
    host_pixels: Option<PinnedHostSlice<u8>>,
    host_meta: Option<PinnedHostSlice<i32>>,
    pixels: Option<CudaSlice<u8>>,
    meta: Option<CudaSlice<i32>>,
    out: CudaSlice<f32>,
    /// Images in the tensor after the last [`GpuLetterbox::run`].
    batch: usize,
}

/// The letterboxed batch on the GPU: `[n, 3, h, w]` `f32`, contiguous, on the
/// [`GpuLetterbox`]'s stream (work queued after it on that stream sees it complete).
pub struct GpuTensor<'a> {
    stream: &'a Arc<CudaStream>,
    buf: &'a CudaSlice<f32>,
    shape: [usize; 4],
}

impl GpuTensor<'_> {
    pub fn shape(&self) -> [usize; 4] {
        self.shape
    }

    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw device address of the first value (a `CUdeviceptr`), for ONNX Runtime's
    /// I/O binding. Valid until the next [`GpuLetterbox::run`] or its drop; synchronise the
    /// stream (or queue the reader on it) before reading.
    pub fn device_ptr(&self) -> u64 {
        let (ptr, _sync) = self.buf.device_ptr(self.stream);
        ptr
    }

    /// The stream the tensor is written on.
    pub fn stream(&self) -> &Arc<CudaStream> {
        self.stream
    }

    /// Copies the tensor to the host (waits for the kernel).
    pub fn to_host(&self) -> Result<Vec<f32>> {
        let mut v = vec![0f32; self.len()];
        self.stream
            .memcpy_dtoh(&self.buf.slice(..self.len()), &mut v)?;
        self.stream.synchronize()?;
        Ok(v)
    }
}

/// Letterboxes that runs gave back ([`GpuLetterbox::keep`]), for the next run in this
/// process: their kernel, tensor and page-locked buffer are made once, not once a run
/// (`bench infer` runs the pipeline again and again; page-locking a buffer holds up the
/// GPU's other work while it lasts).
static KEPT: std::sync::Mutex<Vec<GpuLetterbox>> = std::sync::Mutex::new(Vec::new());

impl GpuLetterbox {
    /// A letterbox a run gave back on `gpu`'s device for the same batch and size, else a
    /// new one ([`GpuLetterbox::new`]).
    pub fn reuse_or_new(gpu: &Gpu, max_batch: usize, size: [u32; 2]) -> Result<GpuLetterbox> {
        let ordinal = gpu.context().ordinal();
        let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
        let found = kept.iter().position(|l| {
            l.stream.context().ordinal() == ordinal && l.size == size && l.max_batch == max_batch
        });
        if let Some(i) = found {
            tracing::trace!("gpu letterbox: the one an earlier run gave back");
            return Ok(kept.swap_remove(i));
        }
        drop(kept);
        GpuLetterbox::new(gpu, max_batch, size)
    }

    /// Gives this letterbox back for a later run in this process, once its work is done
    /// (dropped where the GPU reports an error).
    pub fn keep(self) {
        if self.stream.synchronize().is_ok() {
            let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
            // A run's two letterboxes, and the two of one other batch size or input size.
            super::keep_within(&mut kept, self, |_| 1, 4);
        }
    }

    /// A letterbox for up to `max_batch` images into `size = [h, w]` inputs; allocates the
    /// output tensor now and the upload buffers as the images need them.
    pub fn new(gpu: &Gpu, max_batch: usize, size: [u32; 2]) -> Result<GpuLetterbox> {
        if max_batch == 0 || size[0] == 0 || size[1] == 0 {
            bail!("GPU letterbox: empty batch or input size {size:?}");
        }
        let module = gpu.load(&KERNEL)?;
        let func = module.load_function("letterbox")?;
        // A stream of its own: the pipeline's two letterboxes are waited for one at a time
        // (the executor waits for the batch it runs, `run` for its slot's last batch), and
        // on one shared stream each wait would also wait for the other's work.
        let stream = gpu.stream().fork()?;
        let out = stream.alloc_zeros::<f32>(max_batch * 3 * size[0] as usize * size[1] as usize)?;
        Ok(GpuLetterbox {
            stream,
            func,
            max_batch,
            size,
            host_pixels: None,
            host_meta: None,
            pixels: None,
            meta: None,
            out,
            batch: 0,
        })
    }

    /// Letterboxes `images` into the device tensor (queued on the stream; the call returns
    /// before the kernel ends) and gives the geometry of each, as the CPU's
    /// [`Letterbox::of_image`] does. Images in host memory go up through the page-locked
    /// buffer; images already on the GPU are copied there on the GPU.
    pub fn run(&mut self, images: &[Pixels<'_>]) -> Result<(GpuTensor<'_>, Vec<Letterbox>)> {
        self.check(images)?;
        let [h, w] = self.size;
        let (boxes, meta, places) = layout(images, w, h);
        let total = total(&places);
        // The upload buffers are rewritten below: the previous batch's copies must be done.
        tracing::trace!(
            "gpu letterbox: {} images, waiting for the previous batch",
            images.len()
        );
        self.stream.synchronize()?;
        tracing::trace!("gpu letterbox: packing");
        let host_total: usize = images
            .iter()
            .filter(|im| matches!(im, Pixels::Host(_)))
            .map(Pixels::len)
            .sum();
        self.make_room(host_total, total, meta.len())?;
        let staged = self.pack(images, host_total, &meta)?;
        tracing::trace!("gpu letterbox: packed {total} bytes; uploading");
        if total > 0 {
            self.upload(images, &places, &staged)?;
            self.launch(images.len(), meta.len())?;
        }
        self.batch = images.len();
        let tensor = GpuTensor {
            stream: &self.stream,
            buf: &self.out,
            shape: [images.len(), 3, h as usize, w as usize],
        };
        Ok((tensor, boxes))
    }

    /// Refuses a batch larger than the tensor, and images that are empty or whose buffer
    /// is not `width × height × 3`.
    fn check(&self, images: &[Pixels<'_>]) -> Result<()> {
        if images.len() > self.max_batch {
            bail!(
                "GPU letterbox: {} images, at most {}",
                images.len(),
                self.max_batch
            );
        }
        if let Some(i) = images
            .iter()
            .position(|im| im.size().0 == 0 || im.size().1 == 0 || !im.is_whole())
        {
            bail!("GPU letterbox: image {i} is empty or its buffer is not width × height × 3");
        }
        Ok(())
    }

    /// Grows the upload buffers to hold `host_total` bytes of host pixels, `total` bytes of
    /// pixels on the GPU and `meta_len` meta ints (they never shrink).
    fn make_room(&mut self, host_total: usize, total: usize, meta_len: usize) -> Result<()> {
        let ctx = self.stream.context().clone();
        let grow = |len: usize, have: Option<usize>| have.is_none_or(|n| n < len);
        // Only the host images go through the page-locked buffer, one after another (those
        // on the GPU already are copied there on the GPU). Page-locking memory takes about
        // as long as the model runs a batch, and holds up the GPU's other work meanwhile:
        // the buffer gets room for batches half as large again as the first that needs it,
        // so that it seldom grows in the middle of a run.
        if host_total > 0 && grow(host_total, self.host_pixels.as_ref().map(|b| b.len())) {
            let len = (host_total + host_total / 2).next_power_of_two();
            tracing::trace!(
                "gpu letterbox: {} MB of page-locked memory for the pixels",
                len >> 20
            );
            self.host_pixels = None; // freed before the larger one is made
            // SAFETY: write-combined pinned memory, written before it is read.
            self.host_pixels = Some(unsafe { ctx.alloc_pinned::<u8>(len) }?);
        }
        if grow(total.max(1), self.pixels.as_ref().map(|b| b.len())) {
            let len = total.max(1).next_power_of_two();
            self.pixels = None;
            self.pixels = Some(self.stream.alloc_zeros::<u8>(len)?);
        }
        if grow(meta_len.max(1), self.host_meta.as_ref().map(|b| b.len())) {
            let len = meta_len.max(1).next_power_of_two();
            // SAFETY: as above.
            self.host_meta = Some(unsafe { ctx.alloc_pinned::<i32>(len) }?);
            self.meta = Some(self.stream.alloc_zeros::<i32>(len)?);
        }
        Ok(())
    }

    /// Copies the host images (`host_total` bytes) one after another into the page-locked
    /// buffer and `meta` into its own; gives where each image lies in the first (an image
    /// on the GPU takes no room: its offset is the next host image's).
    fn pack(
        &mut self,
        images: &[Pixels<'_>],
        host_total: usize,
        meta: &[i32],
    ) -> Result<Vec<usize>> {
        let host_meta = self.host_meta.as_mut().context("meta buffer")?;
        // Where each host image lies in the page-locked buffer.
        let mut staged = Vec::with_capacity(images.len());
        let mut at = 0usize;
        for im in images {
            staged.push(at);
            if let Pixels::Host(_) = im {
                at += im.len();
            }
        }
        // The host images copied in parallel: a batch of 32 photos is a few hundred MB,
        // which one thread copies in about as long as the model runs.
        let mut parts = Vec::with_capacity(images.len());
        if let Some(host_pixels) = self.host_pixels.as_mut().filter(|_| host_total > 0) {
            let mut rest = &mut host_pixels.as_mut_slice()?[..host_total];
            for im in images {
                if let Pixels::Host(im) = im {
                    let (dst, tail) = std::mem::take(&mut rest).split_at_mut(im.pixels.len());
                    parts.push((dst, &im.pixels[..]));
                    rest = tail;
                }
            }
        }
        parts
            .into_par_iter()
            .for_each(|(dst, src)| dst.copy_from_slice(src));
        host_meta.as_mut_slice()?[..meta.len()].copy_from_slice(meta);
        Ok(staged)
    }

    /// Queues the pixels' way into the device buffer, each image at its place: one upload
    /// per run of consecutive host images (from where [`GpuLetterbox::pack`] `staged`
    /// them), one device copy per image already on the GPU.
    fn upload(
        &mut self,
        images: &[Pixels<'_>],
        places: &[std::ops::Range<usize>],
        staged: &[usize],
    ) -> Result<()> {
        let stream = &self.stream;
        let pixels = self.pixels.as_mut().context("pixel buffer")?;
        let mut i = 0;
        while i < images.len() {
            let mut j = i;
            while j < images.len() && matches!(images[j], Pixels::Host(_)) {
                j += 1;
            }
            if j > i {
                let run = places[i].start..places[j - 1].end;
                let from = staged[i]..staged[i] + run.len();
                let host = self.host_pixels.as_ref().context("pixel buffer")?;
                stream.memcpy_htod(&host.as_slice()?[from], &mut pixels.slice_mut(run))?;
                i = j;
                continue;
            }
            if let Pixels::Device(im) = images[i] {
                let (base, _) = pixels.device_ptr(stream);
                // SAFETY: the source holds `len` bytes (checked above); the destination is
                // this image's place inside `pixels`. The source's stream finished
                // writing it before the image was handed on (`GpuJpeg::decode`
                // synchronises), and it lives until this stream is synchronised (the
                // caller's batch holds it).
                unsafe {
                    cudarc::driver::result::memcpy_dtod_async(
                        base + places[i].start as u64,
                        im.device_ptr(),
                        im.len(),
                        stream.cu_stream(),
                    )
                }?;
            }
            i += 1;
        }
        Ok(())
    }

    /// Uploads the first `meta_len` meta ints and queues the kernel over `n` images.
    fn launch(&mut self, n: usize, meta_len: usize) -> Result<()> {
        let [h, w] = self.size;
        let stream = &self.stream;
        let host_meta = self.host_meta.as_ref().context("meta buffer")?;
        let (pixels, dev_meta) = (
            self.pixels.as_ref().context("pixel buffer")?,
            self.meta.as_mut().context("meta buffer")?,
        );
        stream.memcpy_htod(
            &host_meta.as_slice()?[..meta_len],
            &mut dev_meta.slice_mut(..meta_len),
        )?;
        let pad = PAD_VALUE as f32 / 255.0;
        let (dw, dh) = (w as i32, h as i32);
        let cfg = LaunchConfig {
            grid_dim: (w.div_ceil(32), h.div_ceil(8), n as u32),
            block_dim: (32, 8, 1),
            shared_mem_bytes: 0,
        };
        let mut launch = stream.launch_builder(&self.func);
        launch
            .arg(pixels)
            .arg(&*dev_meta)
            .arg(&mut self.out)
            .arg(&dw)
            .arg(&dh)
            .arg(&pad);
        // SAFETY: the arguments match the kernel's signature; `meta` describes images
        // that lie inside `pixels` and an output of `n` ≤ max_batch tensors.
        tracing::trace!("gpu letterbox: launching");
        unsafe { launch.launch(cfg) }.map_err(|e| anyhow!("letterbox kernel: {e}"))?;
        tracing::trace!("gpu letterbox: launched");
        Ok(())
    }
}

/// [`plan`] for a batch of images: a JPEG decoded reduced maps its boxes back to its full
/// size, as on the CPU.
fn layout(images: &[Pixels<'_>], dst_w: u32, dst_h: u32) -> Layout {
    let sizes: Vec<(u32, u32)> = images.iter().map(Pixels::size).collect();
    let (mut boxes, meta, places) = plan(&sizes, dst_w, dst_h);
    for (lb, im) in boxes.iter_mut().zip(images) {
        if let Pixels::Host(im) = im {
            *lb = Letterbox {
                reduction: im.reduction,
                full_w: im.full_width,
                full_h: im.full_height,
                ..*lb
            };
        }
    }
    (boxes, meta, places)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::letterbox::Preprocessor;

    /// The kernel's arithmetic, in Rust, over the same `plan`: proves the layout and the
    /// tables here, without a GPU (the CUDA source is a line-by-line transcription).
    fn emulate(images: &[(u32, u32, Vec<u8>)], dst_w: u32, dst_h: u32) -> Vec<f32> {
        let sizes: Vec<(u32, u32)> = images.iter().map(|(w, h, _)| (*w, *h)).collect();
        let (_, meta, places) = plan(&sizes, dst_w, dst_h);
        let total = total(&places);
        let pixels: Vec<u8> = images
            .iter()
            .flat_map(|(_, _, p)| p.iter().copied())
            .collect();
        assert_eq!(pixels.len(), total);
        let (dw, dh) = (dst_w as usize, dst_h as usize);
        let plane = dw * dh;
        let pad = PAD_VALUE as f32 / 255.0;
        let mut out = vec![f32::NAN; images.len() * 3 * plane];
        for n in 0..images.len() {
            let m = &meta[n * META..(n + 1) * META];
            let offset = (m[0] as u32 as u64 | ((m[1] as u32 as u64) << 32)) as usize;
            let (src_w, new_w, new_h) = (m[2] as usize, m[4], m[5]);
            let (left, top, mode, tables) = (m[6], m[7], m[8], m[9] as usize);
            let src = &pixels[offset..];
            let stride = src_w * 3;
            for y in 0..dh {
                for x in 0..dw {
                    let o = n * 3 * plane + y * dw + x;
                    let (ix, iy) = (x as i32 - left, y as i32 - top);
                    if ix < 0 || iy < 0 || ix >= new_w || iy >= new_h {
                        for c in 0..3 {
                            out[o + c * plane] = pad;
                        }
                        continue;
                    }
                    let (ix, iy) = (ix as usize, iy as usize);
                    let mut v = [0i32; 3];
                    if mode == Mode::Copy as i32 {
                        for c in 0..3 {
                            v[c] = src[iy * stride + ix * 3 + c] as i32;
                        }
                    } else if mode == Mode::Half as i32 {
                        let p0 = &src[2 * iy * stride + 6 * ix..];
                        let p1 = &src[(2 * iy + 1) * stride + 6 * ix..];
                        for c in 0..3 {
                            v[c] = (p0[c] as i32
                                + p0[c + 3] as i32
                                + p1[c] as i32
                                + p1[c + 3] as i32
                                + 2)
                                >> 2;
                        }
                    } else {
                        let xt = &meta[tables + 4 * ix..];
                        let yt = &meta[tables + 4 * new_w as usize + 4 * iy..];
                        let row0 = &src[yt[0] as usize * stride..];
                        let row1 = &src[yt[1] as usize * stride..];
                        let (o0, o1, a0, a1) = (xt[0] as usize, xt[1] as usize, xt[2], xt[3]);
                        let (b0, b1) = (yt[2], yt[3]);
                        for c in 0..3 {
                            let h0 = (row0[o0 + c] as i32 * a0 + row0[o1 + c] as i32 * a1) >> 4;
                            let h1 = (row1[o0 + c] as i32 * a0 + row1[o1 + c] as i32 * a1) >> 4;
                            let s = (((b0 * h0) >> 16) + ((b1 * h1) >> 16) + 2) >> 2;
                            v[c] = s.clamp(0, 255);
                        }
                    }
                    for c in 0..3 {
                        out[o + c * plane] = v[c] as f32 / 255.0;
                    }
                }
            }
        }
        out
    }

    fn noise(w: u32, h: u32, seed: u64) -> Vec<u8> {
        let mut rng = crate::rng::XorShift(seed | 1);
        (0..w as usize * h as usize * 3)
            .map(|_| (rng.next_u64() >> 40) as u8)
            .collect()
    }

    fn cpu(images: &[(u32, u32, Vec<u8>)], dst_w: u32, dst_h: u32) -> Vec<f32> {
        let plane = 3 * dst_w as usize * dst_h as usize;
        let mut out = vec![0f32; images.len() * plane];
        let mut pre = Preprocessor::new();
        for (i, (w, h, px)) in images.iter().enumerate() {
            let lb = Letterbox::new(*w, *h, dst_w, dst_h);
            pre.run(px, &lb, &mut out[i * plane..(i + 1) * plane])
                .unwrap();
        }
        out
    }

    #[test]
    fn the_kernels_arithmetic_equals_the_cpu_letterbox() {
        // Downscales, upscales, odd sizes, exact 2× (the 2×2 mean), same size (a copy), one
        // pixel, in one mixed batch, into square and non-square inputs.
        let sizes = [
            (1920, 1080),
            (1280, 1280),
            (640, 640),
            (333, 517),
            (17, 9),
            (1, 1),
            (641, 639),
            (3, 1000),
        ];
        for (dst_w, dst_h) in [(640, 640), (320, 192), (64, 64)] {
            let images: Vec<(u32, u32, Vec<u8>)> = sizes
                .iter()
                .enumerate()
                .map(|(i, &(w, h))| (w, h, noise(w, h, i as u64 + 7)))
                .collect();
            let want = cpu(&images, dst_w, dst_h);
            let got = emulate(&images, dst_w, dst_h);
            let diff = want
                .iter()
                .zip(&got)
                .position(|(a, b)| a.to_bits() != b.to_bits());
            assert_eq!(
                diff, None,
                "into {dst_w}×{dst_h}: first difference at {diff:?}"
            );
        }
    }

    #[test]
    fn modes_follow_the_cpu_resizer() {
        assert_eq!(mode(&Letterbox::new(640, 480, 640, 640)), Mode::Copy);
        assert_eq!(mode(&Letterbox::new(1280, 960, 640, 640)), Mode::Half);
        assert_eq!(mode(&Letterbox::new(1920, 1080, 640, 640)), Mode::Bilinear);
        // 2× down one way only is bilinear.
        assert_eq!(mode(&Letterbox::new(1280, 1279, 640, 640)), Mode::Bilinear);
    }

    #[test]
    fn offsets_beyond_4_gib_are_split_in_two_ints() {
        let sizes = [(40000, 40000), (30000, 20000), (10, 10)];
        let (_, meta, places) = plan(&sizes, 64, 64);
        let total = total(&places);
        let third = &meta[2 * META..];
        let offset = third[0] as u32 as u64 | ((third[1] as u32 as u64) << 32);
        assert_eq!(offset, 40000 * 40000 * 3 + 30000 * 20000 * 3);
        assert_eq!(total as u64, offset + 300);
    }
}
