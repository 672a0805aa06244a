//! `Detections`: the detections of one image, as parallel columns.
//!
//! This is the one in-memory form of a detection between the model and the sink (after
//! supervision's `Detections`): the head writes it ([`crate::head::Decoder`]), NMS reads it
//! ([`crate::nms`]), the cache stores it ([`crate::cache`]), `filter`'s rules and the
//! cache's answers select from it, and [`crate::record::Record`] converts from and to it
//! in one place ([`crate::record::Record::new`], [`crate::record::Record::detections`]).
//!
//! Row `i` of every column is detection `i`. Selecting is indexing: a mask or a list of
//! rows in, a smaller `Detections` out, every column taken along. Columns a task does not
//! have are `None` (a detection model's output has no labels until a record names them);
//! the tasks that come next (polygons, keypoints, rotated boxes) add their own optional
//! columns here, and [`Detections::select`] is the one place that must take them along.

/// The detections of one image. `boxes[i]` is `[x1, y1, x2, y2]`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Detections {
    pub boxes: Vec<[f32; 4]>,
    pub scores: Vec<f32>,
    pub class_ids: Vec<u32>,
    /// Class names, one a row, where they are known (read from records; the model's
    /// output has ids only).
    pub labels: Option<Vec<String>>,
}

impl Detections {
    pub fn with_capacity(n: usize) -> Detections {
        Detections {
            boxes: Vec::with_capacity(n),
            scores: Vec::with_capacity(n),
            class_ids: Vec::with_capacity(n),
            labels: None,
        }
    }

