//! The decode stage, on the decode threads: for each image, the cache lookup
//! ([`super::lookup`]), then reading and decoding it ([`crate::decode`]; nvJPEG or the
//! GPU's JPEG engine with `--decode gpu`) and letterboxing it into the model's tensor
//! ([`crate::letterbox`]), or, for the GPU letterbox, decoding only.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};

use crate::cache::{Ask, Content};
use crate::decode::{
    DecodeError, DecodeErrorKind, DecodeOptions, RgbImage, decode_bytes, read_file,
};
use crate::engine::ModelInfo;
use crate::gpu::jpeg::{DeviceImage, GpuJpeg};
use crate::gpu::jpeg_hw::HwJpeg;
use crate::gpu::upload::{UPLOAD_VAR, UploadBy, Uploader};
use crate::letterbox::{Letterbox, Preprocessor};

use super::lookup::{CacheRun, Lookup, lookup};
use super::post::ask_for;
use super::{InferOptions, Input, Outcome, Prepared, Preprocess};

/// What every decode task needs.
pub(super) struct Context {
    pub(super) decode: DecodeOptions,
    /// `[width, height]` of the model input.
    pub(super) size: [u32; 2],
    pub(super) cache: Option<(PathBuf, Content)>,
    pub(super) ask: Ask,
    /// Decode only: the letterbox runs on the GPU, a batch at a time.
    pub(super) decode_only: bool,
    /// nvJPEG, for the JPEGs it takes as they are (`--decode gpu`).
    pub(super) jpeg: Option<Arc<GpuJpeg>>,
    /// The GPU's JPEG engine, where it has one (`--decode gpu`), for the JPEGs it takes.
    pub(super) jpeg_engine: Option<Arc<HwJpeg>>,
    /// Where the run asks the decode threads to upload what they decode.
    pub(super) uploads: Option<Arc<Uploads>>,
}

impl Context {
    /// What the decode tasks of a run with `opts` need: `size` is the model input's
    /// `[height, width]`, `batch` the model's batch size.
    pub(super) fn new(
        opts: &InferOptions,
        info: &ModelInfo,
        [h, w]: [u32; 2],
        batch: usize,
        cache: Option<&CacheRun>,
    ) -> Result<Context> {
        let decode_only = matches!(opts.preprocess, Preprocess::Gpu { .. });
        let upload_by = crate::gpu::upload::upload_by(std::env::var(UPLOAD_VAR).ok().as_deref())?;
        let (jpeg, jpeg_engine) = open_jpeg(opts, batch)?;
        Ok(Context {
            decode: DecodeOptions {
                reduce_for: (!opts.exact_decode).then_some([w, h]),
                ..opts.decode
            },
            size: [w, h],
            cache: cache.map(|c| (c.cache.path().to_path_buf(), c.key)),
            ask: ask_for(opts, info.class_names.len()),
            decode_only,
            jpeg,
            jpeg_engine,
            uploads: (decode_only && upload_by == UploadBy::DecodeThreads)
                .then(|| Arc::new(Uploads::default())),
        })
    }
}

/// The decode threads' uploads (`ANYLABEL_GPU_UPLOAD=decode`): the uploader, from when the
/// batcher has opened the GPU letterbox until it gives the GPU letterbox up. Images decoded
/// before or after are sent up by the batcher, as they are without the variable.
#[derive(Default)]
pub(super) struct Uploads {
    pub(super) to: std::sync::OnceLock<Uploader>,
    pub(super) off: AtomicBool,
}

impl Uploads {
    pub(super) fn ready(&self) -> Option<&Uploader> {
        if self.off.load(Ordering::Relaxed) {
            return None;
        }
        self.to.get()
    }
}

thread_local! {
    pub(super) static PREPROCESSOR: std::cell::RefCell<Preprocessor> = std::cell::RefCell::new(Preprocessor::new());
}

/// Looks one image up in the cache, then decodes and letterboxes it if needed (on a
/// decode thread).
pub(super) fn prepare(path: &Path, buffer: Option<Vec<f32>>, ctx: &Context) -> Prepared {
    let mut prepared = Prepared::failed(String::new());
    let mut bytes = None;
    let content = match ask_cache(path, ctx, &mut prepared, &mut bytes) {
        ControlFlow::Break(outcome) => {
            prepared.outcome = outcome;
            return prepared;
        }
        ControlFlow::Continue(content) => content,
    };
    let t = Instant::now();
    let mut bytes = match bytes {
        Some(b) => Ok(b),
        None => read_file(path),
    };
    if let Some(outcome) = to_gpu_decoder(path, ctx, &mut bytes, content, &mut prepared) {
        prepared.decode = t.elapsed();
        prepared.outcome = outcome;
        return prepared;
    }
    let decoded = bytes.and_then(|b| decode_bytes(&b, &ctx.decode));
    prepared.decode = t.elapsed();
    tracing::trace!(
        target: "anylabel::pipeline::decode",
        "decoded in {:.2} ms",
        prepared.decode.as_secs_f64() * 1e3
    );
    prepared.outcome = match decoded {
        Ok(img) => letterbox(path, img, buffer, content, ctx, &mut prepared),
        Err(e) => Outcome::Failed {
            // A limit is a property of the run, an unreadable file of the moment: only
            // failures of the content itself are remembered.
            content: content.filter(|_| e.kind == DecodeErrorKind::Content),
            reason: e.reason,
        },
    };
    prepared
}

