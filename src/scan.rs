//! Finding the images to label: folders walked recursively in sorted order, files taken
//! as given, or a list of paths (on stdin or in a file).
//!
//! The walk is lazy and parallel (the next folders are listed by a pool of threads while
//! the current one is walked, a bounded number ahead), so the first image is labelled
//! while the rest of a ten-million-file tree is still being listed, and memory stays flat
//! however slowly the images are consumed. Order is stable — sorted by file name
//! (byte order) within each folder, folders depth-first, where they sort — so two runs over
//! the same tree write their records in the same order.

use std::ffi::OsStr;
use std::io::BufRead;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use globset::{Glob, GlobSet, GlobSetBuilder};

/// File extensions the walk picks up, lower case. The last four are formats we cannot
/// decode: they are listed so that their records say so instead of vanishing silently.
pub const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "jfif", "png", "webp", "bmp", "gif", "tif", "tiff", "pbm", "pgm", "ppm",
    "pnm", "tga", "heic", "heif", "avif", "jxl",
];

/// Whether the path has one of [`IMAGE_EXTENSIONS`], in any case.
pub fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(OsStr::to_str)
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// One thing to label.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Where to read it.
    pub path: PathBuf,
    /// How its record names it: relative to the root when one folder was scanned.
    pub name: String,
}

/// A problem met while walking (an unreadable folder, say): reported, then skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanError {
    pub path: PathBuf,
    pub reason: String,
}

/// What the inputs on the command line are.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A folder, walked recursively.
    Dir(PathBuf),
    /// A file, labelled whatever its extension.
    File(PathBuf),
    /// `-`: a list of paths on stdin.
    Stdin,
    /// `--from-file LIST`: a list of paths in a file.
    List(PathBuf),
}

impl Input {
    /// Classifies a command-line argument; a path that does not exist is an error.
    pub fn parse(arg: &Path) -> Result<Input, String> {
        if arg.as_os_str() == "-" {
            return Ok(Input::Stdin);
        }
        match std::fs::metadata(arg) {
            Ok(m) if m.is_dir() => Ok(Input::Dir(arg.to_path_buf())),
            Ok(_) => Ok(Input::File(arg.to_path_buf())),
            Err(e) => Err(format!("{}: {}", arg.display(), e)),
        }
    }
}

/// How folders are walked.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Descend at most this many folders below the root (1: the root's own files only).
    pub max_depth: Option<usize>,
    /// Files and folders to leave out, matched against the path relative to the root
    /// and against the name alone; a folder left out is not read at all.
    pub exclude: Option<Arc<GlobSet>>,
    /// The extensions to pick up (lower case, no dot) instead of [`IMAGE_EXTENSIONS`].
    pub extensions: Option<Vec<String>>,
    /// Follow links to folders (a link back to a folder above is an error, not a loop).
    pub follow_links: bool,
    /// Threads reading folders; 0: one per CPU.
    pub threads: usize,
}

impl WalkOptions {
    /// Compiles `--exclude` globs; an invalid one is an error naming it.
    pub fn exclude_globs(globs: &[String]) -> Result<Option<Arc<GlobSet>>, String> {
        if globs.is_empty() {
            return Ok(None);
        }
        let mut b = GlobSetBuilder::new();
        for g in globs {
            b.add(Glob::new(g).map_err(|e| format!("--exclude {g}: {e}"))?);
        }
        b.build()
            .map(|s| Some(Arc::new(s)))
            .map_err(|e| e.to_string())
    }

    fn wants(&self, path: &Path) -> bool {
        match &self.extensions {
            None => has_image_extension(path),
            Some(exts) => path
                .extension()
                .and_then(OsStr::to_str)
                .is_some_and(|e| exts.iter().any(|x| x.eq_ignore_ascii_case(e))),
        }
    }

    fn excluded(&self, relative: &Path) -> bool {
        self.exclude.as_ref().is_some_and(|g| {
            g.is_match(relative) || relative.file_name().is_some_and(|n| g.is_match(n))
        })
    }
}

/// The inputs of one run and how to walk their folders.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub inputs: Vec<Input>,
    pub walk: WalkOptions,
}

impl Sources {
    /// Whether a list is read from stdin (which can be read only once).
    pub fn reads_stdin(&self) -> bool {
        self.inputs.contains(&Input::Stdin)
    }
}

impl From<Vec<Input>> for Sources {
    fn from(inputs: Vec<Input>) -> Sources {
        Sources {
            inputs,
            walk: WalkOptions::default(),
        }
    }
}

