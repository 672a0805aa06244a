//! The feeding stage: walks the inputs (the scan, then the shard) and hands each image to
//! a decode thread, queueing that thread's one-shot answer in a bounded channel in scan
//! order. The channel's bound is how far decoding may run ahead of the model.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::scan::{Sources, scan};
use crate::shard::Shard;

use super::decode::{Context, prepare};
use super::{Pending, Prepared, panic_message};

pub(super) fn feed(
    inputs: Sources,
    shard: Option<Shard>,
    pool: &rayon::ThreadPool,
    pending: Sender<Pending>,
    recycled: Receiver<Vec<f32>>,
    stop: Arc<AtomicBool>,
    ctx: Arc<Context>,
) {
    for found in crate::shard::select(scan(inputs), shard) {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let sent = match found {
            Ok(item) => {
                let (tx, rx) = bounded(1);
                let path = item.path.clone();
                let buffer = recycled.try_recv().ok();
                let ctx = Arc::clone(&ctx);
                pool.spawn(move || {
                    // A decoder that panics on a hostile file costs that file, not the run.
                    let prepared = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        prepare(&path, buffer, &ctx)
                    }))
                    .unwrap_or_else(|panic| {
                        Prepared::failed(format!(
                            "the decoder crashed on this file: {}",
                            panic_message(&*panic)
                        ))
                    });
                    let _ = tx.send(prepared);
                });
                pending.send(Pending::Image { item, answer: rx })
            }
            Err(e) => pending.send(Pending::ScanError(e)),
        };
        if sent.is_err() {
            return;
        }
    }
}
