//! A report against a baseline: which figures got worse, and by how much.

use serde::Serialize;

use super::{BenchReport, Better, Figure};

/// A figure that got worse than the baseline by more than the threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Regression {
    pub suite: String,
    pub name: String,
    pub unit: String,
    pub baseline: f64,
    pub value: f64,
    /// How much worse, in percent of the baseline: for a lower-is-better figure
    /// `(value - baseline) / baseline`, for a higher-is-better one `(baseline - value) / baseline`.
    pub worse_pct: f64,
}

/// A report held against a baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The figures more than the threshold worse than the baseline's.
    pub regressions: Vec<Regression>,
    /// How many of the report's figures the baseline has (same suite, name and unit).
    pub compared: usize,
    /// How many figures the report has.
    pub total: usize,
}

/// The figures of `now` that are more than `pct` percent worse than the same figure (same
/// suite, name and unit) in `baseline`, and how many were compared. Figures in only one of
/// the two are left out.
pub fn compare(now: &BenchReport, baseline: &BenchReport, pct: f64) -> Comparison {
    let mut compared = 0;
    let regressions = now
        .figures
        .iter()
        .filter_map(|f| {
            let b = baseline
                .figures
                .iter()
                .find(|b| b.suite == f.suite && b.name == f.name && b.unit == f.unit)?;
            compared += 1;
            let worse = worse_pct(f, b.value)?;
            (worse > pct).then(|| Regression {
                suite: f.suite.name().into(),
                name: f.name.clone(),
                unit: f.unit.clone(),
                baseline: b.value,
                value: f.value,
                worse_pct: worse,
            })
        })
        .collect();
    Comparison {
        regressions,
        compared,
        total: now.figures.len(),
    }
}

/// How much worse `f` is than `baseline`, in percent; `None` when the baseline is 0 or
/// not finite (no ratio to take).
fn worse_pct(f: &Figure, baseline: f64) -> Option<f64> {
    if baseline == 0.0 || !baseline.is_finite() || !f.value.is_finite() {
        return None;
    }
    let change = (f.value - baseline) / baseline.abs() * 100.0;
    Some(match f.better {
        Better::Lower => change,
        Better::Higher => -change,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Machine, Suite};
    use super::*;

    fn report(figures: &[(&str, f64, Better)]) -> BenchReport {
        BenchReport {
            machine: Machine::probe(None),
            command: String::new(),
            quick: true,
            figures: figures
                .iter()
                .map(|&(name, value, better)| Figure {
                    suite: Suite::Nms,
                    name: name.into(),
                    value,
                    unit: "ms".into(),
                    better,
                    detail: String::new(),
                })
                .collect(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn lists_what_got_worse_beyond_the_threshold() {
        let base = report(&[
            ("a", 10.0, Better::Lower),
            ("b", 100.0, Better::Higher),
            ("c", 10.0, Better::Lower),
            ("gone", 1.0, Better::Lower),
        ]);
        let now = report(&[
            ("a", 12.0, Better::Lower),  // 20% slower
            ("b", 95.0, Better::Higher), // 5% fewer
            ("c", 5.0, Better::Lower),   // better
            ("new", 1.0, Better::Lower),
        ]);
        let c = compare(&now, &base, 10.0);
        assert_eq!((c.compared, c.total), (3, 4));
        let r = c.regressions;
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].name, "a");
        assert!((r[0].worse_pct - 20.0).abs() < 1e-9);
        let r = compare(&now, &base, 4.0).regressions;
        assert_eq!(
            r.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert!(compare(&now, &now, 0.0).regressions.is_empty());
    }

    #[test]
    fn counts_the_figures_the_baseline_has() {
        let base = report(&[("20,000 records", 1.0, Better::Lower)]);
        let now = report(&[
            ("100,000 records", 9.0, Better::Lower),
            ("1,000 records", 9.0, Better::Lower),
        ]);
        let c = compare(&now, &base, 10.0);
        assert_eq!((c.compared, c.total), (0, 2));
        assert!(c.regressions.is_empty());
    }
}
