//! The result record: one per image, the interchange format between subcommands.
//!
//! Written one JSON object a line (`results.jsonl`); `filter` and `export` read it back.
//! The shape is fixed by the design and documented in `docs/results.md` with a JSON
//! Schema. An image that cannot be read keeps its record, with `error` set.

use serde::{Deserialize, Serialize};

use crate::detections::Detections;

/// One detected object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub class_id: u32,
    pub label: String,
    /// Confidence in `[0, 1]`, rounded to 5 decimals when written.
    #[serde(serialize_with = "round5")]
    pub score: f32,
    /// `[x1, y1, x2, y2]` in pixels of the original image (after EXIF orientation),
    /// clipped to the image; rounded to 2 decimals when written.
    #[serde(serialize_with = "round2_box")]
    pub bbox: [f32; 4],
}

/// Everything known about one input image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Relative to the scanned root when one folder was given, else as given.
    pub path: String,
    /// Width and height of the image after EXIF orientation; 0 when it could not be read.
    pub width: u32,
    pub height: u32,
    /// `name@sha256:<first 16 hex digits>` of the model that produced the detections.
    pub model: String,
    pub detections: Vec<Detection>,
    /// Why the image has no detections because it could not be processed; `null` otherwise.
    pub error: Option<String>,
}

impl Record {
    /// The record of a labelled image: `detections` (boxes in its pixels), each named by
    /// `label` of its class id where the detections carry no labels of their own.
    pub fn new(
        path: String,
        [width, height]: [u32; 2],
        model: String,
        detections: &Detections,
        label: impl Fn(u32) -> String,
    ) -> Record {
        Record {
            path,
            width,
            height,
            model,
            detections: rows(detections, label),
            error: None,
        }
    }

    /// The record's detections as columns, labels included.
    pub fn to_detections(&self) -> Detections {
        let mut d = Detections::with_capacity(self.detections.len());
        d.labels = Some(Vec::with_capacity(self.detections.len()));
        for x in &self.detections {
            d.push_labelled(x.bbox, x.score, x.class_id, x.label.clone());
        }
        d
    }

    /// Replaces the record's detections (labelled ones keep their labels; the others are
    /// named `class_N`).
    pub fn set_detections(&mut self, detections: &Detections) {
        self.detections = rows(detections, |id| format!("class_{id}"));
    }

    /// The record of an image that could not be processed.
    pub fn failed(path: String, model: String, error: String) -> Record {
        Record {
            path,
            width: 0,
            height: 0,
            model,
            detections: Vec::new(),
            error: Some(error),
        }
    }
}

/// `d` as the record's rows; `label` names the rows of unlabelled detections.
fn rows(d: &Detections, label: impl Fn(u32) -> String) -> Vec<Detection> {
    (0..d.len())
        .map(|i| Detection {
            class_id: d.class_ids[i],
            label: d
                .label(i)
                .map_or_else(|| label(d.class_ids[i]), str::to_string),
            score: d.scores[i],
            bbox: d.boxes[i],
        })
        .collect()
}

/// Reads result records, one JSON object a line, from a file or `-` (stdin). Blank lines
/// are skipped; a line that is not a record is an error naming the input and the line.
pub struct Records<R> {
    name: String,
    lines: std::io::Lines<R>,
    line: usize,
}

impl Records<Box<dyn std::io::BufRead>> {
    /// Opens `path`, or stdin for `-`.
    pub fn open(path: &std::path::Path) -> anyhow::Result<Records<Box<dyn std::io::BufRead>>> {
        use anyhow::Context;
        if path.as_os_str() == "-" {
            return Ok(Records::new(
                "<stdin>",
                Box::new(std::io::BufReader::new(std::io::stdin())),
            ));
        }
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(Records::new(
            &path.display().to_string(),
            Box::new(std::io::BufReader::with_capacity(1 << 16, file)),
        ))
    }
}

impl<R: std::io::BufRead> Records<R> {
    pub fn new(name: &str, reader: R) -> Records<R> {
        Records {
            name: name.to_string(),
            lines: reader.lines(),
            line: 0,
        }
    }
}

impl<R: std::io::BufRead> Iterator for Records<R> {
    type Item = anyhow::Result<Record>;

    fn next(&mut self) -> Option<anyhow::Result<Record>> {
        loop {
            let text = match self.lines.next()? {
                Ok(t) => t,
                Err(e) => return Some(Err(anyhow::anyhow!("cannot read {}: {e}", self.name))),
            };
            self.line += 1;
            if is_blank(self.line, text.as_bytes()) {
                continue;
            }
            return Some(parse_line(&self.name, self.line, text.as_bytes()));
        }
    }
}

/// Line `line` (1-based) of a results file without the UTF-8 byte order mark some Windows
/// editors put at the start of a file.
fn without_bom(line: usize, text: &[u8]) -> &[u8] {
    match line {
        1 => text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text),
        _ => text,
    }
}

