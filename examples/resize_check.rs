//! Drives `anylabel::resize::Resizer` for `tests/python/resize_check.py`, which compares it
//! with `cv2.resize(..., INTER_LINEAR)`.
//!
//! ```text
//! resize_check IN.rgb SW SH DW DH OUT.rgb     # one raw RGB8 image (row stride SW*3)
//! resize_check --batch MANIFEST               # one "IN SW SH DW DH OUT" per line
//! resize_check --bench SW SH DW DH [ITERS]    # time one resize of a synthetic image
//! ```
//!
//! A leading `--portable` turns the SIMD kernels off (the portable code must give the same bytes).

use std::time::Instant;

use anylabel::resize::Resizer;

fn usage() -> ! {
    eprintln!(
        "usage: resize_check [--portable] IN SW SH DW DH OUT | --batch MANIFEST | --bench SW SH DW DH [ITERS]"
    );
    std::process::exit(2)
}

fn num(s: &str) -> usize {
    s.parse().unwrap_or_else(|_| usage())
}

fn one(r: &mut Resizer, args: &[&str]) -> std::io::Result<()> {
    let [input, sw, sh, dw, dh, output] = args else {
        usage()
    };
    let (sw, sh, dw, dh) = (num(sw), num(sh), num(dw), num(dh));
    let src = std::fs::read(input)?;
    if src.len() != sw * sh * 3 {
        eprintln!("{input}: {} bytes, expected {}", src.len(), sw * sh * 3);
        std::process::exit(1);
    }
    let mut dst = vec![0u8; dw * dh * 3];
    r.resize_rgb8(&src, sw, sh, &mut dst, dw, dh);
    std::fs::write(output, &dst)
}

fn bench(portable: bool, args: &[&str]) {
    let (sw, sh, dw, dh) = match args {
        [sw, sh, dw, dh, ..] => (num(sw), num(sh), num(dw), num(dh)),
        _ => usage(),
    };
    let iters = args.get(4).map_or(2000, |s| num(s));
    // A deterministic pseudo-random image (the timing does not depend on the content).
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let src: Vec<u8> = (0..sw * sh * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let mut dst = vec![0u8; dw * dh * 3];
    let mut r = Resizer::new();
    if portable {
        r.force_portable();
    }
    for _ in 0..20 {
        r.resize_rgb8(&src, sw, sh, &mut dst, dw, dh);
    }
    let mut times = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        r.resize_rgb8(&src, sw, sh, &mut dst, dw, dh);
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / iters as f64;
    println!(
        "{sw}x{sh} -> {dw}x{dh}: median {:.3} ms, min {:.3} ms, mean {:.3} ms ({iters} runs)",
        times[iters / 2],
        times[0],
        mean
    );
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    let portable = args.first() == Some(&"--portable");
    if portable {
        args.remove(0);
    }
    let mut r = Resizer::new();
    if portable {
        r.force_portable();
    }
    match args.as_slice() {
        ["--batch", manifest] => {
            for line in std::fs::read_to_string(manifest)?.lines() {
                let fields: Vec<&str> = line.split_whitespace().collect();
                if !fields.is_empty() {
                    one(&mut r, &fields)?;
                }
            }
            Ok(())
        }
        ["--bench", rest @ ..] => {
            bench(portable, rest);
            Ok(())
        }
        _ => one(&mut r, &args),
    }
}
