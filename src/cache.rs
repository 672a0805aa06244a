//! The result cache: nothing is computed twice.
//!
//! One SQLite file (`~/.anylabeling/cache.db`, WAL mode, so several processes read and
//! write it at once) holds three things:
//!
//! - `files`: `(path, size, mtime)` → the content hash, so an unchanged file is not even
//!   read again to be hashed;
//! - `images`: content hash → what decoding found (size after EXIF orientation, or why it
//!   could not be decoded);
//! - `results`: (content hash, parameters) → the detections after NMS, kept down to a low
//!   confidence floor. The parameters are everything that changes the output: the model's
//!   sha256, the input size, the letterbox, precision, the NMS IoU and agnostic flag.
//!   Greedy NMS only suppresses downwards, so the detections a run at any `--conf` at or
//!   above the floor would keep are exactly the stored ones above that `--conf`
//!   ([`answer`]); `--max-det` and a class filter apply after.
//!
//! The content hash is xxh3-128 of the file's bytes, so a renamed or copied file is still
//! a hit and a changed file is a miss. Writes go in one transaction per batch; the schema
//! carries a version (`PRAGMA user_version`) and migrations.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::detections::Detections;

/// Detections are stored down to this score (or the run's `--conf`, if lower).
pub const FLOOR: f32 = 0.01;
/// At least this many detections are kept per image when storing (more if `--max-det`
/// asks for more).
pub const MIN_CAP: usize = 300;
/// Bump when a change to decoding, the letterbox or post-processing changes results, so
/// that results computed by an older anylabel are not served.
pub const PIPELINE_REVISION: u32 = 1;

/// The environment variable that moves the cache file; `off` disables the cache.
pub const CACHE_ENV: &str = "ANYLABEL_CACHE";

/// xxh3-128 of a file's bytes.
pub type Content = [u8; 16];

pub fn content_hash(bytes: &[u8]) -> Content {
    xxhash_rust::xxh3::xxh3_128(bytes).to_le_bytes()
}

const SCHEMA_VERSION: i64 = 2;
const MIGRATIONS: &[&str] = &[
    // 0 -> 1
    "CREATE TABLE files (
         path TEXT PRIMARY KEY,
         size INTEGER NOT NULL,
         mtime_ns INTEGER NOT NULL,
         content BLOB NOT NULL
     );
     CREATE TABLE images (
         content BLOB PRIMARY KEY,
         width INTEGER NOT NULL,
         height INTEGER NOT NULL,
         error TEXT
     ) WITHOUT ROWID;
     CREATE TABLE params (
         key BLOB PRIMARY KEY,
         model_sha256 TEXT NOT NULL,
         description TEXT NOT NULL
     ) WITHOUT ROWID;
     CREATE TABLE results (
         content BLOB NOT NULL,
         key BLOB NOT NULL,
         floor REAL NOT NULL,
         cap INTEGER NOT NULL,
         truncated INTEGER NOT NULL,
         detections BLOB NOT NULL,
         used INTEGER NOT NULL,
         PRIMARY KEY (content, key)
     ) WITHOUT ROWID;
     CREATE INDEX results_used ON results (used);
     CREATE TABLE models (
         sha256 TEXT PRIMARY KEY,
         facts TEXT NOT NULL
     ) WITHOUT ROWID;
     CREATE TABLE counters (
         name TEXT PRIMARY KEY,
         value INTEGER NOT NULL
     ) WITHOUT ROWID;",
    // 1 -> 2: the path is the name's own bytes (a BLOB), not text with U+FFFD in place of
    // what is not UTF-8, where two names could share one row. Paths that went into the
    // text unchanged carry over; a name with U+FFFD in it is hashed again.
    "CREATE TABLE files_v2 (
         path BLOB PRIMARY KEY,
         size INTEGER NOT NULL,
         mtime_ns INTEGER NOT NULL,
         content BLOB NOT NULL
     );
     INSERT INTO files_v2 (path, size, mtime_ns, content)
         SELECT CAST(path AS BLOB), size, mtime_ns, content FROM files
         WHERE instr(path, char(65533)) = 0;
     DROP TABLE files;
     ALTER TABLE files_v2 RENAME TO files;",
];

/// Where a file was, as the `files` index knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FileStamp {
    /// The absolute path's own bytes (on Unix, exactly the name's bytes), so that names
    /// which are not UTF-8 stay apart.
    pub path: Vec<u8>,
    pub size: u64,
    pub mtime_ns: i64,
}

