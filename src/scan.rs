//! Finding the images to label: folders walked recursively in sorted order, files taken
//! as given, or a list of paths on stdin.
//!
//! The walk is lazy, so the first image is labelled while the rest of a ten-million-file
//! tree is still being listed. Order is stable (sorted by file name within each folder,
//! folders depth-first), so two runs over the same tree write their records in the same
//! order.

use std::ffi::OsStr;
use std::io::BufRead;
use std::path::{Path, PathBuf};

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
    /// `-`: a list of paths on stdin, one a line.
    Stdin,
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

/// Walks the inputs in order and yields each image, or each problem met on the way.
pub fn scan(inputs: Vec<Input>) -> impl Iterator<Item = Result<Item, ScanError>> {
    // Paths are relative to the root only when there is exactly one input and it is a folder.
    let single_root = match inputs.as_slice() {
        [Input::Dir(d)] => Some(d.clone()),
        _ => None,
    };
    inputs.into_iter().flat_map(
        move |input| -> Box<dyn Iterator<Item = Result<Item, ScanError>>> {
            match input {
                Input::File(path) => {
                    let name = display_name(&path);
                    Box::new(std::iter::once(Ok(Item { path, name })))
                }
                Input::Dir(dir) => Box::new(walk_dir(dir, single_root.is_some())),
                Input::Stdin => Box::new(read_list(std::io::stdin().lock())),
            }
        },
    )
}

/// Walks one folder, sorted, following no links to folders.
pub fn walk_dir(dir: PathBuf, relative: bool) -> impl Iterator<Item = Result<Item, ScanError>> {
    let root = dir.clone();
    walkdir::WalkDir::new(&dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(move |entry| match entry {
            Ok(e) => {
                // Files, and links to files: a link is read through when it is decoded.
                if e.file_type().is_dir() || !has_image_extension(e.path()) {
                    return None;
                }
                let path = e.into_path();
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
                let reason = match e.io_error() {
                    Some(io) => io.to_string(),
                    None => e.to_string(),
                };
                Some(Err(ScanError { path, reason }))
            }
        })
}

/// Reads a list of paths, one a line; blank lines are skipped.
pub fn read_list(reader: impl BufRead + 'static) -> impl Iterator<Item = Result<Item, ScanError>> {
    reader.lines().filter_map(|line| match line {
        Ok(l) => {
            let l = l.trim_end_matches('\r');
            if l.trim().is_empty() {
                return None;
            }
            let path = PathBuf::from(l);
            Some(Ok(Item {
                name: l.to_string(),
                path,
            }))
        }
        Err(e) => Some(Err(ScanError {
            path: PathBuf::from("-"),
            reason: format!("cannot read the list on stdin: {e}"),
        })),
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
