//! The HTML gallery (`anylabel::report`), opened from disk in headless Chromium: the
//! thumbnails and boxes are checked in the pixels of a screenshot, the counts, escaping
//! and filter in the DOM after the page's script ran.
//!
//! Needs Chromium: `chromium` on PATH (`scripts/test.sh` installs Debian's package when it
//! can), or `ANYLABEL_TEST_CHROMIUM` naming a Chromium or Chrome binary. Without it these
//! tests fail and say so.
//!
//! The page is probed by a copy of it with a test script appended (`probe.html`, beside
//! `index.html` so that the thumbnails resolve): after the page loaded, the script
//! optionally clicks a class or types a filter, then writes what the browser made of the
//! page (tile paths and texts, picture rectangles, counts, visible tiles) as JSON into the
//! DOM, which `--dump-dom` prints. The screenshot is taken of the same copy at the same
//! window size, so the rectangles locate the tiles in its pixels.

mod common;

use std::path::{Path, PathBuf};

use anylabel::record::{Detection, Record};
use anylabel::report::{GalleryOptions, class_colour, write_gallery};
use serde_json::Value;

const WINDOW: (u32, u32) = (1400, 1100);

const GRACE: &str = "people/grace <hopper> & \"amazing\" 'grace' été.jpg";
const EVIL_LABEL: &str = "<x-evil> & \"quoted\" 'single' café";
const BROKEN: &str = "broken <img src=x onerror=alert(1)>.jpg";
const BROKEN_REASON: &str = "corrupt JPEG: <x-evil> & \"bad\" marker";

