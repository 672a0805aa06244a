//! Boxes: the three layouts (`xyxy`, `xywh`, `cxcywh`), clipping, and reading a table of
//! candidate boxes (`x1,y1,x2,y2,score,class_id` CSV) for `anylabel nms`.
//!
//! Mapping between the letterboxed input and the original image lives with the letterbox
//! ([`crate::letterbox::Letterbox::map_to_original`]), so it is written once.

use crate::detections::Detections;

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

/// Line numbers of byte offsets in a text, asked in increasing order: the `csv` crate's own
/// are one short after CRLF line ends and point at the blank lines before a record
/// (BurntSushi/rust-csv#395, #208). A line ends at `\n`, `\r\n` or a lone `\r`.
struct Lines<'a> {
    bytes: &'a [u8],
    /// Where counting has got to, and the line that offset is on.
    at: usize,
    line: u64,
}

impl Lines<'_> {
    /// The 1-based line of the record that starts at `byte`, or after the blank lines
    /// that start there.
    fn line_of(&mut self, byte: u64) -> u64 {
        let b = self.bytes;
        let end = (byte as usize).min(b.len());
        while self.at < end {
            match b[self.at] {
                b'\n' => self.line += 1,
                b'\r' if b.get(self.at + 1) != Some(&b'\n') => self.line += 1,
                _ => {}
            }
            self.at += 1;
        }
        let (mut line, mut pos) = (self.line, end);
        loop {
            match b.get(pos) {
                Some(b'\n') => pos += 1,
                Some(b'\r') if b.get(pos + 1) == Some(&b'\n') => pos += 2,
                Some(b'\r') => pos += 1,
                _ => return line,
            }
            line += 1;
        }
    }
}

/// Reads a CSV of candidate boxes with a header naming the columns `x1, y1, x2, y2,
/// score, class_id` (in any order; other columns are ignored). Every value must be a finite
/// number, `x2 >= x1`, `y2 >= y1`, and `class_id` a non-negative integer.
pub fn read_csv(input: &[u8]) -> Result<Detections, RowError> {
    let mut lines = Lines {
        bytes: input,
        at: 0,
        line: 1,
    };
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
    let mut c = Detections::default();
    let mut record = csv::StringRecord::new();
    let mut row = 0;
    loop {
        let more = reader.read_record(&mut record).map_err(|e| RowError {
            row: Some(row),
            line: e.position().map_or(0, |p| lines.line_of(p.byte())),
            reason: e.to_string(),
        })?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| lines.line_of(p.byte()));
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
            (c.scores.clone(), c.class_ids.clone()),
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
        // The file's own lines, whatever ends them, blank lines counted.
        let crlf =
            "x1,y1,x2,y2,score,class_id\r\n0,0,1,1,0.9,0\r\n0,0,1,1,0.8,0\r\n0,0,1,1,oops,0\r\n";
        assert_eq!(err(crlf), "row 2 (line 4): score is 'oops', not a number");
        assert_eq!(
            err(&crlf.replace("\r\n", "\r")),
            "row 2 (line 4): score is 'oops', not a number"
        );
        assert_eq!(
            err(&format!("{h}0,0,1,1,0.9,0\n\n\n0,0,1,1,oops,0\n")),
            "row 1 (line 5): score is 'oops', not a number"
        );
        assert_eq!(
            err(&format!(
                "{h}\r\n\r\n0,0,1,1,0.9,0\r\n\r\n0,0,1,one,0.5,0\r\n"
            )),
            "row 1 (line 6): y2 is 'one', not a number"
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
