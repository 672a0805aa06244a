use super::*;

fn stored(dets: &[(u32, f32)], truncated: bool, cap: usize) -> Stored {
    Stored {
        floor: FLOOR,
        cap,
        truncated,
        detections: rows(
            &dets
                .iter()
                .map(|&(c, s)| (c, s, [0.0, 0.0, 1.0, 1.0]))
                .collect::<Vec<_>>(),
        ),
    }
}

/// `(class id, score, box)` rows as detections.
fn rows(rows: &[(u32, f32, [f32; 4])]) -> Detections {
    let mut d = Detections::default();
    rows.iter().for_each(|&(c, s, b)| d.push(b, s, c));
    d
}

#[test]
fn answers_any_conf_above_the_floor() {
    let s = stored(&[(0, 0.9), (1, 0.5), (0, 0.3), (2, 0.02)], false, 300);
    let ask = |conf: f32, max_det: usize| Ask {
        conf,
        max_det,
        allowed: None,
    };
    let scores = |a: Option<Detections>| a.map(|d| d.scores);
    assert_eq!(
        scores(answer(&s, &ask(0.25, 300))),
        Some(vec![0.9, 0.5, 0.3])
    );
    assert_eq!(scores(answer(&s, &ask(0.5, 300))), Some(vec![0.9])); // strictly above
    assert_eq!(scores(answer(&s, &ask(0.01, 2))), Some(vec![0.9, 0.5]));
    assert_eq!(answer(&s, &ask(0.001, 300)), None); // below the floor
    let only0 = Ask {
        conf: 0.25,
        max_det: 300,
        allowed: Some(vec![true]),
    };
    assert_eq!(scores(answer(&s, &only0)), Some(vec![0.9, 0.3]));
}

#[test]
fn a_truncated_row_answers_only_what_it_holds() {
    // Stopped at 3 boxes, all above 0.25: a run asking for 5 might find more.
    let s = stored(&[(0, 0.9), (1, 0.5), (0, 0.3)], true, 3);
    let ask = |conf, max_det| Ask {
        conf,
        max_det,
        allowed: None,
    };
    assert_eq!(answer(&s, &ask(0.25, 5)), None);
    assert_eq!(answer(&s, &ask(0.25, 3)).unwrap().len(), 3);
    // Above 0.4 only two are left, and the cut came later: complete.
    assert_eq!(answer(&s, &ask(0.4, 5)).unwrap().len(), 2);
}

#[test]
fn stores_and_reads_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.db");
    let mut cache = Cache::open(&path).unwrap();
    let key = content_hash(b"params");
    cache.set_params(key, "abc", "test").unwrap();
    let content = content_hash(b"image bytes");
    let s = Stored {
        floor: FLOOR,
        cap: 300,
        truncated: false,
        detections: rows(&[(3, 0.123_456_79, [1.5, 2.25, 100.125, 50.0])]),
    };
    let stamp = FileStamp {
        path: b"/x/a.jpg".to_vec(),
        size: 10,
        mtime_ns: 5,
    };
    let batch = Batch {
        files: vec![(stamp.clone(), content)],
        images: vec![(
            content,
            ImageFacts {
                width: 640,
                height: 480,
                error: None,
            },
        )],
        results: vec![(content, s.clone())],
        hits: 0,
        misses: 1,
        ..Batch::default()
    };
    cache.write(&batch).unwrap();
    let r = Cache::reader(&path).unwrap();
    assert_eq!(r.content_of(&stamp).unwrap(), Some(content));
    let moved = FileStamp {
        mtime_ns: 6,
        ..stamp.clone()
    };
    assert_eq!(r.content_of(&moved).unwrap(), None);
    assert_eq!(r.result(&content, &key).unwrap(), Some(s.clone()));
    assert_eq!(r.image(&content).unwrap().unwrap().width, 640);
    // All of it in one read: the content, what decoding found, the result under the key.
    let k = r.known(&stamp, &key).unwrap();
    assert_eq!(k.content, Some(content));
    assert_eq!(
        k.facts.as_ref().map(|f| (f.width, f.height)),
        Some((640, 480))
    );
    assert_eq!(k.result.as_ref().map(|(s, _)| s), Some(&s));
    // Under another key: the content and the facts, no result.
    let k = r.known(&stamp, &content_hash(b"other key")).unwrap();
    assert_eq!(k.content, Some(content));
    assert!(k.facts.is_some() && k.result.is_none());
    // A changed file: nothing.
    let k = r.known(&moved, &key).unwrap();
    assert!(k.content.is_none() && k.facts.is_none() && k.result.is_none());
    assert!(cache.verify().unwrap().is_empty());
    let st = cache.stats().unwrap();
    assert_eq!((st.files, st.results, st.misses), (1, 1, 1));
    // Cleared by another process while this one runs: the next batch brings its
    // parameters back with it, and the cache stays sound.
    Cache::open(&path).unwrap().clear().unwrap();
    cache.write(&batch).unwrap();
    assert_eq!(cache.verify().unwrap(), Vec::<String>::new());
    assert_eq!(cache.stats().unwrap().per_params.len(), 1);
    // Reopening does not migrate again.
    drop(cache);
    assert!(Cache::open(&path).is_ok());
}

