//! Times preparing JPEGs for a model on one thread, for `bench/peers.py`: decoding and the
//! whole letterbox (resize, padding, `/255`, HWC→CHW into the `f32` input), per file, with
//! large JPEGs decoded reduced (what `infer` does) and at full size (`--exact-decode`).
//! Prints one JSON object: the means over the files of each file's median.
//!
//! ```text
//! cargo run --release --example prep_time -- [--imgsz 640] [--repeat 7] DIR
//! ```

use std::time::Instant;

use anylabel::decode::{DecodeOptions, decode_bytes};
use anylabel::letterbox::{Letterbox, Preprocessor};
use anylabel::scan::{Input, scan};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let (mut imgsz, mut repeat, mut dir) = (640u32, 7usize, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--imgsz" => imgsz = args.next().and_then(|v| v.parse().ok()).expect("--imgsz N"),
            "--repeat" => {
                repeat = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--repeat N")
            }
            other => dir = Some(other.to_string()),
        }
    }
    let dir = dir.expect("usage: prep_time [--imgsz 640] [--repeat 7] DIR");
    let files: Vec<Vec<u8>> = scan(vec![Input::Dir(dir.clone().into())])
        .flatten()
        .filter(|i| {
            let n = i.name.to_lowercase();
            n.ends_with(".jpg") || n.ends_with(".jpeg")
        })
        .map(|i| std::fs::read(&i.path).expect("readable file"))
        .collect();
    assert!(!files.is_empty(), "{dir}: no JPEGs");
    let mut pre = Preprocessor::new();
    let mut out = vec![0f32; 3 * (imgsz * imgsz) as usize];
    let exact = DecodeOptions::default();
    let reduced = DecodeOptions {
        reduce_for: Some([imgsz, imgsz]),
        ..DecodeOptions::default()
    };
    let (mut megapixels, mut reduced_files) = (0.0, 0);
    let mut sums = [0.0f64; 4]; // decode exact, prep exact, decode reduced, prep reduced
    for bytes in &files {
        for (k, opts) in [(0, &exact), (2, &reduced)] {
            let (mut dec, mut all) = (Vec::new(), Vec::new());
            for _ in 0..repeat {
                let t = Instant::now();
                let img = decode_bytes(bytes, opts).expect("a decodable JPEG");
                let d = t.elapsed().as_secs_f64();
                let lb = Letterbox::of_image(&img, imgsz, imgsz);
                pre.run(&img.pixels, &lb, &mut out).expect("letterbox");
                all.push(t.elapsed().as_secs_f64() * 1e3);
                dec.push(d * 1e3);
                if k == 0 && dec.len() == 1 {
                    megapixels += img.width as f64 * img.height as f64 / 1e6;
                }
                if k == 2 && dec.len() == 1 && img.reduction > 1 {
                    reduced_files += 1;
                }
            }
            sums[k] += median(dec);
            sums[k + 1] += median(all);
        }
    }
    let n = files.len() as f64;
    println!(
        "{{\"files\": {}, \"megapixels\": {:.3}, \"reduced_files\": {reduced_files}, \
         \"decode_exact_ms\": {:.3}, \"prep_exact_ms\": {:.3}, \
         \"decode_reduced_ms\": {:.3}, \"prep_reduced_ms\": {:.3}, \"repeat\": {repeat}}}",
        files.len(),
        megapixels / n,
        sums[0] / n,
        sums[1] / n,
        sums[2] / n,
        sums[3] / n
    );
}
