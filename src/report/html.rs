//! The gallery's markup: HTML escaping, a tile (picture, boxes as an inline SVG, caption),
//! a page (header with the counts, the filter box, the tiles, page links) and the page's
//! constant style and script.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;

use super::thumb::{Thumb, Tile, scale_box};
use super::{ClassCount, Counts, GalleryOptions, GallerySummary, page_file};
use crate::record::Record;

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

pub(super) fn render_tile(out: &mut String, record: &Record, tile: &Tile, root: &Path) {
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

pub(super) fn render_page(
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn colours_repeat_after_the_palette() {
        assert_eq!(class_colour(0), [0xFF, 0x38, 0x38]);
        assert_eq!(class_colour(20), class_colour(0));
        assert_eq!(css_colour(14), "#0018ec");
    }
}