/// Walks the inputs in order and yields each image, or each problem met on the way.
pub fn scan(sources: impl Into<Sources>) -> impl Iterator<Item = Result<Item, ScanError>> {
    let Sources { inputs, walk } = sources.into();
    // Paths are relative to the root only when there is exactly one input and it is a folder.
    let single_root = matches!(inputs.as_slice(), [Input::Dir(_)]);
    inputs.into_iter().flat_map(
        move |input| -> Box<dyn Iterator<Item = Result<Item, ScanError>>> {
            match input {
                Input::File(path) => {
                    let name = display_name(&path);
                    Box::new(std::iter::once(Ok(Item { path, name })))
                }
                Input::Dir(dir) => Box::new(walk_dir(dir, single_root, walk.clone())),
                Input::Stdin => Box::new(read_list(std::io::stdin().lock())),
                Input::List(path) => match std::fs::File::open(&path) {
                    Ok(f) => Box::new(read_list(std::io::BufReader::new(f))),
                    Err(e) => Box::new(std::iter::once(Err(ScanError {
                        reason: format!("cannot read the list: {e}"),
                        path,
                    }))),
                },
            }
        },
    )
}

/// Folders read ahead of the walk, at most: what bounds its memory however slowly the
/// images are consumed (each holds one folder's sorted entries).
const READ_AHEAD: usize = 16;

/// Walks one folder, yielding its images in sorted order.
///
/// The walk is depth-first in name order, as `walkdir` with sorting does it, but the
/// folders it will enter next (the next [`READ_AHEAD`] in walk order) are listed and
/// sorted by a pool of threads ahead of time, so a deep or wide tree is listed in parallel
/// while memory stays bounded when the consumer is slow.
pub fn walk_dir(
    dir: PathBuf,
    relative: bool,
    opts: WalkOptions,
) -> impl Iterator<Item = Result<Item, ScanError>> {
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        opts.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("anylabel-walk-{i}"))
        .build()
        .ok();
    let opts = Arc::new(opts);
    let mut walk = Walk {
        root: dir.clone(),
        relative,
        opts: opts.clone(),
        pool,
        stack: Vec::new(),
        pending: std::collections::HashMap::new(),
        first: None,
    };
    match read_sorted(&dir, Path::new(""), &opts, true) {
        Ok(listing) => walk.stack.push(Frame {
            dir,
            rel: PathBuf::new(),
            depth: 0,
            id: listing.id,
            entries: listing.entries,
            pos: 0,
            scheduled: 0,
        }),
        Err(reason) => walk.first = Some(ScanError { path: dir, reason }),
    }
    walk.read_ahead();
    walk
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    File,
    Dir,
    /// A link to a folder, followed (`--follow-links`); the target's device and inode.
    LinkedDir(u64, u64),
    /// An entry that could not be examined.
    Broken,
}

struct Entry {
    name: std::ffi::OsString,
    kind: Kind,
    /// Why it is `Broken`.
    reason: Option<String>,
}

struct Listing {
    entries: Vec<Entry>,
    /// The folder's device and inode, when links are followed (to find loops).
    id: Option<(u64, u64)>,
}

struct Frame {
    dir: PathBuf,
    rel: PathBuf,
    depth: usize,
    id: Option<(u64, u64)>,
    entries: Vec<Entry>,
    /// The next entry to yield, and the next one to consider reading ahead.
    pos: usize,
    scheduled: usize,
}

type Pending = std::sync::mpsc::Receiver<Result<Listing, String>>;

struct Walk {
    root: PathBuf,
    relative: bool,
    opts: Arc<WalkOptions>,
    pool: Option<rayon::ThreadPool>,
    stack: Vec<Frame>,
    pending: std::collections::HashMap<PathBuf, Pending>,
    first: Option<ScanError>,
}

