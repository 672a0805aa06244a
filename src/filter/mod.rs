//! `anylabel filter`: select result records by class, confidence, count and box area.
//!
//! A [`Rule`] (from flags, a rule file or a preset) says whether an image matches; a
//! [`Filter`] adds what to write for a matching one (the whole record, only the detections
//! that made it match, or its path). [`Run`] streams JSONL through it: it reads big
//! blocks, splits them into lines, and parses and tests the lines in parallel (rayon),
//! writing the results in input order. Parsing is most of the cost, and it is per line, so
//! it parallelises; a record kept whole is written back as the very line that was read.

pub mod parse;
pub mod preset;
pub mod rule;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::{Read, Write};

use anyhow::{Result, bail};

pub use rule::{Area, Class, ClassRef, Flags, Origin, Rule};

use crate::record::Record;

/// What a matching record keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The record as it is.
    All,
    /// Only the detections that made it match (see [`Rule::matches_keep`]).
    Matching,
}

/// What is written for a matching record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Print {
    Records,
    Paths,
    /// Nothing (`--stats` alone).
    Nothing,
}

/// A rule and what to do with the records it matches.
#[derive(Debug, Clone)]
pub struct Filter {
    /// `None` matches every record.
    pub rule: Option<Rule>,
    pub keep: Keep,
    pub print: Print,
}

impl Filter {
    /// The record as kept, when it matches.
    pub fn apply<'a>(&self, r: &'a Record) -> Option<Cow<'a, Record>> {
        let Some(rule) = &self.rule else {
            return Some(Cow::Borrowed(r));
        };
        // An image that failed has no detections because the model never saw it: it is
        // not an image without a car.
        if r.error.is_some() {
            return None;
        }
        let (detections, area) = (r.to_detections(), rule::image_area(r));
        match self.keep {
            Keep::All => rule.matches(&detections, area).then_some(Cow::Borrowed(r)),
            Keep::Matching => {
                let mut mask = vec![false; detections.len()];
                if !rule.matches_keep(&detections, area, &mut mask) {
                    return None;
                }
                let mut kept = r.clone();
                kept.set_detections(&detections.filter(&mask));
                Some(Cow::Owned(kept))
            }
        }
    }

    /// Appends what is written for a kept record; `raw` is its line as read, when there is one.
    pub fn write(&self, kept: &Record, raw: Option<&[u8]>, out: &mut Vec<u8>) {
        match self.print {
            Print::Records => {
                match raw {
                    Some(line) => out.extend_from_slice(line),
                    None => serde_json::to_writer(&mut *out, kept).expect("a record serialises"),
                }
                out.push(b'\n');
            }
            Print::Paths => {
                out.extend_from_slice(kept.path.as_bytes());
                out.push(b'\n');
            }
            Print::Nothing => {}
        }
    }
}

/// What a run read and matched.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Records read (lines that parse as records; the others are `bad_lines`).
    pub read: u64,
    pub matched: u64,
    /// Lines that are not records (each reported on stderr).
    pub bad_lines: u64,
    /// Inputs that could not be read (to the end).
    pub unreadable: u64,
    /// Detections in the matched records, as kept, per label.
    pub per_class: BTreeMap<String, u64>,
}

impl Stats {
    pub fn add(&mut self, kept: &Record) {
        self.matched += 1;
        for d in &kept.detections {
            match self.per_class.get_mut(&d.label) {
                Some(n) => *n += 1,
                None => {
                    self.per_class.insert(d.label.clone(), 1);
                }
            }
        }
    }

    fn merge(&mut self, o: Stats) {
        self.read += o.read;
        self.matched += o.matched;
        self.bad_lines += o.bad_lines;
        self.unreadable += o.unreadable;
        for (k, v) in o.per_class {
            *self.per_class.entry(k).or_default() += v;
        }
    }

