//! The result record: one per image, the interchange format between subcommands.
//!
//! Written one JSON object a line (`results.jsonl`); `filter` and `export` read it back.
//! The shape is fixed by the design and documented in `docs/results.md` with a JSON
//! Schema. An image that cannot be read keeps its record, with `error` set.

use serde::{Deserialize, Serialize};

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
    fn a_failed_record_keeps_its_path_and_reason() {
        let r = Record::failed("a.jpg".into(), "m@sha256:00".into(), "empty file".into());
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(v["error"], "empty file");
        assert_eq!(v["detections"], serde_json::json!([]));
    }
}
