//! `merge`: joins the outputs of `--shard` runs into the output one run would have written,
//! and shard caches into one cache.
//!
//! Records carry nothing of their order, so the order is rebuilt. A run over one folder
//! writes its records in the walk's order: file names sorted (byte-wise) within each
//! folder, folders depth-first. That is the order of the record paths compared component
//! by component ([`walk_order`]: `a/b.jpg` comes before `a.jpg`, as the walk goes into
//! folder `a` before it reaches file `a.jpg`, although a plain string comparison says the
//! opposite). Each shard's output is in that order too, being a part of the same walk, so
//! the shards are merged as sorted streams: memory stays at one record per shard whatever
//! the number of records, and a shard out of order is an error rather than a wrong output.
//! Where the order cannot be rebuilt from the paths (a list on stdin, several inputs), or
//! to be independent of how the walk sorts, `--root DIR` walks the folder again and
//! writes the records in the order it finds the files: it indexes where each path's
//! record is first (in memory), so the shards may be in any order.
//!
//! Lines are copied byte for byte, never re-serialised, so the merged output of N shards
//! is identical to a single run's. A path in two shards is written once when its records
//! are identical (the same shard given twice, say) and is an error when they differ.
//! Records of different models (their `model` field) are an error too: one run has one.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use rusqlite::Connection;

use crate::cache::Cache;
use crate::scan::{Input, scan};

/// The order in which the walk of one folder meets two record paths.
pub fn walk_order(a: &str, b: &str) -> Ordering {
    // `Path`'s order compares component by component, each by its bytes: the order
    // of a depth-first walk that sorts each folder's entries by file name.
    Path::new(a).cmp(Path::new(b))
}

/// What a merge of results did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MergeSummary {
    pub records: u64,
    /// Identical records met in more than one shard, written once.
    pub duplicates: u64,
}

/// One shard's records, read a line at a time.
struct Stream {
    name: String,
    reader: BufReader<File>,
    line_no: u64,
    /// Bytes read so far: where the next line starts.
    offset: u64,
}

/// A record: its path and model, the line as it was (with its newline), where it came from.
struct Head {
    path: String,
    model: Option<String>,
    line: Vec<u8>,
    line_no: u64,
    /// Where the line starts in its file.
    offset: u64,
}

/// What merge reads of a record; the rest of the line is copied as it is.
#[derive(serde::Deserialize)]
struct PathOnly {
    path: String,
    #[serde(default)]
    model: Option<String>,
}

impl Stream {
    fn open(path: &Path) -> Result<Stream> {
        let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(Stream {
            name: path.display().to_string(),
            reader: BufReader::with_capacity(1 << 16, file),
            line_no: 0,
            offset: 0,
        })
    }

    fn next(&mut self) -> Result<Option<Head>> {
        loop {
            let mut line = Vec::new();
            let n = self
                .reader
                .read_until(b'\n', &mut line)
                .with_context(|| format!("cannot read {}", self.name))?;
            if n == 0 {
                return Ok(None);
            }
            let offset = self.offset;
            self.offset += n as u64;
            self.line_no += 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if line.last() != Some(&b'\n') {
                line.push(b'\n');
            }
            let record: PathOnly = serde_json::from_slice(&line).map_err(|e| {
                anyhow!(
                    "{}:{}: not a result record (a JSON object with a \"path\"): {e}",
                    self.name,
                    self.line_no
                )
            })?;
            return Ok(Some(Head {
                path: record.path,
                model: record.model,
                line,
                line_no: self.line_no,
                offset,
            }));
        }
    }
}

/// Writes the records once each, checking duplicates and that one model made them all.
struct Writer<'w> {
    out: &'w mut dyn Write,
    last: Option<(String, Vec<u8>, String)>,
    /// The model of the first record written, and where that record is.
    model: Option<(String, String)>,
    summary: MergeSummary,
}

impl<'w> Writer<'w> {
    fn new(out: &'w mut dyn Write) -> Self {
        Writer {
            out,
            last: None,
            model: None,
            summary: MergeSummary::default(),
        }
    }

