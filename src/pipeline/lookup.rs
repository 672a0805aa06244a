//! The cache lookup: the key of a run's parameters ([`CacheRun`]) and, for one image, its
//! answer from the cache, or the content hash its fresh result will be stored under.

use std::path::Path;

use anyhow::Result;

use crate::cache::{self, Ask, Cache, Content, FileStamp, with_reader};
use crate::decode::{DecodeOptions, read_file};
use crate::engine::ModelInfo;

use super::{InferOptions, Outcome};

/// The cache as one run uses it: the open cache and the key of this run's parameters.
pub struct CacheRun {
    pub cache: Cache,
    pub key: Content,
}

impl CacheRun {
    /// The key of everything that changes a result: the model and how its output is read
    /// (a model config may name its classes and type), the input size, the letterbox and
    /// precision, NMS's IoU and agnostic flag (and, for agnostic NMS, the
    /// class filter, since there classes interact). Registers it in the cache.
    pub fn new(
        mut cache: Cache,
        info: &ModelInfo,
        size: [u32; 2],
        opts: &InferOptions,
    ) -> Result<CacheRun> {
        let classes = match (&opts.classes, opts.agnostic) {
            (Some(c), true) => {
                let mut c = c.clone();
                c.sort_unstable();
                format!("agnostic NMS over classes {c:?}")
            }
            (None, true) => "agnostic NMS".to_string(),
            (_, false) => "class-aware NMS".to_string(),
        };
        let decode = if opts.exact_decode {
            "full-size JPEGs"
        } else {
            "large JPEGs reduced (1.5x rule)"
        };
        // nvJPEG's pixels are not libjpeg-turbo's: its results are kept apart.
        let decode = if opts.gpu_decode {
            format!("{decode}; JPEGs by nvJPEG")
        } else {
            decode.to_string()
        };
        // Only a head a model config chose is named, so that the results of the model as it
        // is keep the key they always had.
        let head = if info.head_from_config {
            format!("; {}", info.head.key())
        } else {
            String::new()
        };
        let description = format!(
            "pipeline rev {}; model {}{head}; input {}x{}; letterbox ultralytics; {decode}; precision fp32; iou {:?}; {classes}",
            cache::PIPELINE_REVISION,
            info.sha256,
            size[1],
            size[0],
            opts.iou
        );
        let key = cache::content_hash(description.as_bytes());
        cache.set_params(key, &info.sha256, &description)?;
        Ok(CacheRun { cache, key })
    }
}

pub(super) enum Lookup {
    Answered(Outcome),
    /// Not answerable from the cache; the content hash to store the result under.
    Miss(Content),
}

pub(super) fn lookup(
    path: &Path,
    cache_path: &Path,
    key: &Content,
    ask: &Ask,
    decode: &DecodeOptions,
    bytes: &mut Option<Vec<u8>>,
    new_file: &mut Option<(FileStamp, Content)>,
) -> Result<Lookup, crate::decode::DecodeError> {
    let stamp = FileStamp::of(path).map_err(|e| crate::decode::unreadable(&e))?;
    // A cache that cannot be read is a cache miss, not a failed image.
    let quiet = |e: anyhow::Error| {
        tracing::debug!("cache lookup failed: {e:#}");
    };
    let known = with_reader(cache_path, |r| r.known(&stamp, key)).unwrap_or_else(|e| {
        quiet(e);
        cache::Known::default()
    });
    let (content, facts, result) = match known.content {
        Some(c) => (c, known.facts, known.result),
        None => {
            // A new or changed file: its content may still be known (a renamed file).
            let b = read_file(path)?;
            let c = cache::content_hash(&b);
            *bytes = Some(b);
            *new_file = Some((stamp, c));
            let (facts, result) =
                with_reader(cache_path, |r| Ok((r.image(&c)?, r.result_used(&c, key)?)))
                    .unwrap_or_else(|e| {
                        quiet(e);
                        (None, None)
                    });
            (c, facts, result)
        }
    };
    let answered = (|| {
        let facts = facts?;
        if let Some(reason) = facts.error {
            return Some(Outcome::KnownBad { reason });
        }
        // The image is known, but the limit is this run's: over it, it fails as it would
        // decoded.
        if let Err(e) = crate::decode::check_size(facts.width, facts.height, "image", decode) {
            return Some(Outcome::Failed {
                reason: e.reason,
                content: None,
            });
        }
        let (stored, used) = result?;
        Some(Outcome::Cached {
            content,
            width: facts.width,
            height: facts.height,
            detections: cache::answer(&stored, ask)?,
            mark: cache::mark_again(used),
        })
    })();
    Ok(match answered {
        Some(outcome) => Lookup::Answered(outcome),
        None => Lookup::Miss(content),
    })
}
