//! `anylabel scan`: lists from stdin and files, NUL-separated output, names that are not
//! UTF-8, link loops, --max-depth, --exclude, --ext, and the stable sorted order.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use common::anylabel;

fn touch(root: &Path, rel: impl AsRef<Path>) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, b"x").unwrap();
}

/// Runs `anylabel scan ARGS` and returns (exit code, stdout bytes, stderr).
fn scan(args: &[&OsStr], stdin: &[u8]) -> (i32, Vec<u8>, String) {
    let out = anylabel()
        .arg("scan")
        .args(args)
        .write_stdin(stdin.to_vec())
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn lines(root: &Path, stdout: &[u8]) -> Vec<String> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|l| {
            Path::new(l)
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[test]
fn walks_sorted_with_depth_exclude_and_ext() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for f in [
        "b.jpg",
        "a.PNG",
        ".hidden.jpg",
        "notes.txt",
        "sub/c.webp",
        "sub/deep/d.jpg",
        "sub/deep/d_thumb.jpg",
        "cache/e.jpg",
        "z.tiff",
        "y.raw",
    ] {
        touch(root, f);
    }
    let r = root.as_os_str();
    let (code, out, _) = scan(&[r], b"");
    assert_eq!(code, 0);
    assert_eq!(
        lines(root, &out),
        [
            ".hidden.jpg",
            "a.PNG",
            "b.jpg",
            "cache/e.jpg",
            "sub/c.webp",
            "sub/deep/d.jpg",
            "sub/deep/d_thumb.jpg",
            "z.tiff"
        ]
    );
    let (_, out, _) = scan(&[r, "--max-depth".as_ref(), "2".as_ref()], b"");
    assert_eq!(
        lines(root, &out),
        [
            ".hidden.jpg",
            "a.PNG",
            "b.jpg",
            "cache/e.jpg",
            "sub/c.webp",
            "z.tiff"
        ]
    );
    let (_, out, _) = scan(
        &[
            r,
            "--exclude".as_ref(),
            "cache".as_ref(),
            "--exclude".as_ref(),
            "*_thumb.jpg".as_ref(),
            "--exclude".as_ref(),
            "sub/c.*".as_ref(),
        ],
        b"",
    );
    assert_eq!(
        lines(root, &out),
        [".hidden.jpg", "a.PNG", "b.jpg", "sub/deep/d.jpg", "z.tiff"]
    );
    let (_, out, _) = scan(&[r, "--ext".as_ref(), "raw,.PNG".as_ref()], b"");
    assert_eq!(lines(root, &out), ["a.PNG", "y.raw"]);
    let (code, _, err) = scan(&[r, "--exclude".as_ref(), "a[".as_ref()], b"");
    assert_eq!(code, 1);
    assert!(err.contains("--exclude a["), "{err}");
}

#[test]
fn reads_lists_from_stdin_and_files_newline_or_nul() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let list = root.join("list.txt");
    std::fs::write(&list, "one.jpg\n\ntwo words.png\r\n").unwrap();
    let (code, out, _) = scan(&["--from-file".as_ref(), list.as_os_str()], b"");
    assert_eq!(code, 0);
    assert_eq!(out, b"one.jpg\ntwo words.png\n");
    // NUL-separated, with a name holding a newline, from stdin, printed back with -0.
    let (code, out, _) = scan(&["-".as_ref(), "-0".as_ref()], b"a\nb.jpg\0c.jpg\0");
    assert_eq!(code, 0);
    assert_eq!(out, b"a\nb.jpg\0c.jpg\0");
    // Files and lists together, in the order given.
    touch(root, "d/x.jpg");
    let (_, out, _) = scan(
        &[
            root.join("d").as_os_str(),
            "--from-file".as_ref(),
            list.as_os_str(),
        ],
        b"",
    );
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.ends_with("/d/x.jpg\none.jpg\ntwo words.png\n"),
        "{text}"
    );
    let (code, _, err) = scan(&["--from-file".as_ref(), "/no/such/list".as_ref()], b"");
    assert_eq!(code, 1);
    assert!(err.contains("/no/such/list"), "{err}");
}

#[test]
fn keeps_names_that_are_not_utf8_exact() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let name = OsStr::from_bytes(b"caf\xe9.jpg");
    std::fs::write(root.join(name), b"x").unwrap();
    let (code, out, _) = scan(&[root.as_os_str(), "-0".as_ref()], b"");
    assert_eq!(code, 0);
    let mut want = root.join(name).as_os_str().as_bytes().to_vec();
    want.push(0);
    assert_eq!(out, want);
    // The bytes read back as a list name the same file.
    let (_, again, _) = scan(&["-".as_ref(), "-0".as_ref()], &out);
    assert_eq!(again, out);
}

#[test]
fn reports_a_link_loop_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    touch(root, "a/x.jpg");
    touch(root, "b/y.jpg");
    std::os::unix::fs::symlink(root, root.join("a/up")).unwrap();
    std::os::unix::fs::symlink(root.join("b"), root.join("linked")).unwrap();
    // Without -L links to folders are not followed.
    let (code, out, _) = scan(&[root.as_os_str()], b"");
    assert_eq!(code, 0);
    assert_eq!(lines(root, &out), ["a/x.jpg", "b/y.jpg"]);
    // With -L the link to b is followed, the loop is reported and not followed.
    let (code, out, err) = scan(&[root.as_os_str(), "-L".as_ref()], b"");
    assert_eq!(code, 3, "{err}");
    assert_eq!(lines(root, &out), ["a/x.jpg", "b/y.jpg", "linked/y.jpg"]);
    assert!(err.contains("link loop"), "{err}");
}
