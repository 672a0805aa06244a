//! Output heads: how a detection model lays out its raw output, and how it becomes
//! candidate boxes.
//!
//! The layouts are data ([`Head`]), recognised once from the output's shape, the model
//! config's `type` and the ONNX metadata, so the rest of the code never asks which model
//! made the boxes:
//!
//! - YOLOv8/11 `[B, 4+C(+M), N]`: `cx, cy, w, h`, then C class scores (and M mask
//!   coefficients for segmentation models, ignored here), one column per anchor.
//! - YOLOv5 `[B, N, 5+C]`: `cx, cy, w, h, objectness`, then C class scores, one row per anchor.
//! - NMS-free YOLOv10/YOLO26 `[B, N, 6]`: `x1, y1, x2, y2, score, class`, already final.

use crate::detections::Detections;

/// What the model's type, config and metadata say about its head, beyond the shape.
#[derive(Debug, Clone, Default)]
pub struct HeadHints {
    /// The model config's `type` (`yolov5`, `yolov8`, `yolov10`, `yolo11`, ...), lower case.
    pub model_type: Option<String>,
    /// The number of classes named by the config or the metadata.
    pub classes: Option<usize>,
    /// Ultralytics' `end2end` metadata flag.
    pub end2end: Option<bool>,
}

/// The mask coefficients a YOLOv8/11 segmentation head has after its class scores
/// (Ultralytics' `nm`).
pub const MASK_COEFFICIENTS: usize = 32;

/// One of the output layouts we decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// `[B, 4 + classes + extra, N]`.
    Yolov8 { classes: usize, extra: usize },
    /// `[B, N, 5 + classes]`.
    Yolov5 { classes: usize },
    /// `[B, N, 6]`: boxes, score and class, no NMS needed.
    EndToEnd,
}

impl Head {
    /// Recognises the head from the output shape `[B, A, C]` (any dimension may be unknown,
    /// `None`, for a dynamic model before it has run), or says why it cannot.
    pub fn recognise(shape: &[Option<usize>], hints: &HeadHints) -> Result<Head, String> {
        let [_, a, b] = shape else {
            return Err(format!(
                "the output has {} dimensions, {}; a detection head has 3 ([batch, channels, anchors] or [batch, anchors, channels])",
                shape.len(),
                fmt_shape(shape)
            ));
        };
        let ty = hints.model_type.as_deref().unwrap_or("");
        let says_end2end =
            hints.end2end == Some(true) || ty.contains("yolov10") || ty.contains("yolo26");
        let says_v5 = ty.starts_with("yolov5");
        let (a, b) = match (a, b) {
            (Some(a), Some(b)) => (*a, *b),
            _ => {
                return Err(format!(
                    "the output shape {} is not known before a run",
                    fmt_shape(shape)
                ));
            }
        };
        if says_end2end || (!says_v5 && b == 6 && a <= 1000 && hints.classes.is_none_or(|c| c != 1))
        {
            if b != 6 {
                return Err(format!(
                    "an NMS-free (YOLOv10/YOLO26) head has 6 values per box, this output is {}",
                    fmt_shape(shape)
                ));
            }
            return Ok(Head::EndToEnd);
        }
        if let (Some(nc), false) = (hints.classes, says_v5) {
            // With the class count known the layout is unambiguous, even for tiny outputs.
            if a == 4 + nc {
                return Ok(Head::Yolov8 {
                    classes: nc,
                    extra: 0,
                });
            }
            if b == 5 + nc {
                return Ok(Head::Yolov5 { classes: nc });
            }
            if a == 4 + nc + MASK_COEFFICIENTS && a < b {
                return Ok(Head::Yolov8 {
                    classes: nc,
                    extra: MASK_COEFFICIENTS,
                });
            }
            // Say what the model itself scores, so that a class list that is too short or
            // too long is seen for what it is.
            let scores = if a < b {
                format!(
                    "; as a YOLOv8 head it scores {} classes",
                    a.saturating_sub(4)
                )
            } else {
                format!(
                    "; as a YOLOv5 head it scores {} classes",
                    b.saturating_sub(5)
                )
            };
            return Err(format!(
                "the output {} fits neither [batch, 4 + {nc}, anchors] (YOLOv8, or 4 + {nc} + {MASK_COEFFICIENTS} for segmentation) nor [batch, anchors, 5 + {nc}] (YOLOv5) for the {nc} class names given{scores}",
                fmt_shape(shape)
            ));
        }
        if says_v5 || a > b {
            if b < 6 {
                return Err(format!(
                    "a YOLOv5 head [batch, anchors, 5 + classes] needs at least 6 values per anchor, this output is {}",
                    fmt_shape(shape)
                ));
            }
            let classes = b - 5;
            check_classes(classes, hints, shape)?;
            return Ok(Head::Yolov5 { classes });
        }
        if a < 5 {
            return Err(format!(
                "a YOLOv8 head [batch, 4 + classes, anchors] needs at least 5 channels, this output is {}",
                fmt_shape(shape)
            ));
        }
        Ok(Head::Yolov8 {
            classes: a - 4,
            extra: 0,
        })
    }