    pub fn len(&self) -> usize {
        self.scores.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// Empties every column, keeping the memory (and dropping the labels column).
    pub fn clear(&mut self) {
        self.boxes.clear();
        self.scores.clear();
        self.class_ids.clear();
        self.labels = None;
    }

    /// Appends an unlabelled detection (the head's, a CSV row's).
    pub fn push(&mut self, bbox: [f32; 4], score: f32, class_id: u32) {
        debug_assert!(
            self.labels.is_none(),
            "a labelled row pushed without its label"
        );
        self.boxes.push(bbox);
        self.scores.push(score);
        self.class_ids.push(class_id);
    }

    /// Appends a detection with its label.
    pub fn push_labelled(&mut self, bbox: [f32; 4], score: f32, class_id: u32, label: String) {
        let labels = self.labels.get_or_insert_with(Vec::new);
        debug_assert_eq!(labels.len(), self.scores.len(), "a label column with gaps");
        labels.push(label);
        self.boxes.push(bbox);
        self.scores.push(score);
        self.class_ids.push(class_id);
    }

    /// The label of row `i`, where labels are known.
    pub fn label(&self, i: usize) -> Option<&str> {
        self.labels.as_ref().map(|l| l[i].as_str())
    }

    /// The area of box `i` in square pixels (0 for an inverted box).
    pub fn area(&self, i: usize) -> f64 {
        let [x1, y1, x2, y2] = self.boxes[i];
        ((x2 - x1).max(0.0) as f64) * ((y2 - y1).max(0.0) as f64)
    }

    /// The rows `rows`, in that order.
    pub fn select(&self, rows: &[usize]) -> Detections {
        Detections {
            boxes: rows.iter().map(|&i| self.boxes[i]).collect(),
            scores: rows.iter().map(|&i| self.scores[i]).collect(),
            class_ids: rows.iter().map(|&i| self.class_ids[i]).collect(),
            labels: self
                .labels
                .as_ref()
                .map(|l| rows.iter().map(|&i| l[i].clone()).collect()),
        }
    }

    /// The rows whose `mask` is true (rows past the mask's end are dropped), in order.
    pub fn filter(&self, mask: &[bool]) -> Detections {
        self.select(&rows_of(mask, self.len()))
    }

    /// Keeps the rows whose `mask` is true (rows past the mask's end are dropped), in place.
    pub fn retain(&mut self, mask: &[bool]) {
        let keep = |i: usize| mask.get(i).copied().unwrap_or(false);
        retain_column(&mut self.boxes, keep);
        retain_column(&mut self.scores, keep);
        retain_column(&mut self.class_ids, keep);
        if let Some(l) = &mut self.labels {
            retain_column(l, keep);
        }
    }

    /// The rows scoring above `conf` (strictly, as Ultralytics' `conf` is applied).
    pub fn above(&self, conf: f32) -> Detections {
        let mask: Vec<bool> = self.scores.iter().map(|&s| s > conf).collect();
        self.filter(&mask)
    }

    /// The rows whose class `allowed` lets through (`allowed[id]`; ids past its end are
    /// not).
    pub fn of_classes(&self, allowed: &[bool]) -> Detections {
        let mask: Vec<bool> = (self.class_ids.iter())
            .map(|&c| allowed.get(c as usize).copied().unwrap_or(false))
            .collect();
        self.filter(&mask)
    }

    /// The first `k` rows (the best `k` where the rows are sorted by score, as NMS and the
    /// cache keep them).
    pub fn top(mut self, k: usize) -> Detections {
        self.truncate(k);
        self
    }

    /// Keeps the first `k` rows.
    pub fn truncate(&mut self, k: usize) {
        self.boxes.truncate(k);
        self.scores.truncate(k);
        self.class_ids.truncate(k);
        if let Some(l) = &mut self.labels {
            l.truncate(k);
        }
    }

    /// Replaces every box by `f` of it (model-input pixels to the original image's, say).
    pub fn map_boxes(&mut self, f: impl Fn([f32; 4]) -> [f32; 4]) {
        self.boxes.iter_mut().for_each(|b| *b = f(*b));
    }
}

/// The indices of the true entries of `mask`, below `len`.
fn rows_of(mask: &[bool], len: usize) -> Vec<usize> {
    (0..len.min(mask.len())).filter(|&i| mask[i]).collect()
}

fn retain_column<T>(column: &mut Vec<T>, keep: impl Fn(usize) -> bool) {
    let mut i = 0;
    column.retain(|_| {
        i += 1;
        keep(i - 1)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> Detections {
        let mut d = Detections::default();
        d.push_labelled([0.0, 0.0, 10.0, 10.0], 0.9, 0, "person".into());
        d.push_labelled([5.0, 5.0, 6.0, 9.0], 0.5, 2, "car".into());
        d.push_labelled([1.0, 1.0, 0.0, 0.0], 0.2, 0, "person".into());
        d
    }

    #[test]
    fn selecting_takes_every_column_along() {
        let d = three();
        let s = d.select(&[2, 0]);
        assert_eq!(s.scores, [0.2, 0.9]);
        assert_eq!(s.class_ids, [0, 0]);
        assert_eq!(s.boxes[1], [0.0, 0.0, 10.0, 10.0]);
        assert_eq!(s.label(0), Some("person"));
        let f = d.filter(&[false, true]);
        assert_eq!((f.len(), f.label(0)), (1, Some("car")));
        let mut r = d.clone();
        r.retain(&[true, false, true]);
        assert_eq!(r, d.select(&[0, 2]));
    }

    #[test]
    fn above_of_classes_and_top_are_masks_and_prefixes() {
        let d = three();
        assert_eq!(d.above(0.5).scores, [0.9], "strictly above");
        assert_eq!(d.of_classes(&[false, false, true]).class_ids, [2]);
        assert!(
            d.of_classes(&[]).is_empty(),
            "ids past the table are not allowed"
        );
        assert_eq!(d.clone().top(2), d.select(&[0, 1]));
        assert_eq!(d.clone().top(10), d);
    }

    #[test]
    fn areas_of_inverted_boxes_are_zero() {
        let d = three();
        assert_eq!(d.area(0), 100.0);
        assert_eq!(d.area(1), 4.0);
        assert_eq!(d.area(2), 0.0);
    }

    #[test]
    fn unlabelled_rows_have_no_label_and_map_their_boxes() {
        let mut d = Detections::with_capacity(1);
        d.push([1.0, 2.0, 3.0, 4.0], 0.5, 7);
        d.map_boxes(|b| b.map(|v| v * 2.0));
        assert_eq!((d.label(0), d.boxes[0]), (None, [2.0, 4.0, 6.0, 8.0]));
        d.clear();
        assert!(d.is_empty());
    }
}
