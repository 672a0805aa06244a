//! Finding the images to label: folders walked recursively in sorted order, files taken
//! as given, or a list of paths (on stdin or in a file).
//!
//! The walk is lazy and parallel (`jwalk`: folders are read by a pool of threads, and
//! their entries streamed in order), so the first image is labelled while the rest of a
//! ten-million-file tree is still being listed. Order is stable — sorted by file name
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

/// Walks one folder in parallel, yielding its images in sorted order.
pub fn walk_dir(
    dir: PathBuf,
    relative: bool,
    opts: WalkOptions,
) -> impl Iterator<Item = Result<Item, ScanError>> {
    let root = dir.clone();
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        opts.threads
    };
    let opts = Arc::new(opts);
    let prune = opts.clone();
    let prune_root = root.clone();
    let mut walker = jwalk::WalkDir::new(&dir)
        .sort(true)
        .skip_hidden(false)
        .follow_links(opts.follow_links)
        .parallelism(jwalk::Parallelism::RayonNewPool(threads))
        .process_read_dir(move |_, parent, _, children| {
            // Leave out excluded entries before their folders are read.
            if prune.exclude.is_some() {
                let base = parent.strip_prefix(&prune_root).unwrap_or(parent);
                children.retain(|c| match c {
                    Ok(e) => !prune.excluded(&base.join(&e.file_name)),
                    Err(_) => true,
                });
            }
        });
    if let Some(depth) = opts.max_depth {
        walker = walker.max_depth(depth);
    }
    walker.into_iter().filter_map(move |entry| match entry {
        Ok(e) => {
            // Files, and links to files: a link is read through when it is decoded.
            if e.file_type().is_dir() || e.depth() == 0 {
                return None;
            }
            let path = e.path();
            if e.path_is_symlink() && std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
                return None;
            }
            if !opts.wants(&path) {
                return None;
            }
            let name = if relative {
                path.strip_prefix(&root)
                    .map(display_name)
                    .unwrap_or_else(|_| display_name(&path))
            } else {
                display_name(&path)
            };
            Some(Ok(Item { path, name }))
        }
        Err(e) => {
            let path = e
                .path()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| root.clone());
            let reason = if e.loop_ancestor().is_some() {
                format!(
                    "a link loop: it leads back to {}",
                    e.loop_ancestor().unwrap().display()
                )
            } else {
                match e.io_error() {
                    Some(io) => io.to_string(),
                    None => e.to_string(),
                }
            };
            Some(Err(ScanError { path, reason }))
        }
    })
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

    #[test]
    fn reads_a_list() {
        let list = std::io::Cursor::new("x.jpg\n\n y.png\r\n");
        let items: Vec<Item> = read_list(list).map(Result::unwrap).collect();
        assert_eq!(items[0].name, "x.jpg");
        assert_eq!(items[1].path, PathBuf::from(" y.png"));
    }
}
