//! Output files: written whole or not at all, without ever replacing what is not a file.
//!
//! A result file is written into a temporary file beside it and renamed into place when
//! it is complete, so that a reader never sees half of it and a failed run leaves the old
//! one. That rename must not reach what is not an ordinary file: `-o /dev/null`,
//! `-o /dev/stdout`, a named pipe, or `-o >(gzip > x.gz)` (a `/dev/fd/N` path) are
//! written to as they are (run as root, a rename would put a plain file in place of
//! `/dev/null` for the whole machine). A symbolic link to a file keeps its link: the file
//! it points at is the one replaced.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};

/// Where an output path leads.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    /// A device, a pipe, a socket, or a process's descriptor (`/dev/stdout`,
    /// `/dev/fd/63`): written in place, appended to.
    Stream(PathBuf),
    /// An ordinary file, or none yet: replaced whole. Symbolic links are followed to the
    /// path they lead to.
    File(PathBuf),
}

/// What writing to `path` means. A folder is an error.
pub fn target(path: &Path) -> Result<Target> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => bail!("{} is a folder; give a file name", path.display()),
        // A device, a pipe or a socket; or a process's own descriptor (`/dev/stdout`
        // redirected to a file is that file, already opened by the shell: written to, not
        // replaced behind its back).
        Ok(m) if !m.file_type().is_file() || is_descriptor(path) => {
            Ok(Target::Stream(path.to_path_buf()))
        }
        Ok(_) => Ok(Target::File(
            std::fs::canonicalize(path)
                .with_context(|| format!("cannot resolve {}", path.display()))?,
        )),
        // Not there yet (or a link to a file not there yet): the link's destination.
        Err(_) => Ok(Target::File(follow_dangling(path))),
    }
}

/// Whether `a` and `b` lead to one ordinary file (`out.jsonl`, `./sub/../out.jsonl`, a
/// link to it), there yet or not: writing both would leave only the second.
pub fn same_file(a: &Path, b: &Path) -> bool {
    let resolve = |p: &Path| match target(p) {
        Ok(Target::File(dest)) => {
            let dir = std::fs::canonicalize(folder(&dest)).ok()?;
            Some(dir.join(dest.file_name()?))
        }
        _ => None,
    };
    matches!((resolve(a), resolve(b)), (Some(x), Some(y)) if x == y)
}