/// Whether line `line` of a results file holds nothing (a byte order mark alone counts as
/// nothing), and is skipped.
pub fn is_blank(line: usize, text: &[u8]) -> bool {
    without_bom(line, text).iter().all(u8::is_ascii_whitespace)
}

/// Parses one line of a results file; the error names the input and the line, as
/// [`Records`] does (`filter` parses lines in parallel with it).
pub fn parse_line(name: &str, line: usize, text: &[u8]) -> anyhow::Result<Record> {
    let text = without_bom(line, text);
    serde_json::from_slice(text)
        .map_err(|e| anyhow::anyhow!("{name}, line {line}: not a result record: {e}"))
}

fn round_to(v: f32, places: i32) -> f64 {
    let m = 10f64.powi(places);
    (v as f64 * m).round() / m
}

fn round5<S: serde::Serializer>(v: &f32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(round_to(*v, 5))
}

fn round2_box<S: serde::Serializer>(b: &[f32; 4], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeTuple;
    let mut t = s.serialize_tuple(4)?;
    for v in b {
        t.serialize_element(&round_to(*v, 2))?;
    }
    t.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_before_the_first_record_is_skipped() {
        let line =
            br#"{"path":"a.jpg","width":1,"height":1,"model":"m","detections":[],"error":null}"#;
        let bom: Vec<u8> = [&b"\xEF\xBB\xBF"[..], line].concat();
        assert_eq!(parse_line("r", 1, &bom).unwrap().path, "a.jpg");
        assert!(parse_line("r", 2, &bom).is_err());
        // A mark alone on the first line, then the records: that line is blank.
        assert!(is_blank(1, b"\xEF\xBB\xBF\r\n") && is_blank(1, b" \t"));
        assert!(!is_blank(2, b"\xEF\xBB\xBF") && !is_blank(1, line));
    }

    #[test]
    fn writes_the_documented_shape() {
        let r = Record {
            path: "sub/img_001.jpg".into(),
            width: 1920,
            height: 1080,
            model: "yolov8n@sha256:1a2b3c4d5e6f7a8b".into(),
            detections: vec![Detection {
                class_id: 0,
                label: "person".into(),
                score: 0.873_456_7,
                bbox: [412.501, 80.0, 610.254_9, 700.0],
            }],
            error: None,
        };
        let line = serde_json::to_string(&r).unwrap();
        assert_eq!(
            line,
            r#"{"path":"sub/img_001.jpg","width":1920,"height":1080,"model":"yolov8n@sha256:1a2b3c4d5e6f7a8b","detections":[{"class_id":0,"label":"person","score":0.87346,"bbox":[412.5,80.0,610.25,700.0]}],"error":null}"#
        );
        let back: Record = serde_json::from_str(&line).unwrap();
        assert_eq!(back.detections[0].bbox, [412.5, 80.0, 610.25, 700.0]);
    }

    #[test]
    fn reads_records_and_names_a_bad_line() {
        let text = "{\"path\":\"a.jpg\",\"width\":1,\"height\":1,\"model\":\"m\",\"detections\":[],\"error\":null}\n\n{\"path\":1}\n";
        let got: Vec<_> = Records::new("r.jsonl", text.as_bytes()).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].as_ref().unwrap().path, "a.jpg");
        let err = got[1].as_ref().unwrap_err().to_string();
        assert!(
            err.starts_with("r.jsonl, line 3: not a result record"),
            "{err}"
        );
    }

    #[test]
    fn detections_convert_to_records_and_back() {
        let mut d = Detections::default();
        d.push([1.0, 2.0, 3.0, 4.0], 0.5, 1);
        d.push([0.0, 0.0, 9.0, 9.0], 0.25, 0);
        let names = ["cat", "dog"];
        let r = Record::new("a.jpg".into(), [10, 20], "m".into(), &d, |id| {
            names[id as usize].to_string()
        });
        assert_eq!((r.width, r.height), (10, 20));
        assert_eq!(r.detections[0].label, "dog");
        let back = r.to_detections();
        assert_eq!(
            (&back.boxes, &back.scores, &back.class_ids),
            (&d.boxes, &d.scores, &d.class_ids)
        );
        assert_eq!(
            back.labels,
            Some(vec!["dog".to_string(), "cat".to_string()])
        );
        // Labels travel with the rows they name.
        let mut kept = r.clone();
        kept.set_detections(&back.filter(&[false, true]));
        assert_eq!(kept.detections, r.detections[1..]);
    }

    #[test]
    fn a_failed_record_keeps_its_path_and_reason() {
        let r = Record::failed("a.jpg".into(), "m@sha256:00".into(), "empty file".into());
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(v["error"], "empty file");
        assert_eq!(v["detections"], serde_json::json!([]));
    }
}