    fn put(&mut self, head: Head, from: &str) -> Result<()> {
        if let Some(model) = &head.model {
            match &self.model {
                None => self.model = Some((model.clone(), format!("{from}:{}", head.line_no))),
                Some((first, at)) if first != model => bail!(
                    "{at} has model {first} but {from}:{} has model {model}; merge joins the \
                     shards of one run, and one run has one model",
                    head.line_no
                ),
                Some(_) => {}
            }
        }
        if let Some((path, line, first)) = &self.last
            && *path == head.path
        {
            if *line == head.line {
                self.summary.duplicates += 1;
                return Ok(());
            }
            bail!(
                "{} has different records in {first} and {from}:{}; were these shards of one run?",
                head.path,
                head.line_no
            );
        }
        self.out.write_all(&head.line)?;
        self.summary.records += 1;
        self.last = Some((head.path, head.line, format!("{from}:{}", head.line_no)));
        Ok(())
    }
}

/// Merges shard outputs in the walk's order ([`walk_order`]).
pub fn merge_results(shards: &[PathBuf], out: &mut dyn Write) -> Result<MergeSummary> {
    let mut streams: Vec<Stream> = shards
        .iter()
        .map(|p| Stream::open(p))
        .collect::<Result<_>>()?;
    // Smallest path first; equal paths by shard, so the first shard given wins.
    let mut heap = BinaryHeap::new();
    let mut heads: Vec<Option<Head>> = Vec::with_capacity(streams.len());
    for (i, s) in streams.iter_mut().enumerate() {
        let head = s.next()?;
        if let Some(h) = &head {
            heap.push(Reverse((PathBuf::from(&h.path), i)));
        }
        heads.push(head);
    }
    let mut writer = Writer::new(out);
    while let Some(Reverse((_, i))) = heap.pop() {
        let head = heads[i].take().expect("a queued stream has a head");
        let next = streams[i].next()?;
        if let Some(n) = &next {
            let order = walk_order(&n.path, &head.path);
            if order == Ordering::Equal {
                bail!(
                    "{}:{}: {} is there twice (also line {}); one shard has one record \
                     for each image",
                    streams[i].name,
                    n.line_no,
                    n.path,
                    head.line_no
                );
            }
            if order != Ordering::Greater {
                bail!(
                    "{}:{}: {} comes after {} but the walk of a folder meets it before; \
                     merge restores the order of a run over one folder: for other runs \
                     (several inputs, a list on stdin), give --root DIR, the folder their \
                     paths are relative to",
                    streams[i].name,
                    n.line_no,
                    n.path,
                    head.path
                );
            }
            heap.push(Reverse((PathBuf::from(&n.path), i)));
        }
        heads[i] = next;
        writer.put(head, &streams[i].name)?;
    }
    Ok(writer.summary)
}

