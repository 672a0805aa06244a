//! Boxes: the three layouts (`xyxy`, `xywh`, `cxcywh`), clipping, and reading a table of
//! candidate boxes (`x1,y1,x2,y2,score,class_id` CSV) for `anylabel nms`.
//!
//! Mapping between the letterboxed input and the original image lives with the letterbox
//! ([`crate::letterbox::Letterbox::map_to_original`]), so it is written once.

use std::io::Read;

use crate::nms::Candidates;

/// How four numbers describe a box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoxFormat {
    /// Corners: `[x1, y1, x2, y2]`.
    Xyxy,
    /// Top-left corner and size: `[x, y, w, h]` (COCO).
    Xywh,
    /// Centre and size: `[cx, cy, w, h]` (YOLO).
    Cxcywh,
}

/// Converts one box between layouts.
#[inline]
pub fn convert(b: [f32; 4], from: BoxFormat, to: BoxFormat) -> [f32; 4] {
    use BoxFormat::*;
    let xyxy = match from {
        Xyxy => b,
        Xywh => [b[0], b[1], b[0] + b[2], b[1] + b[3]],
        Cxcywh => {
            let (hw, hh) = (b[2] / 2.0, b[3] / 2.0);
            [b[0] - hw, b[1] - hh, b[0] + hw, b[1] + hh]
        }
    };
    match to {
        Xyxy => xyxy,
        Xywh => [xyxy[0], xyxy[1], xyxy[2] - xyxy[0], xyxy[3] - xyxy[1]],
        Cxcywh => [
            (xyxy[0] + xyxy[2]) / 2.0,
            (xyxy[1] + xyxy[3]) / 2.0,
            xyxy[2] - xyxy[0],
            xyxy[3] - xyxy[1],
        ],
    }
}

/// Converts boxes in place.
pub fn convert_all(boxes: &mut [[f32; 4]], from: BoxFormat, to: BoxFormat) {
    if from != to {
        for b in boxes {
            *b = convert(*b, from, to);
        }
    }
}

/// Clips an `xyxy` box to `[0, w] × [0, h]`.
#[inline]
pub fn clip(b: [f32; 4], w: f32, h: f32) -> [f32; 4] {
    [
        b[0].clamp(0.0, w),
        b[1].clamp(0.0, h),
        b[2].clamp(0.0, w),
        b[3].clamp(0.0, h),
    ]
}

/// A bad row in a box table, for an error that names it.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    /// The 0-based data row, the index `anylabel nms` prints for it (`None` for the
    /// header), and the 1-based line of the file it starts on.
    pub row: Option<usize>,
    pub line: u64,
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.row {
            None => write!(f, "line {}: {}", self.line, self.reason),
            Some(row) => write!(f, "row {row} (line {}): {}", self.line, self.reason),
        }
    }
}

const COLUMNS: [&str; 6] = ["x1", "y1", "x2", "y2", "score", "class_id"];