const PROBE: &str = r#"<script>
window.addEventListener('load', function () { setTimeout(function () {
  var click = /[#&]click=([^&]*)/.exec(location.hash);
  if (click) {
    var name = decodeURIComponent(click[1]);
    Array.prototype.forEach.call(document.querySelectorAll('.classes li'), function (li) {
      if (li.getAttribute('data-class') === name) li.querySelector('button').click();
    });
  }
  var type = /[#&]type=([^&]*)/.exec(location.hash);
  if (type) {
    var q = document.getElementById('q');
    q.value = decodeURIComponent(type[1]);
    q.dispatchEvent(new Event('input'));
  }
  function rect(el) { var r = el.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }
  var all = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  var out = {
    shown: document.body.getAttribute('data-shown'),
    q: document.getElementById('q').value,
    evil: document.getElementsByTagName('x-evil').length,
    imgs: all('main img').length,
    links: all('a.page').map(function (a) { return a.getAttribute('href'); }),
    summary: Object.assign({}, document.querySelector('.summary').dataset),
    summaryText: document.querySelector('.summary').textContent,
    classes: all('.classes li').map(function (li) {
      return { name: li.getAttribute('data-class'), images: li.getAttribute('data-images'),
               detections: li.getAttribute('data-detections'), text: li.textContent };
    }),
    tiles: all('main .tile').map(function (t) {
      var pic = t.querySelector('.pic'), img = t.querySelector('img');
      return {
        path: t.getAttribute('data-path'), name: t.querySelector('.name').textContent,
        n: t.querySelector('.n').textContent, failed: t.hasAttribute('data-failed'),
        hidden: t.hidden, pic: pic.className, text: pic.textContent, rect: rect(pic),
        titles: all('rect title', t).map(function (e) { return e.textContent; }),
        loaded: img ? img.complete && img.naturalWidth > 0 : null
      };
    })
  };
  var s = document.createElement('script');
  s.type = 'application/json';
  s.id = 'probe';
  s.textContent = JSON.stringify(out).replace(/</g, '\\u003c');
  document.body.appendChild(s);
}, 300); });
</script>"#;

/// Writes `probe.html` beside `page`: the page with [`PROBE`] appended.
fn write_probe(out_dir: &Path, page: &str) -> PathBuf {
    let html = std::fs::read_to_string(out_dir.join(page)).unwrap();
    let at = html.rfind("</body>").expect("a </body>");
    let probe = out_dir.join("probe.html");
    std::fs::write(&probe, format!("{}{PROBE}{}", &html[..at], &html[at..])).unwrap();
    probe
}

/// What the probe found on `probe` opened with `fragment` (such as `#q=cat`).
fn probe(probe: &Path, fragment: &str) -> Value {
    let dom = common::run_chromium(
        &format!("{}{fragment}", common::file_url(probe)),
        WINDOW,
        &["--dump-dom"],
    );
    let start = "<script type=\"application/json\" id=\"probe\">";
    let at = dom
        .find(start)
        .unwrap_or_else(|| panic!("the probe did not run on {fragment:?}; the DOM:\n{dom}"));
    let json = &dom[at + start.len()..];
    let json = &json[..json.find("</script>").unwrap()];
    serde_json::from_str(json).unwrap_or_else(|e| panic!("probe output {json}: {e}"))
}

fn det(class_id: u32, label: &str, score: f32, bbox: [f32; 4]) -> Detection {
    Detection {
        class_id,
        label: label.to_string(),
        score,
        bbox,
    }
}

fn record(path: &str, (width, height): (u32, u32), detections: Vec<Detection>) -> Record {
    Record {
        path: path.to_string(),
        width,
        height,
        model: "test@sha256:0000000000000000".to_string(),
        detections,
        error: None,
    }
}

/// A folder holding copies of fixtures under the names the records use, and the records:
/// real images with boxes at known places, an error record, a missing file.
fn gallery_input() -> (tempfile::TempDir, Vec<Record>) {
    let root = tempfile::tempdir().unwrap();
    let copies = [
        ("people/grace_hopper.jpg", GRACE),
        ("formats/astronaut.bmp", "formats/astronaut.bmp"),
        (
            "formats/astronaut_exif_orientation_6.jpg",
            "formats/astronaut_exif_orientation_6.jpg",
        ),
        ("other/chelsea_cat.jpg", "other/chelsea_cat.jpg"),
    ];
    for (from, to) in copies {
        let to = root.path().join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(common::fixtures().join(from), to).unwrap();
    }
    let broken = Record {
        error: Some(BROKEN_REASON.to_string()),
        ..Record::failed(BROKEN.into(), "test@sha256:0".into(), String::new())
    };
    let records = vec![
        record(
            GRACE,
            (512, 600),
            vec![
                det(0, "person", 0.91, [100.0, 150.0, 412.0, 550.0]),
                det(3, EVIL_LABEL, 0.5, [40.0, 40.0, 200.0, 120.0]),
            ],
        ),
        record("formats/astronaut.bmp", (256, 256), vec![]),
        record(
            "formats/astronaut_exif_orientation_6.jpg",
            (512, 512),
            vec![det(0, "person", 0.8, [64.0, 32.0, 448.0, 480.0])],
        ),
        record(
            "other/chelsea_cat.jpg",
            (451, 300),
            vec![det(15, "cat", 0.7, [50.0, 20.0, 400.0, 290.0])],
        ),
        broken,
        record(
            "gone/missing.jpg",
            (640, 480),
            vec![det(0, "person", 0.6, [0.0, 0.0, 320.0, 240.0])],
        ),
    ];
    // The records' sizes are the images' real (upright) sizes.
    for r in &records[..4] {
        let img =
            anylabel::decode::decode_file(&root.path().join(&r.path), &Default::default()).unwrap();
        assert_eq!((img.width, img.height), (r.width, r.height), "{}", r.path);
    }
    (root, records)
}

type Screenshot = image::RgbImage;

fn screenshot(probe: &Path) -> Screenshot {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("shot.png");
    common::run_chromium(
        &common::file_url(probe),
        WINDOW,
        &[&format!("--screenshot={}", png.display())],
    );
    let shot = image::open(&png).unwrap().into_rgb8();
    if let Some(keep) = std::env::var_os("ANYLABEL_TEST_KEEP_SCREENSHOT") {
        shot.save(keep).unwrap();
    }
    assert_eq!(shot.dimensions(), WINDOW, "the screenshot's size");
    shot
}

fn rect(tile: &Value) -> [u32; 4] {
    let r: Vec<f64> = tile["rect"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(
        r[0] >= 0.0
            && r[1] >= 0.0
            && r[0] + r[2] <= WINDOW.0 as f64
            && r[1] + r[3] <= WINDOW.1 as f64,
        "tile {} is not inside the window: {r:?}",
        tile["path"]
    );
    [
        r[0].round() as u32,
        r[1].round() as u32,
        r[2].round() as u32,
        r[3].round() as u32,
    ]
}

/// The screenshot's pixels inside `r`.
fn crop(shot: &Screenshot, r: [u32; 4]) -> image::RgbImage {
    image::imageops::crop_imm(shot, r[0], r[1], r[2], r[3]).to_image()
}

/// Mean absolute difference per channel of two images of the same size.
fn mean_diff(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y) as u64)
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

/// The share of pixels of `a` whose channels are all within `tol` of `b`'s.
fn share_close(a: &image::RgbImage, b: &image::RgbImage, tol: u8) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let close = a
        .pixels()
        .zip(b.pixels())
        .filter(|(p, q)| p.0.iter().zip(q.0).all(|(x, y)| x.abs_diff(y) <= tol))
        .count();
    close as f64 / (a.width() * a.height()) as f64
}

fn std_dev(img: &image::RgbImage) -> f64 {
    let v = img.as_raw();
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
    (v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
}

/// The share of points along the segment from `(x0, y0)` to `(x1, y1)` (screen pixels, a
/// horizontal or vertical one) that have a pixel of `colour` within 1 px across it.
fn share_of_colour(
    shot: &Screenshot,
    (x0, y0): (f64, f64),
    (x1, y1): (f64, f64),
    colour: [u8; 3],
) -> f64 {
    let steps = ((x1 - x0).abs().max((y1 - y0).abs()) / 2.0).floor() as usize;
    assert!(steps >= 5, "segment too short");
    let horizontal = (y1 - y0).abs() < 0.5;
    let mut hits = 0;
    for i in 0..=steps {
        let t = i as f64 / steps as f64;
        let (x, y) = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
        let found = (-1..=1).any(|d: i64| {
            let (px, py) = if horizontal {
                (x.round() as i64, y.round() as i64 + d)
            } else {
                (x.round() as i64 + d, y.round() as i64)
            };
            let p = shot.get_pixel(px as u32, py as u32).0;
            p.iter().zip(colour).all(|(a, b)| a.abs_diff(b) <= 40)
        });
        hits += found as usize;
    }
    hits as f64 / (steps + 1) as f64
}

/// Checks that the box `bbox` of an image of `size`, shown in tile rectangle `r`, is drawn
/// in `colour` along its top and left edges, and that the same lines moved 10 px into the
/// box are not (so the check can tell a box from an image that happens to have the colour).
fn assert_box_drawn(
    shot: &Screenshot,
    r: [u32; 4],
    size: (u32, u32),
    bbox: [f32; 4],
    colour: [u8; 3],
    what: &str,
) {
    let sx = r[2] as f64 / size.0 as f64;
    let sy = r[3] as f64 / size.1 as f64;
    let x = |v: f32| r[0] as f64 + v as f64 * sx;
    let y = |v: f32| r[1] as f64 + v as f64 * sy;
    let (x1, y1, x2, y2) = (x(bbox[0]), y(bbox[1]), x(bbox[2]), y(bbox[3]));
    let top = share_of_colour(shot, (x1 + 4.0, y1), (x2 - 4.0, y1), colour);
    let left = share_of_colour(shot, (x1, y1 + 4.0), (x1, y2 - 4.0), colour);
    assert!(
        top > 0.9 && left > 0.9,
        "{what}: the box's edges are not drawn in {colour:?} (top {top:.2}, left {left:.2})"
    );
    let inside_top = share_of_colour(shot, (x1 + 12.0, y1 + 10.0), (x2 - 12.0, y1 + 10.0), colour);
    let inside_left = share_of_colour(shot, (x1 + 10.0, y1 + 12.0), (x1 + 10.0, y2 - 12.0), colour);
    assert!(
        inside_top < 0.5 && inside_left < 0.5,
        "{what}: the box colour is everywhere, not only on the edges (inside {inside_top:.2}, {inside_left:.2})"
    );
}

#[test]
fn the_gallery_renders_thumbnails_boxes_counts_and_escaped_text() {
    let (root, records) = gallery_input();
    let out = tempfile::tempdir().unwrap();
    let summary = write_gallery(
        records.clone(),
        root.path(),
        out.path(),
        &GalleryOptions::default(),
    )
    .unwrap();
    assert_eq!(
        (
            summary.images,
            summary.detections,
            summary.failed,
            summary.no_thumbnail,
            summary.pages
        ),
        (6, 5, 1, 1, 1)
    );
    assert_eq!(summary.index, out.path().join("index.html"));
    for n in 0..4 {
        assert!(
            out.path().join(format!("thumbs/1/{n}.jpg")).is_file(),
            "thumbnail {n}"
        );
    }
    assert!(
        !out.path().join("thumbs/1/4.jpg").exists(),
        "a failed record has no thumbnail"
    );
    let leftovers: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let index = std::fs::metadata(out.path().join("index.html")).unwrap();
        assert_eq!(
            index.permissions().mode() & 0o644,
            0o644,
            "index.html is not private"
        );
    }
    let html = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the page fetches nothing"
    );

    let page = write_probe(out.path(), "index.html");
    let dom = probe(&page, "");

    // The DOM: what the browser parsed is exactly what the records say.
    let tiles = dom["tiles"].as_array().unwrap();
    let paths: Vec<&str> = tiles.iter().map(|t| t["path"].as_str().unwrap()).collect();
    let want: Vec<&str> = records.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, want);
    assert_eq!(
        tiles[0]["name"],
        "grace <hopper> & \"amazing\" 'grace' été.jpg"
    );
    assert_eq!(tiles[0]["n"], "2 detections");
    assert_eq!(tiles[2]["n"], "1 detection");
    assert_eq!(tiles[1]["n"], "0 detections");
    assert_eq!(
        tiles[0]["titles"],
        serde_json::json!([format!("{EVIL_LABEL} 0.50"), "person 0.91"])
    );
    assert_eq!(
        dom["evil"], 0,
        "an unescaped label or reason made an element"
    );
    assert_eq!(
        dom["imgs"], 4,
        "one <img> per readable image, none from the records' text"
    );
    assert_eq!(tiles[4]["failed"], true);
    assert_eq!(tiles[4]["pic"], "pic failed");
    assert_eq!(tiles[4]["text"], format!("failed{BROKEN_REASON}"));
    assert_eq!(tiles[5]["pic"], "pic missing");
    let missing = tiles[5]["text"].as_str().unwrap();
    assert!(
        missing.starts_with("no thumbnail: cannot read the file"),
        "{missing}"
    );
    for t in &tiles[..4] {
        assert_eq!(
            t["loaded"], true,
            "the thumbnail of {} did not load",
            t["path"]
        );
    }
    assert_eq!(dom["shown"], "6");
    assert_eq!(
        dom["summary"],
        serde_json::json!({"images": "6", "detections": "5", "failed": "1", "noThumbnail": "1"})
    );
    let classes: Vec<(String, String, String)> = dom["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap().to_string();
            (s("name"), s("images"), s("detections"))
        })
        .collect();
    let own = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        classes,
        vec![
            own("person", "3", "3"),
            own(EVIL_LABEL, "1", "1"),
            own("cat", "1", "1")
        ]
    );

    // The pixels.
    let shot = screenshot(&page);
    let background = crop(&shot, [0, WINDOW.1 - 2, 2, 2]);
    for (i, t) in tiles[..4].iter().enumerate() {
        let r = rect(t);
        let seen = crop(&shot, r);
        assert!(std_dev(&seen) > 25.0, "tile {i} is flat: no picture");
        assert!(
            mean_diff(
                &seen,
                &image::imageops::resize(
                    &background,
                    r[2],
                    r[3],
                    image::imageops::FilterType::Nearest
                )
            ) > 30.0,
            "tile {i} looks like the background"
        );
        // What is shown is the thumbnail that was written (boxes are a thin part of it).
        let thumb = image::open(out.path().join(format!("thumbs/1/{i}.jpg")))
            .unwrap()
            .into_rgb8();
        let thumb =
            image::imageops::resize(&thumb, r[2], r[3], image::imageops::FilterType::Triangle);
        // Best of the placements 1 px around, as the browser may snap a fractional one.
        let close = (0..9)
            .map(|k| {
                let (dx, dy) = (k % 3, k / 3);
                let at = [r[0] + dx - 1, r[1] + dy - 1, r[2], r[3]];
                share_close(&crop(&shot, at), &thumb, 24)
            })
            .fold(0.0, f64::max);
        assert!(
            close > 0.9,
            "tile {i} at {r:?}: only {close:.2} of its pixels are its thumbnail's"
        );
    }
    // The tile without boxes is its thumbnail, give or take the JPEG decoders' rounding.
    let bare = crop(&shot, rect(&tiles[1]));
    let thumb = image::open(out.path().join("thumbs/1/1.jpg"))
        .unwrap()
        .into_rgb8();
    let d = mean_diff(&bare, &thumb);
    assert!(
        d < 4.0,
        "the tile without boxes differs from its thumbnail by {d:.1} on average"
    );
    assert_eq!(rect(&tiles[0])[2..], [218, 256], "512×600 shown at 218×256");

    // EXIF orientation: the rotated-and-tagged astronaut is shown as the upright one is.
    let upright = crop(&shot, rect(&tiles[1]));
    let tagged = crop(&shot, rect(&tiles[2]));
    let same = mean_diff(&upright, &tagged);
    let turned = mean_diff(&upright, &image::imageops::rotate90(&tagged));
    assert!(
        same < 20.0 && turned > 2.0 * same,
        "orientation: {same:.1} upright vs {turned:.1} turned"
    );

    // Boxes, each in its class colour, where the record puts them.
    let grace = rect(&tiles[0]);
    assert_box_drawn(
        &shot,
        grace,
        (512, 600),
        [100.0, 150.0, 412.0, 550.0],
        class_colour(0),
        "person",
    );
    assert_box_drawn(
        &shot,
        grace,
        (512, 600),
        [40.0, 40.0, 200.0, 120.0],
        class_colour(3),
        "escaped label",
    );
    assert_box_drawn(
        &shot,
        rect(&tiles[2]),
        (512, 512),
        [64.0, 32.0, 448.0, 480.0],
        class_colour(0),
        "astronaut",
    );
    assert_box_drawn(
        &shot,
        rect(&tiles[3]),
        (451, 300),
        [50.0, 20.0, 400.0, 290.0],
        class_colour(15),
        "cat",
    );
    // The placeholder of the missing image is plain grey, with its box over it.
    let placeholder = rect(&tiles[5]);
    assert_eq!(
        shot.get_pixel(
            placeholder[0] + placeholder[2] - 20,
            placeholder[1] + placeholder[3] - 20
        )
        .0,
        [0xe4, 0xe4, 0xe4]
    );
    assert_box_drawn(
        &shot,
        placeholder,
        (640, 480),
        [0.0, 0.0, 320.0, 240.0],
        class_colour(0),
        "placeholder",
    );
}