/// Merges shard outputs in the order a walk of `root` meets their paths now, whatever
/// order each shard is in (runs over several inputs, a list on stdin). It first reads
/// every shard once for where each path's record is, keeping that index (the paths, and a
/// shard, offset and line each) in memory, then copies the records as the walk meets them.
pub fn merge_results_by_scan(
    shards: &[PathBuf],
    root: &Path,
    out: &mut dyn Write,
) -> Result<MergeSummary> {
    use std::io::{Seek, SeekFrom};
    let input = Input::parse(root).map_err(|e| anyhow!("--root {e}"))?;
    // path -> (shard, offset, line) of each record of it, in shard order.
    let mut index: HashMap<String, Vec<(usize, u64, u64)>> = HashMap::new();
    let mut names = Vec::with_capacity(shards.len());
    for (i, p) in shards.iter().enumerate() {
        let mut s = Stream::open(p)?;
        while let Some(h) = s.next()? {
            let Some(at) = index.get_mut(&h.path) else {
                index.insert(h.path, vec![(i, h.offset, h.line_no)]);
                continue;
            };
            if let Some(&(_, _, first)) = at.iter().find(|e| e.0 == i) {
                bail!(
                    "{}:{}: {} is there twice (also line {first}); one shard has one record \
                     for each image",
                    s.name,
                    h.line_no,
                    h.path
                );
            }
            at.push((i, h.offset, h.line_no));
        }
        names.push(s.name);
    }
    let mut files: Vec<BufReader<File>> = shards
        .iter()
        .map(|p| {
            File::open(p)
                .map(BufReader::new)
                .with_context(|| format!("cannot read {}", p.display()))
        })
        .collect::<Result<_>>()?;
    let mut writer = Writer::new(out);
    for found in scan(vec![input]) {
        if index.is_empty() {
            break;
        }
        let Ok(item) = found else { continue };
        let Some(at) = index.remove(&item.name) else {
            continue;
        };
        for (i, offset, line_no) in at {
            let f = &mut files[i];
            f.seek(SeekFrom::Start(offset))
                .with_context(|| format!("cannot read {}", names[i]))?;
            let mut line = Vec::new();
            f.read_until(b'\n', &mut line)
                .with_context(|| format!("cannot read {}", names[i]))?;
            if line.last() != Some(&b'\n') {
                line.push(b'\n');
            }
            let record: PathOnly = serde_json::from_slice(&line)
                .with_context(|| format!("{}:{line_no} changed during the merge", names[i]))?;
            let head = Head {
                path: record.path,
                model: record.model,
                line,
                line_no,
                offset,
            };
            writer.put(head, &names[i])?;
        }
    }
    // What the walk did not meet, the first shard's earliest line first.
    if let Some((path, (i, _, line_no))) = index
        .into_iter()
        .flat_map(|(p, at)| at.into_iter().map(move |e| (p.clone(), e)))
        .min_by_key(|(_, (i, _, line_no))| (*i, *line_no))
    {
        bail!(
            "{}:{line_no}: {path} is not in {} (any more): --root must be the folder the \
             records' paths are relative to",
            names[i],
            root.display()
        );
    }
    Ok(writer.summary)
}

/// What a merge of caches added.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CacheMergeSummary {
    /// Rows added per table, over all shards.
    pub added: Vec<(&'static str, u64)>,
}

/// The tables of the cache and the statement that copies each from the attached `shard`:
/// what the target already has stays. The counters are [`ADD_COUNTERS`]'s.
const COPY: &[(&str, &str)] = &[
    (
        "files",
        "INSERT OR IGNORE INTO main.files SELECT * FROM shard.files",
    ),
    (
        "images",
        "INSERT OR IGNORE INTO main.images SELECT * FROM shard.images",
    ),
    (
        "params",
        "INSERT OR IGNORE INTO main.params SELECT * FROM shard.params",
    ),
    (
        "results",
        "INSERT OR IGNORE INTO main.results SELECT * FROM shard.results",
    ),
    (
        "models",
        "INSERT OR IGNORE INTO main.models SELECT * FROM shard.models",
    ),
];

/// The counter values the target has taken from each shard (by its canonical path), so
/// that merging a shard again adds only what it counted since: re-merging is idempotent.
/// Not part of the cache's schema: only merge reads it, and a cache without it was never
/// merged into.
const TAKEN: &str = "CREATE TABLE IF NOT EXISTS main.merged_counters (
         shard TEXT NOT NULL,
         name TEXT NOT NULL,
         value INTEGER NOT NULL,
         PRIMARY KEY (shard, name)
     ) WITHOUT ROWID";

/// Adds to the target's hit and miss counters what shard `?1` counted since it was last
/// merged in (all of it the first time, or when its counter went down: a new cache at
/// that path), then remembers the shard's values.
const ADD_COUNTERS: [&str; 2] = [
    "INSERT INTO main.counters (name, value)
     SELECT name, delta FROM (
         SELECT s.name AS name,
                CASE WHEN t.value IS NULL OR s.value < t.value THEN s.value
                     ELSE s.value - t.value END AS delta
         FROM shard.counters s
         LEFT JOIN main.merged_counters t ON t.shard = ?1 AND t.name = s.name
     ) WHERE delta > 0
     ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
    "INSERT INTO main.merged_counters (shard, name, value)
     SELECT ?1, name, value FROM shard.counters WHERE true
     ON CONFLICT (shard, name) DO UPDATE SET value = excluded.value",
];