impl FileStamp {
    /// Reads the stamp of `path` from the file system.
    pub fn of(path: &Path) -> std::io::Result<FileStamp> {
        let meta = std::fs::metadata(path)?;
        let abs = std::path::absolute(path)?;
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i64);
        Ok(FileStamp {
            path: abs.into_os_string().into_encoded_bytes(),
            size: meta.len(),
            mtime_ns,
        })
    }
}

/// A stored result row.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub floor: f32,
    pub cap: usize,
    /// NMS stopped at `cap`: there may have been more detections above the floor.
    pub truncated: bool,
    /// Highest score first, boxes in original pixels, no labels.
    pub detections: Detections,
}

/// What a run asks of the stored detections.
#[derive(Debug, Clone)]
pub struct Ask {
    pub conf: f32,
    pub max_det: usize,
    /// Keep only these classes (applied after NMS; only valid for class-aware NMS, where
    /// classes do not interact).
    pub allowed: Option<Vec<bool>>,
}

/// The detections a fresh run with `ask` would produce, or `None` when the stored row
/// cannot tell (its floor is above `--conf`, or it was cut off before `--max-det` boxes
/// above `--conf`).
pub fn answer(stored: &Stored, ask: &Ask) -> Option<Detections> {
    if stored.floor > ask.conf {
        return None;
    }
    let above = stored.detections.above(ask.conf);
    // Cut off while every stored box was still above --conf: boxes past the cap may exist.
    if stored.truncated && above.len() == stored.detections.len() && above.len() < ask.max_det {
        return None;
    }
    let allowed = match &ask.allowed {
        Some(a) => above.of_classes(a),
        None => above,
    };
    Some(allowed.top(ask.max_det))
}

/// The bytes of one stored detection: class id, score and box, little-endian.
const ROW_BYTES: usize = 24;

fn encode_detections(d: &Detections) -> Vec<u8> {
    let mut out = Vec::with_capacity(d.len() * ROW_BYTES);
    for i in 0..d.len() {
        out.extend_from_slice(&d.class_ids[i].to_le_bytes());
        out.extend_from_slice(&d.scores[i].to_le_bytes());
        for v in d.boxes[i] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

fn decode_detections(b: &[u8]) -> Option<Detections> {
    if !b.len().is_multiple_of(ROW_BYTES) {
        return None;
    }
    let f = |c: &[u8]| f32::from_le_bytes(c.try_into().unwrap());
    let mut d = Detections::with_capacity(b.len() / ROW_BYTES);
    for c in b.chunks_exact(ROW_BYTES) {
        d.push(
            [f(&c[8..12]), f(&c[12..16]), f(&c[16..20]), f(&c[20..24])],
            f(&c[4..8]),
            u32::from_le_bytes(c[0..4].try_into().unwrap()),
        );
    }
    Some(d)
}

/// What decoding found about a content hash.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageFacts {
    pub width: u32,
    pub height: u32,
    pub error: Option<String>,
}

/// Everything one batch adds to the cache, written in one transaction.
#[derive(Debug, Default)]
pub struct Batch {
    pub files: Vec<(FileStamp, Content)>,
    pub images: Vec<(Content, ImageFacts)>,
    pub results: Vec<(Content, Stored)>,
    /// Results served from the cache, to mark as recently used (those not marked within
    /// [`USE_MARK_EVERY_S`]).
    pub touched: Vec<Content>,
    pub hits: u64,
    pub misses: u64,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
            && self.images.is_empty()
            && self.results.is_empty()
            && self.touched.is_empty()
    }
}

/// An open cache.
pub struct Cache {
    conn: Connection,
    path: PathBuf,
    /// The parameters results are written under ([`Cache::set_params`]): their key, the
    /// model's sha256 and their description.
    params: Option<(Content, String, String)>,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // Another process may hold the write lock for a moment: wait rather than fail.
    conn.busy_timeout(Duration::from_secs(120))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

/// Registers a key with the model and the description it stands for (once: a key is the
/// hash of its description).
fn insert_params(
    conn: &Connection,
    (key, model, description): &(Content, String, String),
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO params (key, model_sha256, description) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO NOTHING",
    )?
    .execute(params![&key[..], model, description])?;
    Ok(())
}

/// Whether the file at `path` begins as SQLite's files do (or is empty, as a file SQLite
/// was about to make).
pub fn looks_like_sqlite(path: &Path) -> bool {
    use std::io::Read as _;
    let mut head = [0u8; 16];
    match std::fs::File::open(path) {
        Ok(mut f) => match f.read(&mut head) {
            Ok(0) => true,
            Ok(16) => &head == b"SQLite format 3\0",
            _ => false,
        },
        Err(_) => false,
    }
}

