//! The rule tree `filter` evaluates: AND, OR and NOT over one kind of leaf, a count.
//!
//! Every leaf says "the number of this image's detections that pass a detection-level
//! selection (classes, confidence, box area) lies in a range". The shorthands of the rule
//! language and the command-line flags are all written in terms of it:
//! `{"class": {"any": ["person"]}}` is "at least 1 person", `{"class": {"none": ["car"]}}`
//! is "not (at least 1 car)", `--class person --min-count 2 --min-conf 0.5` is "at least 2
//! detections that are persons with a score of at least 0.5". One leaf type keeps the
//! meaning of a mixed rule obvious, and makes `--keep matching` easy to define: the
//! detections a true leaf selected.

use crate::detections::Detections;
use crate::record::Record;

/// A class as a rule names it: by name (matched against a detection's `label`) or by id
/// (matched against its `class_id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Class {
    Name(String),
    Id(u32),
}

impl Class {
    /// A string of digits is an id, anything else a name (the same on the command line
    /// and in rule files).
    pub fn parse(s: &str) -> Class {
        match s.parse::<u32>() {
            Ok(id) if !s.starts_with('+') => Class::Id(id),
            _ => Class::Name(s.to_string()),
        }
    }

    /// Whether row `i` of `d` is of this class (a name needs labelled detections).
    fn matches(&self, d: &Detections, i: usize) -> bool {
        match self {
            Class::Name(n) => d.label(i) == Some(n.as_str()),
            Class::Id(id) => d.class_ids[i] == *id,
        }
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Class::Name(n) => write!(f, "'{n}'"),
            Class::Id(i) => write!(f, "id {i}"),
        }
    }
}

/// Where a class reference was written, so that an unknown class is reported there.
#[derive(Debug, Clone)]
pub enum Origin {
    /// `file:line:column` in a rule file.
    File {
        file: String,
        line: usize,
        col: usize,
    },
    /// A command-line flag, such as `--class`.
    Flag(&'static str),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::File { file, line, col } => write!(f, "{file}:{line}:{col}"),
            Origin::Flag(flag) => write!(f, "{flag}"),
        }
    }
}

/// A class and where it was named. Two references are equal when they name the same class.
#[derive(Debug, Clone)]
pub struct ClassRef {
    pub class: Class,
    pub at: Origin,
}

impl PartialEq for ClassRef {
    fn eq(&self, other: &ClassRef) -> bool {
        self.class == other.class
    }
}

/// A box-area bound: a fraction of the image's area, or pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Area {
    Fraction(f64),
    Pixels(f64),
}

impl Area {
    /// `0.1` (a fraction of the image, 0 to 1), `10%`, or `5000px`.
    pub fn parse(s: &str) -> Result<Area, String> {
        let s = s.trim();
        let num = |t: &str| -> Result<f64, String> {
            let v: f64 = t
                .trim()
                .parse()
                .map_err(|_| format!("'{s}' is not an area: give a fraction of the image (0.1), a percentage (10%) or pixels (5000px)"))?;
            if !v.is_finite() || v < 0.0 {
                return Err(format!("area '{s}' is negative"));
            }
            Ok(v)
        };
        let area = if let Some(px) = s.strip_suffix("px") {
            Area::Pixels(num(px)?)
        } else if let Some(pc) = s.strip_suffix('%') {
            Area::Fraction(num(pc)? / 100.0)
        } else {
            Area::Fraction(num(s)?)
        };
        if let Area::Fraction(f) = area
            && f > 1.0
        {
            return Err(format!(
                "area '{s}' is a fraction of the image above 1; for pixels write {s}px"
            ));
        }
        Ok(area)
    }

    /// This bound in pixels, for an image of `image_area` pixels.
    fn pixels(self, image_area: f64) -> f64 {
        match self {
            Area::Fraction(f) => f * image_area,
            Area::Pixels(p) => p,
        }
    }