/// Lists a folder, sorted by name, without the entries `--exclude` leaves out. Only links
/// are examined beyond their directory entry (to tell links to folders from links to
/// files).
fn read_sorted(
    dir: &Path,
    rel: &Path,
    opts: &WalkOptions,
    want_id: bool,
) -> Result<Listing, String> {
    use std::os::unix::fs::MetadataExt;
    let id = if opts.follow_links && want_id {
        let m = std::fs::metadata(dir).map_err(|e| e.to_string())?;
        Some((m.dev(), m.ino()))
    } else {
        None
    };
    let mut entries = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| e.to_string())? {
        let e = match e {
            Ok(e) => e,
            Err(err) => return Err(err.to_string()),
        };
        let name = e.file_name();
        if opts.exclude.is_some() && opts.excluded(&rel.join(&name)) {
            continue;
        }
        let kind = match e.file_type() {
            Ok(t) if t.is_dir() => Kind::Dir,
            Ok(t) if t.is_symlink() => match std::fs::metadata(e.path()) {
                Ok(m) if m.is_dir() && opts.follow_links => Kind::LinkedDir(m.dev(), m.ino()),
                // Not followed: a link to a folder is left out, as walkdir and fd do.
                Ok(m) if m.is_dir() => continue,
                // A link to a file (or a dangling one, whose read will say so).
                _ => Kind::File,
            },
            Ok(_) => Kind::File,
            Err(err) => {
                entries.push(Entry {
                    name,
                    kind: Kind::Broken,
                    reason: Some(err.to_string()),
                });
                continue;
            }
        };
        entries.push(Entry {
            name,
            kind,
            reason: None,
        });
    }
    entries.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    Ok(Listing { entries, id })
}

/// Whether an entry of a folder at `depth` is a folder the walk will enter.
fn descends(opts: &WalkOptions, depth: usize, kind: Kind) -> bool {
    matches!(kind, Kind::Dir | Kind::LinkedDir(..))
        && opts.max_depth.is_none_or(|max| depth + 1 < max)
}

impl Walk {
    /// Starts listing the next folders the walk will enter, in walk order, up to
    /// [`READ_AHEAD`] listed and not yet entered.
    fn read_ahead(&mut self) {
        let Some(pool) = &self.pool else { return };
        let mut budget = READ_AHEAD.saturating_sub(self.pending.len());
        for f in (0..self.stack.len()).rev() {
            if budget == 0 {
                return;
            }
            let frame = &mut self.stack[f];
            frame.scheduled = frame.scheduled.max(frame.pos);
            while frame.scheduled < frame.entries.len() && budget > 0 {
                let e = &frame.entries[frame.scheduled];
                frame.scheduled += 1;
                if !descends(&self.opts, frame.depth, e.kind) {
                    continue;
                }
                let path = frame.dir.join(&e.name);
                let rel = frame.rel.join(&e.name);
                let (tx, rx) = std::sync::mpsc::sync_channel(1);
                let opts = self.opts.clone();
                let key = path.clone();
                pool.spawn(move || {
                    let _ = tx.send(read_sorted(&path, &rel, &opts, false));
                });
                self.pending.insert(key, rx);
                budget -= 1;
            }
        }
    }

    fn name(&self, path: &Path) -> String {
        if self.relative {
            path.strip_prefix(&self.root)
                .map(display_name)
                .unwrap_or_else(|_| display_name(path))
        } else {
            display_name(path)
        }
    }
}

impl Iterator for Walk {
    type Item = Result<Item, ScanError>;

    fn next(&mut self) -> Option<Result<Item, ScanError>> {
        if let Some(e) = self.first.take() {
            return Some(Err(e));
        }
        loop {
            let frame = self.stack.last_mut()?;
            if frame.pos == frame.entries.len() {
                self.stack.pop();
                continue;
            }
            let e = &frame.entries[frame.pos];
            frame.pos += 1;
            let path = frame.dir.join(&e.name);
            let depth = frame.depth;
            match e.kind {
                Kind::Broken => {
                    let reason = e.reason.clone().unwrap_or_default();
                    return Some(Err(ScanError { path, reason }));
                }
                Kind::File => {
                    if self.opts.wants(&path) {
                        let name = self.name(&path);
                        return Some(Ok(Item { path, name }));
                    }
                }
                kind @ (Kind::Dir | Kind::LinkedDir(..)) => {
                    if !descends(&self.opts, depth, kind) {
                        continue;
                    }
                    let rel = frame.rel.join(&e.name);
                    if let Kind::LinkedDir(dev, ino) = kind
                        && let Some(up) = self.stack.iter().find(|f| f.id == Some((dev, ino)))
                    {
                        let reason = format!("a link loop: it leads back to {}", up.dir.display());
                        return Some(Err(ScanError { path, reason }));
                    }
                    let listing = match self.pending.remove(&path) {
                        Some(rx) => rx.recv().unwrap_or_else(|_| Err("the walk stopped".into())),
                        None => read_sorted(&path, &rel, &self.opts, false),
                    };
                    let listing = match listing {
                        Ok(l) => l,
                        Err(reason) => return Some(Err(ScanError { path, reason })),
                    };
                    // A folder's own id (for loops below it) when links are followed.
                    let id = match kind {
                        Kind::LinkedDir(dev, ino) => Some((dev, ino)),
                        _ if self.opts.follow_links => {
                            use std::os::unix::fs::MetadataExt;
                            std::fs::metadata(&path).ok().map(|m| (m.dev(), m.ino()))
                        }
                        _ => None,
                    };
                    self.stack.push(Frame {
                        dir: path,
                        rel,
                        depth: depth + 1,
                        id,
                        entries: listing.entries,
                        pos: 0,
                        scheduled: 0,
                    });
                    self.read_ahead();
                }
            }
        }
    }
}

