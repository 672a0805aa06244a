//! `anylabel cache`: the result cache's stats, verify, prune, clear and path.

use std::io::Write;

use anyhow::{Result, anyhow, bail};
use anylabel::cache::Cache;
use anylabel::exit_codes;
use anylabel::home::Home;

use crate::cli::args::CacheCommand;

pub(super) fn cache_command(cmd: CacheCommand) -> Result<u8> {
    let home = Home::from_env()?;
    let path = Cache::default_path(&home)
        .ok_or_else(|| anyhow!("the cache is off (ANYLABEL_CACHE=off)"))?;
    if let CacheCommand::Path = cmd {
        outln!("{}", path.display());
        return Ok(exit_codes::SUCCESS);
    }
    let mut cache = match (Cache::open(&path), &cmd) {
        (Ok(c), _) => c,
        // `clear` is how a damaged cache is started afresh: one SQLite cannot open at all
        // goes, with its journal files.
        (Err(e), CacheCommand::Clear) if anylabel::cache::is_damaged(&e) => {
            tracing::debug!("{e:#}");
            anylabel::cache::remove_damaged(&path)?;
            Cache::open(&path)?
        }
        (Err(e), _) => return Err(e),
    };
    match cmd {
        CacheCommand::Stats => {
            let s = cache.stats()?;
            let lookups = s.hits + s.misses;
            outln!("cache:     {}", path.display());
            outln!("size:      {:.1} MB on disk", s.bytes as f64 / 1e6);
            outln!("files:     {} in the (path, size, mtime) index", s.files);
            outln!(
                "images:    {} known contents, {} of them undecodable",
                s.images,
                s.undecodable
            );
            outln!("results:   {}", s.results);
            if lookups > 0 {
                outln!(
                    "hit rate:  {:.1}% of {lookups} images since the cache was created",
                    100.0 * s.hits as f64 / lookups as f64
                );
            }
            for (description, _, n, bytes) in &s.per_params {
                outln!(
                    "  {n:>9} results, {:>8.1} MB of detections: {description}",
                    *bytes as f64 / 1e6
                );
            }
        }
        CacheCommand::Verify => {
            let problems = cache.verify()?;
            if problems.is_empty() {
                outln!("ok: {} is sound", path.display());
            } else {
                for p in &problems {
                    outln!("{p}");
                }
                bail!(
                    "the cache {} is damaged; `anylabel cache clear` starts it afresh",
                    path.display()
                );
            }
        }
        CacheCommand::Prune { max_size } => {
            let before = cache.disk_bytes();
            let evicted = cache.prune(max_size)?;
            outln!(
                "evicted {} results and {} paths of the index; {:.1} MB -> {:.1} MB",
                evicted.results,
                evicted.paths,
                before as f64 / 1e6,
                cache.disk_bytes() as f64 / 1e6
            );
        }
        CacheCommand::Clear => {
            cache.clear()?;
            outln!("cleared {}", path.display());
        }
        CacheCommand::Path => unreachable!(),
    }
    Ok(exit_codes::SUCCESS)
}