    fn to_json(self) -> serde_json::Value {
        match self {
            Area::Fraction(f) => serde_json::json!(f),
            Area::Pixels(p) => serde_json::json!(format!("{p}px")),
        }
    }
}

/// The detection-level conditions: a detection is selected when it passes all of them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Select {
    /// Any of these classes; `None`: any class.
    pub classes: Option<Vec<ClassRef>>,
    /// Score bounds, both inclusive.
    pub min_conf: Option<f32>,
    pub max_conf: Option<f32>,
    /// Box-area bounds, both inclusive.
    pub min_area: Option<Area>,
    pub max_area: Option<Area>,
}

impl Select {
    /// Whether row `i` of `d` passes everything but the class condition.
    fn passes_conditions(&self, d: &Detections, i: usize, image_area: f64) -> bool {
        let score = d.scores[i];
        if self.min_conf.is_some_and(|m| score < m) || self.max_conf.is_some_and(|m| score > m) {
            return false;
        }
        if self.min_area.is_some() || self.max_area.is_some() {
            let a = d.area(i);
            if self.min_area.is_some_and(|m| a < m.pixels(image_area))
                || self.max_area.is_some_and(|m| a > m.pixels(image_area))
            {
                return false;
            }
        }
        true
    }

    /// Whether row `i` of `d` is selected, in an image of `image_area` pixels.
    pub fn matches(&self, d: &Detections, i: usize, image_area: f64) -> bool {
        self.classes
            .as_ref()
            .is_none_or(|cs| cs.iter().any(|c| c.class.matches(d, i)))
            && self.passes_conditions(d, i, image_area)
    }
}

/// The leaf: the number of selected detections lies in `at_least..=at_most`; with
/// `per_class`, the number of each listed class does.
#[derive(Debug, Clone, PartialEq)]
pub struct Count {
    pub select: Select,
    pub per_class: bool,
    pub at_least: u32,
    pub at_most: Option<u32>,
}

impl Count {
    fn in_range(&self, n: usize) -> bool {
        n >= self.at_least as usize && self.at_most.is_none_or(|m| n <= m as usize)
    }

    fn eval(&self, d: &Detections, image_area: f64, mask: Option<&mut [bool]>) -> bool {
        let s = &self.select;
        let ok = match (&s.classes, self.per_class) {
            (Some(classes), true) => classes.iter().all(|c| {
                let n = (0..d.len())
                    .filter(|&i| c.class.matches(d, i) && s.passes_conditions(d, i, image_area))
                    .count();
                self.in_range(n)
            }),
            _ => self.in_range(
                (0..d.len())
                    .filter(|&i| s.matches(d, i, image_area))
                    .count(),
            ),
        };
        if ok && let Some(mask) = mask {
            for (i, m) in mask.iter_mut().enumerate().take(d.len()) {
                *m |= s.matches(d, i, image_area);
            }
        }
        ok
    }
}

/// A rule: whether an image matches.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// All of them (an empty list is true).
    And(Vec<Rule>),
    /// Any of them (an empty list is false).
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Count(Count),
}

impl Rule {
    /// Whether the record matches (its detections, in an image of its size).
    pub fn eval(&self, r: &Record) -> bool {
        self.matches(&r.to_detections(), image_area(r))
    }

    /// Whether an image of `image_area` pixels with detections `d` matches.
    pub fn matches(&self, d: &Detections, image_area: f64) -> bool {
        match self {
            Rule::And(rs) => rs.iter().all(|x| x.matches(d, image_area)),
            Rule::Or(rs) => rs.iter().any(|x| x.matches(d, image_area)),
            Rule::Not(x) => !x.matches(d, image_area),
            Rule::Count(c) => c.eval(d, image_area, None),
        }
    }