/// The tiles the filter leaves visible, by index.
fn visible(dom: &Value) -> Vec<usize> {
    let tiles = dom["tiles"].as_array().unwrap();
    let v: Vec<usize> = (0..tiles.len())
        .filter(|&i| tiles[i]["hidden"] == false)
        .collect();
    assert_eq!(
        dom["shown"],
        v.len().to_string(),
        "data-shown agrees with the tiles"
    );
    v
}

#[test]
fn the_filter_box_shows_matching_tiles() {
    let (root, records) = gallery_input();
    let out = tempfile::tempdir().unwrap();
    write_gallery(records, root.path(), out.path(), &GalleryOptions::default()).unwrap();
    let page = write_probe(out.path(), "index.html");

    // From the URL, as a link can carry it.
    let dom = probe(&page, "#q=class:person");
    assert_eq!(visible(&dom), [0, 2, 5]);
    assert_eq!(dom["q"], "class:person", "the box shows the query");
    // A path fragment, any case; a label part; failed records.
    assert_eq!(visible(&probe(&page, "#q=ASTRONAUT")), [1, 2]);
    assert_eq!(
        visible(&probe(&page, "#q=%C3%A9t%C3%A9")),
        [0],
        "non-ASCII, in the path"
    );
    assert_eq!(visible(&probe(&page, "#q=caf")), [0], "part of a label");
    assert_eq!(visible(&probe(&page, "#q=is:failed")), [4]);
    assert_eq!(
        visible(&probe(&page, "#q=no-such-thing")),
        Vec::<usize>::new()
    );
    // Clicking a class in the counts.
    let dom = probe(&page, &format!("#click={}", urlencode(EVIL_LABEL)));
    assert_eq!(visible(&dom), [0]);
    assert_eq!(dom["q"], format!("class:{EVIL_LABEL}"));
    // Typing into the box.
    assert_eq!(visible(&probe(&page, "#type=Grace%20%3Chopper")), [0]);
    assert_eq!(visible(&probe(&page, "#type=cat")), [3]);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn large_sets_are_split_into_linked_pages() {
    let (root, records) = gallery_input();
    let out = tempfile::tempdir().unwrap();
    let mut opts = GalleryOptions::default();
    opts.page_size = 4;
    opts.thumb_size = 64;
    let twice: Vec<Record> = records.iter().chain(&records).cloned().collect();
    let summary = write_gallery(twice, root.path(), out.path(), &opts).unwrap();
    assert_eq!((summary.images, summary.pages, summary.failed), (12, 3, 2));
    for f in [
        "index.html",
        "page-2.html",
        "page-3.html",
        "thumbs/1/0.jpg",
        "thumbs/2/6.jpg",
        "thumbs/3/9.jpg",
    ] {
        assert!(out.path().join(f).is_file(), "{f} is missing");
    }
    assert!(!out.path().join("page-4.html").exists());
    let thumb = image::open(out.path().join("thumbs/1/0.jpg")).unwrap();
    assert_eq!(
        (thumb.width(), thumb.height()),
        (55, 64),
        "the longest side is thumb_size"
    );

    let page = write_probe(out.path(), "page-2.html");
    let dom = probe(&page, "#q=class:person");
    assert_eq!(dom["tiles"].as_array().unwrap().len(), 4);
    // Counts are the whole gallery's; the filter acts on this page and follows its links.
    assert_eq!(dom["summary"]["images"], "12");
    assert_eq!(dom["classes"][0]["detections"], "6");
    assert_eq!(visible(&dom), [1, 2]);
    // The links above and below the tiles.
    let links = [
        "index.html#q=class%3Aperson",
        "page-3.html#q=class%3Aperson",
    ];
    assert_eq!(dom["links"], serde_json::json!([links, links].concat()));
}

#[test]
fn an_empty_input_still_makes_a_page() {
    let out = tempfile::tempdir().unwrap();
    let summary = write_gallery(
        Vec::new(),
        Path::new("."),
        out.path(),
        &GalleryOptions::default(),
    )
    .unwrap();
    assert_eq!((summary.images, summary.pages), (0, 1));
    let html = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    assert!(html.contains("0 images, 0 detections"), "{html}");
}
