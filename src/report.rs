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
//! Layout on disk: `index.html`, `page-2.html` … `page-N.html`, and
//! `thumbs/<page>/<n>.jpg` for record `n` (counted from 0 over the whole input).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::decode::{self, DecodeOptions};
use crate::progress;
use crate::record::Record;
use crate::resize::Resizer;

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

/// `s` with `& < > " '` replaced by character references, safe as HTML text and as a
/// quoted attribute value.
pub fn escape_html(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The size of a tile's picture: `w × h` scaled so that its longest side is `max` (up or
/// down), each side at least 1. `None` for an empty size.
pub fn fit(w: u32, h: u32, max: u32) -> Option<(u32, u32)> {
    if w == 0 || h == 0 || max == 0 {
        return None;
    }
    let scale = max as f64 / w.max(h) as f64;
    let side = |v: u32| ((v as f64 * scale).round() as u32).clamp(1, max);
    Some((side(w), side(h)))
}

/// `bbox` (`[x1, y1, x2, y2]` in pixels of an image of size `from`) in the coordinates of
/// the same image shown at size `to`, clipped to it and with its corners in order. `None`
/// when `from` is empty or a coordinate is not a number.
pub fn scale_box(bbox: [f32; 4], from: (u32, u32), to: (u32, u32)) -> Option<[f32; 4]> {
    if from.0 == 0 || from.1 == 0 || bbox.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let sx = to.0 as f32 / from.0 as f32;
    let sy = to.1 as f32 / from.1 as f32;
    let x = |v: f32| (v * sx).clamp(0.0, to.0 as f32);
    let y = |v: f32| (v * sy).clamp(0.0, to.1 as f32);
    let (x1, x2) = (x(bbox[0]), x(bbox[2]));
    let (y1, y2) = (y(bbox[1]), y(bbox[3]));
    Some([x1.min(x2), y1.min(y2), x1.max(x2), y1.max(y2)])
}

/// The colour of class `class_id` as `[r, g, b]`: Ultralytics' 20-colour palette
/// (`ultralytics/utils/plotting.py`, `Colors`), repeated.
pub fn class_colour(class_id: u32) -> [u8; 3] {
    const PALETTE: [u32; 20] = [
        0xFF3838, 0xFF9D97, 0xFF701F, 0xFFB21D, 0xCFD231, 0x48F90A, 0x92CC17, 0x3DDB86, 0x1A9334,
        0x00D4BB, 0x2C99A8, 0x00C2FF, 0x344593, 0x6473FF, 0x0018EC, 0x8438FF, 0x520085, 0xCB38FF,
        0xFF95C8, 0xFF37C7,
    ];
    let c = PALETTE[class_id as usize % PALETTE.len()];
    [(c >> 16) as u8, (c >> 8) as u8, c as u8]
}

fn css_colour(class_id: u32) -> String {
    let [r, g, b] = class_colour(class_id);
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// One tile's picture.
enum Thumb {
    /// A thumbnail file, shown at `w × h`.
    Made { w: u32, h: u32 },
    /// The record has `error` set: no picture.
    Failed,
    /// The image could not be read: a placeholder of `w × h` (the record's aspect, when
    /// known) with the reason.
    Missing { w: u32, h: u32, reason: String },
}

struct Tile {
    /// The thumbnail's URL, relative to the pages.
    src: String,
    thumb: Thumb,
}

/// Makes the thumbnail of `record` at `dest`. Unreadable images are a [`Thumb::Missing`]
/// and a warning; only a failure to write `dest` is an error.
fn make_thumb(
    record: &Record,
    root: &Path,
    dest: &Path,
    opts: &GalleryOptions,
) -> anyhow::Result<Thumb> {
    if record.error.is_some() {
        return Ok(Thumb::Failed);
    }
    let path = root.join(&record.path);
    let decoded = std::panic::catch_unwind(|| decode::decode_file(&path, &opts.decode))
        .unwrap_or_else(|_| Err("the decoder panicked".into()));
    let image = match decoded {
        Ok(image) => image,
        Err(e) => {
            tracing::warn!("{}: no thumbnail: {e}", record.path);
            let (w, h) = fit(record.width, record.height, opts.thumb_size)
                .unwrap_or((opts.thumb_size, opts.thumb_size));
            return Ok(Thumb::Missing {
                w,
                h,
                reason: e.to_string(),
            });
        }
    };
    if (record.width, record.height) != (0, 0)
        && (record.width, record.height) != (image.width, image.height)
    {
        tracing::warn!(
            "{}: the image is {}×{} but its record says {}×{}: its boxes may not line up",
            record.path,
            image.width,
            image.height,
            record.width,
            record.height
        );
    }
    // Boxes are in the record's pixels, so the tile has the record's shape.
    let (w, h) = fit(record.width, record.height, opts.thumb_size)
        .or_else(|| fit(image.width, image.height, opts.thumb_size))
        .ok_or_else(|| anyhow!("{}: an empty image", record.path))?;
    // The file is never larger than the image itself; the browser scales it up.
    let (fw, fh) = if image.width.max(image.height) <= opts.thumb_size {
        (image.width, image.height)
    } else {
        fit(image.width, image.height, opts.thumb_size).expect("not empty")
    };
    let pixels = shrink(image.pixels, (image.width, image.height), (fw, fh));
    let small = image::RgbImage::from_raw(fw, fh, pixels)
        .ok_or_else(|| anyhow!("{}: the decoder returned a short buffer", record.path))?;
    let file =
        std::fs::File::create(dest).with_context(|| format!("cannot write {}", dest.display()))?;
    let mut out = std::io::BufWriter::new(file);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, opts.jpeg_quality.clamp(1, 100))
        .encode_image(&small)
        .with_context(|| format!("cannot write {}", dest.display()))?;
    out.flush()
        .with_context(|| format!("cannot write {}", dest.display()))?;
    Ok(Thumb::Made { w, h })
}

/// Shrinks packed RGB8 pixels of size `from` to `to` (no larger): halved with a 2×2 box
/// average (the resizer's exact-2× path) while both sides stay at least twice the target,
/// then one bilinear step of less than 2×. So every source pixel counts (no aliasing) at
/// a fraction of the cost of a general area filter.
fn shrink(mut pixels: Vec<u8>, from: (u32, u32), to: (u32, u32)) -> Vec<u8> {
    let (mut w, mut h) = (from.0 as usize, from.1 as usize);
    let (tw, th) = (to.0 as usize, to.1 as usize);
    let mut resizer = Resizer::new();
    let mut step = |pixels: &[u8], w: usize, h: usize, dw: usize, dh: usize| {
        let mut dst = vec![0u8; dw * dh * 3];
        resizer.resize_rgb8(pixels, w, h, &mut dst, dw, dh);
        dst
    };
    while w >= 2 * tw && h >= 2 * th && w >= 2 && h >= 2 {
        pixels = step(&pixels, w, h, w / 2, h / 2);
        (w, h) = (w / 2, h / 2);
    }
    if (w, h) != (tw, th) {
        pixels = step(&pixels, w, h, tw, th);
    }
    pixels
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

/// The last component of a record path.
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// A `file://` URL for an absolute path, percent-encoded.
fn file_url(path: &Path) -> String {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path.to_string_lossy().replace('\\', "/").into_bytes();
    let mut url = String::from("file://");
    if !bytes.starts_with(b"/") {
        url.push('/');
    }
    for b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            url.push(b as char);
        } else {
            let _ = write!(url, "%{b:02X}");
        }
    }
    url
}