    /// The number of classes the head scores (for NMS-free heads, unknown: `None`).
    pub fn classes(&self) -> Option<usize> {
        match self {
            Head::Yolov8 { classes, .. } | Head::Yolov5 { classes } => Some(*classes),
            Head::EndToEnd => None,
        }
    }

    /// Whether the boxes still need NMS.
    pub fn needs_nms(&self) -> bool {
        !matches!(self, Head::EndToEnd)
    }

    /// The layout in a few words that never change, for the cache's key: results decoded
    /// with another layout are other results.
    pub fn key(&self) -> String {
        match self {
            Head::Yolov8 { classes, extra } => format!("yolov8 head 4+{classes}+{extra}"),
            Head::Yolov5 { classes } => format!("yolov5 head 5+{classes}"),
            Head::EndToEnd => "nms-free head".to_string(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Head::Yolov8 { classes, extra: 0 } => format!("YOLOv8/11 head, {classes} classes"),
            Head::Yolov8 { classes, extra } => {
                format!("YOLOv8/11 head, {classes} classes (+{extra} mask coefficients, ignored)")
            }
            Head::Yolov5 { classes } => format!("YOLOv5 head with objectness, {classes} classes"),
            Head::EndToEnd => "NMS-free YOLOv10/YOLO26 head".to_string(),
        }
    }
}

fn check_classes(found: usize, hints: &HeadHints, shape: &[Option<usize>]) -> Result<(), String> {
    match hints.classes {
        Some(c) if c != found => Err(format!(
            "the output {} has {found} class scores, but {c} class names are given",
            fmt_shape(shape)
        )),
        _ => Ok(()),
    }
}

pub fn fmt_shape(shape: &[Option<usize>]) -> String {
    let dims: Vec<String> = shape
        .iter()
        .map(|d| d.map_or("?".to_string(), |v| v.to_string()))
        .collect();
    format!("[{}]", dims.join(", "))
}

/// What to keep while decoding.
#[derive(Debug, Clone)]
pub struct DecodeParams {
    /// Keep candidates whose score is above this (strictly, as Ultralytics does).
    pub conf: f32,
    /// When set, `allowed[c]` says whether class `c` is kept; classes past its end are dropped.
    pub allowed: Option<Vec<bool>>,
}

impl DecodeParams {
    fn allows(&self, class: usize) -> bool {
        self.allowed
            .as_ref()
            .is_none_or(|a| a.get(class).copied().unwrap_or(false))
    }
}

/// Turns raw outputs into candidates, reusing its scratch memory between images.
#[derive(Debug, Default)]
pub struct Decoder {
    best: Vec<f32>,
}

impl Decoder {
    /// Appends the candidates of image `index` of a batch output with shape `[B, a, b]`
    /// (`data` is the whole batch) to `out`, in model-input pixels.
    pub fn decode(
        &mut self,
        head: Head,
        data: &[f32],
        dims: [usize; 3],
        index: usize,
        p: &DecodeParams,
        out: &mut Detections,
    ) {
        let [_, a, b] = dims;
        let one = &data[index * a * b..(index + 1) * a * b];
        match head {
            Head::Yolov8 { classes, .. } => self.decode_v8(one, classes, b, p, out),
            Head::Yolov5 { classes } => decode_v5(one, classes, a, b, p, out),
            Head::EndToEnd => decode_end2end(one, a, b, p, out),
        }
    }