/// Reads a list of paths: one a line, or NUL-separated when the list holds a NUL byte in
/// its first 64 KiB (as `find -print0` and `anylabel scan -0` write). Paths are taken as
/// bytes, so names that are not UTF-8 stay exact; blank lines are skipped.
pub fn read_list(
    mut reader: impl BufRead + 'static,
) -> impl Iterator<Item = Result<Item, ScanError>> {
    let sep = match reader.fill_buf() {
        Ok(head) if head.contains(&0) => 0u8,
        _ => b'\n',
    };
    let mut failed = false;
    std::iter::from_fn(move || {
        loop {
            if failed {
                return None;
            }
            let mut buf = Vec::new();
            match reader.by_ref().read_until(sep, &mut buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    failed = true;
                    return Some(Err(ScanError {
                        path: PathBuf::from("-"),
                        reason: format!("cannot read the list: {e}"),
                    }));
                }
            }
            if buf.last() == Some(&sep) {
                buf.pop();
            }
            if sep == b'\n' && buf.last() == Some(&b'\r') {
                buf.pop();
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let path = PathBuf::from(OsStr::from_bytes(&buf));
            let name = display_name(&path);
            return Some(Ok(Item { path, name }));
        }
    })
}

/// A path as a record names it: forward slashes are kept as they are, non-UTF-8 bytes
/// are replaced (the path to read stays exact).
fn display_name(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_case_insensitive() {
        assert!(has_image_extension(Path::new("a/B.JPG")));
        assert!(has_image_extension(Path::new("x.Png")));
        assert!(has_image_extension(Path::new("x.heic")));
        assert!(!has_image_extension(Path::new("notes.txt")));
        assert!(!has_image_extension(Path::new("jpg")));
    }

    #[test]
    fn walks_sorted_and_relative_to_a_single_root() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["b.jpg", "a.PNG", "sub/c.webp", "sub/z.txt", "A0.jpeg"] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        let names: Vec<String> = scan(vec![Input::Dir(dir.path().to_path_buf())])
            .map(|r| r.unwrap().name)
            .collect();
        assert_eq!(names, ["A0.jpeg", "a.PNG", "b.jpg", "sub/c.webp"]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// The read-ahead walk yields what `walkdir` sorted by name yields, in the same
        /// order, whatever the read-ahead and thread count, on random trees.
        #[test]
        fn walks_in_walkdir_order(
            files in proptest::collection::vec(
                proptest::collection::vec(proptest::sample::select(vec!["a", "B", "a0", "é", "z.d", "_"]), 1..5),
                1..60,
            ),
            threads in 1usize..4,
            max_depth in proptest::option::of(1usize..4),
        ) {
            let dir = tempfile::tempdir().unwrap();
            for parts in &files {
                let mut p = dir.path().to_path_buf();
                for part in &parts[..parts.len() - 1] {
                    p.push(format!("{part}_d"));
                }
                p.push(format!("{}.jpg", parts[parts.len() - 1]));
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, b"x").unwrap();
            }
            let opts = WalkOptions { threads, max_depth, ..WalkOptions::default() };
            let ours: Vec<PathBuf> = walk_dir(dir.path().to_path_buf(), true, opts)
                .map(|r| r.unwrap().path)
                .collect();
            let mut w = walkdir::WalkDir::new(dir.path()).sort_by_file_name();
            if let Some(d) = max_depth {
                w = w.max_depth(d);
            }
            let theirs: Vec<PathBuf> = w
                .into_iter()
                .map(|e| e.unwrap())
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path())
                .collect();
            proptest::prop_assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn reads_a_list() {
        let list = std::io::Cursor::new("x.jpg\n\n y.png\r\n");
        let items: Vec<Item> = read_list(list).map(Result::unwrap).collect();
        assert_eq!(items[0].name, "x.jpg");
        assert_eq!(items[1].path, PathBuf::from(" y.png"));
    }
}
