//! `anylabel preload`: read, hash and decode images ahead of a run, into the cache's index.

use std::io::{BufWriter, Write};

use anyhow::{Result, anyhow};
use anylabel::backend::{Kind, Request, Wanted};
use anylabel::cache::{Cache, Content};
use anylabel::decode::DecodeOptions;
use anylabel::home::Home;
use anylabel::pipeline::{CacheRun, InferOptions};
use anylabel::preload::PreloadSummary;
use anylabel::{exit_codes, progress};

use super::{parse_inputs, progress_bar};
use crate::cli::args::PreloadArgs;

pub(super) fn preload_command(args: PreloadArgs, offline: bool) -> Result<u8> {
    let inputs = parse_inputs(&args.inputs, &args.walk)?;
    let home = Home::from_env()?;
    let path = Cache::default_path(&home).ok_or_else(|| {
        anyhow!("preload fills the cache, and the cache is off (ANYLABEL_CACHE=off)")
    })?;
    let mut cache = Cache::open(&path)?;
    let coverage = match &args.model {
        Some(m) => Some(Coverage::of(m, &args, &cache, &home, offline)?),
        None => None,
    };
    let bar = progress_bar(&inputs, args.shard);
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut write_error = None;
    let summary = anylabel::preload::preload(
        inputs,
        args.shard,
        &mut cache,
        &DecodeOptions {
            max_pixels: args.max_pixels,
            ..DecodeOptions::default()
        },
        args.workers,
        &bar,
        |path, reason| {
            tracing::warn!("{}: {reason}", path.display());
            // The path's own bytes, as `scan` prints them, so that a name that is not
            // UTF-8 still finds its file.
            if write_error.is_none()
                && let Err(e) = out
                    .write_all(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()))
                    .and_then(|()| writeln!(out, "\t{reason}"))
            {
                write_error = Some(e);
            }
        },
    );
    bar.finish_and_clear();
    progress::clear();
    let summary = summary?;
    out.flush()?;
    if let Some(e) = write_error {
        return Err(e.into());
    }
    let secs = summary.elapsed.as_secs_f64();
    progress::note(&format!(
        "preloaded {} images ({:.1} MB) in {secs:.2} s ({:.0} images/s, {:.0} MB/s): {} will not decode",
        summary.images,
        summary.bytes as f64 / 1e6,
        summary.images as f64 / secs.max(1e-9),
        summary.bytes as f64 / 1e6 / secs.max(1e-9),
        summary.bad.len()
    ));
    if let Some(c) = coverage {
        c.report(&summary, &path);
    }
    Ok(if !summary.bad.is_empty() || summary.scan_errors > 0 {
        exit_codes::PARTIAL
    } else {
        exit_codes::SUCCESS
    })
}

/// `--model`: the key its results would be stored under, to count the images that have
/// them.
struct Coverage {
    id: String,
    size: [u32; 2],
    key: Content,
}

impl Coverage {
    fn of(
        model: &str,
        args: &PreloadArgs,
        cache: &Cache,
        home: &Home,
        offline: bool,
    ) -> Result<Coverage> {
        // Only the model's facts are needed: the CPU does.
        let opts = anylabel::infer::Options {
            imgsz: args.imgsz,
            iou: args.iou,
            agnostic: args.agnostic,
            ..anylabel::infer::Options::new(model, Request::new(Wanted::Only(Kind::Cpu), 0)?)
        };
        let model =
            anylabel::infer::find(model, home, offline)?.open(&opts, home, offline, Some(cache))?;
        let run = InferOptions {
            iou: model.iou,
            agnostic: model.agnostic,
            ..InferOptions::default()
        };
        let key = CacheRun::new(Cache::open(cache.path())?, &model.info, model.size, &run)?.key;
        Ok(Coverage {
            id: model.info.id,
            size: model.size,
            key,
        })
    }

    fn report(&self, summary: &PreloadSummary, path: &std::path::Path) {
        let have = summary
            .contents
            .iter()
            .filter(|c| {
                anylabel::cache::with_reader(path, |r| Ok(r.result(c, &self.key)?.is_some()))
                    .unwrap_or(false)
            })
            .count();
        progress::note(&format!(
            "{have} of {} decodable images already have results for {} at {}×{} in the cache",
            summary.contents.len(),
            self.id,
            self.size[1],
            self.size[0]
        ));
    }
}
