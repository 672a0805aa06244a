//! `preload`: read, hash and decode every image ahead of a run.
//!
//! The next `infer` then knows every file's content hash from the `(path, size, mtime)`
//! index without reading it twice, knows the files that will not decode (and skips them at
//! once), and finds the bytes in the operating system's page cache. Work is done in
//! parallel, in chunks, so memory stays flat on any folder size.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Result;
use indicatif::ProgressBar;
use rayon::prelude::*;

use crate::cache::{self, Batch, Cache, Content, FileStamp, ImageFacts};
use crate::decode::{DecodeErrorKind, DecodeOptions, decode_bytes, read_file};
use crate::scan::{Sources, scan};

/// What a preload found.
#[derive(Debug, Default, Clone)]
pub struct PreloadSummary {
    pub images: usize,
    pub bytes: u64,
    /// Files that could not be read or decoded: (path, reason).
    pub bad: Vec<(PathBuf, String)>,
    pub scan_errors: usize,
    /// Content hashes seen, for coverage questions.
    pub contents: Vec<Content>,
    pub elapsed: Duration,
}

enum One {
    Good {
        stamp: FileStamp,
        content: Content,
        bytes: u64,
        facts: Option<ImageFacts>,
    },
    Bad {
        path: PathBuf,
        reason: String,
        remember: Option<(FileStamp, Content, ImageFacts)>,
    },
}

/// Preloads every image of `inputs` (of `shard` of them) into `cache`, calling `on_bad` for each file that will
/// not decode, as it is found.
pub fn preload(
    inputs: Sources,
    shard: Option<crate::shard::Shard>,
    cache: &mut Cache,
    opts: &DecodeOptions,
    workers: usize,
    bar: &ProgressBar,
    mut on_bad: impl FnMut(&Path, &str),
) -> Result<PreloadSummary> {
    let started = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(if workers == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            workers
        })
        .build()?;
    let path = cache.path().to_path_buf();
    let mut summary = PreloadSummary::default();
    let mut items = crate::shard::select(scan(inputs), shard).peekable();
    while items.peek().is_some() {
        let mut chunk = Vec::with_capacity(256);
        for found in items.by_ref().take(256) {
            match found {
                Ok(item) => chunk.push(item),
                Err(e) => {
                    summary.scan_errors += 1;
                    tracing::warn!("{}: {}", e.path.display(), e.reason);
                }
            }
        }
        let results: Vec<One> = pool.install(|| {
            chunk
                .par_iter()
                .map(|item| preload_one(&item.path, &path, opts))
                .collect()
        });
        let batch = summary.add(results, &mut on_bad);
        cache.write(&batch)?;
        bar.inc(chunk.len() as u64);
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Reads, hashes and (unless the cache at `cache_path` knows its content) decodes one file.
fn preload_one(file: &Path, cache_path: &Path, opts: &DecodeOptions) -> One {
    let bad = |reason: String| One::Bad {
        path: file.to_path_buf(),
        reason,
        remember: None,
    };
    let stamp = match FileStamp::of(file) {
        Ok(s) => s,
        Err(e) => return bad(crate::decode::unreadable(&e).reason),
    };
    // Reading the whole file also puts it in the page cache for the next run.
    let bytes = match read_file(file) {
        Ok(b) => b,
        Err(e) => return bad(e.reason),
    };
    let content = cache::content_hash(&bytes);
    let known = cache::with_reader(cache_path, |r| r.image(&content))
        .ok()
        .flatten();
    let facts = match known {
        // Known, but the limit is this run's.
        Some(f) if f.error.is_none() => {
            match crate::decode::check_size(f.width, f.height, "image", opts) {
                Ok(()) => f,
                Err(e) => return bad(e.reason),
            }
        }
        Some(f) => f,
        None => match decode_bytes(&bytes, opts) {
            Ok(img) => ImageFacts {
                width: img.width,
                height: img.height,
                error: None,
            },
            Err(e) if e.kind == DecodeErrorKind::Content => ImageFacts {
                width: 0,
                height: 0,
                error: Some(e.reason),
            },
            Err(e) => return bad(e.reason),
        },
    };
    match facts.error.clone() {
        Some(reason) => One::Bad {
            path: file.to_path_buf(),
            reason,
            remember: Some((stamp, content, facts)),
        },
        None => One::Good {
            stamp,
            content,
            bytes: bytes.len() as u64,
            facts: Some(facts),
        },
    }
}

impl PreloadSummary {
    /// Counts a chunk's `results` (in scan order), calling `on_bad` for each bad file; gives
    /// what the cache learns from them.
    fn add(&mut self, results: Vec<One>, on_bad: &mut impl FnMut(&Path, &str)) -> Batch {
        let mut batch = Batch::default();
        for one in results {
            self.images += 1;
            match one {
                One::Good {
                    stamp,
                    content,
                    bytes,
                    facts,
                } => {
                    self.bytes += bytes;
                    self.contents.push(content);
                    batch.files.push((stamp, content));
                    if let Some(f) = facts {
                        batch.images.push((content, f));
                    }
                }
                One::Bad {
                    path,
                    reason,
                    remember,
                } => {
                    on_bad(&path, &reason);
                    if let Some((stamp, content, facts)) = remember {
                        batch.files.push((stamp, content));
                        batch.images.push((content, facts));
                    }
                    self.bad.push((path, reason));
                }
            }
        }
        batch
    }
}
