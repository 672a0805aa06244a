//! The HTML gallery: result records as a folder of web pages that a browser opens from
//! disk (`file://`), with no server and nothing fetched from the network.
//!
//! What a page shows: per-class counts (images and detections) over the whole gallery, a
//! filter box, and a grid of thumbnails with each record's boxes drawn over them as an
//! inline SVG in the thumbnail's own coordinates, one colour per class. A record with
//! `error` set is a failed tile with its reason; an image that cannot be read for a
//! thumbnail is a placeholder with the reason, and a warning; the gallery is written anyway.
//!
//! Why it is built so:
//! - Every piece of record data (paths, labels, reasons) goes into the page as HTML-escaped
//!   text or double-quoted attributes, never into the script, so one escaping function
//!   ([`escape_html`]) is all that stands between a record and the page. The script is a
//!   constant and reads what it needs from `data-` attributes.
//! - Thumbnails are decoded by [`crate::decode`], so they are upright as the records'
//!   boxes are, and shrunk by halving with a 2×2 average, then one bilinear step, both
//!   by [`crate::resize`]: a plain bilinear shrink of 8× would alias, and the `image`
//!   crate's area-averaging `thumbnail` took 40% of the gallery's time. They are made in
//!   parallel with rayon.
//! - Records stream through in pages of [`GalleryOptions::page_size`] tiles: a page's
//!   tiles are made and their HTML parked in a temporary file, so memory holds one page
//!   whatever the number of records. The pages are written at the end, when the counts
//!   they show at the top are known, each to a temporary file renamed into place, and
//!   `index.html` (page 1) last of all.
//!
//! The parts: `thumb` makes the thumbnails (and the geometry of a tile's picture),
//! `html` writes the markup (escaping, tiles, pages, the page's style and script); this
//! file streams the records through them and counts.
//!
//! Layout on disk: `index.html`, `page-2.html` … `page-N.html`, and
//! `thumbs/<page>/<n>.jpg` for record `n` (counted from 0 over the whole input).

mod html;
mod thumb;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::decode::DecodeOptions;
use crate::progress;
use crate::record::Record;

pub use html::{class_colour, escape_html};
use html::{render_page, render_tile};
use thumb::{Thumb, Tile, make_thumb};
pub use thumb::{fit, scale_box};

/// How the gallery is made.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GalleryOptions {
    /// The longest side of a tile's picture, in CSS pixels (and of its thumbnail file,
    /// unless the image is smaller).
    pub thumb_size: u32,
    /// Tiles per HTML page; the pages link to each other. At least 1.
    pub page_size: usize,
    /// The pages' title.
    pub title: String,
    /// JPEG quality of the thumbnails, 1 to 100.
    pub jpeg_quality: u8,
    /// Limits on the images decoded for thumbnails.
    pub decode: DecodeOptions,
}

