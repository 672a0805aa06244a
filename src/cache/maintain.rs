//! Keeping the cache: what it holds (`cache stats`), whether it is sound (`cache verify`),
//! and making it smaller (`cache prune`, `cache clear`, the `cache.max_size` limit).

use super::*;

/// `anylabel cache stats`.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub bytes: u64,
    pub files: u64,
    pub images: u64,
    pub undecodable: u64,
    pub results: u64,
    pub hits: u64,
    pub misses: u64,
    /// Per set of parameters: description, model sha256, results, bytes of detections.
    pub per_params: Vec<(String, String, u64, u64)>,
}

impl Cache {
    /// The file's size on disk, the write-ahead log included.
    pub fn disk_bytes(&self) -> u64 {
        let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
        size(&self.path) + size(&beside(&self.path, "-wal"))
    }

    /// Bytes in use inside the database (pages that are not free).
    pub(super) fn used_bytes(&self) -> Result<u64> {
        let q = |p: &str| -> Result<u64> {
            Ok(self
                .conn
                .pragma_query_value(None, p, |r| r.get::<_, i64>(0))? as u64)
        };
        Ok((q("page_count")? - q("freelist_count")?) * q("page_size")?)
    }

    pub fn stats(&self) -> Result<Stats> {
        let count = |sql: &str| -> Result<u64> {
            Ok(self.conn.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
        };
        let counter = |name: &str| -> Result<u64> {
            Ok(self
                .conn
                .query_row("SELECT value FROM counters WHERE name = ?1", [name], |r| {
                    r.get::<_, i64>(0)
                })
                .optional()?
                .unwrap_or(0) as u64)
        };
        let mut per_params = Vec::new();
        let mut stmt = self.conn.prepare(
            "SELECT p.description, p.model_sha256, count(r.content), coalesce(sum(length(r.detections)), 0)
             FROM params p LEFT JOIN results r ON r.key = p.key GROUP BY p.key ORDER BY p.description",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)? as u64,
                r.get::<_, i64>(3)? as u64,
            ))
        })?;
        for row in rows {
            per_params.push(row?);
        }
        Ok(Stats {
            bytes: self.disk_bytes(),
            files: count("SELECT count(*) FROM files")?,
            images: count("SELECT count(*) FROM images")?,
            undecodable: count("SELECT count(*) FROM images WHERE error IS NOT NULL")?,
            results: count("SELECT count(*) FROM results")?,
            hits: counter("hits")?,
            misses: counter("misses")?,
            per_params,
        })
    }

    /// SQLite's own integrity check, and a check that every stored result decodes.
    /// Returns the problems found (none: the cache is sound).
    pub fn verify(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let line = row?;
            if line != "ok" {
                problems.push(format!("integrity_check: {line}"));
            }
        }
        let bad: i64 = self.conn.query_row(
            "SELECT count(*) FROM results WHERE length(detections) % 24 != 0",
            [],
            |r| r.get(0),
        )?;
        if bad > 0 {
            problems.push(format!("{bad} stored results do not decode"));
        }
        let orphans: i64 = self.conn.query_row(
            "SELECT count(*) FROM results WHERE key NOT IN (SELECT key FROM params)",
            [],
            |r| r.get(0),
        )?;
        if orphans > 0 {
            problems.push(format!("{orphans} stored results have no parameters"));
        }
        Ok(problems)
    }

    /// Deletes what is least worth keeping until the database holds at most `max_bytes`,
    /// then gives the space back to the file system. Returns what it deleted.
    ///
    /// The path index goes first, oldest paths first: the paths to contents that have no
    /// result, then all but the newest path to each content (a dataset reached through many
    /// paths: a workspace per CI job, several checkouts). Either only saves hashing a file
    /// again. Then results, least recently used first; last, the whole index.
    pub fn prune(&mut self, max_bytes: u64) -> Result<Pruned> {
        const STEPS: [&str; 2] = [
            "SELECT rowid FROM files WHERE content NOT IN (SELECT content FROM results)",
            "SELECT rowid FROM files
                 WHERE rowid NOT IN (SELECT max(rowid) FROM files GROUP BY content)",
        ];
        let mut deleted = Pruned::default();
        'prune: loop {
            let used = self.used_bytes()?;
            if used <= max_bytes {
                break;
            }
            // Roughly the share that is over the limit of `rows`, at least 64 of them.
            let share = (used - max_bytes) as f64 / used as f64;
            let some = |rows: i64| ((rows as f64 * share).ceil() as i64).clamp(64.min(rows), rows);
            let paths: i64 = self
                .conn
                .query_row("SELECT count(*) FROM files", [], |r| r.get(0))?;
            for step in STEPS {
                let n = self.conn.execute(
                    &format!("DELETE FROM files WHERE rowid IN ({step} ORDER BY rowid LIMIT ?1)"),
                    [some(paths)],
                )?;
                if n > 0 {
                    deleted.paths += n as u64;
                    continue 'prune;
                }
            }
            let rows: i64 = self
                .conn
                .query_row("SELECT count(*) FROM results", [], |r| r.get(0))?;
            if rows == 0 {
                // Only the index is left: it is an optimisation, drop it too.
                deleted.paths += self.conn.execute("DELETE FROM files", [])? as u64;
                self.conn.execute("DELETE FROM images", [])?;
                break;
            }
            deleted.results += self.conn.execute(
                "DELETE FROM results WHERE (content, key) IN (SELECT content, key FROM results ORDER BY used LIMIT ?1)",
                [some(rows)],
            )? as u64;
        }
        self.give_back()?;
        Ok(deleted)
    }

    /// Empties the cache.
    pub fn clear(&mut self) -> Result<()> {
        self.conn.execute_batch(
            "DELETE FROM results; DELETE FROM params; DELETE FROM images; DELETE FROM files;
             DELETE FROM models; DELETE FROM counters;
             DROP TABLE IF EXISTS merged_counters;",
        )?;
        self.give_back()
    }

    /// Gives the free pages back to the file system: at once where the file keeps its
    /// free pages apart (`auto_vacuum` incremental), else by one `VACUUM`, which also
    /// makes it so for next time.
    fn give_back(&mut self) -> Result<()> {
        let mode: i64 = self
            .conn
            .pragma_query_value(None, "auto_vacuum", |r| r.get(0))?;
        if mode == 0 {
            self.conn
                .execute_batch("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")?;
        } else {
            // Stepped to the end: each step gives back one page (`execute_batch` took one).
            let mut stmt = self.conn.prepare("PRAGMA incremental_vacuum")?;
            let mut rows = stmt.query([])?;
            while rows.next()?.is_some() {}
        }
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    }
}

/// What [`Cache::prune`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pruned {
    pub results: u64,
    /// Rows of the path index.
    pub paths: u64,
}

/// Parses a size such as `500MB`, `2 GB`, `1.5G`, `10GiB` or a number of bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size (such as 500MB or 2GB)"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024f64.powi(4),
        other => {
            return Err(format!(
                "unknown size unit '{other}' in '{s}' (use B, KB, MB, GB, TB, KiB, MiB, GiB)"
            ));
        }
    };
    Ok((n * mult) as u64)
}
