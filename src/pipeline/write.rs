//! The writing stage, on the calling thread: post-processes each window's images in
//! parallel ([`super::post`]), writes what the cache learns in one transaction, and sends
//! the records to the [`Sink`], in scan order.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Result, anyhow};
use crossbeam_channel::{Receiver, Sender};
use indicatif::ProgressBar;
use rayon::prelude::*;

use crate::cache::{self, Ask, Batch, ImageFacts, Stored};
use crate::detections::Detections;
use crate::engine::ModelInfo;
use crate::letterbox::Letterbox;
use crate::record::Record;

use super::execute::{Output, Ran};
use super::post::Post;
use super::{CacheRun, Input, Outcome, Sink, Slot, Summary};

/// The writing thread: post-processes each window the runner sends (in parallel over its
/// images), writes the cache and the records, in scan order.
pub(super) struct Writer<'r> {
    pub(super) info: &'r ModelInfo,
    /// Post-processing with its scratch space, one per thread that post-processes a
    /// window's images, kept from window to window.
    pub(super) posts: Vec<Post>,
    pub(super) ask: &'r Ask,
    pub(super) cache: Option<&'r mut CacheRun>,
    pub(super) sink: &'r mut dyn Sink,
    pub(super) bar: &'r ProgressBar,
    pub(super) stop: &'r AtomicBool,
    pub(super) summary: &'r mut Summary,
}

impl Writer<'_> {
    pub(super) fn run(
        &mut self,
        ran: &Receiver<Ran>,
        spare: &Sender<Output>,
        recycle: &Sender<Vec<f32>>,
    ) -> Result<()> {
        for Ran {
            window,
            output,
            dims,
            new_files,
            end,
        } in ran
        {
            let t = Instant::now();
            let lbs: Vec<&Letterbox> = window
                .iter()
                .filter_map(|s| match &s.outcome {
                    Outcome::Image { lb, .. } => Some(lb),
                    _ => None,
                })
                .collect();
            let mut fresh: Vec<Stored> = match dims {
                // The images in contiguous runs, one run per Post, in parallel.
                Some(dims) if !lbs.is_empty() => {
                    let output = output.values()?;
                    let run = lbs.len().div_ceil(self.posts.len());
                    let runs: Vec<Vec<Stored>> = self
                        .posts
                        .par_iter_mut()
                        .zip(lbs.par_chunks(run))
                        .enumerate()
                        .map(|(k, (post, lbs))| {
                            (lbs.iter().enumerate())
                                .map(|(j, lb)| post.detections(output, dims, k * run + j, lb))
                                .collect()
                        })
                        .collect();
                    runs.into_iter().flatten().collect()
                }
                _ => Vec::new(),
            };
            let _ = spare.try_send(output);
            let mut store = Batch {
                files: new_files,
                ..Batch::default()
            };
            let mut records = Vec::with_capacity(window.len());
            fresh.reverse();
            for slot in window {
                records.push(self.record(slot, &mut fresh, &mut store, recycle));
            }
            self.summary.times.postprocess += t.elapsed();

            if let Some(c) = self.cache.as_deref_mut() {
                let t = Instant::now();
                if let Err(e) = c.cache.write(&store) {
                    // Losing the cache must not lose the run: say so once and go on without it.
                    tracing::warn!(
                        "cannot write to the cache {} ({e:#}); going on without it",
                        c.cache.path().display()
                    );
                    self.cache = None;
                }
                self.summary.times.store += t.elapsed();
            }

            let t = Instant::now();
            for record in &records {
                self.summary.images += 1;
                self.summary.failed += record.error.is_some() as usize;
                self.summary.detections += record.detections.len();
                if let Err(e) = self.sink.write(record) {
                    return handle_write_error(e, self.summary);
                }
            }
            if let Err(e) = self.sink.flush() {
                return handle_write_error(e, self.summary);
            }
            self.summary.times.write += t.elapsed();
            self.bar.inc(records.len() as u64);
            tracing::trace!("writer: {} records written", records.len());
            if end {
                return Ok(());
            }
        }
        // The runner stopped before the last image: Ctrl-C, or its own error (which the
        // caller reports).
        if self.stop.load(Ordering::Relaxed) {
            self.summary.interrupted = true;
        }
        Ok(())
    }

    /// The record of one image, and what the cache learns from it. `fresh` holds the
    /// post-processed results of the window's images that ran, last first.
    pub(super) fn record(
        &mut self,
        slot: Slot,
        fresh: &mut Vec<Stored>,
        store: &mut Batch,
        recycle: &Sender<Vec<f32>>,
    ) -> Record {
        let id = self.info.id.clone();
        let info = self.info;
        let record = |width, height, dets: Detections| {
            Record::new(
                slot.item.name.clone(),
                [width, height],
                id.clone(),
                &dets,
                |c| info.label(c),
            )
        };
        match slot.outcome {
            Outcome::Cached {
                content,
                width,
                height,
                detections,
                mark,
            } => {
                if mark {
                    store.touched.push(content);
                }
                store.hits += 1;
                self.summary.cache_hits += 1;
                record(width, height, detections)
            }
            Outcome::Image { input, lb, content } => {
                let stored = fresh
                    .pop()
                    .expect("every image of a window that ran has a result");
                if let Input::Tensor(tensor) = input {
                    let _ = recycle.try_send(tensor);
                }
                let detections =
                    cache::answer(&stored, self.ask).expect("fresh results answer their own run");
                if let Some(content) = content {
                    store.images.push((
                        content,
                        ImageFacts {
                            width: lb.full_w,
                            height: lb.full_h,
                            error: None,
                        },
                    ));
                    store.results.push((content, stored));
                    store.misses += 1;
                }
                record(lb.full_w, lb.full_h, detections)
            }
            Outcome::KnownBad { reason } => {
                store.hits += 1;
                self.summary.cache_hits += 1;
                tracing::warn!("{}: {reason}", slot.item.path.display());
                Record::failed(slot.item.name, id, reason)
            }
            Outcome::Failed { reason, content } => {
                if let Some(content) = content {
                    store.images.push((
                        content,
                        ImageFacts {
                            width: 0,
                            height: 0,
                            error: Some(reason.clone()),
                        },
                    ));
                }
                store.misses += 1;
                tracing::warn!("{}: {reason}", slot.item.path.display());
                Record::failed(slot.item.name, id, reason)
            }
        }
    }
}

pub(super) fn handle_write_error(e: std::io::Error, summary: &mut Summary) -> Result<()> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        summary.stopped_early = true;
        return Ok(());
    }
    Err(anyhow!("cannot write the results: {e}"))
}
