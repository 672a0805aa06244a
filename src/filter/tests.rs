//! Properties of filtering as a whole: a rule and its NOT partition any input, the flags
//! mean what the equivalent JSON rule means, and threads do not change the output.

use proptest::prelude::*;

use super::parse::parse_rule;
use super::*;
use crate::record::Detection;

const LABELS: [&str; 4] = ["person", "car", "dog", "cat"];
const SCORES: [f32; 6] = [0.1, 0.25, 0.5, 0.7, 0.9, 1.0];

fn detection() -> impl Strategy<Value = Detection> {
    (
        0..4usize,
        0..6usize,
        0..100u32,
        0..100u32,
        1..60u32,
        1..60u32,
    )
        .prop_map(|(c, s, x, y, w, h)| Detection {
            class_id: c as u32,
            label: LABELS[c].to_string(),
            score: SCORES[s],
            bbox: [
                x as f32,
                y as f32,
                (x + w).min(100) as f32,
                (y + h).min(100) as f32,
            ],
        })
}

fn records() -> impl Strategy<Value = Vec<Record>> {
    prop::collection::vec(prop::collection::vec(detection(), 0..7), 1..40).prop_map(|mut all| {
        // The last image has one of each class, so that every name a rule uses is known.
        all.push(
            (0..4)
                .map(|c| Detection {
                    class_id: c,
                    label: LABELS[c as usize].to_string(),
                    score: 0.5,
                    bbox: [0.0, 0.0, 10.0, 10.0],
                })
                .collect(),
        );
        all.into_iter()
            .enumerate()
            .map(|(i, detections)| Record {
                path: format!("img_{i}.jpg"),
                width: 100,
                height: 100,
                model: "m@sha256:00".into(),
                detections,
                error: None,
            })
            .collect()
    })
}

fn class_list() -> impl Strategy<Value = Vec<String>> {
    prop::sample::subsequence(vec!["person", "car", "dog", "cat", "0", "3"], 1..3)
        .prop_map(|v| v.into_iter().map(String::from).collect())
}