    /// Whether the image matches, marking in `mask` (one entry a row of `d`) the detections
    /// that made it match: a true leaf marks the detections it selected; a true AND marks
    /// what all its children marked, a true OR what its true children marked; NOT marks
    /// nothing (it matches by what is absent). A false rule marks nothing.
    pub fn matches_keep(&self, d: &Detections, image_area: f64, mask: &mut [bool]) -> bool {
        match self {
            Rule::Count(c) => c.eval(d, image_area, Some(mask)),
            Rule::Not(x) => !x.matches(d, image_area),
            Rule::And(rs) => {
                let mut local = vec![false; mask.len()];
                if !rs.iter().all(|x| x.matches_keep(d, image_area, &mut local)) {
                    return false;
                }
                mask.iter_mut().zip(local).for_each(|(m, l)| *m |= l);
                true
            }
            Rule::Or(rs) => {
                let mut any = false;
                for x in rs {
                    let mut local = vec![false; mask.len()];
                    if x.matches_keep(d, image_area, &mut local) {
                        any = true;
                        mask.iter_mut().zip(local).for_each(|(m, l)| *m |= l);
                    }
                }
                any
            }
        }
    }

    /// Every class the rule names, with where it names it.
    pub fn classes(&self) -> Vec<&ClassRef> {
        let mut out = Vec::new();
        self.collect_classes(&mut out);
        out
    }

    fn collect_classes<'a>(&'a self, out: &mut Vec<&'a ClassRef>) {
        match self {
            Rule::And(rs) | Rule::Or(rs) => rs.iter().for_each(|x| x.collect_classes(out)),
            Rule::Not(x) => x.collect_classes(out),
            Rule::Count(c) => out.extend(c.select.classes.iter().flatten()),
        }
    }

    /// The rule in the JSON rule language (its canonical form: every leaf a `count`).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{Map, Value, json};
        match self {
            Rule::And(rs) => json!({"and": rs.iter().map(Rule::to_json).collect::<Vec<_>>()}),
            Rule::Or(rs) => json!({"or": rs.iter().map(Rule::to_json).collect::<Vec<_>>()}),
            Rule::Not(x) => json!({"not": x.to_json()}),
            Rule::Count(c) => {
                let mut m = Map::new();
                let s = &c.select;
                if let Some(cs) = &s.classes {
                    let list: Vec<Value> = cs
                        .iter()
                        .map(|c| match &c.class {
                            Class::Name(n) => json!(n),
                            Class::Id(i) => json!(i),
                        })
                        .collect();
                    m.insert("class".into(), Value::Array(list));
                }
                if c.per_class {
                    m.insert("per_class".into(), json!(true));
                }
                let mut conf = Map::new();
                if let Some(v) = s.min_conf {
                    conf.insert("min".into(), json!(round_f32(v)));
                }
                if let Some(v) = s.max_conf {
                    conf.insert("max".into(), json!(round_f32(v)));
                }
                if !conf.is_empty() {
                    m.insert("conf".into(), Value::Object(conf));
                }
                let mut area = Map::new();
                if let Some(v) = s.min_area {
                    area.insert("min".into(), v.to_json());
                }
                if let Some(v) = s.max_area {
                    area.insert("max".into(), v.to_json());
                }
                if !area.is_empty() {
                    m.insert("area".into(), Value::Object(area));
                }
                match c.at_most {
                    Some(n) if n == c.at_least => {
                        m.insert("exactly".into(), json!(n));
                    }
                    _ => {
                        m.insert("at_least".into(), json!(c.at_least));
                        if let Some(n) = c.at_most {
                            m.insert("at_most".into(), json!(n));
                        }
                    }
                }
                json!({ "count": m })
            }
        }
    }
}

/// The area of a record's image in pixels, which area rules take fractions of.
pub fn image_area(r: &Record) -> f64 {
    r.width as f64 * r.height as f64
}

/// An `f32` threshold as the decimal it was written as (0.3, not 0.30000001192092896).
fn round_f32(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(v as f64)
}