/// Fails unless `path` can be written as it is (its folder is not created): the file
/// takes writes, or, not there yet, its folder exists and takes new files.
pub fn check_writable(path: &Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt as _;
    let dest = match target(path)? {
        Target::Stream(p) | Target::File(p) => p,
    };
    let (probe, mode) = if dest.exists() {
        (dest.as_path(), libc::W_OK)
    } else if folder(&dest).is_dir() {
        (folder(&dest), libc::W_OK | libc::X_OK)
    } else {
        bail!(
            "cannot write {}: the folder {} does not exist",
            path.display(),
            folder(&dest).display()
        );
    };
    let c = std::ffi::CString::new(probe.as_os_str().as_bytes())
        .map_err(|_| anyhow!("cannot write {}: a NUL in the path", path.display()))?;
    // SAFETY: a path as a C string.
    if unsafe { libc::access(c.as_ptr(), mode) } != 0 {
        bail!(
            "cannot write {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// `/dev/stdin|stdout|stderr`, `/dev/fd/N`, `/proc/self/fd/N` or `/proc/PID/fd/N`.
fn is_descriptor(path: &Path) -> bool {
    let p = path.to_string_lossy();
    matches!(p.as_ref(), "/dev/stdin" | "/dev/stdout" | "/dev/stderr")
        || p.starts_with("/dev/fd/")
        || (p.starts_with("/proc/") && p.contains("/fd/"))
}

/// A path whose links lead nowhere yet: where they lead.
fn follow_dangling(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::read_link(&p) {
            Ok(to) => {
                p = match p.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                }
            }
            Err(_) => break,
        }
    }
    p
}

/// `.NAME.`, the start of the temporary files written for `dest`.
fn partial_prefix(dest: &Path) -> String {
    let name = dest
        .file_name()
        .map_or("output".into(), |n| n.to_string_lossy().into_owned());
    format!(".{name}.")
}

/// The folder `dest` is in: `.` for a bare name (whose parent is the empty path).
fn folder(dest: &Path) -> &Path {
    match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// An output file being written: see the module's description.
pub struct OutFile {
    /// The path as the user gave it, for messages.
    shown: PathBuf,
    inner: Inner,
}

enum Inner {
    Temp {
        dest: PathBuf,
        temp: tempfile::NamedTempFile,
    },
    Stream(File),
}

impl OutFile {
    /// Opens `path` for writing; the temporary file, if there is one, is
    /// `.{NAME}.…partial` beside the destination `NAME` (in its folder, which is created),
    /// so that what a killed run left is known by its name ([`OutFile::partial_prefix`]).
    pub fn create(path: &Path) -> Result<OutFile> {
        let inner = match target(path)? {
            Target::Stream(p) => Inner::Stream(
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(&p)
                    .with_context(|| format!("cannot write the output {}", path.display()))?,
            ),
            Target::File(dest) => {
                let dir = folder(&dest).to_path_buf();
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                let temp = tempfile::Builder::new()
                    .prefix(&partial_prefix(&dest))
                    .suffix(".partial")
                    // An ordinary file once renamed: 0666 less the umask, not a temporary
                    // file's 0600.
                    .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
                    .tempfile_in(&dir)
                    .with_context(|| {
                        format!(
                            "cannot write the output {} (in {})",
                            path.display(),
                            dir.display()
                        )
                    })?;
                Inner::Temp { dest, temp }
            }
        };
        Ok(OutFile {
            shown: path.to_path_buf(),
            inner,
        })
    }

    /// The file written to.
    pub fn as_file(&self) -> &File {
        match &self.inner {
            Inner::Temp { temp, .. } => temp.as_file(),
            Inner::Stream(f) => f,
        }
    }

    /// The destination's folder and the prefix of its temporary files, where it has one.
    pub fn partial_prefix(&self) -> Option<(&Path, String)> {
        match &self.inner {
            Inner::Temp { dest, .. } => Some((folder(dest), partial_prefix(dest))),
            Inner::Stream(_) => None,
        }
    }

    /// The temporary file, where there is one.
    pub fn temp_path(&self) -> Option<&Path> {
        match &self.inner {
            Inner::Temp { temp, .. } => Some(temp.path()),
            Inner::Stream(_) => None,
        }
    }

    /// Whether what is written goes straight to its destination (a device or a pipe), so
    /// that a run that stops has already written part of it.
    pub fn is_stream(&self) -> bool {
        matches!(self.inner, Inner::Stream(_))
    }

    /// The path as given.
    pub fn path(&self) -> &Path {
        &self.shown
    }

    /// Makes the written file the destination: synced and renamed into place (a stream is
    /// only flushed).
    pub fn finish(self) -> Result<()> {
        self.finish_with(true)
    }

    /// As [`OutFile::finish`], `sync` saying whether to wait for the file to reach the disk
    /// before the rename ([`Batch`] syncs many files together instead).
    fn finish_with(self, sync: bool) -> Result<()> {
        match self.inner {
            Inner::Stream(mut f) => f
                .flush()
                .with_context(|| format!("cannot write {}", self.shown.display())),
            Inner::Temp { dest, temp } => {
                if sync {
                    temp.as_file()
                        .sync_all()
                        .with_context(|| format!("cannot write {}", self.shown.display()))?;
                }
                temp.persist(&dest)
                    .map_err(|e| anyhow!("cannot write {}: {}", self.shown.display(), e.error))?;
                Ok(())
            }
        }
    }
}

impl Write for OutFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.inner {
            Inner::Temp { temp, .. } => temp.write(buf),
            Inner::Stream(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.inner {
            Inner::Temp { temp, .. } => temp.flush(),
            Inner::Stream(f) => f.flush(),
        }
    }
}

/// Writes `bytes` to `path` whole: see [`OutFile`].
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    written(path, bytes)?.finish()
}

/// `bytes` written to `path`'s temporary file, to be finished.
fn written(path: &Path, bytes: &[u8]) -> Result<OutFile> {
    let mut out = OutFile::create(path)?;
    out.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(out)
}

/// Many files, each written whole as [`write`] writes one (a temporary file renamed into
/// place, so a reader or a killed run never leaves half a file), but brought to the disk
/// together by [`Batch::sync`] (one `syncfs` for each filesystem written to) instead of one
/// `fsync` a file. For the per-image label files of an export: on this project's test
/// machine the `fsync`s were 64% of a YOLO export's system-call time
/// (`strace -c -w anylabel export … -f yolo`, 10,000 records), and on network disks each
/// one waits for a round trip.
#[derive(Debug, Default)]
pub struct Batch {
    /// Every folder written to, so that each is looked at once.
    folders: std::collections::HashSet<PathBuf>,
    /// One folder on each filesystem written to, by device id.
    filesystems: std::collections::BTreeMap<u64, PathBuf>,
    /// The paths claimed so far ([`Batch::claim`]), as 64-bit hashes: 8 bytes a file.
    claimed: std::collections::HashSet<u64>,
}

impl Batch {
    /// Whether `path` is claimed here for the first time: a second file of the batch at
    /// the same path would replace the first (two images of one name, another extension,
    /// share a label file). Told apart by a 64-bit hash of the path, so that memory stays
    /// small on millions of files; two paths of one hash (about one chance in 10^13 for
    /// ten million files) would be taken for one.
    pub fn claim(&mut self, path: &Path) -> bool {
        use std::os::unix::ffi::OsStrExt;
        self.claimed
            .insert(xxhash_rust::xxh3::xxh3_64(path.as_os_str().as_bytes()))
    }

    /// Writes `bytes` to `path` whole, not yet synced.
    pub fn write(&mut self, path: &Path, bytes: &[u8]) -> Result<()> {
        let out = written(path, bytes)?;
        if let Some(dir) = out.temp_path().and_then(Path::parent)
            && !self.folders.contains(dir)
        {
            use std::os::unix::fs::MetadataExt;
            let dev = std::fs::metadata(dir)
                .with_context(|| format!("cannot write {}", path.display()))?
                .dev();
            self.filesystems
                .entry(dev)
                .or_insert_with(|| dir.to_path_buf());
            self.folders.insert(dir.to_path_buf());
        }
        out.finish_with(false)
    }

    /// Waits until every file written is on the disk.
    pub fn sync(&self) -> Result<()> {
        use std::os::fd::AsRawFd;
        for dir in self.filesystems.values() {
            let f = File::open(dir).with_context(|| format!("cannot sync {}", dir.display()))?;
            // SAFETY: `f` is an open descriptor for the call's length.
            if unsafe { libc::syncfs(f.as_raw_fd()) } != 0 {
                return Err(std::io::Error::last_os_error()).with_context(|| {
                    format!("cannot sync the files written in {}", dir.display())
                });
            }
        }
        Ok(())
    }

    /// The number of filesystems written to.
    pub fn filesystems(&self) -> usize {
        self.filesystems.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_pipes_and_dev_paths_are_written_in_place() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            target(Path::new("/dev/null")).unwrap(),
            Target::Stream("/dev/null".into())
        );
        assert_eq!(
            target(Path::new("/dev/stdout")).unwrap(),
            Target::Stream("/dev/stdout".into())
        );
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a path as a C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(target(&fifo).unwrap(), Target::Stream(fifo.clone()));
        assert!(target(dir.path()).is_err());
        // An ordinary file under /dev (a tmpfs such as /dev/shm) is a file like any other,
        // and one not there yet is made.
        if let Ok(shm) = tempfile::tempdir_in("/dev/shm") {
            let f = shm.path().join("out.jsonl");
            write(&f, b"one").unwrap();
            write(&f, b"two").unwrap();
            assert_eq!(std::fs::read_to_string(&f).unwrap(), "two");
            assert_eq!(
                target(&f).unwrap(),
                Target::File(std::fs::canonicalize(&f).unwrap())
            );
        }
        // Written to a device: it stays one.
        write(Path::new("/dev/null"), b"x").unwrap();
        let m = std::fs::metadata("/dev/null").unwrap();
        assert!(std::os::unix::fs::FileTypeExt::is_char_device(
            &m.file_type()
        ));
    }

    #[test]
    fn a_link_to_a_file_keeps_its_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.jsonl");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink("real.jsonl", &link).unwrap();
        write(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        // A link to a file not there yet makes it.
        let later = dir.path().join("later.jsonl");
        std::os::unix::fs::symlink("sub/made.jsonl", &later).unwrap();
        write(&later, b"made").unwrap();
        assert!(std::fs::symlink_metadata(&later).unwrap().is_symlink());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("sub/made.jsonl")).unwrap(),
            "made"
        );
        // An ordinary file is replaced whole, with no temporary file left.
        let plain = dir.path().join("plain.jsonl");
        write(&plain, b"one").unwrap();
        write(&plain, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&plain).unwrap(), "two");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| {
                let n = e.unwrap().file_name().into_string().unwrap();
                n.ends_with(".partial").then_some(n)
            })
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn a_batch_writes_whole_files_in_many_folders_and_syncs_them_together() {
        let dir = tempfile::tempdir().unwrap();
        let mut batch = Batch::default();
        for i in 0..20 {
            let path = dir.path().join(format!("f{}/g{}/{i}.txt", i % 3, i % 2));
            batch
                .write(&path, format!("label {i}\n").as_bytes())
                .unwrap();
        }
        // Written again: replaced whole.
        let again = dir.path().join("f0/g0/0.txt");
        batch.write(&again, b"again\n").unwrap();
        // A link keeps its link, as with `write`.
        std::fs::write(dir.path().join("target.txt"), "old").unwrap();
        let link = dir.path().join("f1/link.txt");
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink("../target.txt", &link).unwrap();
        batch.write(&link, b"new").unwrap();
        batch.sync().unwrap();
        assert_eq!(batch.filesystems(), 1);
        assert!(batch.claim(&dir.path().join("a.txt")));
        assert!(batch.claim(&dir.path().join("b.txt")));
        assert!(!batch.claim(&dir.path().join("a.txt")));
        assert_eq!(std::fs::read_to_string(&again).unwrap(), "again\n");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("f1/g1/7.txt")).unwrap(),
            "label 7\n"
        );
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("target.txt")).unwrap(),
            "new"
        );
        let partials = walkdir::WalkDir::new(dir.path())
            .into_iter()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".partial")
            })
            .count();
        assert_eq!(partials, 0);
    }
}