    /// The report `--stats` prints.
    pub fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let pct = if self.read > 0 {
            100.0 * self.matched as f64 / self.read as f64
        } else {
            0.0
        };
        writeln!(out, "images read:     {}", self.read)?;
        writeln!(out, "images matched:  {} ({pct:.1}%)", self.matched)?;
        if self.bad_lines > 0 {
            writeln!(out, "bad lines:       {}", self.bad_lines)?;
        }
        let total: u64 = self.per_class.values().sum();
        writeln!(out, "detections in the matched images: {total}")?;
        let mut rows: Vec<_> = self.per_class.iter().collect();
        rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (label, n) in rows {
            writeln!(out, "  {label:<width$}  {n}")?;
        }
        Ok(())
    }
}

/// Checks the classes a rule names against a model's class names: a name must be one of
/// them, an id below their number. The error points at where the class was named.
pub fn check_classes(rule: &Rule, names: &[String]) -> Result<()> {
    for c in rule.classes() {
        let known = match &c.class {
            Class::Name(n) => names.contains(n),
            Class::Id(i) => (*i as usize) < names.len(),
        };
        if !known {
            bail!(
                "{}: unknown class {}; the model's classes are: {}",
                c.at,
                c.class,
                names.join(", ")
            );
        }
    }
    Ok(())
}

/// Lines per parallel task: small enough to balance, big enough to amortise the scheduling.
const LINES_PER_TASK: usize = 512;
/// Bytes read at once.
const BLOCK: usize = 4 << 20;

/// Filters JSONL inputs to one output. Where the records' model is not known, class names
/// are checked against the labels the records carry: the output is held back until every
/// name the rule uses has been seen, and a name never seen by the end is an error (and
/// nothing is written).
pub struct Run<'a> {
    filter: &'a Filter,
    stats_wanted: bool,
    pool: Option<rayon::ThreadPool>,
    out: &'a mut dyn Write,
    /// Names not seen yet, with where the rule names them.
    unseen: Vec<ClassRef>,
    seen: BTreeSet<String>,
    pending: Vec<u8>,
    pub stats: Stats,
}

/// The outcome of one parallel task.
struct Part {
    out: Vec<u8>,
    stats: Stats,
    errors: Vec<String>,
    labels: HashSet<String>,
}