/// A JSON rule, as text, built from the language's own forms.
fn json_rule() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        (
            class_list(),
            prop::sample::select(vec!["any", "all", "none"])
        )
            .prop_map(|(c, k)| format!(r#"{{"class": {{"{k}": {}}}}}"#, names(&c))),
        (0..6usize).prop_map(|s| format!(r#"{{"conf": {{"min": {}}}}}"#, SCORES[s])),
        (1..50u32).prop_map(|a| format!(r#"{{"area": {{"max": "{}px"}}}}"#, a * 50)),
        (
            prop::option::of(class_list()),
            0..4u32,
            prop::option::of(0..3u32),
            any::<bool>(),
            0..6usize
        )
            .prop_map(|(c, lo, extra, per_class, s)| {
                let mut parts = vec![format!(r#""at_least": {lo}"#)];
                if let Some(e) = extra {
                    parts.push(format!(r#""at_most": {}"#, lo + e));
                }
                if let Some(c) = c {
                    parts.push(format!(r#""class": {}"#, names(&c)));
                    if per_class {
                        parts.push(r#""per_class": true"#.into());
                    }
                }
                parts.push(format!(r#""conf": {{"min": {}, "max": 1}}"#, SCORES[s]));
                format!(r#"{{"count": {{{}}}}}"#, parts.join(", "))
            }),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3)
                .prop_map(|v| format!(r#"{{"and": [{}]}}"#, v.join(", "))),
            prop::collection::vec(inner.clone(), 0..3)
                .prop_map(|v| format!(r#"{{"or": [{}]}}"#, v.join(", "))),
            inner.prop_map(|r| format!(r#"{{"not": {r}}}"#)),
        ]
    })
}

/// A class list in JSON: ids as numbers, names as strings.
fn names(c: &[String]) -> String {
    let items: Vec<String> = c
        .iter()
        .map(|n| match n.parse::<u32>() {
            Ok(id) => id.to_string(),
            Err(_) => format!("\"{n}\""),
        })
        .collect();
    format!("[{}]", items.join(", "))
}

fn jsonl(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        serde_json::to_writer(&mut out, r).unwrap();
        out.push(b'\n');
    }
    out
}

fn run(filter: &Filter, input: &[u8], jobs: usize) -> (Vec<u8>, Stats) {
    let mut out = Vec::new();
    let mut run = Run::new(filter, jobs, true, &mut out).unwrap();
    run.feed("r.jsonl", input).unwrap();
    let stats = run.finish().unwrap();
    (out, stats)
}

fn paths(out: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(out)
        .lines()
        .map(String::from)
        .collect()
}

fn filter(rule: Rule, print: Print) -> Filter {
    Filter {
        rule: Some(rule),
        keep: Keep::All,
        print,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn a_rule_and_its_not_partition_the_records(records in records(), text in json_rule()) {
        let rule = parse_rule(&text, "r.json").unwrap();
        let not = parse_rule(&format!(r#"{{"not": {text}}}"#), "r.json").unwrap();
        let input = jsonl(&records);
        let (yes, _) = run(&filter(rule.clone(), Print::Paths), &input, 1);
        let (no, _) = run(&filter(not, Print::Paths), &input, 1);
        let (yes, no) = (paths(&yes), paths(&no));
        // Disjoint, and together every record, each in input order.
        let mut merged: Vec<&String> = yes.iter().chain(&no).collect();
        merged.sort_by_key(|p| p[4..p.len() - 4].parse::<usize>().unwrap());
        let all: Vec<String> = records.iter().map(|r| r.path.clone()).collect();
        prop_assert_eq!(merged.into_iter().cloned().collect::<Vec<_>>(), all.clone());
        prop_assert!(yes.iter().all(|p| !no.contains(p)));
        let in_order = |v: &[String]| v.windows(2).all(|w| all.iter().position(|p| *p == w[0]) < all.iter().position(|p| *p == w[1]));
        prop_assert!(in_order(&yes) && in_order(&no));
        // Its canonical JSON (what --save-preset writes) is the same rule.
        prop_assert_eq!(parse_rule(&rule.to_json().to_string(), "p.json").unwrap(), rule);
    }

    #[test]
    fn flags_equal_the_equivalent_json_rule(
        records in records(),
        class in prop::option::of(class_list()),
        all_classes in any::<bool>(),
        no_class in prop::option::of(class_list()),
        conf in prop::option::of((0..6usize, 0..6usize)),
        count in prop::option::of((prop::option::of(0..3u32), prop::option::of(0..3u32), any::<bool>())),
        area in prop::option::of((0..50u32, 0..50u32)),
    ) {
        let mut f = Flags::default();
        let mut sel = Vec::new();
        if let Some((a, b)) = conf {
            let (lo, hi) = (SCORES[a.min(b)], SCORES[a.max(b)]);
            f.min_conf = Some(lo);
            f.max_conf = Some(hi);
            sel.push(format!(r#""conf": {{"min": {lo}, "max": {hi}}}"#));
        }
        if let Some((a, b)) = area {
            let (lo, hi) = (a.min(b) as f64 / 100.0, a.max(b) as f64 / 100.0);
            f.min_area = Some(Area::Fraction(lo));
            f.max_area = Some(Area::Fraction(hi));
            sel.push(format!(r#""area": {{"min": {lo}, "max": {hi}}}"#));
        }
        let mut range = Vec::new();
        match count {
            Some((_, Some(n), true)) => {
                f.count = Some(n);
                range.push(format!(r#""exactly": {n}"#));
            }
            Some((lo, hi, _)) => {
                let (lo, hi) = match (lo, hi) {
                    (Some(a), Some(b)) => (Some(a.min(b)), Some(a.max(b))),
                    other => other,
                };
                f.min_count = lo;
                f.max_count = hi;
                match (lo, hi) {
                    (Some(lo), _) => range.push(format!(r#""at_least": {lo}"#)),
                    (None, Some(_)) => range.push(r#""at_least": 0"#.into()),
                    (None, None) => {}
                }
                if let Some(hi) = hi {
                    range.push(format!(r#""at_most": {hi}"#));
                }
            }
            None => {}
        }
        let mut parts = Vec::new();
        let mut main = sel.clone();
        main.extend(range.iter().cloned());
        if let Some(c) = &class {
            main.push(format!(r#""class": {}"#, names(c)));
            if all_classes {
                f.all_classes = c.clone();
                main.push(r#""per_class": true"#.into());
            } else {
                f.class = c.clone();
            }
        }
        if class.is_some() || !main.is_empty() {
            parts.push(format!(r#"{{"count": {{{}}}}}"#, main.join(", ")));
        }
        if let Some(c) = &no_class {
            f.no_class = c.clone();
            let mut none = sel.clone();
            none.push(format!(r#""class": {}"#, names(c)));
            parts.push(format!(r#"{{"not": {{"count": {{{}}}}}}}"#, none.join(", ")));
        }
        let from_flags = f.to_rule().unwrap();
        let text = format!(r#"{{"and": [{}]}}"#, parts.join(", "));
        let from_json = parse_rule(&text, "r.json").unwrap();
        for r in &records {
            prop_assert_eq!(
                from_flags.as_ref().is_none_or(|x| x.eval(r)),
                from_json.eval(r),
                "{:?} vs {} on {:?}", f, text, r
            );
        }
    }

    #[test]
    fn threads_do_not_change_the_output(records in records(), text in json_rule(), matching in any::<bool>()) {
        let f = Filter {
            rule: Some(parse_rule(&text, "r.json").unwrap()),
            keep: if matching { Keep::Matching } else { Keep::All },
            print: Print::Records,
        };
        let input = jsonl(&records);
        prop_assert_eq!(run(&f, &input, 1), run(&f, &input, 2));
    }
}

#[test]
fn bad_lines_are_counted_and_the_rest_filtered() {
    let f = Filter {
        rule: None,
        keep: Keep::All,
        print: Print::Paths,
    };
    let input = b"{\"path\":\"a.jpg\",\"width\":1,\"height\":1,\"model\":\"m\",\"detections\":[],\"error\":null}\n\nnot json\r\n{\"path\":\"b.jpg\",\"width\":1,\"height\":1,\"model\":\"m\",\"detections\":[],\"error\":null}";
    let (out, stats) = run(&f, input, 2);
    assert_eq!(paths(&out), ["a.jpg", "b.jpg"]);
    // Images read: the records, not the lines that are not records.
    assert_eq!((stats.read, stats.matched, stats.bad_lines), (2, 2, 1));
}

/// An image that could not be labelled is not an image without detections: it matches no
/// rule, not even "none" or "no car"; with no rule it is written as it is.
#[test]
fn failed_images_match_no_rule() {
    let input = b"{\"path\":\"bad.jpg\",\"width\":0,\"height\":0,\"model\":\"m\",\"detections\":[],\"error\":\"truncated JPEG\"}\n{\"path\":\"empty.jpg\",\"width\":1,\"height\":1,\"model\":\"m\",\"detections\":[],\"error\":null}\n{\"path\":\"car.jpg\",\"width\":9,\"height\":9,\"model\":\"m\",\"detections\":[{\"class_id\":2,\"label\":\"car\",\"score\":0.9,\"bbox\":[0,0,1,1]}],\"error\":null}\n";
    for text in [
        r#"{"count": {"at_most": 0}}"#,
        r#"{"not": {"count": {"class": ["car"]}}}"#,
    ] {
        for keep in [Keep::All, Keep::Matching] {
            let f = Filter {
                keep,
                ..filter(parse_rule(text, "r.json").unwrap(), Print::Paths)
            };
            let (out, _) = run(&f, input, 1);
            assert_eq!(paths(&out), ["empty.jpg"], "{text}");
        }
    }
    let all = Filter {
        rule: None,
        keep: Keep::All,
        print: Print::Paths,
    };
    assert_eq!(
        paths(&run(&all, input, 1).0),
        ["bad.jpg", "empty.jpg", "car.jpg"]
    );
}

#[test]
fn a_class_no_record_has_is_an_error_and_nothing_is_written() {
    let records = vec![Record {
        path: "a.jpg".into(),
        width: 10,
        height: 10,
        model: "m".into(),
        detections: vec![Detection {
            class_id: 0,
            label: "person".into(),
            score: 0.9,
            bbox: [0.0, 0.0, 1.0, 1.0],
        }],
        error: None,
    }];
    let f = filter(
        parse_rule(
            "{\"class\":\n {\"any\": [\"person\", \"persn\"]}}",
            "p.json",
        )
        .unwrap(),
        Print::Paths,
    );
    let mut out = Vec::new();
    let mut r = Run::new(&f, 1, false, &mut out).unwrap();
    r.feed("r.jsonl", &jsonl(&records)[..]).unwrap();
    let err = r.finish().unwrap_err().to_string();
    assert!(
        err.starts_with("p.json:2:21: unknown class 'persn'") && err.contains("person"),
        "{err}"
    );
    assert!(out.is_empty());
    // A model's names are checked up front.
    let names = vec!["person".to_string(), "car".to_string()];
    let e = check_classes(f.rule.as_ref().unwrap(), &names).unwrap_err();
    assert!(
        e.to_string()
            .contains("the model's classes are: person, car")
    );
}