impl Default for GalleryOptions {
    fn default() -> GalleryOptions {
        GalleryOptions {
            thumb_size: 256,
            page_size: 1000,
            title: "anylabel results".to_string(),
            jpeg_quality: 80,
            decode: DecodeOptions::default(),
        }
    }
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GallerySummary {
    /// Records shown (one tile each).
    pub images: usize,
    /// Detections over all records.
    pub detections: usize,
    /// Records with `error` set (shown as failed tiles).
    pub failed: usize,
    /// Records without `error` whose image could not be read for a thumbnail (shown as
    /// placeholders, each with a warning).
    pub no_thumbnail: usize,
    /// HTML pages written.
    pub pages: usize,
    /// The first page, `out_dir/index.html`.
    pub index: PathBuf,
}

/// Writes the gallery of `records` into `out_dir` (created if missing): `index.html`, the
/// further pages and the thumbnails. Record paths are relative to `root` (an absolute
/// record path is used as it is). Images that cannot be read get a placeholder and a
/// warning; only a failure to write the output is an error.
pub fn write_gallery(
    records: impl IntoIterator<Item = Record>,
    root: &Path,
    out_dir: &Path,
    opts: &GalleryOptions,
) -> anyhow::Result<GallerySummary> {
    anyhow::ensure!(opts.page_size > 0, "the page size must be at least 1");
    anyhow::ensure!(opts.thumb_size > 0, "the thumbnail size must be at least 1");
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let root = std::fs::canonicalize(root)
        .or_else(|_| std::path::absolute(root))
        .with_context(|| format!("cannot resolve {}", root.display()))?;
    // Parked page bodies; removed when this returns, whatever happens.
    let parts = tempfile::Builder::new()
        .prefix(".gallery-")
        .tempdir_in(out_dir)
        .with_context(|| format!("cannot write into {}", out_dir.display()))?;

    let mut records = records.into_iter();
    let bar = progress_bar(records.size_hint());
    let mut counts = Counts::default();
    let mut summary = GallerySummary {
        images: 0,
        detections: 0,
        failed: 0,
        no_thumbnail: 0,
        pages: 0,
        index: out_dir.join("index.html"),
    };
    loop {
        let chunk: Vec<Record> = records.by_ref().take(opts.page_size).collect();
        if chunk.is_empty() && summary.pages > 0 {
            break;
        }
        let page = summary.pages + 1;
        let thumb_dir = out_dir.join("thumbs").join(page.to_string());
        if !chunk.is_empty() {
            std::fs::create_dir_all(&thumb_dir)
                .with_context(|| format!("cannot create {}", thumb_dir.display()))?;
        }
        let first = summary.images;
        let tiles: Vec<Tile> = chunk
            .par_iter()
            .enumerate()
            .map(|(i, record)| {
                let n = first + i;
                let thumb = make_thumb(record, &root, &thumb_dir.join(format!("{n}.jpg")), opts);
                bar.inc(1);
                thumb.map(|thumb| Tile {
                    src: format!("thumbs/{page}/{n}.jpg"),
                    thumb,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        let mut body = String::with_capacity(chunk.len() * 1024);
        for (record, tile) in chunk.iter().zip(&tiles) {
            counts.add(record);
            summary.detections += record.detections.len();
            match &tile.thumb {
                Thumb::Failed => summary.failed += 1,
                Thumb::Missing { .. } => summary.no_thumbnail += 1,
                Thumb::Made { .. } => {}
            }
            render_tile(&mut body, record, tile, &root);
        }
        summary.images += chunk.len();
        summary.pages = page;
        std::fs::write(parts.path().join(page.to_string()), body)
            .context("cannot write the gallery's temporary files")?;
    }
    bar.finish_and_clear();
    progress::clear();

    // Page 1 (index.html) last, so that it appears only once the rest is in place.
    for page in (1..=summary.pages).rev() {
        let body = std::fs::read_to_string(parts.path().join(page.to_string()))
            .context("cannot read the gallery's temporary files")?;
        let html = render_page(&body, page, &summary, &counts, opts);
        crate::outfile::write(&out_dir.join(page_file(page)), html.as_bytes())?;
    }
    Ok(summary)
}

/// The file name of page `page` (from 1).
pub fn page_file(page: usize) -> String {
    if page == 1 {
        "index.html".to_string()
    } else {
        format!("page-{page}.html")
    }
}

/// Per-class counts, by label.
#[derive(Default)]
struct Counts {
    classes: BTreeMap<String, ClassCount>,
}

struct ClassCount {
    class_id: u32,
    images: usize,
    detections: usize,
}

impl Counts {
    fn add(&mut self, record: &Record) {
        let mut seen: Vec<&str> = Vec::new();
        for d in &record.detections {
            let c = self
                .classes
                .entry(d.label.clone())
                .or_insert_with(|| ClassCount {
                    class_id: d.class_id,
                    images: 0,
                    detections: 0,
                });
            c.detections += 1;
            if !seen.contains(&d.label.as_str()) {
                seen.push(&d.label);
                c.images += 1;
            }
        }
    }
}

fn progress_bar(size_hint: (usize, Option<usize>)) -> ProgressBar {
    if !progress::enabled() {
        return ProgressBar::hidden();
    }
    let bar = match size_hint {
        (lo, Some(hi)) if lo == hi => ProgressBar::new(lo as u64),
        _ => ProgressBar::no_length(),
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {pos}/{len} thumbnails {wide_bar} {per_sec} eta {eta}",
        )
        .expect("valid template"),
    );
    progress::activate(&bar);
    bar
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Detection;

    #[test]
    fn counts_images_and_detections_per_class() {
        let det = |label: &str, id| Detection {
            class_id: id,
            label: label.into(),
            score: 0.5,
            bbox: [0.0, 0.0, 1.0, 1.0],
        };
        let rec = |dets| Record {
            path: "a.jpg".into(),
            width: 10,
            height: 10,
            model: "m".into(),
            detections: dets,
            error: None,
        };
        let mut counts = Counts::default();
        counts.add(&rec(vec![
            det("person", 0),
            det("person", 0),
            det("dog", 16),
        ]));
        counts.add(&rec(vec![det("person", 0)]));
        counts.add(&rec(vec![]));
        let person = &counts.classes["person"];
        assert_eq!((person.images, person.detections), (2, 3));
        let dog = &counts.classes["dog"];
        assert_eq!((dog.images, dog.detections, dog.class_id), (1, 1, 16));
    }
}
