//! The single-file, one-thing-a-line formats: `txt` (image paths), `jsonl` (records),
//! `json` (an array of records, one a line) and `csv` (one row per detection). All stream.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{Classes, Format, Output, Target, Writer, Written, round};
use crate::record::Record;

/// The CSV header; the order of [`csv_rows`]' fields.
pub const CSV_HEADER: [&str; 10] = [
    "path", "width", "height", "class_id", "label", "score", "x1", "y1", "x2", "y2",
];

pub struct TableWriter {
    format: Format,
    out: Output,
    /// `txt` lists paths joined to --root unless it is `.`.
    root: Option<PathBuf>,
    first: bool,
}

impl TableWriter {
    pub fn new(t: &Target) -> Result<TableWriter> {
        let mut out = Output::open(&t.opts.output)?;
        if t.opts.format == Format::Csv {
            out.writer().write_all(&csv_line(&CSV_HEADER)?)?;
        }
        let root = (t.opts.root != Path::new(".")).then(|| t.opts.root.clone());
        Ok(TableWriter {
            format: t.opts.format,
            out,
            root,
            first: true,
        })
    }
}

/// One CSV line, quoted where a field needs it.
fn csv_line<S: AsRef<[u8]>>(fields: &[S]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(128));
    w.write_record(fields)?;
    w.into_inner().map_err(|e| anyhow::anyhow!("{}", e.error()))
}

/// The CSV rows of one record: one per detection, or one with empty detection fields.
pub fn csv_rows(r: &Record) -> Vec<[String; 10]> {
    let head = |v: [String; 7]| {
        let [a, b, c, d, e, f, g] = v;
        [
            r.path.clone(),
            r.width.to_string(),
            r.height.to_string(),
            a,
            b,
            c,
            d,
            e,
            f,
            g,
        ]
    };
    if r.detections.is_empty() {
        return vec![head(Default::default())];
    }
    r.detections
        .iter()
        .map(|d| {
            let b = d.bbox.map(|v| round(v as f64, 2).to_string());
            let [x1, y1, x2, y2] = b;
            head([
                d.class_id.to_string(),
                d.label.clone(),
                round(d.score as f64, 5).to_string(),
                x1,
                y1,
                x2,
                y2,
            ])
        })
        .collect()
}

impl Writer for TableWriter {
    fn write(&mut self, r: &Record, _rel: &Path, _: &Classes) -> Result<Written> {
        match self.format {
            Format::Txt => {
                let line = match &self.root {
                    Some(root) => root.join(&r.path).to_string_lossy().into_owned(),
                    None => r.path.clone(),
                };
                writeln!(self.out.writer(), "{line}")?;
            }
            Format::Jsonl => {
                let w = self.out.writer();
                serde_json::to_writer(&mut *w, r)?;
                w.write_all(b"\n")?;
            }
            Format::Json => {
                let w = self.out.writer();
                w.write_all(if self.first { b"[\n" } else { b",\n" })?;
                serde_json::to_writer(&mut *w, r)?;
            }
            Format::Csv => {
                for row in csv_rows(r) {
                    self.out.writer().write_all(&csv_line(&row)?)?;
                }
            }
            _ => unreachable!("TableWriter writes txt, json, jsonl and csv"),
        }
        self.first = false;
        Ok(Written::Yes)
    }

    fn finish(mut self: Box<Self>, _: &Classes) -> Result<()> {
        if self.format == Format::Json {
            let end: &[u8] = if self.first { b"[]\n" } else { b"\n]\n" };
            self.out.writer().write_all(end)?;
        }
        self.out.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Detection;

    #[test]
    fn csv_rows_keep_images_without_detections() {
        let mut r = Record {
            path: "a, \"b\".jpg".into(),
            width: 10,
            height: 20,
            model: "m".into(),
            detections: vec![],
            error: None,
        };
        assert_eq!(
            csv_rows(&r),
            vec![[
                "a, \"b\".jpg".to_string(),
                "10".into(),
                "20".into(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new()
            ]]
        );
        r.detections.push(Detection {
            class_id: 3,
            label: "x".into(),
            score: 0.5,
            bbox: [1.0, 2.5, 3.25, 4.0],
        });
        let rows = csv_rows(&r);
        assert_eq!(rows[0][3..], ["3", "x", "0.5", "1", "2.5", "3.25", "4"]);
    }
}
