//! `anylabel bench`: measures the library's own stages on this machine and writes one
//! [`BenchReport`] that every output (the table, `--json`, `--report`) reads, and that a
//! later run compares itself with (`--baseline`).
//!
//! Each suite calls the library as `infer` does (no subprocess of our own binary), on
//! inputs it generates or on the fixtures, and reports medians of repeated runs: the
//! machines this runs on are often shared, and a median is what survives that.

mod compare;
mod infer;
mod machine;
mod render;
mod suites;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use compare::{Comparison, Regression, compare};
pub use machine::Machine;
pub use render::{html, markdown, table};

/// A group of figures, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Suite {
    Infer,
    Io,
    Nms,
    Filter,
    Cache,
}

impl Suite {
    pub const ALL: [Suite; 5] = [
        Suite::Nms,
        Suite::Filter,
        Suite::Io,
        Suite::Infer,
        Suite::Cache,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Suite::Infer => "infer",
            Suite::Io => "io",
            Suite::Nms => "nms",
            Suite::Filter => "filter",
            Suite::Cache => "cache",
        }
    }
}

/// Which way is better for a figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Lower,
    Higher,
}

/// One measured number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub suite: Suite,
    /// Unique within its suite; what `--baseline` matches on.
    pub name: String,
    pub value: f64,
    /// "ms", "images/s", "records/s", "MB/s", "%"…
    pub unit: String,
    pub better: Better,
    /// How it was measured: the input, the repeats, the statistic.
    pub detail: String,
}

/// Something a suite could not measure here, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub suite: Suite,
    pub text: String,
}

/// Everything one `anylabel bench` run found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchReport {
    pub machine: Machine,
    /// The command's arguments, for reproducing the run.
    pub command: String,
    pub quick: bool,
    pub figures: Vec<Figure>,
    #[serde(default)]
    pub notes: Vec<Note>,
}

impl BenchReport {
    /// The figures and notes of `suites` only (for `--from` with one suite).
    pub fn only(mut self, suites: &[Suite]) -> BenchReport {
        self.figures.retain(|f| suites.contains(&f.suite));
        self.notes.retain(|n| suites.contains(&n.suite));
        self
    }
}

/// What the suites need to know.
#[derive(Debug, Clone)]
pub struct Options {
    /// Fewer repeats and smaller inputs.
    pub quick: bool,
    /// For `infer` and `cache`: a model path, config or catalogue name.
    pub model: String,
    /// For `infer` and `cache`: the images.
    pub images: PathBuf,
    pub imgsz: Option<u32>,
    /// Batch sizes for the `infer` throughput figures; empty: 1, 2, 4 (and 8, 16 unless quick).
    pub batches: Vec<usize>,
    pub offline: bool,
    /// For `infer` and `cache`: the backend asked for (`--backend`, `--device`).
    pub backend: crate::backend::Request,
    /// TensorRT's precision.
    pub precision: crate::trt::Precision,
    /// With INT8: the calibration images (`--calib`).
    pub calib: Option<PathBuf>,
    /// Where `infer`'s runs letterbox (`--preprocess`).
    pub preprocess: crate::pipeline::Preprocess,
    /// Whether `infer`'s runs decode JPEGs with nvJPEG (`--decode gpu`).
    pub gpu_decode: bool,
    /// ONNX Runtime's intra-op threads (`--threads`; 0: its choice).
    pub threads: usize,
    /// Decode threads (`--workers`; 0: one per CPU).
    pub workers: usize,
}

/// Runs `suites` in order, the figures of each appended to one report.
pub fn run(suites: &[Suite], opts: &Options, command: String) -> anyhow::Result<BenchReport> {
    let mut out = Out::default();
    let mut runtime = None;
    for &suite in suites {
        tracing::info!("measuring {}", suite.name());
        match suite {
            Suite::Nms => suites::nms(opts, &mut out),
            Suite::Filter => suites::filter(opts, &mut out)?,
            Suite::Io => suites::io(opts, &mut out)?,
            Suite::Infer => runtime = Some(infer::infer(opts, &mut out)?),
            Suite::Cache => runtime = Some(infer::cache(opts, &mut out)?),
        }
    }
    Ok(BenchReport {
        machine: Machine::probe(runtime),
        command,
        quick: opts.quick,
        figures: out.figures,
        notes: out.notes,
    })
}

/// Where suites put what they measured.
#[derive(Default)]
struct Out {
    figures: Vec<Figure>,
    notes: Vec<Note>,
}

impl Out {
    fn figure(
        &mut self,
        suite: Suite,
        name: impl Into<String>,
        value: f64,
        unit: &str,
        better: Better,
        detail: impl Into<String>,
    ) {
        self.figures.push(Figure {
            suite,
            name: name.into(),
            value,
            unit: unit.into(),
            better,
            detail: detail.into(),
        });
    }

    fn note(&mut self, suite: Suite, text: impl Into<String>) {
        self.notes.push(Note {
            suite,
            text: text.into(),
        });
    }
}

/// The median of `v` (the upper one of an even count); `v` is sorted in place.
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The `p`-th percentile (0..=100) of sorted `v`, by the nearest-rank method.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Times `f` `repeat` times; the median, in milliseconds.
fn median_ms(repeat: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..repeat.max(1))
        .map(|_| {
            let t = std::time::Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    median(&mut times)
}

/// `1234567` as `1,234,567`.
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 3.0);
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 95.0), 19.0);
        assert_eq!(percentile(&v, 100.0), 20.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(12), "12");
    }
}