impl<'a> Run<'a> {
    /// `jobs`: threads that parse (0: one per CPU; 1: this thread alone).
    pub fn new(
        filter: &'a Filter,
        jobs: usize,
        stats: bool,
        out: &'a mut dyn Write,
    ) -> Result<Run<'a>> {
        let pool = if jobs == 1 {
            None
        } else {
            Some(rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?)
        };
        let mut unseen: Vec<ClassRef> = Vec::new();
        if let Some(rule) = &filter.rule {
            for c in rule.classes() {
                if matches!(c.class, Class::Name(_)) && !unseen.contains(c) {
                    unseen.push(c.clone());
                }
            }
        }
        Ok(Run {
            filter,
            stats_wanted: stats,
            pool,
            out,
            unseen,
            seen: BTreeSet::new(),
            pending: Vec::new(),
            stats: Stats::default(),
        })
    }

    /// Reads one input to its end. Lines that are not records are reported and counted;
    /// a read error ends this input (it is reported and counted too). An error is a
    /// failure to write.
    pub fn feed(&mut self, name: &str, mut input: impl Read) -> Result<()> {
        let mut buf: Vec<u8> = Vec::with_capacity(BLOCK + (64 << 10));
        let mut line_no = 0usize;
        let mut eof = false;
        while !eof {
            // Fill the block, then process it up to its last newline.
            let start = buf.len();
            buf.resize(start + BLOCK, 0);
            let mut filled = start;
            while filled < buf.len() {
                match input.read(&mut buf[filled..]) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        // What was read is filtered; the input counts as unreadable.
                        buf.truncate(filled);
                        self.block(name, &buf, &mut line_no)?;
                        tracing::warn!("cannot read {name} after line {line_no}: {e}");
                        self.stats.unreadable += 1;
                        return Ok(());
                    }
                }
            }
            buf.truncate(filled);
            let cut = if eof {
                buf.len()
            } else {
                match memchr_last(&buf) {
                    Some(i) => i + 1,
                    None => continue, // one line longer than a block: read on
                }
            };
            self.block(name, &buf[..cut], &mut line_no)?;
            buf.drain(..cut);
        }
        Ok(())
    }

    fn block(&mut self, name: &str, block: &[u8], line_no: &mut usize) -> Result<()> {
        let mut lines: Vec<(usize, &[u8])> = Vec::with_capacity(block.len() / 256 + 1);
        for line in block.split(|&b| b == b'\n') {
            *line_no += 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if !crate::record::is_blank(*line_no, line) {
                lines.push((*line_no, line));
            }
        }
        if block.ends_with(b"\n") {
            *line_no -= 1; // the empty piece after the last newline is not a line
        }
        let collect_labels = !self.unseen.is_empty();
        let (filter, stats_wanted) = (self.filter, self.stats_wanted);
        let task =
            |chunk: &[(usize, &[u8])]| task(filter, stats_wanted, name, chunk, collect_labels);
        let parts: Vec<Part> = match &self.pool {
            None => lines.chunks(LINES_PER_TASK).map(task).collect(),
            Some(pool) => pool.install(|| {
                use rayon::prelude::*;
                lines.par_chunks(LINES_PER_TASK).map(task).collect()
            }),
        };
        for part in parts {
            for e in &part.errors {
                tracing::warn!("{e}");
            }
            self.stats.merge(part.stats);
            if self.unseen.is_empty() {
                self.out.write_all(&part.out)?;
            } else {
                self.pending.extend_from_slice(&part.out);
                self.unseen.retain(|c| match &c.class {
                    Class::Name(n) => !part.labels.contains(n),
                    Class::Id(_) => false,
                });
                self.seen.extend(part.labels);
                if self.unseen.is_empty() {
                    self.out.write_all(&self.pending)?;
                    self.pending = Vec::new();
                    self.seen.clear();
                }
            }
        }
        Ok(())
    }

    /// Ends the run: fails when the rule names a class no record had (nothing was written
    /// then), else returns the statistics.
    pub fn finish(self) -> Result<Stats> {
        if let Some(c) = self.unseen.first() {
            let seen: Vec<&str> = self.seen.iter().map(String::as_str).collect();
            bail!(
                "{}: unknown class {}: no record has a detection with that label; the labels in the records are: {} \
                 (a class id, such as 0, names a class that never appears)",
                c.at,
                c.class,
                if seen.is_empty() {
                    "(none)".to_string()
                } else {
                    seen.join(", ")
                }
            );
        }
        self.out.flush()?;
        Ok(self.stats)
    }
}

fn task(
    filter: &Filter,
    stats_wanted: bool,
    name: &str,
    lines: &[(usize, &[u8])],
    collect_labels: bool,
) -> Part {
    let mut part = Part {
        out: Vec::with_capacity(lines.len() * 64),
        stats: Stats::default(),
        errors: Vec::new(),
        labels: HashSet::new(),
    };
    for &(no, text) in lines {
        let r = match crate::record::parse_line(name, no, text) {
            Ok(r) => {
                part.stats.read += 1;
                r
            }
            Err(e) => {
                part.stats.bad_lines += 1;
                part.errors.push(e.to_string());
                continue;
            }
        };
        if collect_labels {
            for d in &r.detections {
                if !part.labels.contains(&d.label) {
                    part.labels.insert(d.label.clone());
                }
            }
        }
        if let Some(kept) = filter.apply(&r) {
            if stats_wanted {
                part.stats.add(&kept);
            } else {
                part.stats.matched += 1;
            }
            let raw = matches!(kept, Cow::Borrowed(_)).then_some(text);
            filter.write(&kept, raw, &mut part.out);
        }
    }
    part
}

fn memchr_last(buf: &[u8]) -> Option<usize> {
    buf.iter().rposition(|&b| b == b'\n')
}

#[cfg(test)]
mod tests;
