//! `--shard K/N`: one of N disjoint, stable parts of the scanned images, so that N
//! processes (a Kubernetes Indexed Job, a Slurm job array, N terminals) label one folder
//! between them, each with the same command but its own K.
//!
//! An image belongs to shard `xxh3_64(name) mod N`, where `name` is the path its record
//! carries (relative to the root when one folder is scanned). The part an image falls in
//! depends on its name alone, never on the other files: adding images to the folder adds
//! each to one shard and moves none, and a re-run of shard K (to resume it) sees the same
//! images. Shards are numbered from 0, as `JOB_COMPLETION_INDEX` and
//! `SLURM_ARRAY_TASK_ID` number tasks.
//!
//! A problem met while walking (an unreadable folder) is reported by every shard: none of
//! them can tell whose images were in it.

use std::fmt;
use std::str::FromStr;

use crate::scan::{Item, ScanError};

/// Shard `index` of `count`: `index < count`, `count ≥ 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub fn new(index: u64, count: u64) -> Result<Shard, String> {
        if count == 0 {
            return Err("the number of shards N must be at least 1".into());
        }
        if index >= count {
            return Err(format!(
                "shard {index}/{count} does not exist: K counts from 0, so K must be below N (0..={})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }

    /// The shard a record name falls in, among `count`.
    pub fn of(name: &str, count: u64) -> u64 {
        xxhash_rust::xxh3::xxh3_64(name.as_bytes()) % count
    }

    /// Whether the image a record names belongs to this shard.
    pub fn contains(&self, name: &str) -> bool {
        Shard::of(name, self.count) == self.index
    }

    /// Reads `K/N`, or `auto` from the environment a scheduler sets: Slurm's
    /// `SLURM_ARRAY_TASK_ID` / `SLURM_ARRAY_TASK_COUNT`, else Kubernetes'
    /// `JOB_COMPLETION_INDEX` with the count in `ANYLABEL_SHARDS`.
    pub fn parse_with_env(s: &str, env: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        if s.trim() == "auto" {
            let num = |var: &str| -> Result<Option<u64>, String> {
                match env(var) {
                    None => Ok(None),
                    Some(v) => v
                        .trim()
                        .parse()
                        .map(Some)
                        .map_err(|_| format!("{var}={v} is not a whole number")),
                }
            };
            if let Some(index) = num("SLURM_ARRAY_TASK_ID")? {
                let count = num("SLURM_ARRAY_TASK_COUNT")?
                    .ok_or("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not")?;
                // `--array=1-4` numbers tasks from 1: count from the array's first task.
                let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
                return Shard::new(index.saturating_sub(min), count);
            }
            if let Some(index) = num("JOB_COMPLETION_INDEX")? {
                let count = num("ANYLABEL_SHARDS")?.ok_or(
                    "JOB_COMPLETION_INDEX is set: give the number of shards in ANYLABEL_SHARDS \
                     (the Job's `completions`), or use --shard $JOB_COMPLETION_INDEX/N",
                )?;
                return Shard::new(index, count);
            }
            return Err(
                "--shard auto found neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor \
                        JOB_COMPLETION_INDEX (a Kubernetes Indexed Job); give --shard K/N"
                    .into(),
            );
        }
        let (k, n) = s.split_once('/').ok_or_else(|| {
            format!("'{s}' is not K/N (e.g. 0/4, the first of four shards) or auto")
        })?;
        let k: u64 = k
            .trim()
            .parse()
            .map_err(|_| format!("'{s}': K must be a whole number from 0"))?;
        let n: u64 = n
            .trim()
            .parse()
            .map_err(|_| format!("'{s}': N must be a whole number from 1"))?;
        Shard::new(k, n)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `K/N` or `auto` (see [`Shard::parse_with_env`]).
    fn from_str(s: &str) -> Result<Shard, String> {
        Shard::parse_with_env(s, |v| std::env::var(v).ok())
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Keeps the items of a scan that belong to `shard` (all of them for `None`), and every
/// scan error.
pub fn select(
    scanned: impl Iterator<Item = Result<Item, ScanError>>,
    shard: Option<Shard>,
) -> impl Iterator<Item = Result<Item, ScanError>> {
    scanned.filter(move |found| match (found, shard) {
        (Ok(item), Some(s)) => s.contains(&item.name),
        _ => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn parses_k_of_n_and_refuses_what_does_not_exist() {
        assert_eq!("0/4".parse(), Ok(Shard { index: 0, count: 4 }));
        assert_eq!(" 3 / 4 ".parse(), Ok(Shard { index: 3, count: 4 }));
        assert_eq!("0/1".parse(), Ok(Shard { index: 0, count: 1 }));
        for bad in ["4/4", "5/4", "0/0", "1", "-1/4", "a/4", "1/b", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert!(
            "4/4"
                .parse::<Shard>()
                .unwrap_err()
                .contains("K must be below N")
        );
    }

    #[test]
    fn auto_reads_slurm_then_kubernetes() {
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ];
        assert_eq!(
            Shard::parse_with_env("auto", env(&slurm)),
            Ok(Shard { index: 2, count: 4 })
        );
        let from_one = [
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ];
        assert_eq!(
            Shard::parse_with_env("auto", env(&from_one)),
            Ok(Shard { index: 3, count: 4 })
        );
        let k8s = [("JOB_COMPLETION_INDEX", "7"), ("ANYLABEL_SHARDS", "8")];
        assert_eq!(
            Shard::parse_with_env("auto", env(&k8s)),
            Ok(Shard { index: 7, count: 8 })
        );
        let k8s_no_count = [("JOB_COMPLETION_INDEX", "7")];
        assert!(
            Shard::parse_with_env("auto", env(&k8s_no_count))
                .unwrap_err()
                .contains("ANYLABEL_SHARDS")
        );
        assert!(Shard::parse_with_env("auto", env(&[])).is_err());
    }

    #[test]
    fn the_assignment_is_pinned() {
        // The assignment is a contract between the shards of one job, which may run
        // different builds: xxh3-64 of the name's UTF-8 bytes, unseeded, mod N.
        assert_eq!(Shard::of("", u64::MAX), 0x2d06800538d394c2);
        let n = 1000;
        let names: Vec<String> = (0..n).map(|i| format!("dir/img_{i:05}.jpg")).collect();
        let counts = (0..4u64)
            .map(|k| names.iter().filter(|m| Shard::of(m, 4) == k).count())
            .collect::<Vec<_>>();
        // Balanced within a few standard deviations (sqrt(1000 * 3/16) ≈ 14).
        assert!(
            counts.iter().all(|&c| (180..=320).contains(&c)),
            "{counts:?}"
        );
    }
}
