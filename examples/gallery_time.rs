//! Times `anylabel::report::write_gallery` on result records, for docs/report.md.
//!
//! ```text
//! cargo run --release --example gallery_time -- RESULTS.jsonl ROOT OUT_DIR [--repeat N] [--page-size N]
//! ```
//! Reads the records, repeats them N times (each repeat makes its own tiles and
//! thumbnails from the same files, so 50 fixtures × 40 give a 2,000-image gallery), writes
//! the gallery into OUT_DIR and prints one JSON object: {"images", "pages", "detections",
//! "seconds", "images_per_s", "out_bytes"}.

use std::path::PathBuf;
use std::time::Instant;

use anylabel::record::{Record, Records};
use anylabel::report::{GalleryOptions, write_gallery};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut positional, mut repeat, mut opts) = (Vec::new(), 1usize, GalleryOptions::default());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--repeat" => repeat = args.next().expect("--repeat N").parse()?,
            "--page-size" => opts.page_size = args.next().expect("--page-size N").parse()?,
            _ => positional.push(PathBuf::from(a)),
        }
    }
    let [results, root, out] = <[PathBuf; 3]>::try_from(positional).map_err(|_| {
        anyhow::anyhow!(
            "usage: gallery_time RESULTS.jsonl ROOT OUT_DIR [--repeat N] [--page-size N]"
        )
    })?;
    let records: Vec<Record> = Records::open(&results)?.collect::<anyhow::Result<_>>()?;
    let all = records.iter().cycle().take(records.len() * repeat).cloned();
    let start = Instant::now();
    let summary = write_gallery(all, &root, &out, &opts)?;
    let seconds = start.elapsed().as_secs_f64();
    let out_bytes: u64 = walk_bytes(&out);
    println!(
        "{}",
        serde_json::json!({
            "images": summary.images,
            "pages": summary.pages,
            "detections": summary.detections,
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "images_per_s": (summary.images as f64 / seconds).round(),
            "out_bytes": out_bytes,
        })
    );
    Ok(())
}

fn walk_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => walk_bytes(&e.path()),
                    _ => e.metadata().map(|m| m.len()).unwrap_or(0),
                })
                .sum()
        })
        .unwrap_or(0)
}