    fn decode_v8(
        &mut self,
        one: &[f32],
        classes: usize,
        n: usize,
        p: &DecodeParams,
        out: &mut Detections,
    ) {
        // Two passes. First each anchor's best score, one class row at a time over blocks of
        // anchors, so the inner loop runs over contiguous memory, vectorises to `maxps`, and
        // the running maxima stay in L1. `if s > best` keeps the first maximum and never
        // replaces a NaN, as a strict comparison does. Then, for the few anchors above
        // --conf only, the first class that reaches that best score.
        const BLOCK: usize = 2048;
        self.best.clear();
        self.best.extend_from_slice(&one[4 * n..5 * n]);
        for start in (0..n).step_by(BLOCK) {
            let end = (start + BLOCK).min(n);
            let best = &mut self.best[start..end];
            for c in 1..classes {
                let row = &one[(4 + c) * n + start..(4 + c) * n + end];
                for (b, &s) in best.iter_mut().zip(row) {
                    *b = if s > *b { s } else { *b };
                }
            }
        }
        for i in 0..n {
            let score = self.best[i];
            if score <= p.conf || score.is_nan() {
                continue;
            }
            let class = (0..classes)
                .find(|&c| one[(4 + c) * n + i] == score)
                .unwrap_or(0) as u32;
            if !p.allows(class as usize) {
                continue;
            }
            let (cx, cy, w, h) = (one[i], one[n + i], one[2 * n + i], one[3 * n + i]);
            out.push(xywh_to_xyxy(cx, cy, w, h), score, class);
        }
    }
}

fn decode_v5(
    one: &[f32],
    classes: usize,
    n: usize,
    stride: usize,
    p: &DecodeParams,
    out: &mut Detections,
) {
    for i in 0..n {
        let row = &one[i * stride..(i + 1) * stride];
        let obj = row[4];
        if obj <= p.conf || obj.is_nan() {
            continue;
        }
        let mut class = 0usize;
        let mut best = row[5];
        for (c, &s) in row[5..5 + classes].iter().enumerate().skip(1) {
            if s > best {
                best = s;
                class = c;
            }
        }
        let score = obj * best;
        if score <= p.conf || !p.allows(class) {
            continue;
        }
        out.push(
            xywh_to_xyxy(row[0], row[1], row[2], row[3]),
            score,
            class as u32,
        );
    }
}

fn decode_end2end(one: &[f32], n: usize, stride: usize, p: &DecodeParams, out: &mut Detections) {
    for i in 0..n {
        let row = &one[i * stride..(i + 1) * stride];
        let score = row[4];
        if score <= p.conf || score.is_nan() || row[5] < 0.0 {
            continue;
        }
        let class = row[5].round() as usize;
        if !p.allows(class) {
            continue;
        }
        out.push([row[0], row[1], row[2], row[3]], score, class as u32);
    }
}

#[inline]
fn xywh_to_xyxy(cx: f32, cy: f32, w: f32, h: f32) -> [f32; 4] {
    crate::boxes::convert(
        [cx, cy, w, h],
        crate::boxes::BoxFormat::Cxcywh,
        crate::boxes::BoxFormat::Xyxy,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hints(ty: Option<&str>, classes: Option<usize>) -> HeadHints {
        HeadHints {
            model_type: ty.map(str::to_string),
            classes,
            end2end: None,
        }
    }

    #[test]
    fn recognises_the_layouts_from_their_shapes() {
        let s = |v: &[usize]| v.iter().map(|&d| Some(d)).collect::<Vec<_>>();
        assert_eq!(
            Head::recognise(&s(&[1, 84, 8400]), &hints(None, None)),
            Ok(Head::Yolov8 {
                classes: 80,
                extra: 0
            })
        );
        assert_eq!(
            Head::recognise(&s(&[1, 116, 8400]), &hints(None, Some(80))),
            Ok(Head::Yolov8 {
                classes: 80,
                extra: 32
            })
        );
        assert_eq!(
            Head::recognise(&s(&[1, 25200, 85]), &hints(None, None)),
            Ok(Head::Yolov5 { classes: 80 })
        );
        assert_eq!(
            Head::recognise(&s(&[1, 300, 6]), &hints(None, None)),
            Ok(Head::EndToEnd)
        );
        // A one-class YOLOv5 looks like an NMS-free head; the config's type settles it.
        assert_eq!(
            Head::recognise(&s(&[1, 300, 6]), &hints(Some("yolov5"), None)),
            Ok(Head::Yolov5 { classes: 1 })
        );
        assert_eq!(
            Head::recognise(&s(&[1, 25200, 6]), &hints(None, None)),
            Ok(Head::Yolov5 { classes: 1 })
        );
        // Few anchors, many classes: the class names settle which axis is which.
        assert_eq!(
            Head::recognise(&s(&[1, 6, 8]), &hints(None, Some(3))),
            Ok(Head::Yolov5 { classes: 3 })
        );
        assert_eq!(
            Head::recognise(&s(&[1, 7, 5]), &hints(None, Some(3))),
            Ok(Head::Yolov8 {
                classes: 3,
                extra: 0
            })
        );
        assert!(Head::recognise(&s(&[1, 1000]), &hints(None, None)).is_err());
        assert!(Head::recognise(&s(&[1, 300, 7]), &hints(Some("yolov10"), None)).is_err());
        assert!(Head::recognise(&s(&[1, 25200, 85]), &hints(None, Some(3))).is_err());
        // Class names that disagree with the model are refused, not read as mask
        // coefficients: 22 channels are 4 + 18 classes, not 4 + 3 + 15.
        let e = Head::recognise(&s(&[1, 22, 2100]), &hints(Some("yolov8"), Some(3))).unwrap_err();
        assert!(
            e.contains("3 class names") && e.contains("scores 18 classes"),
            "{e}"
        );
        assert!(Head::recognise(&s(&[1, 22, 2100]), &hints(None, Some(17))).is_err());
        let e = Head::recognise(&s(&[1, 25200, 85]), &hints(Some("yolov5"), Some(3))).unwrap_err();
        assert!(e.contains("80 class scores"), "{e}");
        assert!(Head::recognise(&[Some(1), None, None], &hints(None, None)).is_err());
    }

    use proptest::prelude::*;

    proptest! {
        /// The two-pass YOLOv8 decode picks, per anchor, what a plain strict argmax over
        /// the classes picks: the first maximum, ties included, NaN scores never.
        #[test]
        fn yolov8_decode_equals_a_plain_argmax(
            (classes, anchors, scores) in (1usize..6, 1usize..3000).prop_flat_map(|(c, a)| {
                (Just(c), Just(a), proptest::collection::vec(prop_oneof![
                    8 => (0u8..8).prop_map(|v| v as f32 / 8.0),
                    1 => Just(f32::NAN),
                ], c * a))
            }),
            conf in 0f32..0.9,
        ) {
            let mut out = Vec::with_capacity((4 + classes) * anchors);
            for k in 0..4 * anchors {
                out.push((k % 97) as f32 + 1.0);
            }
            out.extend_from_slice(&scores);
            let mut c = Detections::default();
            let p = DecodeParams { conf, allowed: None };
            Decoder::default().decode(
                Head::Yolov8 { classes, extra: 0 },
                &out,
                [1, 4 + classes, anchors],
                0,
                &p,
                &mut c,
            );
            let mut want = (Vec::new(), Vec::new());
            for i in 0..anchors {
                let (mut best, mut class) = (scores[i], 0u32);
                for k in 1..classes {
                    let s = scores[k * anchors + i];
                    if s > best {
                        best = s;
                        class = k as u32;
                    }
                }
                if best > conf {
                    want.0.push(best);
                    want.1.push(class);
                }
            }
            prop_assert_eq!(&c.scores, &want.0);
            prop_assert_eq!(&c.class_ids, &want.1);
        }
    }

    #[test]
    fn decodes_yolov8_columns() {
        // 2 classes, 3 anchors: channels are rows, anchors are columns.
        #[rustfmt::skip]
        let out = [
            10.0, 20.0, 30.0, // cx
            10.0, 20.0, 30.0, // cy
            4.0, 4.0, 4.0,    // w
            2.0, 2.0, 2.0,    // h
            0.9, 0.1, 0.3,    // class 0
            0.2, 0.8, 0.25,   // class 1
        ];
        let mut c = Detections::default();
        let p = DecodeParams {
            conf: 0.25,
            allowed: None,
        };
        Decoder::default().decode(
            Head::Yolov8 {
                classes: 2,
                extra: 0,
            },
            &out,
            [1, 6, 3],
            0,
            &p,
            &mut c,
        );
        assert_eq!(c.class_ids, vec![0, 1, 0]);
        assert_eq!(c.scores, vec![0.9, 0.8, 0.3]);
        assert_eq!(c.boxes[0], [8.0, 9.0, 12.0, 11.0]);
        // Only class 1 allowed: anchor 2's best class is 0, so it is dropped, not demoted.
        let p = DecodeParams {
            conf: 0.25,
            allowed: Some(vec![false, true]),
        };
        c.clear();
        Decoder::default().decode(
            Head::Yolov8 {
                classes: 2,
                extra: 0,
            },
            &out,
            [1, 6, 3],
            0,
            &p,
            &mut c,
        );
        assert_eq!(c.class_ids, vec![1]);
    }

    #[test]
    fn decodes_yolov5_rows_with_objectness_and_end2end_rows() {
        #[rustfmt::skip]
        let v5 = [
            10.0, 10.0, 4.0, 2.0, 0.5, 0.9, 0.1, // 0.45 class 0
            20.0, 20.0, 4.0, 2.0, 0.2, 0.1, 0.9, // objectness below conf
            30.0, 30.0, 4.0, 2.0, 0.9, 0.2, 0.3, // 0.27 class 1
        ];
        let mut c = Detections::default();
        let p = DecodeParams {
            conf: 0.25,
            allowed: None,
        };
        Decoder::default().decode(Head::Yolov5 { classes: 2 }, &v5, [1, 3, 7], 0, &p, &mut c);
        assert_eq!(c.class_ids, vec![0, 1]);
        assert!((c.scores[0] - 0.45).abs() < 1e-6 && (c.scores[1] - 0.27).abs() < 1e-6);

        #[rustfmt::skip]
        let e2e = [
            1.0, 2.0, 3.0, 4.0, 0.9, 7.0,
            1.0, 2.0, 3.0, 4.0, 0.1, 2.0,
        ];
        c.clear();
        // The second image of a batch of two, same data twice.
        let batch: Vec<f32> = e2e.iter().chain(e2e.iter()).copied().collect();
        Decoder::default().decode(Head::EndToEnd, &batch, [2, 2, 6], 1, &p, &mut c);
        assert_eq!(
            (c.class_ids.clone(), c.boxes[0]),
            (vec![7], [1.0, 2.0, 3.0, 4.0])
        );
    }
}
