//! The text forms of the values that flags and config settings take: a fraction in 0..=1
//! (`--conf`, `--iou`), a model input size (`--imgsz`), a percentage
//! (`--fail-on-regression`), a backend's name (`--backend`).
//!
//! One function a value, in the library: the binary's clap definitions use them as value
//! parsers, and [`crate::config`] checks a value of the file or the environment with the
//! same function, so a setting is refused exactly as its flag would be. (Sizes are
//! [`crate::cache::parse_size`], shards [`crate::shard::Shard`]'s `FromStr`, areas
//! [`crate::filter::Area::parse`].)

use crate::backend::{Kind, Wanted};

/// A number in 0..=1.
pub fn parse_unit(s: &str) -> Result<f32, String> {
    let v: f32 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if !(0.0..=1.0).contains(&v) {
        return Err(format!("{v} is outside 0..1"));
    }
    Ok(v)
}

/// `640` or `480,640` (height, width), each a positive multiple of 32 at most 8192.
pub fn parse_imgsz(s: &str) -> Result<[u32; 2], String> {
    let parts: Vec<&str> = s.split([',', 'x']).map(str::trim).collect();
    let nums: Vec<u32> = parts
        .iter()
        .map(|p| {
            p.parse::<u32>()
                .map_err(|_| format!("'{s}' is not N or H,W"))
        })
        .collect::<Result<_, _>>()?;
    let [h, w] = match nums.as_slice() {
        [n] => [*n, *n],
        [h, w] => [*h, *w],
        _ => return Err(format!("'{s}' is not N or H,W")),
    };
    for v in [h, w] {
        check_side(v)?;
    }
    Ok([h, w])
}

/// `640`: one side of a square input size, checked as [`parse_imgsz`] checks each side.
pub fn parse_square_imgsz(s: &str) -> Result<u32, String> {
    let v: u32 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a whole number"))?;
    check_side(v)?;
    Ok(v)
}

/// A side of the model's input: a positive multiple of 32, at most 8192.
fn check_side(v: u32) -> Result<(), String> {
    if v == 0 || v > 8192 || !v.is_multiple_of(32) {
        return Err(format!("{v} is not a multiple of 32 between 32 and 8192"));
    }
    Ok(())
}

/// A percentage: a number, 0 or more, with or without `%`.
pub fn parse_pct(s: &str) -> Result<f64, String> {
    match s.trim_end_matches('%').parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a percentage (a number, 0 or more)")),
    }
}

/// The backends `--backend` names, in the order its help lists them.
pub const BACKENDS: [Wanted; 4] = [
    Wanted::Auto,
    Wanted::Only(Kind::Cpu),
    Wanted::Only(Kind::Cuda),
    Wanted::Only(Kind::Trt),
];

/// A backend by its name (`auto`, `cpu`, `cuda`, `trt`; exactly, as the flag takes it).
pub fn parse_backend(s: &str) -> Result<Wanted, String> {
    BACKENDS.into_iter().find(|b| b.name() == s).ok_or_else(|| {
        let names: Vec<&str> = BACKENDS.iter().map(|b| b.name()).collect();
        format!("'{s}' is not a backend; one of: {}", names.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes_and_thresholds() {
        assert_eq!(parse_imgsz("640"), Ok([640, 640]));
        assert_eq!(parse_imgsz("480,640"), Ok([480, 640]));
        assert!(parse_imgsz("641").is_err());
        assert!(parse_imgsz("a").is_err());
        assert_eq!(parse_square_imgsz("320"), Ok(320));
        for bad in ["321", "100000", "0", "8224", "320,320", "a"] {
            assert!(parse_square_imgsz(bad).is_err(), "{bad}");
        }
        assert!(parse_unit("1.5").is_err());
        assert_eq!(parse_unit("0.3"), Ok(0.3));
    }

    #[test]
    fn parses_percentages_and_backends() {
        assert_eq!(parse_pct("10"), Ok(10.0));
        assert_eq!(parse_pct("2.5%"), Ok(2.5));
        for bad in ["-1", "inf", "ten", ""] {
            assert!(parse_pct(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_backend("cuda"), Ok(Wanted::Only(Kind::Cuda)));
        assert_eq!(
            parse_backend("CPU"),
            Err("'CPU' is not a backend; one of: auto, cpu, cuda, trt".into())
        );
    }
}
