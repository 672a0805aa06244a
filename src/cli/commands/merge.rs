//! `anylabel merge`: the outputs (or result caches) of `--shard K/N` runs joined into one.

use std::io::{BufWriter, Write};

use anyhow::{Result, anyhow};
use anylabel::cache::Cache;
use anylabel::home::Home;
use anylabel::{exit_codes, progress};

use super::Output;
use crate::cli::args::MergeArgs;

pub(super) fn merge_command(args: MergeArgs) -> Result<u8> {
    if args.cache {
        let target = match args.output {
            Some(p) => p,
            None => Cache::default_path(&Home::from_env()?)
                .ok_or_else(|| anyhow!("the cache is off (ANYLABEL_CACHE=off): give -o OUT.db"))?,
        };
        let summary = anylabel::merge::merge_caches(&target, &args.shards)?;
        let added: Vec<String> = summary
            .added
            .iter()
            .map(|(table, n)| format!("{n} {table}"))
            .collect();
        progress::note(&format!(
            "merged {} caches into {}: added {}",
            args.shards.len(),
            target.display(),
            added.join(", ")
        ));
        return Ok(exit_codes::SUCCESS);
    }
    let output = Output::open(args.output.as_deref())?;
    let merge = |out: &mut dyn Write| -> Result<anylabel::merge::MergeSummary> {
        let mut out = BufWriter::with_capacity(1 << 16, out);
        let summary = match &args.root {
            Some(root) => anylabel::merge::merge_results_by_scan(&args.shards, root, &mut out)?,
            None => anylabel::merge::merge_results(&args.shards, &mut out)?,
        };
        out.flush()?;
        Ok(summary)
    };
    let summary = match &output {
        Output::Stdout => merge(&mut std::io::stdout().lock())?,
        Output::File(out) => merge(&mut Output::file(out)?)?,
    };
    if let Output::File(out) = output {
        out.finish()?;
    }
    let duplicates = match summary.duplicates {
        0 => String::new(),
        n => format!(" ({n} identical records found in two shards written once)"),
    };
    progress::note(&format!(
        "merged {} records from {} shards{duplicates}",
        summary.records,
        args.shards.len()
    ));
    Ok(exit_codes::SUCCESS)
}