/// The command line's rule flags, before they become a [`Rule`].
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub class: Vec<String>,
    pub all_classes: Vec<String>,
    pub no_class: Vec<String>,
    pub min_conf: Option<f32>,
    pub max_conf: Option<f32>,
    pub min_count: Option<u32>,
    pub max_count: Option<u32>,
    pub count: Option<u32>,
    pub min_area: Option<Area>,
    pub max_area: Option<Area>,
}

impl Flags {
    /// The rule the flags describe, or `None` when none is given. Conditions on single
    /// detections (`--min-conf`, `--max-conf`, `--min-area`, `--max-area`) select
    /// detections; `--class` (any of) or `--all-classes` (each of) narrows the selection to
    /// classes; the count (`--min-count`, `--max-count`, `--count`; default: at least 1)
    /// applies to the selected detections, per class with `--all-classes`. `--no-class`
    /// adds "and no selected detection of these classes".
    pub fn to_rule(&self) -> Result<Option<Rule>, String> {
        if let (Some(lo), Some(hi)) = (self.min_conf, self.max_conf)
            && lo > hi
        {
            return Err(format!(
                "--min-conf {lo} is above --max-conf {hi}: no detection can match"
            ));
        }
        if let (Some(lo), Some(hi)) = (self.min_count, self.max_count)
            && lo > hi
        {
            return Err(format!(
                "--min-count {lo} is above --max-count {hi}: no image can match"
            ));
        }
        if let (Some(Area::Fraction(lo)), Some(Area::Fraction(hi)))
        | (Some(Area::Pixels(lo)), Some(Area::Pixels(hi))) = (self.min_area, self.max_area)
            && lo > hi
        {
            return Err("--min-area is above --max-area: no detection can match".into());
        }
        let refs = |names: &[String], flag: &'static str| -> Vec<ClassRef> {
            names
                .iter()
                .map(|n| n.trim())
                .filter(|n| !n.is_empty())
                .map(|n| ClassRef {
                    class: Class::parse(n),
                    at: Origin::Flag(flag),
                })
                .collect()
        };
        let conditions = Select {
            classes: None,
            min_conf: self.min_conf,
            max_conf: self.max_conf,
            min_area: self.min_area,
            max_area: self.max_area,
        };
        let (at_least, at_most) = match self.count {
            Some(n) => (n, Some(n)),
            // "at most N" alone counts from 0: --max-count 0 is "none".
            None => (
                self.min_count
                    .unwrap_or(if self.max_count.is_some() { 0 } else { 1 }),
                self.max_count,
            ),
        };
        let has_count =
            self.count.is_some() || self.min_count.is_some() || self.max_count.is_some();
        let mut all = Vec::new();
        let (classes, per_class) = if !self.all_classes.is_empty() {
            (Some(refs(&self.all_classes, "--all-classes")), true)
        } else if !self.class.is_empty() {
            (Some(refs(&self.class, "--class")), false)
        } else {
            (None, false)
        };
        if classes.is_some() || has_count || conditions != Select::default() {
            all.push(Rule::Count(Count {
                select: Select {
                    classes,
                    ..conditions.clone()
                },
                per_class,
                at_least,
                at_most,
            }));
        }
        if !self.no_class.is_empty() {
            all.push(Rule::Not(Box::new(Rule::Count(Count {
                select: Select {
                    classes: Some(refs(&self.no_class, "--no-class")),
                    ..conditions
                },
                per_class: false,
                at_least: 1,
                at_most: None,
            }))));
        }
        Ok(match all.len() {
            0 => None,
            1 => all.pop(),
            _ => Some(Rule::And(all)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::record::Detection;

    fn det(label: &str, id: u32, score: f32, bbox: [f32; 4]) -> Detection {
        Detection {
            class_id: id,
            label: label.into(),
            score,
            bbox,
        }
    }

    fn rec(dets: Vec<Detection>) -> Record {
        Record {
            path: "a.jpg".into(),
            width: 100,
            height: 100,
            model: "m".into(),
            detections: dets,
            error: None,
        }
    }

    #[test]
    fn flags_select_detections_then_count_them() {
        let r = rec(vec![
            det("person", 0, 0.9, [0.0, 0.0, 10.0, 10.0]),
            det("person", 0, 0.4, [0.0, 0.0, 10.0, 10.0]),
            det("car", 2, 0.8, [0.0, 0.0, 50.0, 50.0]),
        ]);
        let rule = |f: Flags| f.to_rule().unwrap().unwrap();
        let person = vec!["person".to_string()];
        // Two persons, but only one of them scores 0.5 or more.
        let two = Flags {
            class: person.clone(),
            min_count: Some(2),
            ..Flags::default()
        };
        assert!(rule(two.clone()).eval(&r));
        assert!(
            !rule(Flags {
                min_conf: Some(0.5),
                ..two
            })
            .eval(&r)
        );
        // Area: the car covers a quarter of the image, each person 1%.
        let small = |a: &str| Flags {
            max_area: Some(Area::parse(a).unwrap()),
            class: vec!["car".into()],
            ..Flags::default()
        };
        assert!(!rule(small("0.1")).eval(&r));
        assert!(rule(small("0.25")).eval(&r));
        assert!(rule(small("2500px")).eval(&r));
        // Ids match class_id.
        let by_id = Flags {
            class: vec!["2".into()],
            count: Some(1),
            ..Flags::default()
        };
        assert!(rule(by_id).eval(&r));
        let all = Flags {
            all_classes: vec!["person".into(), "car".into()],
            min_count: Some(2),
            ..Flags::default()
        };
        assert!(!rule(all).eval(&r), "only one car");
        let none = Flags {
            no_class: vec!["car".into()],
            min_conf: Some(0.85),
            ..Flags::default()
        };
        assert!(rule(none).eval(&r), "no car scores 0.85");
        assert_eq!(Flags::default().to_rule().unwrap(), None);
    }

    #[test]
    fn keep_marks_what_made_a_rule_true() {
        let r = rec(vec![
            det("person", 0, 0.9, [0.0; 4]),
            det("car", 2, 0.8, [0.0; 4]),
            det("dog", 3, 0.7, [0.0; 4]),
        ]);
        let count = |c: &str| {
            Rule::Count(Count {
                select: Select {
                    classes: Some(vec![ClassRef {
                        class: Class::parse(c),
                        at: Origin::Flag("--class"),
                    }]),
                    ..Select::default()
                },
                per_class: false,
                at_least: 1,
                at_most: None,
            })
        };
        let rule = Rule::Or(vec![
            count("person"),
            count("cat"),
            Rule::And(vec![count("car"), Rule::Not(Box::new(count("cat")))]),
            Rule::And(vec![count("dog"), count("cat")]),
        ]);
        let mut mask = vec![false; 3];
        assert!(rule.matches_keep(&r.to_detections(), image_area(&r), &mut mask));
        assert_eq!(mask, [true, true, false]);
    }

    #[test]
    fn areas_parse_as_fractions_percentages_or_pixels() {
        assert_eq!(Area::parse("0.1"), Ok(Area::Fraction(0.1)));
        assert_eq!(Area::parse("25%"), Ok(Area::Fraction(0.25)));
        assert_eq!(Area::parse("5000px"), Ok(Area::Pixels(5000.0)));
        assert!(Area::parse("1.5").unwrap_err().contains("above 1"));
        assert!(Area::parse("-1px").is_err());
        assert!(Area::parse("big").is_err());
    }

    #[test]
    fn impossible_flag_ranges_are_errors() {
        let f = Flags {
            min_count: Some(3),
            max_count: Some(2),
            ..Flags::default()
        };
        assert!(f.to_rule().unwrap_err().contains("--min-count 3"));
        let f = Flags {
            min_conf: Some(0.9),
            max_conf: Some(0.5),
            ..Flags::default()
        };
        assert!(f.to_rule().is_err());
    }
}