/// Merges the result caches `shards` into the cache at `target` (created when missing),
/// each shard in one transaction.
pub fn merge_caches(target: &Path, shards: &[PathBuf]) -> Result<CacheMergeSummary> {
    // A shard that is not there stops the merge before the target is made.
    for shard in shards {
        std::fs::metadata(shard).with_context(|| format!("cannot read {}", shard.display()))?;
    }
    // Opening it creates it or brings its schema up to this anylabel's.
    drop(Cache::open(target)?);
    let conn = Connection::open(target)
        .with_context(|| format!("cannot open the cache {}", target.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(120))?;
    let version = |conn: &Connection, db: &str| -> Result<i64> {
        Ok(conn.pragma_query_value(Some(db), "user_version", |r| r.get(0))?)
    };
    let ours = version(&conn, "main")?;
    let target_id = std::fs::canonicalize(target)?;
    conn.execute_batch(TAKEN)?;
    let mut added: Vec<(&'static str, u64)> = COPY
        .iter()
        .map(|(t, _)| (*t, 0))
        .chain([("counters", 0)])
        .collect();
    for shard in shards {
        let name = shard.display();
        let meta = std::fs::metadata(shard).with_context(|| format!("cannot read {name}"))?;
        if !meta.is_file() {
            bail!("{name} is not a cache file");
        }
        let shard_id = std::fs::canonicalize(shard)?;
        if shard_id == target_id {
            bail!("{name} is the cache merged into; give the shards' caches only");
        }
        let shard_id = shard_id.to_string_lossy().into_owned();
        let theirs = {
            let c = Connection::open_with_flags(shard, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .with_context(|| format!("cannot open {name}"))?;
            version(&c, "main").with_context(|| format!("{name} is not an SQLite file"))?
        };
        if theirs == 0 {
            bail!("{name} is not an anylabel cache (it has no schema version)");
        }
        if theirs > ours {
            bail!(
                "{name} was written by a newer anylabel (schema {theirs}, this one knows {ours}); \
                 merge with that anylabel"
            );
        }
        if theirs < ours {
            // An older cache: bring it up to date the way any run would open it.
            drop(Cache::open(shard).with_context(|| format!("cannot upgrade {name}"))?);
        }
        let shard_str = shard
            .to_str()
            .ok_or_else(|| anyhow!("{name}: the path is not UTF-8"))?;
        conn.execute("ATTACH DATABASE ?1 AS shard", [shard_str])
            .with_context(|| format!("cannot open {name}"))?;
        let copied = (|| -> Result<Vec<u64>> {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            let copy = || -> rusqlite::Result<Vec<u64>> {
                let mut counts = Vec::new();
                for (_, sql) in COPY {
                    counts.push(conn.execute(sql, [])? as u64);
                }
                counts.push(conn.execute(ADD_COUNTERS[0], [&shard_id])? as u64);
                conn.execute(ADD_COUNTERS[1], [&shard_id])?;
                Ok(counts)
            };
            let counts = match copy() {
                Ok(c) => c,
                Err(e) => {
                    let _ = conn.execute_batch("ROLLBACK");
                    return Err(e.into());
                }
            };
            conn.execute_batch("COMMIT")?;
            Ok(counts)
        })();
        conn.execute("DETACH DATABASE shard", [])?;
        let counts = copied.with_context(|| format!("cannot merge {name}"))?;
        for ((_, total), n) in added.iter_mut().zip(counts) {
            *total += n;
        }
    }
    Ok(CacheMergeSummary { added })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(mut v: Vec<&str>) -> Vec<&str> {
        v.sort_by(|a, b| walk_order(a, b));
        v
    }

    #[test]
    fn the_order_is_the_walks_not_the_strings() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "a.jpg",
            "a/b.jpg",
            "a-b.jpg",
            "a0.jpg",
            "B.jpg",
            "b.jpg",
            "a/c/d.jpg",
            "a/c.jpg",
            "é.jpg",
            "z/a.jpg",
            "z.jpg",
            "a b.jpg",
            "_x.jpg",
        ];
        for f in names {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        let walked: Vec<String> = scan(vec![Input::Dir(dir.path().to_path_buf())])
            .map(|r| r.unwrap().name)
            .collect();
        assert_eq!(walked.len(), names.len());
        assert_eq!(sorted(names.to_vec()), walked);
        assert_eq!(walk_order("a/b.jpg", "a.jpg"), Ordering::Less);
    }

    fn write(dir: &Path, name: &str, lines: &[&str]) -> PathBuf {
        let p = dir.join(name);
        let mut text = lines.join("\n");
        text.push('\n');
        std::fs::write(&p, text).unwrap();
        p
    }

    fn rec(path: &str, w: u32) -> String {
        format!(r#"{{"path":"{path}","width":{w},"detections":[],"error":null}}"#)
    }

    #[test]
    fn merges_sorted_shards_and_checks_duplicates_and_order() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a", &[&rec("a/x.jpg", 1), &rec("b.jpg", 2)]);
        let b = write(dir.path(), "b", &[&rec("a.jpg", 3), &rec("c.jpg", 4)]);
        let mut out = Vec::new();
        let s = merge_results(&[a.clone(), b.clone()], &mut out).unwrap();
        let expected = [
            rec("a/x.jpg", 1),
            rec("a.jpg", 3),
            rec("b.jpg", 2),
            rec("c.jpg", 4),
        ];
        assert_eq!(String::from_utf8(out).unwrap(), expected.join("\n") + "\n");
        assert_eq!(
            s,
            MergeSummary {
                records: 4,
                duplicates: 0
            }
        );

        // The same shard twice: written once.
        let mut out = Vec::new();
        let s = merge_results(&[a.clone(), b.clone(), a.clone()], &mut out).unwrap();
        assert_eq!(
            s,
            MergeSummary {
                records: 4,
                duplicates: 2
            }
        );

        // The same path with another record: an error naming both.
        let c = write(dir.path(), "c", &[&rec("b.jpg", 99)]);
        let err = merge_results(&[a.clone(), c], &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("b.jpg has different records"), "{err}");

        // A shard out of the walk's order.
        let d = write(dir.path(), "d", &[&rec("a.jpg", 1), &rec("a/x.jpg", 1)]);
        let err = merge_results(&[d], &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("--root"), "{err}");

        let e = write(dir.path(), "e", &["not json"]);
        assert!(merge_results(&[e], &mut Vec::new()).is_err());
    }

    #[test]
    fn merges_by_a_new_walk_of_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        for f in ["a.jpg", "a/x.jpg", "b.jpg", "c.jpg", "new.jpg"] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        let a = write(dir.path(), "a", &[&rec("a/x.jpg", 1), &rec("b.jpg", 2)]);
        let b = write(dir.path(), "b", &[&rec("a.jpg", 3), &rec("c.jpg", 4)]);
        let mut out = Vec::new();
        merge_results_by_scan(&[a.clone(), b.clone()], &root, &mut out).unwrap();
        let expected = [
            rec("a/x.jpg", 1),
            rec("a.jpg", 3),
            rec("b.jpg", 2),
            rec("c.jpg", 4),
        ];
        assert_eq!(String::from_utf8(out).unwrap(), expected.join("\n") + "\n");

        std::fs::remove_file(root.join("c.jpg")).unwrap();
        let err = merge_results_by_scan(&[a, b], &root, &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("c.jpg is not in"), "{err}");

        // Shards in no walk's order (runs over several inputs, a shuffled list on stdin):
        // --root still gives the walk's order, and duplicates across shards once.
        let a = write(dir.path(), "a2", &[&rec("b.jpg", 2), &rec("a/x.jpg", 1)]);
        let b = write(
            dir.path(),
            "b2",
            &[&rec("new.jpg", 5), &rec("a.jpg", 3), &rec("b.jpg", 2)],
        );
        let mut out = Vec::new();
        let s = merge_results_by_scan(&[a.clone(), b], &root, &mut out).unwrap();
        let expected = [
            rec("a/x.jpg", 1),
            rec("a.jpg", 3),
            rec("b.jpg", 2),
            rec("new.jpg", 5),
        ];
        assert_eq!(String::from_utf8(out).unwrap(), expected.join("\n") + "\n");
        assert_eq!((s.records, s.duplicates), (4, 1));
        // A path twice in one shard is still an error.
        let twice = write(
            dir.path(),
            "t",
            &[&rec("a.jpg", 3), &rec("b.jpg", 2), &rec("a.jpg", 3)],
        );
        let err = merge_results_by_scan(&[twice], &root, &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(":3: a.jpg is there twice (also line 1)"),
            "{err}"
        );
    }

    fn rec_by(path: &str, model: &str) -> String {
        format!(r#"{{"path":"{path}","model":"{model}","detections":[],"error":null}}"#)
    }

    #[test]
    fn shards_of_different_models_are_refused_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        for f in ["a.jpg", "b.jpg", "c.jpg"] {
            std::fs::create_dir_all(&root).unwrap();
            std::fs::write(root.join(f), b"x").unwrap();
        }
        let n = "nudenet-320n@sha256:c15d8273adad2d0a";
        let d = "yolov8n-doclaynet@sha256:7259a1b2c3d4e5f6";
        let a = write(dir.path(), "a", &[&rec_by("a.jpg", n), &rec_by("c.jpg", n)]);
        let b = write(dir.path(), "b", &[&rec_by("b.jpg", d)]);
        let same = write(dir.path(), "same", &[&rec_by("b.jpg", n)]);
        let named = |err: String| {
            let a = a.display().to_string();
            let b = b.display().to_string();
            assert!(
                err.contains(&format!("{a}:1 has model {n}"))
                    && err.contains(&format!("{b}:1 has model {d}")),
                "{err}"
            );
        };
        named(
            merge_results(&[a.clone(), b.clone()], &mut Vec::new())
                .unwrap_err()
                .to_string(),
        );
        named(
            merge_results_by_scan(&[a.clone(), b.clone()], &root, &mut Vec::new())
                .unwrap_err()
                .to_string(),
        );
        // One model (records of `import` all carry `import:yolo`, say): merged.
        let mut out = Vec::new();
        merge_results(&[a, same], &mut out).unwrap();
        assert_eq!(out.iter().filter(|&&c| c == b'\n').count(), 3);
    }

    #[test]
    fn merging_a_cache_again_adds_only_what_it_counted_since() {
        let dir = tempfile::tempdir().unwrap();
        let shard = dir.path().join("shard.db");
        let target = dir.path().join("target.db");
        drop(Cache::open(&shard).unwrap());
        let set = |hits: i64, misses: i64| {
            Connection::open(&shard)
                .unwrap()
                .execute(
                    "INSERT INTO counters (name, value) VALUES ('hits', ?1), ('misses', ?2)
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    [hits, misses],
                )
                .unwrap();
        };
        let counters = || -> Vec<(String, i64)> {
            let c = Connection::open(&target).unwrap();
            let mut q = c
                .prepare("SELECT name, value FROM counters ORDER BY name")
                .unwrap();
            q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        let want = |h: i64, m: i64| vec![("hits".to_string(), h), ("misses".to_string(), m)];
        set(1, 4);
        let s = merge_caches(&target, &[shard.clone(), shard.clone()]).unwrap();
        assert!(s.added.contains(&("counters", 2)), "{s:?}");
        assert_eq!(counters(), want(1, 4));
        for _ in 0..2 {
            let s = merge_caches(&target, std::slice::from_ref(&shard)).unwrap();
            assert!(s.added.contains(&("counters", 0)), "{s:?}");
            assert_eq!(counters(), want(1, 4));
        }
        // The shard ran again: what it counted since is added.
        set(3, 10);
        merge_caches(&target, std::slice::from_ref(&shard)).unwrap();
        assert_eq!(counters(), want(3, 10));
    }
}