/// Reads a CSV of candidate boxes with a header naming the columns `x1, y1, x2, y2,
/// score, class_id` (in any order; other columns are ignored). Every value must be a finite
/// number, `x2 >= x1`, `y2 >= y1`, and `class_id` a non-negative integer.
pub fn read_csv(input: impl Read) -> Result<Candidates, RowError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(input);
    let header = reader.headers().map_err(|e| RowError {
        row: None,
        line: 1,
        reason: format!("cannot read the header: {e}"),
    })?;
    let mut at = [0usize; 6];
    for (k, name) in COLUMNS.iter().enumerate() {
        at[k] = header.iter().position(|h| h.eq_ignore_ascii_case(name)).ok_or_else(|| RowError {
            row: None,
            line: 1,
            reason: format!(
                "the header has no {name} column (it needs x1,y1,x2,y2,score,class_id; it has {})",
                header.iter().collect::<Vec<_>>().join(",")
            ),
        })?;
    }
    let mut c = Candidates::default();
    let mut record = csv::StringRecord::new();
    let mut row = 0;
    loop {
        let more = reader.read_record(&mut record).map_err(|e| RowError {
            row: Some(row),
            line: e.position().map_or(0, |p| p.line()),
            reason: e.to_string(),
        })?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
        let err = |reason: String| RowError {
            row: Some(row),
            line,
            reason,
        };
        let mut v = [0f32; 5];
        for (k, slot) in v.iter_mut().enumerate() {
            let text = record
                .get(at[k])
                .ok_or_else(|| err(format!("the {} column is missing", COLUMNS[k])))?;
            let x: f32 = text
                .parse()
                .map_err(|_| err(format!("{} is '{text}', not a number", COLUMNS[k])))?;
            if !x.is_finite() {
                return Err(err(format!("{} is {text}", COLUMNS[k])));
            }
            *slot = x;
        }
        let text = record
            .get(at[5])
            .ok_or_else(|| err("the class_id column is missing".to_string()))?;
        let class: u32 = text
            .parse()
            .map_err(|_| err(format!("class_id is '{text}', not a non-negative integer")))?;
        if v[2] < v[0] {
            return Err(err(format!("x2 ({}) is less than x1 ({})", v[2], v[0])));
        }
        if v[3] < v[1] {
            return Err(err(format!("y2 ({}) is less than y1 ({})", v[3], v[1])));
        }
        c.push([v[0], v[1], v[2], v[3]], v[4], class);
        row += 1;
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_a_box_table_and_names_bad_rows() {
        let c = read_csv(
            "score,x1,y1,x2,y2,class_id,note\n0.9,0,0,10,10,0,a\n0.5, 1,1,5,5, 2,b\n".as_bytes(),
        )
        .unwrap();
        assert_eq!(c.boxes, vec![[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 5.0, 5.0]]);
        assert_eq!(
            (c.scores.clone(), c.classes.clone()),
            (vec![0.9, 0.5], vec![0, 2])
        );
        let err = |text: &str| read_csv(text.as_bytes()).unwrap_err().to_string();
        let h = "x1,y1,x2,y2,score,class_id\n";
        assert_eq!(
            err("x1,y1,x2,score\n"),
            "line 1: the header has no y2 column (it needs x1,y1,x2,y2,score,class_id; it has x1,y1,x2,score)"
        );
        assert_eq!(
            err(&format!("{h}0,0,1,1,0.5,0\n0,0,1,1,NaN,0\n")),
            "row 1 (line 3): score is NaN"
        );
        assert_eq!(
            err(&format!("{h}5,0,3,1,0.5,0\n")),
            "row 0 (line 2): x2 (3) is less than x1 (5)"
        );
        assert_eq!(
            err(&format!("{h}0,0,1,1,0.5\n")),
            "row 0 (line 2): the class_id column is missing"
        );
        assert_eq!(
            err(&format!("{h}0,0,1,1,0.5,-1\n")),
            "row 0 (line 2): class_id is '-1', not a non-negative integer"
        );
        assert_eq!(
            err(&format!("{h}0,0,1,one,0.5,1\n")),
            "row 0 (line 2): y2 is 'one', not a number"
        );
    }

    proptest! {
        #[test]
        fn conversions_round_trip(x in -1e3f32..1e3, y in -1e3f32..1e3, w in 0f32..1e3, h in 0f32..1e3) {
            use BoxFormat::*;
            let b = [x, y, x + w, y + h];
            for f in [Xywh, Cxcywh] {
                let back = convert(convert(b, Xyxy, f), f, Xyxy);
                for k in 0..4 {
                    prop_assert!((back[k] - b[k]).abs() <= 1e-3 * (1.0 + b[k].abs()), "{:?} {:?} {:?}", f, b, back);
                }
            }
            let c = clip(b, 500.0, 400.0);
            prop_assert!(c[0] >= 0.0 && c[2] <= 500.0 && c[1] >= 0.0 && c[3] <= 400.0);
        }
    }
}