/// The cache's answer for the image at `path` (`Break`), or the content hash to store its
/// result under (`Continue`; `None` without a cache). The bytes, where the lookup had to
/// read them, are left in `bytes`.
fn ask_cache(
    path: &Path,
    ctx: &Context,
    prepared: &mut Prepared,
    bytes: &mut Option<Vec<u8>>,
) -> ControlFlow<Outcome, Option<Content>> {
    let Some((cache_path, key)) = &ctx.cache else {
        return ControlFlow::Continue(None);
    };
    let t = Instant::now();
    let looked_up = lookup(
        path,
        cache_path,
        key,
        &ctx.ask,
        &ctx.decode,
        bytes,
        &mut prepared.new_file,
    );
    prepared.lookup = t.elapsed();
    match looked_up {
        Ok(Lookup::Answered(outcome)) => ControlFlow::Break(outcome),
        Ok(Lookup::Miss(c)) => ControlFlow::Continue(Some(c)),
        Err(e) => ControlFlow::Break(Outcome::Failed {
            reason: e.reason,
            content: None,
        }),
    }
}

/// With `--decode gpu`, a JPEG nvJPEG takes as it is, handed to the GPU's JPEG engine or
/// decoded by nvJPEG; `None` leaves the image to the CPU (with its bytes, which the
/// engine may have given back, in `bytes`).
fn to_gpu_decoder(
    path: &Path,
    ctx: &Context,
    bytes: &mut Result<Vec<u8>, DecodeError>,
    content: Option<Content>,
    prepared: &mut Prepared,
) -> Option<Outcome> {
    let jpeg = ctx.jpeg.as_ref()?;
    // The size of a JPEG that nvJPEG decodes as it is (the header read once, for the
    // engine and the default backend alike).
    let (iw, ih) = crate::decode::jpeg_for_gpu(bytes.as_ref().ok()?, &ctx.decode)?;
    let [w, h] = ctx.size;
    if let (Some(engine), Ok(b)) = (&ctx.jpeg_engine, &*bytes)
        && engine.may_take(b)
        && engine.takes(b, iw, ih)
    {
        let b = bytes.as_mut().map(std::mem::take).unwrap_or_default();
        match engine.submit(b, iw, ih) {
            Ok(answer) => {
                return Some(Outcome::Image {
                    lb: Letterbox::new(iw, ih, w, h),
                    input: Input::Engine(answer),
                    content,
                });
            }
            Err(back) => *bytes = Ok(back),
        }
    }
    let img = decode_on_gpu(jpeg, bytes.as_ref().ok()?, (iw, ih), path)?;
    prepared.on_gpu = true;
    Some(Outcome::Image {
        lb: Letterbox::new(img.width, img.height, w, h),
        input: Input::OnGpu(img),
        content,
    })
}

/// A decoded image as the model will read it: letterboxed into `buffer` here, or, for
/// the GPU letterbox, as it is (uploaded by this thread where the run asks for it).
fn letterbox(
    path: &Path,
    img: RgbImage,
    buffer: Option<Vec<f32>>,
    content: Option<Content>,
    ctx: &Context,
    prepared: &mut Prepared,
) -> Outcome {
    let t = Instant::now();
    let [w, h] = ctx.size;
    let lb = Letterbox::of_image(&img, w, h);
    if ctx.decode_only {
        let input = upload(path, img, ctx, prepared);
        // Only an upload is counted as the letterbox's time here, as the batcher counts it.
        if prepared.uploaded {
            prepared.letterbox = t.elapsed();
        }
        return Outcome::Image { input, lb, content };
    }
    let mut tensor = buffer.unwrap_or_default();
    tensor.resize(3 * w as usize * h as usize, 0.0);
    let done = PREPROCESSOR.with_borrow_mut(|p| p.run(&img.pixels, &lb, &mut tensor));
    prepared.letterbox = t.elapsed();
    match done {
        Ok(()) => Outcome::Image {
            input: Input::Tensor(tensor),
            lb,
            content,
        },
        Err(e) => Outcome::Failed {
            reason: format!("cannot letterbox the image: {e}"),
            content: None,
        },
    }
}

