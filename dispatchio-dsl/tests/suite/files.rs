//! Reading files: only regular files, within the size limit, as UTF-8; an
//! unreadable import is a finding at the import, and long import chains load.

use std::path::{Path, PathBuf};
use std::time::Duration;

use dispatchio_dsl::{Code, MAX_FILE_BYTES, Report, check};

use crate::TempDir;

/// Runs `f` on its own thread and fails the test if it has not returned
/// within 30 s: a guard against a read that blocks forever (the fixed code
/// returns at once; the old code never did).
pub(crate) fn within_30s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(30)).expect("returned within 30 s (it blocked)")
}

/// Makes a FIFO at `path` (with `mkfifo(1)`: no unsafe code in the tests).
pub(crate) fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

fn codes(report: &Report) -> Vec<Code> {
    report.diagnostics.iter().map(|d| d.code).collect()
}

fn finding(report: &Report, code: Code) -> &dispatchio_dsl::Diagnostic {
    report
        .diagnostics
        .iter()
        .find(|d| d.code == code)
        .unwrap_or_else(|| panic!("no {code} in:\n{}", report.render_plain()))
}

const MAIN: &str = "import \"lib.route\"\nlistener l { otherwise => drop }\n";

#[test]
fn a_fifo_import_is_refused_not_read() {
    let dir = TempDir::new("fifo-import");
    mkfifo(&dir.0.join("lib.route"));
    let main = dir.write("main.route", MAIN);
    let report = within_30s(move || check(&main).unwrap());
    let d = finding(&report, Code::Unreadable);
    assert!(d.message.contains("it is a FIFO, not a regular file"), "{}", d.message);
    // Pointed at the import that names it.
    assert_eq!(
        report.sources.location(d.primary.span),
        format!("{}:1:8", dir.0.join("main.route").display())
    );
    assert!(report.program.is_none());
}

#[test]
fn a_fifo_root_is_refused_not_read() {
    let dir = TempDir::new("fifo-root");
    let fifo = dir.0.join("x.route");
    mkfifo(&fifo);
    let err = within_30s(move || check(&fifo).unwrap_err());
    assert!(err.to_string().contains("it is a FIFO, not a regular file"), "{err}");
}

#[test]
fn an_import_of_a_device_or_a_link_to_one_is_refused_not_read() {
    let dir = TempDir::new("device");
    std::os::unix::fs::symlink("/dev/zero", dir.0.join("zero.route")).unwrap();
    for target in ["/dev/zero", "zero.route"] {
        let main = dir.write("main.route", &MAIN.replace("lib.route", target));
        let report = within_30s(move || check(&main).unwrap());
        let d = finding(&report, Code::Unreadable);
        assert!(d.message.contains("it is a character device"), "{target}: {}", d.message);
    }
}

#[test]
fn a_file_over_the_size_limit_is_refused_with_the_limit_named() {
    let dir = TempDir::new("large");
    let big = dir.0.join("lib.route");
    // Sparse: no 16 MiB written to the disk.
    std::fs::File::create(&big).unwrap().set_len(MAX_FILE_BYTES + 1).unwrap();
    let main = dir.write("main.route", MAIN);
    let report = check(&main).unwrap();
    let d = finding(&report, Code::Unreadable);
    assert!(d.message.contains("larger than 16 MiB"), "{}", d.message);
    let err = check(&big).unwrap_err();
    assert_eq!(err.source.kind(), std::io::ErrorKind::FileTooLarge);
    // At the limit exactly it is read (and fails later, as text).
    std::fs::File::create(&big).unwrap().set_len(MAX_FILE_BYTES).unwrap();
    assert!(check(&big).is_ok());
}

#[test]
fn a_non_utf8_import_is_reported_at_its_bad_byte() {
    let dir = TempDir::new("utf8");
    std::fs::write(dir.0.join("lib.route"), b"message A { x: int }\n// caf\xe9\n").unwrap();
    let main = dir.write("main.route", MAIN);
    let report = check(&main).unwrap();
    let d = finding(&report, Code::Unreadable);
    assert!(
        d.message.contains("not UTF-8 text (the first invalid byte is at offset 27)"),
        "{}",
        d.message
    );
    assert_eq!(
        report.sources.location(d.primary.span),
        format!("{}:2:7", dir.0.join("lib.route").display())
    );
    // The import that led there is shown too.
    assert_eq!(d.related.len(), 1);
    let err = check(&dir.0.join("lib.route")).unwrap_err();
    assert!(err.to_string().contains("offset 27"), "{err}");
}

#[test]
fn a_missing_import_is_still_an_unknown_name() {
    let dir = TempDir::new("missing-import");
    let main = dir.write("main.route", MAIN);
    assert_eq!(codes(&check(&main).unwrap()), [Code::UnknownName]);
    std::os::unix::fs::symlink("nowhere.route", dir.0.join("lib.route")).unwrap();
    let report = check(&main).unwrap();
    let d = finding(&report, Code::UnknownName);
    assert!(d.message.contains("a symlink to a file that does not exist"), "{}", d.message);
}

/// `f0.route` imports `f1.route` … imports `f{n-1}.route`, which declares `M`.
fn import_chain(dir: &TempDir, n: usize) -> PathBuf {
    for i in 0..n - 1 {
        dir.write(&format!("f{i}.route"), &format!("import \"f{}.route\"\n", i + 1));
    }
    dir.write(&format!("f{}.route", n - 1), "message M { x: int }\n");
    dir.0.join("f0.route")
}

#[test]
fn a_chain_of_10000_imports_loads_without_a_depth_error() {
    let dir = TempDir::new("chain");
    let root = import_chain(&dir, 10_000);
    // The loader follows imports with its own stack: a thread with a small
    // stack (the parser's guard failed at about 7,300 files on the main
    // thread's 8 MiB) loads them all.
    let report = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || check(&root).unwrap())
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(codes(&report), [], "{}", report.render_plain());
    assert_eq!(report.sources.files().count(), 10_000);
    assert_eq!(report.program.expect("a program").messages()[0].name, "M");
}
