//! Decoded images sent to the GPU by the decode threads themselves, each as soon as it is
//! decoded (`ANYLABEL_GPU_UPLOAD=decode`; [docs/gpu.md](../../docs/gpu.md#who-sends-the-pixels-up-anylabel_gpu_upload)).
//!
//! With the GPU letterbox, the batching thread otherwise packs a whole batch's decoded
//! pixels into one page-locked buffer and uploads it: a copy of 62 MB a batch of 32
//! fixture JPEGs, on the one thread that every batch passes through. On an H200 that
//! thread spent 10.5 ms a batch putting batches together while the model needed one every
//! 9.7 ms. Here each decode thread copies its own image into a page-locked staging buffer
//! of its own, uploads it on a stream of its own and waits for it: the same bytes are
//! copied, by the sixteen decode threads in parallel instead of by one, and the batcher
//! only copies device images into the letterbox's input on the GPU, as it does with
//! nvJPEG's ([`super::jpeg::DeviceImage`]).

use std::sync::Arc;

use anyhow::{Context, Result, ensure};
use cudarc::driver::{CudaStream, PinnedHostSlice};

use super::Gpu;
use super::jpeg::DeviceImage;
use crate::decode::RgbImage;

/// A staging buffer and the stream its uploads go on; one thread uses it at a time.
struct Slot {
    staging: Option<PinnedHostSlice<u8>>,
    stream: Arc<CudaStream>,
}

/// Uploads decoded images to one GPU; shared by the decode threads.
pub struct Uploader {
    gpu: Gpu,
    slots: super::Pool<Slot>,
}

impl Uploader {
    /// An uploader to `gpu`: staging buffers and streams are made as threads first need them.
    pub fn new(gpu: &Gpu) -> Uploader {
        super::keep_pool_memory(gpu);
        Uploader {
            gpu: gpu.clone(),
            slots: super::Pool::new(),
        }
    }

    /// Copies `img`'s pixels into device memory; returns once they are there.
    pub fn upload(&self, img: &RgbImage) -> Result<DeviceImage> {
        let len = img.width as usize * img.height as usize * 3;
        ensure!(
            len > 0 && img.pixels.len() == len,
            "an empty image, or pixels that are not width × height × 3"
        );
        self.gpu
            .context()
            .bind_to_thread()
            .context("cannot use the GPU on this thread")?;
        let mut slot = match self.slots.take() {
            Some(s) => s,
            None => Slot {
                staging: None,
                stream: self
                    .gpu
                    .context()
                    .new_stream()
                    .context("cannot create a CUDA stream")?,
            },
        };
        let result = Self::send(&mut slot, img, len);
        self.slots.give(slot);
        result
    }

    fn send(slot: &mut Slot, img: &RgbImage, len: usize) -> Result<DeviceImage> {
        if slot.staging.as_ref().is_none_or(|s| s.len() < len) {
            slot.staging = None; // the old buffer is free: the last upload was waited for
            let ctx = slot.stream.context();
            // SAFETY: write-combined page-locked memory, written below before it is read.
            let buf =
                unsafe { ctx.alloc_pinned::<u8>(len.next_power_of_two()) }.with_context(|| {
                    format!("cannot allocate {} MB of page-locked memory", len >> 20)
                })?;
            slot.staging = Some(buf);
        }
        let staging = slot.staging.as_mut().context("staging buffer")?;
        staging.as_mut_slice()?[..len].copy_from_slice(&img.pixels);
        // SAFETY: every byte is written by the copy below before anything reads it.
        let mut buf = unsafe { slot.stream.alloc::<u8>(len) }
            .with_context(|| format!("cannot allocate {} MB on the GPU", len >> 20))?;
        slot.stream
            .memcpy_htod(&staging.as_slice()?[..len], &mut buf)?;
        // The letterbox reads the image on another stream: it must be whole when handed on,
        // and the staging buffer is rewritten by this slot's next upload.
        slot.stream
            .synchronize()
            .context("the GPU failed while uploading")?;
        Ok(DeviceImage {
            buf,
            width: img.width,
            height: img.height,
        })
    }
}

impl Drop for Uploader {
    fn drop(&mut self) {
        let _ = self.gpu.context().bind_to_thread();
        for s in self.slots.drain() {
            let _ = s.stream.synchronize();
        }
    }
}

/// Who sends the decoded pixels of a GPU-letterboxed batch to the GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadBy {
    /// The batching thread, a batch at a time, through one page-locked buffer (the default).
    Batcher,
    /// Each decode thread, its image as soon as it is decoded ([`Uploader`]).
    DecodeThreads,
}

/// The variable that chooses [`UploadBy`]: `batch` (or unset) or `decode`.
pub const UPLOAD_VAR: &str = "ANYLABEL_GPU_UPLOAD";

/// [`UploadBy`] from the value of [`UPLOAD_VAR`], or the error that names it.
pub fn upload_by(value: Option<&str>) -> Result<UploadBy> {
    match value.map(str::trim) {
        None | Some("") | Some("batch") => Ok(UploadBy::Batcher),
        Some("decode") => Ok(UploadBy::DecodeThreads),
        Some(v) => anyhow::bail!("{UPLOAD_VAR}={v:?}: expected `batch` or `decode`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_is_read_strictly() {
        assert_eq!(upload_by(None).unwrap(), UploadBy::Batcher);
        assert_eq!(upload_by(Some("batch")).unwrap(), UploadBy::Batcher);
        assert_eq!(
            upload_by(Some(" decode ")).unwrap(),
            UploadBy::DecodeThreads
        );
        let e = upload_by(Some("decoder")).unwrap_err().to_string();
        assert!(
            e.contains("ANYLABEL_GPU_UPLOAD=\"decoder\"") && e.contains("`decode`"),
            "{e}"
        );
    }
}