fn render_tile(out: &mut String, record: &Record, tile: &Tile, root: &Path) {
    let labels: Vec<&str> = record.detections.iter().map(|d| d.label.as_str()).collect();
    let labels = serde_json::to_string(&labels).expect("strings serialise");
    let path = escape_html(&record.path);
    let n = record.detections.len();
    let mut title = record.path.clone();
    for d in &record.detections {
        let _ = write!(title, "\n{} {:.2}", d.label, d.score);
    }
    let failed = if record.error.is_some() {
        " data-failed"
    } else {
        ""
    };
    let _ = write!(
        out,
        "<figure class=\"tile\" data-path=\"{path}\" data-labels=\"{}\"{failed} title=\"{}\">",
        escape_html(&labels),
        escape_html(&title)
    );
    match &tile.thumb {
        Thumb::Failed => {
            let reason = record.error.as_deref().unwrap_or_default();
            let _ = write!(
                out,
                "<div class=\"pic failed\"><b>failed</b><span>{}</span></div>",
                escape_html(reason)
            );
        }
        Thumb::Made { w, h } => {
            let href = file_url(&root.join(&record.path));
            let _ = write!(
                out,
                "<a class=\"pic\" href=\"{}\" style=\"width:{w}px;height:{h}px\">\
                 <img src=\"{}\" width=\"{w}\" height=\"{h}\" loading=\"lazy\" alt=\"\">",
                escape_html(&href),
                tile.src
            );
            render_boxes(out, record, (*w, *h));
            out.push_str("</a>");
        }
        Thumb::Missing { w, h, reason } => {
            let _ = write!(
                out,
                "<div class=\"pic missing\" style=\"width:{w}px;height:{h}px\">\
                 <span>no thumbnail: {}</span>",
                escape_html(reason)
            );
            render_boxes(out, record, (*w, *h));
            out.push_str("</div>");
        }
    }
    let count = match (record.error.is_some(), n) {
        (true, _) => "error".to_string(),
        (false, 1) => "1 detection".to_string(),
        (false, n) => format!("{n} detections"),
    };
    let _ = writeln!(
        out,
        "<figcaption><span class=\"name\">{}</span><span class=\"n\">{count}</span></figcaption></figure>",
        escape_html(file_name(&record.path))
    );
}