/// `path` with `suffix` appended to its name (SQLite's `-wal` and `-shm` beside the file).
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.to_path_buf().into_os_string();
    p.push(suffix);
    PathBuf::from(p)
}

/// Removes the damaged cache at `path`, with its journal files, so that it starts afresh
/// (`cache clear` on a cache [`is_damaged`] says SQLite cannot open). Only what SQLite made:
/// a file that does not look like SQLite's (`ANYLABEL_CACHE` pointed at results or a
/// config by mistake) is named, never removed.
pub fn remove_damaged(path: &Path) -> Result<()> {
    if !looks_like_sqlite(path) {
        bail!(
            "{} is not an SQLite file, so not a damaged cache: not removing it \
             (is ANYLABEL_CACHE pointing at the wrong file?)",
            path.display()
        );
    }
    tracing::warn!(
        "the cache {} is damaged: removing it to start afresh",
        path.display()
    );
    for p in ["", "-wal", "-shm"].map(|suffix| beside(path, suffix)) {
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => bail!("cannot remove {}: {e}", p.display()),
        }
    }
    Ok(())
}

/// Whether `e`, from [`Cache::open`], says the file is damaged or not a database at all
/// (SQLite's `SQLITE_CORRUPT` and `SQLITE_NOTADB`), rather than locked or unreadable.
pub fn is_damaged(e: &anyhow::Error) -> bool {
    let text = format!("{e:#}");
    text.contains("database disk image is malformed") || text.contains("file is not a database")
}

impl Cache {
    /// The cache file to use: `ANYLABEL_CACHE`, else `cache.db` in the home. `None` when
    /// `ANYLABEL_CACHE=off`.
    pub fn default_path(home: &crate::home::Home) -> Option<PathBuf> {
        match std::env::var_os(CACHE_ENV) {
            Some(v) if v == "off" => None,
            Some(v) if !v.is_empty() => Some(PathBuf::from(v)),
            _ => Some(home.root().join("cache.db")),
        }
    }

