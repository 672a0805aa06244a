//! A [`BenchReport`] as a terminal table, Markdown, and an HTML page with an SVG bar
//! chart per suite and unit (bars are only comparable within one unit).

use std::fmt::Write;

use super::{BenchReport, Better, Comparison, Figure, Suite};

fn value(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn better(b: Better) -> &'static str {
    match b {
        Better::Lower => "lower",
        Better::Higher => "higher",
    }
}

fn machine_lines(r: &BenchReport) -> Vec<(&'static str, String)> {
    let m = &r.machine;
    vec![
        ("CPU", format!("{} ({} threads)", m.cpu, m.cores)),
        ("memory", format!("{} MB", m.memory_mb)),
        ("OS", m.os.clone()),
        (
            "ONNX Runtime",
            m.onnxruntime.as_ref().map_or("not loaded".into(), |o| {
                let on = o
                    .backend
                    .as_ref()
                    .map_or(String::new(), |b| format!("; ran on {b}"));
                format!("{} ({}{on})", o.version, o.providers.join(", "))
            }),
        ),
        ("GPU", m.gpu.clone()),
        (
            "load average",
            m.load_average.map_or("unknown".into(), |l| {
                format!("{l:.2} (1 minute, at the end)")
            }),
        ),
        ("anylabel", m.anylabel.clone()),
        ("date", m.date.clone()),
        ("command", r.command.clone()),
    ]
}

/// The plain-text table for a terminal.
pub fn table(r: &BenchReport, comparison: Option<(&Comparison, f64)>) -> String {
    let mut s = String::new();
    for (k, v) in machine_lines(r) {
        let _ = writeln!(s, "{k:>13}: {v}");
    }
    let width = r.figures.iter().map(|f| f.name.len()).max().unwrap_or(0);
    let mut suite = None;
    for f in &r.figures {
        if suite != Some(f.suite) {
            suite = Some(f.suite);
            let _ = writeln!(s, "\n{}", f.suite.name());
        }
        let _ = writeln!(
            s,
            "  {:<width$}  {:>10} {:<9} ({} is better)",
            f.name,
            value(f.value),
            f.unit,
            better(f.better)
        );
    }
    for n in &r.notes {
        let _ = writeln!(s, "\nnote ({}): {}", n.suite.name(), n.text);
    }
    if let Some((c, pct)) = comparison {
        s.push('\n');
        s.push_str(&regression_text(c, pct));
    }
    s
}

/// The comparison with the baseline as lines of text (what `--baseline` prints): how many
/// figures were compared when not all were, then the regressions.
pub fn regression_text(c: &Comparison, pct: f64) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    if c.compared == 0 {
        return format!(
            "nothing compared: none of the {} figure{} is in the baseline (figures match by suite, \
             name and unit; --quick and full runs have different names)\n",
            c.total,
            plural(c.total)
        );
    }
    let mut s = String::new();
    if c.compared < c.total {
        let _ = writeln!(
            s,
            "{} of {} figures compared (the others are not in the baseline)",
            c.compared, c.total
        );
    }
    let regs = &c.regressions;
    if regs.is_empty() {
        let _ = writeln!(s, "no figure is more than {pct}% worse than the baseline");
        return s;
    }
    let _ = writeln!(
        s,
        "{} figure{} more than {pct}% worse than the baseline:",
        regs.len(),
        plural(regs.len())
    );
    for g in regs {
        let _ = writeln!(
            s,
            "  regression: {} / {}: {} {} (baseline {}), {:.1}% worse",
            g.suite,
            g.name,
            value(g.value),
            g.unit,
            value(g.baseline),
            g.worse_pct
        );
    }
    s
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The report as Markdown: the machine, then a table per suite.
pub fn markdown(r: &BenchReport) -> String {
    let mut s = String::from("# anylabel bench\n\n| | |\n| --- | --- |\n");
    for (k, v) in machine_lines(r) {
        let _ = writeln!(s, "| {k} | {} |", md_escape(&v));
    }
    for suite in Suite::ALL {
        let figures: Vec<&Figure> = r.figures.iter().filter(|f| f.suite == suite).collect();
        let notes: Vec<_> = r.notes.iter().filter(|n| n.suite == suite).collect();
        if figures.is_empty() && notes.is_empty() {
            continue;
        }
        let _ = writeln!(s, "\n## {}\n", suite.name());
        if !figures.is_empty() {
            s.push_str(
                "| figure | value | unit | better | how |\n| --- | ---: | --- | --- | --- |\n",
            );
            for f in figures {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} |",
                    md_escape(&f.name),
                    value(f.value),
                    f.unit,
                    better(f.better),
                    md_escape(&f.detail)
                );
            }
        }
        for n in notes {
            let _ = writeln!(s, "\nNote: {}", md_escape(&n.text));
        }
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const BAR: f64 = 22.0;
const LABEL_W: f64 = 300.0;
const CHART_W: f64 = 760.0;