/// The record's boxes as an SVG of `size`, in its coordinates.
fn render_boxes(out: &mut String, record: &Record, size: (u32, u32)) {
    if record.detections.is_empty() {
        return;
    }
    let (w, h) = size;
    let _ = write!(
        out,
        "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">"
    );
    // Lowest score first, so that the best boxes are drawn on top.
    for d in record.detections.iter().rev() {
        let Some([x1, y1, x2, y2]) = scale_box(d.bbox, (record.width, record.height), size) else {
            continue;
        };
        let _ = write!(
            out,
            "<rect x=\"{x1:.1}\" y=\"{y1:.1}\" width=\"{:.1}\" height=\"{:.1}\" stroke=\"{}\">\
             <title>{} {:.2}</title></rect>",
            x2 - x1,
            y2 - y1,
            css_colour(d.class_id),
            escape_html(&d.label),
            d.score
        );
    }
    out.push_str("</svg>");
}

const STYLE: &str = "\
body{margin:0;font:14px/1.4 system-ui,sans-serif;background:#f2f2f2;color:#222}
header{padding:12px 16px;background:#fff;border-bottom:1px solid #ddd}
h1{font-size:18px;margin:0 0 4px}
.summary{color:#555}
.classes{list-style:none;margin:8px 0;padding:0;display:flex;flex-wrap:wrap;gap:6px}
.classes button{font:inherit;border:1px solid #ccc;border-radius:4px;background:#fafafa;padding:2px 8px;cursor:pointer}
.classes button:hover{background:#eee}
.classes i{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}
.classes .c{color:#666;margin-left:6px}
#q{font:inherit;width:320px;max-width:100%;padding:4px 6px}
#shown{margin-left:8px;color:#555}
nav{margin:8px 0}
nav a,nav span{margin-right:6px}
main{display:grid;grid-template-columns:repeat(auto-fill,calc(var(--thumb) + 14px));gap:10px;padding:16px}
.tile{margin:0;background:#fff;border:1px solid #ddd;border-radius:4px;padding:6px;display:flex;flex-direction:column;align-items:center}
.tile[hidden]{display:none}
.pic{position:relative;display:block;flex:none}
.pic img{display:block;width:100%;height:100%}
.pic svg{position:absolute;left:0;top:0;overflow:visible}
.pic rect{fill:none;stroke-width:2;pointer-events:all}
.pic rect:hover{stroke-width:4}
.failed,.missing{box-sizing:border-box;display:flex;flex-direction:column;justify-content:center;align-items:center;text-align:center;padding:8px;overflow:hidden;word-break:break-word}
.failed{width:var(--thumb);height:var(--thumb);background:#fde8e8;color:#a00;border:1px dashed #d88}
.missing{background:#e4e4e4;color:#555;border:1px dashed #999}
.missing span{position:relative;z-index:1}
figcaption{width:100%;display:flex;justify-content:space-between;gap:6px;margin-top:4px;font-size:12px}
figcaption .name{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
figcaption .n{color:#666;white-space:nowrap}
";

/// The filter: a query matches a tile when it is part of its path or of one of its labels
/// (any case); `class:NAME` matches a label exactly; `is:failed` matches failed records.
/// The query lives in the URL (`#q=...`), so it can be linked to and follows page links.
const SCRIPT: &str = r#"(function () {
  var input = document.getElementById('q');
  var shown = document.getElementById('shown');
  var tiles = Array.prototype.map.call(document.querySelectorAll('main .tile'), function (el) {
    return {
      el: el,
      path: el.getAttribute('data-path').toLowerCase(),
      labels: JSON.parse(el.getAttribute('data-labels')).map(function (l) { return l.toLowerCase(); }),
      failed: el.hasAttribute('data-failed')
    };
  });
  function matches(t, q) {
    if (!q) return true;
    if (q === 'is:failed') return t.failed;
    if (q.indexOf('class:') === 0) return t.labels.indexOf(q.slice(6)) >= 0;
    if (t.path.indexOf(q) >= 0) return true;
    for (var i = 0; i < t.labels.length; i++) if (t.labels[i].indexOf(q) >= 0) return true;
    return false;
  }
  function fromUrl() {
    var m = /(?:^#|&)q=([^&]*)/.exec(location.hash) || /(?:^\?|&)q=([^&]*)/.exec(location.search);
    if (!m) return '';
    try { return decodeURIComponent(m[1].replace(/\+/g, ' ')); } catch (e) { return ''; }
  }
  function apply(raw, edited) {
    var q = raw.trim().toLowerCase();
    var n = 0;
    tiles.forEach(function (t) { var ok = matches(t, q); t.el.hidden = !ok; if (ok) n++; });
    shown.textContent = q ? n + ' of ' + tiles.length + ' on this page match' : '';
    document.body.setAttribute('data-shown', n);
    var hash = raw ? '#q=' + encodeURIComponent(raw) : '';
    Array.prototype.forEach.call(document.querySelectorAll('a.page'), function (a) {
      a.setAttribute('href', a.getAttribute('data-href') + hash);
    });
    if (edited) {
      try { history.replaceState(null, '', hash || location.pathname + location.search); } catch (e) {}
    }
  }
  input.addEventListener('input', function () { apply(input.value, true); });
  Array.prototype.forEach.call(document.querySelectorAll('.classes button'), function (b) {
    b.addEventListener('click', function () {
      input.value = 'class:' + b.parentNode.getAttribute('data-class');
      apply(input.value, true);
    });
  });
  window.addEventListener('hashchange', function () { input.value = fromUrl(); apply(input.value, false); });
  input.value = fromUrl();
  apply(input.value, false);
})();
"#;

fn render_page(
    body: &str,
    page: usize,
    summary: &GallerySummary,
    counts: &Counts,
    opts: &GalleryOptions,
) -> String {
    let mut out = String::with_capacity(body.len() + 16 * 1024);
    let title = escape_html(&opts.title);
    let page_note = if summary.pages > 1 {
        format!(" (page {page} of {})", summary.pages)
    } else {
        String::new()
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"generator\" content=\"anylabel {}\">\
         <title>{title}{page_note}</title><style>:root{{--thumb:{}px}}\n{STYLE}</style></head>\n<body>\n<header>\
         <h1>{title}</h1><div class=\"summary\" data-images=\"{}\" data-detections=\"{}\" data-failed=\"{}\" data-no-thumbnail=\"{}\">\
         {} images, {} detections, {} failed, {} without a thumbnail</div>\n",
        env!("CARGO_PKG_VERSION"),
        opts.thumb_size,
        summary.images,
        summary.detections,
        summary.failed,
        summary.no_thumbnail,
        summary.images,
        summary.detections,
        summary.failed,
        summary.no_thumbnail,
    );
    // Most frequent classes first.
    let mut classes: Vec<(&String, &ClassCount)> = counts.classes.iter().collect();
    classes.sort_by(|a, b| b.1.detections.cmp(&a.1.detections).then(a.0.cmp(b.0)));
    out.push_str("<ul class=\"classes\">");
    for (label, c) in classes {
        let label = escape_html(label);
        let _ = write!(
            out,
            "<li data-class=\"{label}\" data-images=\"{}\" data-detections=\"{}\">\
             <button type=\"button\"><i style=\"background:{}\"></i>{label}<span class=\"c\">{} images, {} detections</span></button></li>",
            c.images,
            c.detections,
            css_colour(c.class_id),
            c.images,
            c.detections
        );
    }
    out.push_str("</ul>\n<div><input id=\"q\" type=\"search\" placeholder=\"filter: a class or part of a path (class:NAME, is:failed)\" autocomplete=\"off\"><span id=\"shown\"></span></div>\n");
    let nav = render_nav(page, summary.pages);
    out.push_str(&nav);
    let _ = write!(
        out,
        "</header>\n<main>\n{body}</main>\n{nav}<script>\n{SCRIPT}</script>\n</body></html>\n"
    );
    out
}

/// Links to the first, previous, nearby, next and last pages; empty for one page.
fn render_nav(page: usize, pages: usize) -> String {
    if pages <= 1 {
        return String::new();
    }
    let mut out = String::from("<nav>pages:");
    let mut last = 0;
    for p in 1..=pages {
        let near = p.abs_diff(page) <= 5;
        if !(p == 1 || p == pages || near) {
            continue;
        }
        if last + 1 != p {
            out.push_str(" <span>…</span>");
        }
        last = p;
        if p == page {
            let _ = write!(out, " <span class=\"current\">{p}</span>");
        } else {
            let f = page_file(p);
            let _ = write!(
                out,
                " <a class=\"page\" href=\"{f}\" data-href=\"{f}\">{p}</a>"
            );
        }
    }
    out.push_str("</nav>\n");
    out
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
    fn escapes_the_five_characters_and_keeps_the_rest() {
        assert_eq!(
            escape_html(r#"<a href="x">Tom & Jerry's</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
        );
        assert!(matches!(escape_html("plain/path.jpg"), Cow::Borrowed(_)));
        assert_eq!(escape_html("été/日本 😀.jpg"), "été/日本 😀.jpg");
        assert_eq!(escape_html("&amp;"), "&amp;amp;");
        assert_eq!(escape_html(""), "");
    }

    #[test]
    fn fits_the_longest_side() {
        assert_eq!(fit(1000, 500, 256), Some((256, 128)));
        assert_eq!(fit(500, 1000, 256), Some((128, 256)));
        assert_eq!(fit(64, 32, 256), Some((256, 128)));
        assert_eq!(fit(10_000, 1, 256), Some((256, 1)));
        assert_eq!(fit(0, 10, 256), None);
    }

    fn assert_close(got: [f32; 4], want: [f32; 4]) {
        assert!(
            got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-4),
            "{got:?} != {want:?}"
        );
    }

    #[test]
    fn scales_boxes_into_the_thumbnail() {
        // 1000×500 shown at 256×128: both axes scale by 0.256.
        let b = scale_box([100.0, 50.0, 500.0, 250.0], (1000, 500), (256, 128)).unwrap();
        assert_close(b, [25.6, 12.8, 128.0, 64.0]);
        // Axes scale separately when the shown size is not exactly proportional.
        let b = scale_box([0.0, 0.0, 300.0, 100.0], (300, 100), (256, 86)).unwrap();
        assert_eq!(b, [0.0, 0.0, 256.0, 86.0]);
        // Clipped to the picture, corners put in order.
        let b = scale_box([-10.0, 400.0, 2000.0, 20.0], (1000, 500), (256, 128)).unwrap();
        assert_close(b, [0.0, 5.12, 256.0, 102.4]);
        assert_eq!(scale_box([0.0; 4], (0, 500), (256, 128)), None);
        assert_eq!(
            scale_box([f32::NAN, 0.0, 1.0, 1.0], (10, 10), (10, 10)),
            None
        );
    }

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

    #[test]
    fn file_urls_are_percent_encoded() {
        assert_eq!(
            file_url(Path::new("/data/a b/été#1?.jpg")),
            "file:///data/a%20b/%C3%A9t%C3%A9%231%3F.jpg"
        );
    }

    #[test]
    fn nav_links_nearby_and_end_pages() {
        assert_eq!(render_nav(1, 1), "");
        let nav = render_nav(10, 30);
        assert!(nav.contains("href=\"index.html\""), "{nav}");
        assert!(nav.contains("href=\"page-5.html\""), "{nav}");
        assert!(!nav.contains("href=\"page-4.html\""), "{nav}");
        assert!(nav.contains("<span class=\"current\">10</span>"), "{nav}");
        assert!(nav.contains("href=\"page-30.html\""), "{nav}");
    }

    #[test]
    fn shrinking_averages_every_pixel() {
        // Noise shrunk 8× by area averaging keeps the mean and loses most of the variance
        // (std / 8); point sampling or a single bilinear step would keep most of it.
        let (w, h) = (1024u32, 768u32);
        let mut state = 12345u32;
        let noise: Vec<u8> = (0..w * h * 3)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 24) as u8
            })
            .collect();
        let stats = |v: &[u8]| {
            let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
            let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / v.len() as f64;
            (mean, var.sqrt())
        };
        let (mean, std) = stats(&noise);
        let small = shrink(noise, (w, h), (128, 96));
        assert_eq!(small.len(), 128 * 96 * 3);
        let (small_mean, small_std) = stats(&small);
        assert!((small_mean - mean).abs() < 1.0, "{small_mean} vs {mean}");
        assert!(small_std < std / 6.0, "{small_std} vs {std}");
        // Not a multiple of the target, odd sizes: the size asked for.
        let odd = shrink(vec![200; 999 * 333 * 3], (999, 333), (256, 85));
        assert_eq!(odd.len(), 256 * 85 * 3);
        assert!(odd.iter().all(|&v| v == 200));
    }

    #[test]
    fn colours_repeat_after_the_palette() {
        assert_eq!(class_colour(0), [0xFF, 0x38, 0x38]);
        assert_eq!(class_colour(20), class_colour(0));
        assert_eq!(css_colour(14), "#0018ec");
    }
}