/// A decoded image for the GPU letterbox: on the GPU where the decode threads upload
/// (`ANYLABEL_GPU_UPLOAD=decode`), else left for the batcher to send.
fn upload(path: &Path, img: RgbImage, ctx: &Context, prepared: &mut Prepared) -> Input {
    let uploader = ctx.uploads.as_deref().and_then(Uploads::ready);
    match uploader.map(|u| u.upload(&img)) {
        Some(Ok(on_gpu)) => {
            prepared.uploaded = true;
            Input::OnGpu(on_gpu)
        }
        Some(Err(e)) => {
            // Whatever failed (page-locked or device memory, the GPU) would fail again:
            // the batcher uploads this image and every later one.
            if let Some(u) = &ctx.uploads
                && !u.off.swap(true, Ordering::Relaxed)
            {
                tracing::warn!(
                    "{}: the decode threads stop uploading their images ({UPLOAD_VAR}=decode), \
                     the batcher uploads them: {e:#}",
                    path.display()
                );
            }
            Input::Decoded(img)
        }
        None => Input::Decoded(img),
    }
}

/// nvJPEG opened on the GPU that letterboxes, where the run asks for it (`--decode gpu`).
/// And the GPU's JPEG engine beside it, where the GPU has one and
/// `ANYLABEL_NVJPEG_HARDWARE` does not say 0, for batches of up to `batch` JPEGs.
#[allow(clippy::type_complexity)]
pub(super) fn open_jpeg(
    opts: &InferOptions,
    batch: usize,
) -> Result<(Option<Arc<GpuJpeg>>, Option<Arc<HwJpeg>>)> {
    if !opts.gpu_decode {
        return Ok((None, None));
    }
    let Preprocess::Gpu { device, .. } = opts.preprocess else {
        bail!("--decode gpu needs the GPU letterbox (--preprocess gpu or auto)");
    };
    let share = crate::gpu::jpeg_hw::share(
        std::env::var(crate::gpu::jpeg_hw::SHARE_VAR)
            .ok()
            .as_deref(),
    )?;
    // nvJPEG and its JPEG engine take most of a second to open: opened once a process, for
    // each run after the first (`bench infer`'s) as long as the engine has not given up.
    type Opened = (u32, usize, u32, Arc<GpuJpeg>, Option<Arc<HwJpeg>>);
    static OPENED: std::sync::Mutex<Option<Opened>> = std::sync::Mutex::new(None);
    let mut opened = OPENED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((d, b, s, jpeg, engine)) = opened.as_ref()
        && (*d, *b, *s) == (device, batch, share)
        && engine.as_ref().is_none_or(|e| !e.gave_up())
    {
        tracing::trace!("nvJPEG as an earlier run opened it");
        return Ok((Some(Arc::clone(jpeg)), engine.clone()));
    }
    let gpu = crate::gpu::Gpu::new(device as usize).context("--decode gpu")?;
    let jpeg = GpuJpeg::open(&gpu).context("--decode gpu")?;
    let engine = if share == 0 {
        None
    } else {
        match HwJpeg::open(&gpu, batch, share) {
            Ok(e) => Some(Arc::new(e)),
            Err(e) => {
                tracing::debug!("no JPEG engine: nvJPEG's default backend decodes: {e:#}");
                None
            }
        }
    };
    let jpeg = Arc::new(jpeg);
    *opened = Some((device, batch, share, Arc::clone(&jpeg), engine.clone()));
    Ok((Some(jpeg), engine))
}

/// `bytes`, a JPEG nvJPEG takes as it is ([`crate::decode::jpeg_for_gpu`]), of `(w, h)`
/// pixels, decoded by nvJPEG; `None` leaves the image to the CPU (saying why at debug
/// level where nvJPEG refused it).
pub(super) fn decode_on_gpu(
    jpeg: &GpuJpeg,
    bytes: &[u8],
    (w, h): (u32, u32),
    path: &Path,
) -> Option<DeviceImage> {
    match jpeg.decode(bytes) {
        Ok(img) if (img.width, img.height) == (w, h) => Some(img),
        Ok(img) => {
            tracing::debug!(
                "{}: nvJPEG decoded {}×{} where the header says {w}×{h}; decoding it on the CPU",
                path.display(),
                img.width,
                img.height
            );
            None
        }
        Err(why) => {
            tracing::debug!("{}: {why}; decoding it on the CPU", path.display());
            None
        }
    }
}
