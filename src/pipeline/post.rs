//! Post-processing, per image: the head's candidates ([`crate::head`]) → NMS
//! ([`crate::nms`]) → boxes in the original image's pixels, kept down to the cache's
//! floor; and what a run asks of such a result ([`ask_for`]).

use crate::cache::{self, Ask, Stored};
use crate::detections::Detections;
use crate::engine::ModelInfo;
use crate::head::{DecodeParams, Decoder};
use crate::letterbox::Letterbox;
use crate::nms::{Nms, NmsParams};

use super::InferOptions;

/// The answer `ask` gets for the detections of one run (`allowed` applies after NMS when
/// NMS is class-aware; for agnostic NMS the filter is applied before NMS instead).
pub(super) fn ask_for(opts: &InferOptions, class_count: usize) -> Ask {
    Ask {
        conf: opts.conf,
        max_det: opts.max_det,
        allowed: if opts.agnostic {
            None
        } else {
            allowed_classes(opts.classes.as_deref(), class_count)
        },
    }
}

pub(super) fn allowed_classes(ids: Option<&[u32]>, class_count: usize) -> Option<Vec<bool>> {
    ids.map(|ids| {
        let n = ids
            .iter()
            .map(|&i| i as usize + 1)
            .max()
            .unwrap_or(0)
            .max(class_count);
        let mut allowed = vec![false; n];
        for &i in ids {
            allowed[i as usize] = true;
        }
        allowed
    })
}

/// Head decoding and NMS down to the cache's floor, mapped back to the original image,
/// with reused scratch space.
pub(super) struct Post {
    pub(super) decoder: Decoder,
    pub(super) info_head: crate::head::Head,
    pub(super) params: DecodeParams,
    pub(super) nms: NmsParams,
    pub(super) floor: f32,
    pub(super) candidates: Detections,
    pub(super) nms_run: Nms,
    pub(super) keep: Vec<usize>,
}

impl Post {
    pub(super) fn new(info: &ModelInfo, opts: &InferOptions) -> Post {
        let floor = cache::FLOOR.min(opts.conf);
        Post {
            decoder: Decoder::default(),
            info_head: info.head,
            params: DecodeParams {
                conf: floor,
                // Agnostic NMS lets classes suppress each other, so the filter must come first.
                allowed: if opts.agnostic {
                    allowed_classes(opts.classes.as_deref(), info.class_names.len())
                } else {
                    None
                },
            },
            nms: NmsParams {
                iou: opts.iou,
                max_det: opts.max_det.max(cache::MIN_CAP),
                agnostic: opts.agnostic,
                max_candidates: 30_000,
            },
            floor,
            candidates: Detections::default(),
            nms_run: Nms::new(),
            keep: Vec::new(),
        }
    }

    pub(super) fn detections(
        &mut self,
        output: &[f32],
        dims: [usize; 3],
        index: usize,
        lb: &Letterbox,
    ) -> Stored {
        self.candidates.clear();
        self.decoder.decode(
            self.info_head,
            output,
            dims,
            index,
            &self.params,
            &mut self.candidates,
        );
        let c = &self.candidates;
        if self.info_head.needs_nms() {
            self.nms_run.run(c, &self.nms, &mut self.keep);
        } else {
            self.keep.clear();
            self.keep.extend(0..c.len());
            self.keep
                .sort_by(|&a, &b| c.scores[b].total_cmp(&c.scores[a]));
            self.keep.truncate(self.nms.max_det);
        }
        let mut detections = c.select(&self.keep);
        detections.map_boxes(|b| lb.to_original(b));
        Stored {
            floor: self.floor,
            cap: self.nms.max_det,
            truncated: self.keep.len() >= self.nms.max_det,
            detections,
        }
    }
}