/// A horizontal bar chart of figures that share a unit.
fn chart(figures: &[&Figure]) -> String {
    let max = figures
        .iter()
        .map(|f| f.value)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let plot = CHART_W - LABEL_W - 110.0;
    let height = BAR * figures.len() as f64 + 8.0;
    let mut s = format!(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{CHART_W}\" \
         height=\"{height}\" viewBox=\"0 0 {CHART_W} {height}\" role=\"img\">\n"
    );
    for (i, f) in figures.iter().enumerate() {
        let y = 4.0 + BAR * i as f64;
        let w = if max > 0.0 && f.value.is_finite() {
            (f.value.max(0.0) / max * plot).max(1.0)
        } else {
            1.0
        };
        let colour = match f.better {
            Better::Lower => "#3b6fb6",
            Better::Higher => "#2e8b57",
        };
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect class=\"bar\" x=\"{LABEL_W}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" \
             fill=\"{colour}\"><title>{}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\">{} {}</text>",
            LABEL_W - 8.0,
            y + BAR * 0.68,
            esc(&f.name),
            y + 2.0,
            BAR - 4.0,
            esc(&f.detail),
            LABEL_W + w + 6.0,
            y + BAR * 0.68,
            value(f.value),
            esc(&f.unit)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The report as one self-contained HTML page: the machine, then per suite a chart per
/// unit and the table with how each figure was measured.
pub fn html(r: &BenchReport) -> String {
    let mut s = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>anylabel bench</title>\n<style>\
         body{font:14px system-ui,sans-serif;margin:24px;color:#222;background:#fff}\
         table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}\
         td.v{text-align:right;font-variant-numeric:tabular-nums}\
         svg.chart text{font:12px system-ui,sans-serif;fill:#222}h3{font-size:14px;margin:12px 0 4px}\
         .note{color:#555}</style></head>\n<body>\n<h1>anylabel bench</h1>\n<table class=\"machine\">\n",
    );
    for (k, v) in machine_lines(r) {
        let _ = writeln!(s, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    s.push_str("</table>\n");
    for suite in Suite::ALL {
        let figures: Vec<&Figure> = r.figures.iter().filter(|f| f.suite == suite).collect();
        let notes: Vec<_> = r.notes.iter().filter(|n| n.suite == suite).collect();
        if figures.is_empty() && notes.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "<section class=\"suite\" data-suite=\"{0}\"><h2>{0}</h2>",
            suite.name()
        );
        let mut units: Vec<&str> = Vec::new();
        for f in &figures {
            if !units.contains(&f.unit.as_str()) {
                units.push(&f.unit);
            }
        }
        for unit in units {
            let group: Vec<&Figure> = figures.iter().copied().filter(|f| f.unit == unit).collect();
            let _ = writeln!(
                s,
                "<h3>{} ({} is better)</h3>",
                esc(unit),
                better(group[0].better)
            );
            s.push_str(&chart(&group));
        }
        if !figures.is_empty() {
            s.push_str("<table><tr><th>figure</th><th>value</th><th>unit</th><th>how</th></tr>\n");
            for f in &figures {
                let _ = writeln!(
                    s,
                    "<tr><td>{}</td><td class=\"v\">{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&f.name),
                    value(f.value),
                    esc(&f.unit),
                    esc(&f.detail)
                );
            }
            s.push_str("</table>\n");
        }
        for n in notes {
            let _ = writeln!(s, "<p class=\"note\">{}</p>", esc(&n.text));
        }
        s.push_str("</section>\n");
    }
    s.push_str("</body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::super::{Machine, Note};
    use super::*;

    #[test]
    fn html_escapes_and_draws_a_bar_per_figure() {
        let f = |name: &str, v: f64| Figure {
            suite: Suite::Nms,
            name: name.into(),
            value: v,
            unit: "ms".into(),
            better: Better::Lower,
            detail: "<b>".into(),
        };
        let r = BenchReport {
            machine: Machine::probe(None),
            command: "bench nms".into(),
            quick: true,
            figures: vec![f("a<x>", 1.0), f("b", 2.0)],
            notes: vec![Note {
                suite: Suite::Nms,
                text: "n & m".into(),
            }],
        };
        let h = html(&r);
        assert_eq!(h.matches("<rect class=\"bar\"").count(), 2);
        assert!(h.contains("a&lt;x&gt;") && !h.contains("a<x>"));
        assert!(h.contains("n &amp; m"));
        let md = markdown(&r);
        assert!(md.contains("| a<x> | 1.00 | ms | lower |"));
    }
}