#[test]
fn a_schema_1_cache_keeps_its_results_and_its_utf8_paths() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.db");
    let content = content_hash(b"image bytes");
    {
        // A cache as schema 1 left it: paths as text, U+FFFD for bytes not UTF-8.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        for p in ["/x/a.jpg", "/x/caf\u{fffd}.jpg"] {
            conn.execute(
                "INSERT INTO files VALUES (?1, 10, 5, ?2)",
                params![p, &content[..]],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO results VALUES (?1, ?2, 0.01, 300, 0, x'', 0)",
            params![&content[..], &content[..]],
        )
        .unwrap();
    }
    let cache = Cache::open(&path).unwrap();
    let r = Cache::reader(&path).unwrap();
    let stamp = |p: &[u8]| FileStamp {
        path: p.to_vec(),
        size: 10,
        mtime_ns: 5,
    };
    assert_eq!(r.content_of(&stamp(b"/x/a.jpg")).unwrap(), Some(content));
    for lost in [&b"/x/caf\xe8.jpg"[..], "/x/caf\u{fffd}.jpg".as_bytes()] {
        assert_eq!(r.content_of(&stamp(lost)).unwrap(), None);
    }
    assert!(r.result(&content, &content).unwrap().is_some());
    let st = cache.stats().unwrap();
    assert_eq!((st.files, st.results), (1, 1));
}

#[test]
fn prune_evicts_the_least_recently_used_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.db");
    let mut cache = Cache::open(&path).unwrap();
    let key = content_hash(b"params");
    cache.set_params(key, "abc", "test").unwrap();
    let dets = rows(
        &(0..100)
            .map(|i| (i, 0.5, [0.0, 0.0, 1.0, 1.0]))
            .collect::<Vec<_>>(),
    );
    for i in 0..400u32 {
        let batch = Batch {
            results: vec![(
                content_hash(&i.to_le_bytes()),
                Stored {
                    floor: FLOOR,
                    cap: 300,
                    truncated: false,
                    detections: dets.clone(),
                },
            )],
            ..Batch::default()
        };
        cache.write(&batch).unwrap();
    }
    // Mark the first 10 as used just now, the rest as old.
    cache
        .conn
        .execute("UPDATE results SET used = 0", [])
        .unwrap();
    let recent = Batch {
        touched: (0..10u32).map(|i| content_hash(&i.to_le_bytes())).collect(),
        ..Batch::default()
    };
    cache.write(&recent).unwrap();
    let before = cache.used_bytes().unwrap();
    let deleted = cache.prune(before / 4).unwrap().results;
    assert!(deleted > 0 && cache.used_bytes().unwrap() <= before / 4);
    let r = Cache::reader(&path).unwrap();
    for i in 0..10u32 {
        assert!(
            r.result(&content_hash(&i.to_le_bytes()), &key)
                .unwrap()
                .is_some(),
            "recent {i} was evicted"
        );
    }
    assert!(cache.verify().unwrap().is_empty());
    cache.clear().unwrap();
    assert_eq!(cache.stats().unwrap().results, 0);
}

#[test]
fn clear_and_prune_shrink_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.db");
    let mut cache = Cache::open(&path).unwrap();
    cache
        .set_params(content_hash(b"params"), "abc", "test")
        .unwrap();
    let dets = rows(
        &(0..100)
            .map(|i| (i, 0.5, [0.0, 0.0, 1.0, 1.0]))
            .collect::<Vec<_>>(),
    );
    let fill = |cache: &mut Cache| {
        let results = (0..400u32)
            .map(|i| {
                let s = Stored {
                    floor: FLOOR,
                    cap: 300,
                    truncated: false,
                    detections: dets.clone(),
                };
                (content_hash(&i.to_le_bytes()), s)
            })
            .collect();
        cache
            .write(&Batch {
                results,
                ..Batch::default()
            })
            .unwrap();
        cache
            .conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
        cache.disk_bytes()
    };
    let full = fill(&mut cache);
    assert!(full > 900_000, "{full}");
    cache.clear().unwrap();
    assert!(
        cache.disk_bytes() < full / 10,
        "{full} -> {}",
        cache.disk_bytes()
    );
    let full = fill(&mut cache);
    cache.prune(full / 4).unwrap();
    assert!(
        cache.disk_bytes() <= full / 4,
        "{full} -> {}",
        cache.disk_bytes()
    );
}

