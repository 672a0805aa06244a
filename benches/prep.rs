//! What preparing an image costs: decoding (libjpeg-turbo for JPEGs) and the letterbox
//! (resize, padding, normalisation), per image, on one thread, over the fixtures; and the
//! letterbox without its resize, SIMD against portable code.
//!
//! ```text
//! cargo bench --bench prep -- [--imgsz 640] [--rounds 5] [DIR]
//! cargo bench --bench prep --no-default-features     # the portable JPEG decoder
//! ```

use std::time::Instant;

use anylabel::decode::{DecodeOptions, decode_bytes};
use anylabel::letterbox::{Letterbox, Preprocessor};
use anylabel::scan::{Input, scan};

fn main() {
    let (mut imgsz, mut rounds, mut dir) = (640u32, 5usize, "fixtures/images".to_string());
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--imgsz" => imgsz = args.next().unwrap().parse().unwrap(),
            "--rounds" => rounds = args.next().unwrap().parse().unwrap(),
            "--bench" => {}
            other => dir = other.to_string(),
        }
    }
    let files: Vec<(String, Vec<u8>)> = scan(vec![Input::Dir(dir.clone().into())])
        .flatten()
        .map(|i| (i.name, std::fs::read(&i.path).unwrap()))
        .collect();
    let mut pre = Preprocessor::new();
    let mut out = vec![0f32; 3 * (imgsz * imgsz) as usize];
    let opts = DecodeOptions::default();
    for (kind, filter) in [("JPEG", true), ("other formats", false)] {
        let chosen: Vec<&(String, Vec<u8>)> = files
            .iter()
            .filter(|(n, _)| n.to_lowercase().ends_with(".jpg") == filter)
            .collect();
        let (mut decode, mut letterbox, mut pixels) = (Vec::new(), Vec::new(), 0u64);
        for _ in 0..rounds {
            let (mut d, mut l) = (0.0, 0.0);
            pixels = 0;
            for (_, bytes) in &chosen {
                let t = Instant::now();
                let img = decode_bytes(bytes, &opts).unwrap();
                d += t.elapsed().as_secs_f64();
                pixels += img.width as u64 * img.height as u64;
                let t = Instant::now();
                let lb = Letterbox::new(img.width, img.height, imgsz, imgsz);
                pre.run(&img.pixels, &lb, &mut out).unwrap();
                l += t.elapsed().as_secs_f64();
            }
            decode.push(d * 1e3 / chosen.len() as f64);
            letterbox.push(l * 1e3 / chosen.len() as f64);
        }
        decode.sort_by(f64::total_cmp);
        letterbox.sort_by(f64::total_cmp);
        println!(
            "{} {kind} ({:.2} megapixels on average): decode {:.2} ms/image, letterbox to {imgsz} {:.2} ms/image (medians of {rounds} rounds)",
            chosen.len(),
            pixels as f64 / chosen.len() as f64 / 1e6,
            decode[rounds / 2],
            letterbox[rounds / 2]
        );
    }
    // The check that a JPEG is whole (its end-of-image marker), which reads every byte of
    // the file before libjpeg-turbo decodes it: the fastest of 50 passes over the JPEGs.
    let jpegs: Vec<&Vec<u8>> = files
        .iter()
        .filter(|(n, _)| n.to_lowercase().ends_with(".jpg"))
        .map(|(_, b)| b)
        .collect();
    let check = (0..50)
        .map(|_| {
            let t = Instant::now();
            for b in &jpegs {
                std::hint::black_box(anylabel::decode::jpeg_is_complete(b));
            }
            t.elapsed().as_secs_f64() * 1e6 / jpegs.len() as f64
        })
        .fold(f64::MAX, f64::min);
    println!(
        "{} JPEGs, checked whole (end-of-image marker): {check:.1} µs/image (fastest of 50)",
        jpegs.len()
    );
    // The letterbox without its resize: an image already at the input size, split into
    // normalised planes, by the SIMD kernel and by the portable code (the fastest of 300
    // calls each, which a busy machine disturbs least).
    let rgb: Vec<u8> = (0..imgsz * imgsz * 3)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let lb = Letterbox::new(imgsz, imgsz, imgsz, imgsz);
    let mut fastest = |portable: bool| {
        let mut pre = Preprocessor::new();
        if portable {
            pre.force_portable();
        }
        (0..300)
            .map(|_| {
                let t = Instant::now();
                pre.run(&rgb, &lb, &mut out).unwrap();
                t.elapsed().as_secs_f64() * 1e3
            })
            .fold(f64::MAX, f64::min)
    };
    let (portable, simd) = (fastest(true), fastest(false));
    println!(
        "{imgsz}×{imgsz} image, no resize (RGB8 to normalised planes): {simd:.2} ms/image, portable code {portable:.2} ms/image (fastest of 300)"
    );
}