    /// Opens (creating and migrating as needed) the cache at `path`.
    pub fn open(path: &Path) -> Result<Cache> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create folder {}", dir.display()))?;
        }
        // Processes opening one cache at once (shards starting together) take turns: SQLite
        // can answer "database is locked" at once, without waiting, to a second process
        // switching a new file to WAL or creating its tables.
        let mut lock_name = path.as_os_str().to_owned();
        lock_name.push(".open-lock");
        let lock_path = PathBuf::from(lock_name);
        let open_lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("cannot open lock file {}", lock_path.display()))?;
        open_lock
            .lock()
            .with_context(|| format!("cannot lock {}", lock_path.display()))?;
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open the cache {}", path.display()))?;
        let err = |e: rusqlite::Error| {
            let hint = match e.sqlite_error_code() {
                // `cache clear` removes only what SQLite made ([`remove_damaged`]).
                Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
                    if !looks_like_sqlite(path) =>
                {
                    " (it is not an SQLite file, so `anylabel cache clear` leaves it: remove it if it \
                     is nothing you need, or point ANYLABEL_CACHE at another file; --no-cache runs \
                     without it)"
                }
                Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
                    " (`anylabel cache clear` starts it afresh; --no-cache runs without it)"
                }
                Some(rusqlite::ErrorCode::ReadOnly) => {
                    " (anylabel writes to its cache: make the file writable, point ANYLABEL_CACHE elsewhere, or run with --no-cache)"
                }
                _ => "",
            };
            anyhow!("cannot use the cache {}: {e}{hint}", path.display())
        };
        configure(&conn).map_err(err)?;
        // Must be set before the first table exists, and before WAL mode, which fixes it
        // for a new file otherwise; lets `prune` and `clear` give space back. (Caches made
        // before 2026-11-27 had it set after, in vain: `give_back` converts them.)
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
            .map_err(err)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::debug!("the cache {} is in {mode} mode, not WAL", path.display());
        }
        let mut cache = Cache {
            conn,
            path: path.to_path_buf(),
            params: None,
        };
        cache
            .migrate()
            .map_err(|e| anyhow!("cannot set up the cache {}: {e:#}", path.display()))?;
        drop(open_lock);
        Ok(cache)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn migrate(&mut self) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            bail!(
                "it was written by a newer anylabel (schema {version}, this one knows {SCHEMA_VERSION}); \
                 upgrade anylabel or point ANYLABEL_CACHE elsewhere"
            );
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// A second connection for reading from another thread.
    pub fn reader(path: &Path) -> Result<Reader> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("cannot open the cache {}", path.display()))?;
        configure(&conn).map_err(|e| anyhow!("cannot use the cache {}: {e}", path.display()))?;
        // One query plan for all bound values: without it SQLite prepared [`Reader::known`]'s
        // join again at each image, which took twice the time of the lookups it saved.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )
        .map_err(|e| anyhow!("cannot use the cache {}: {e}", path.display()))?;
        Ok(Reader { conn })
    }

    /// Writes one batch in one transaction.
    pub fn write(&mut self, batch: &Batch) -> Result<()> {
        if batch.is_empty() && batch.hits == 0 && batch.misses == 0 {
            return Ok(());
        }
        let t = now();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut files = tx.prepare_cached(
                "INSERT INTO files (path, size, mtime_ns, content) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (path) DO UPDATE SET size = ?2, mtime_ns = ?3, content = ?4",
            )?;
            for (stamp, content) in &batch.files {
                files.execute(params![
                    stamp.path,
                    stamp.size as i64,
                    stamp.mtime_ns,
                    &content[..]
                ])?;
            }
            let mut images = tx.prepare_cached(
                "INSERT INTO images (content, width, height, error) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (content) DO UPDATE SET width = ?2, height = ?3, error = ?4",
            )?;
            for (content, f) in &batch.images {
                images.execute(params![&content[..], f.width, f.height, f.error])?;
            }
            let mut results = tx.prepare_cached(
                "INSERT INTO results (content, key, floor, cap, truncated, detections, used)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (content, key) DO UPDATE SET floor = ?3, cap = ?4, truncated = ?5, detections = ?6, used = ?7",
            )?;
            if !batch.results.is_empty() {
                // Again with each batch: a `cache clear` from another process while this
                // run goes on removes them, and results without their parameters are
                // what `verify` calls damage.
                let p = self
                    .params
                    .as_ref()
                    .ok_or_else(|| anyhow!("no parameters set for storing results"))?;
                insert_params(&tx, p)?;
                for (content, s) in &batch.results {
                    results.execute(params![
                        &content[..],
                        &p.0[..],
                        s.floor,
                        s.cap as i64,
                        s.truncated,
                        encode_detections(&s.detections),
                        t
                    ])?;
                }
            }
            if let Some((key, _, _)) = &self.params {
                let mut touch = tx.prepare_cached(
                    "UPDATE results SET used = ?3 WHERE content = ?1 AND key = ?2",
                )?;
                for content in &batch.touched {
                    touch.execute(params![&content[..], &key[..], t])?;
                }
            }
            let mut counter = tx.prepare_cached(
                "INSERT INTO counters (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = value + ?2",
            )?;
            if batch.hits > 0 {
                counter.execute(params!["hits", batch.hits as i64])?;
            }
            if batch.misses > 0 {
                counter.execute(params!["misses", batch.misses as i64])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Registers the parameters results are stored under from now on.
    pub fn set_params(
        &mut self,
        key: Content,
        model_sha256: &str,
        description: &str,
    ) -> Result<()> {
        let p = (key, model_sha256.to_string(), description.to_string());
        insert_params(&self.conn, &p)?;
        self.params = Some(p);
        Ok(())
    }

    /// What is known about a model without loading it.
    pub fn model_facts(&self, sha256: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT facts FROM models WHERE sha256 = ?1",
                [sha256],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn store_model_facts(&self, sha256: &str, facts: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO models (sha256, facts) VALUES (?1, ?2) ON CONFLICT (sha256) DO UPDATE SET facts = ?2",
            params![sha256, facts],
        )?;
        Ok(())
    }
}

thread_local! {
    static READER: std::cell::RefCell<Option<(PathBuf, Reader)>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with this thread's read connection to the cache at `path`, opening it on first use.
pub fn with_reader<T>(path: &Path, f: impl FnOnce(&Reader) -> Result<T>) -> Result<T> {
    READER.with_borrow_mut(|slot| {
        if slot.as_ref().is_none_or(|(p, _)| p != path) {
            *slot = Some((path.to_path_buf(), Cache::reader(path)?));
        }
        f(&slot.as_ref().expect("just opened").1)
    })
}

/// A read-only connection, one per decode thread.
pub struct Reader {
    conn: Connection,
}

/// What the cache knows of an unchanged file ([`Reader::known`]).
#[derive(Debug, Default)]
pub struct Known {
    /// Its content hash, where the index has the file as it is (same size and mtime).
    pub content: Option<Content>,
    /// What decoding the content found, where it was decoded.
    pub facts: Option<ImageFacts>,
    /// The result stored under the key, and when it was last marked used.
    pub result: Option<(Stored, i64)>,
}

impl Reader {
    /// Everything the cache knows of an unchanged file under `key`, in one query (one read
    /// transaction, where three separate ones took SQLite's locks three times an image).
    pub fn known(&self, stamp: &FileStamp, key: &Content) -> Result<Known> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT f.content, i.width, i.height, i.error, i.content IS NOT NULL,
                    r.floor, r.cap, r.truncated, r.detections, r.used
             FROM files f
             LEFT JOIN images i ON i.content = f.content
             LEFT JOIN results r ON r.content = f.content AND r.key = ?4
             WHERE f.path = ?1 AND f.size = ?2 AND f.mtime_ns = ?3",
        )?;
        let row = stmt
            .query_row(
                params![stamp.path, stamp.size as i64, stamp.mtime_ns, &key[..]],
                |r| {
                    let content: Vec<u8> = r.get(0)?;
                    let facts = if r.get::<_, bool>(4)? {
                        Some(ImageFacts {
                            width: r.get(1)?,
                            height: r.get(2)?,
                            error: r.get(3)?,
                        })
                    } else {
                        None
                    };
                    let result = match r.get::<_, Option<Vec<u8>>>(8)? {
                        Some(blob) => decode_detections(&blob).map(|detections| {
                            Ok::<_, rusqlite::Error>((
                                Stored {
                                    floor: r.get::<_, f64>(5)? as f32,
                                    cap: r.get::<_, i64>(6)? as usize,
                                    truncated: r.get(7)?,
                                    detections,
                                },
                                r.get::<_, i64>(9)?,
                            ))
                        }),
                        None => None,
                    }
                    .transpose()?;
                    Ok((content, facts, result))
                },
            )
            .optional()?;
        Ok(match row {
            Some((content, facts, result)) => match Content::try_from(content) {
                Ok(content) => Known {
                    content: Some(content),
                    facts,
                    result,
                },
                Err(_) => Known::default(),
            },
            None => Known::default(),
        })
    }

    /// The content hash of an unchanged file, if the index has it.
    pub fn content_of(&self, stamp: &FileStamp) -> Result<Option<Content>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT content FROM files WHERE path = ?1 AND size = ?2 AND mtime_ns = ?3",
        )?;
        let row: Option<Vec<u8>> = stmt
            .query_row(
                params![stamp.path, stamp.size as i64, stamp.mtime_ns],
                |r| r.get(0),
            )
            .optional()?;
        Ok(row.and_then(|b| b.try_into().ok()))
    }

    /// What decoding this content found before.
    pub fn image(&self, content: &Content) -> Result<Option<ImageFacts>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT width, height, error FROM images WHERE content = ?1")?;
        Ok(stmt
            .query_row([&content[..]], |r| {
                Ok(ImageFacts {
                    width: r.get(0)?,
                    height: r.get(1)?,
                    error: r.get(2)?,
                })
            })
            .optional()?)
    }

    /// The stored result for this content under `key`.
    pub fn result(&self, content: &Content, key: &Content) -> Result<Option<Stored>> {
        Ok(self.result_used(content, key)?.map(|(s, _)| s))
    }

    /// The stored result for this content under `key`, and when it was last marked used
    /// (seconds since 1970).
    pub fn result_used(&self, content: &Content, key: &Content) -> Result<Option<(Stored, i64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT floor, cap, truncated, detections, used FROM results WHERE content = ?1 AND key = ?2",
        )?;
        let row = stmt
            .query_row([&content[..], &key[..]], |r| {
                Ok((
                    r.get::<_, f64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .optional()?;
        Ok(row.and_then(|(floor, cap, truncated, blob, used)| {
            Some((
                Stored {
                    floor: floor as f32,
                    cap: cap as usize,
                    truncated,
                    detections: decode_detections(&blob)?,
                },
                used,
            ))
        }))
    }
}

/// How precisely a result's last use is kept, in seconds: a result served again within
/// this time of its last mark is not marked again. Marking is one row update a result, at
/// a random place in the file; on a million-image rerun it was most of the time (42 of
/// 52 s, `infer` of 1,000,000 cached images on the 2-core test machine). Pruning, the only
/// reader of the mark, drops the least recently used first, to within this time.
pub const USE_MARK_EVERY_S: i64 = 3600;

/// Whether a result last marked used at `used` is to be marked again now.
pub fn mark_again(used: i64) -> bool {
    now().saturating_sub(used) >= USE_MARK_EVERY_S
}

mod maintain;

pub use maintain::{Pruned, Stats, parse_size};

#[cfg(test)]
mod tests;