/// One dataset reached through 60 paths (a workspace per CI job): the index is most of
/// the cache, and pruning drops the extra paths, not the results.
#[test]
fn prune_drops_extra_paths_before_results() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.db");
    let mut cache = Cache::open(&path).unwrap();
    let key = content_hash(b"params");
    cache.set_params(key, "abc", "test").unwrap();
    let contents: Vec<Content> = (0..50u32).map(|i| content_hash(&i.to_le_bytes())).collect();
    let stamp = |job: u32, i: usize| FileStamp {
        path: format!("/builds/ci/workspace-{job:03}/datasets/faces/train/images/{i:04}.jpg")
            .into_bytes(),
        size: 1000,
        mtime_ns: 5,
    };
    for job in 0..60 {
        let mut batch = Batch {
            files: contents
                .iter()
                .enumerate()
                .map(|(i, c)| (stamp(job, i), *c))
                .collect(),
            ..Batch::default()
        };
        if job == 0 {
            batch.results = contents
                .iter()
                .map(|c| {
                    let s = Stored {
                        floor: FLOOR,
                        cap: 300,
                        truncated: false,
                        detections: rows(&[(0, 0.5, [0.0, 0.0, 1.0, 1.0])]),
                    };
                    (*c, s)
                })
                .collect();
        }
        cache.write(&batch).unwrap();
    }
    let before = cache.used_bytes().unwrap();
    assert!(before > 500_000, "{before}");
    assert_eq!(cache.prune(before / 2).unwrap().results, 0);
    assert!(cache.used_bytes().unwrap() <= before / 2);
    let st = cache.stats().unwrap();
    assert_eq!(st.results, 50);
    assert!((50..3000).contains(&st.files), "{}", st.files);
    // The oldest paths went first; the newest path to each content stays.
    let r = Cache::reader(&path).unwrap();
    assert_eq!(r.content_of(&stamp(59, 7)).unwrap(), Some(contents[7]));
    assert_eq!(r.content_of(&stamp(0, 7)).unwrap(), None);
    assert!(cache.verify().unwrap().is_empty());
}

mod floor {
    use super::super::*;
    use crate::nms::{NmsParams, iou, nms};
    use proptest::prelude::*;

    fn run_nms(c: &Detections, keep_if: impl Fn(usize) -> bool, p: &NmsParams) -> Detections {
        let rows: Vec<usize> = (0..c.len()).filter(|&i| keep_if(i)).collect();
        let sub = c.select(&rows);
        let (mut order, mut keep) = (Vec::new(), Vec::new());
        nms(&sub, p, &mut order, &mut keep);
        sub.select(&keep)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        /// Storing NMS down to the floor and answering from it gives exactly what NMS at
        /// the run's own --conf, --max-det and --classes gives.
        #[test]
        fn answers_equal_a_fresh_run(
            boxes in prop::collection::vec((0f32..100.0, 0f32..100.0, 1f32..40.0, 1f32..40.0, 0u32..100, 0u32..4), 0..150),
            conf in 0.01f32..0.95,
            max_det in 1usize..40,
            iou_t in 0.2f32..0.8,
            agnostic in any::<bool>(),
            filter in prop::option::of(prop::collection::vec(any::<bool>(), 4)),
        ) {
            let mut c = Detections::default();
            for (x, y, w, h, s, class) in &boxes {
                // Scores on a coarse grid, so ties are common.
                c.push([*x, *y, x + w, y + h], *s as f32 / 100.0, *class);
            }
            let allowed = |i: usize| filter.as_ref().is_none_or(|f| f[c.class_ids[i] as usize]);
            let p = |max_det| NmsParams { iou: iou_t, max_det, agnostic, max_candidates: 30_000 };
            // A fresh run: the class filter and --conf before NMS, as Ultralytics does it.
            let fresh = run_nms(&c, |i| c.scores[i] > conf && allowed(i), &p(max_det));
            // The cached way: NMS down to the floor (the filter first only when agnostic).
            let detections = run_nms(&c, |i| c.scores[i] > FLOOR && (!agnostic || allowed(i)), &p(max_det.max(MIN_CAP)));
            let stored = Stored {
                floor: FLOOR,
                cap: max_det.max(MIN_CAP),
                truncated: detections.len() >= max_det.max(MIN_CAP),
                detections,
            };
            let ask = Ask {
                conf,
                max_det,
                allowed: if agnostic { None } else { filter.clone() },
            };
            prop_assert_eq!(answer(&stored, &ask), Some(fresh.clone()));
            // And the kept set is what greedy NMS promises.
            for i in 0..fresh.len() {
                for j in i + 1..fresh.len() {
                    if agnostic || fresh.class_ids[i] == fresh.class_ids[j] {
                        prop_assert!(iou(&fresh.boxes[i], &fresh.boxes[j]) <= iou_t);
                    }
                }
            }
        }
    }
}

#[test]
fn parses_sizes() {
    assert_eq!(parse_size("500MB"), Ok(500_000_000));
    assert_eq!(parse_size("2 GB"), Ok(2_000_000_000));
    assert_eq!(parse_size("1.5g"), Ok(1_500_000_000));
    assert_eq!(parse_size("1GiB"), Ok(1 << 30));
    assert_eq!(parse_size("4096"), Ok(4096));
    assert!(parse_size("lots").is_err());
    assert!(parse_size("5 parsecs").is_err());
}
