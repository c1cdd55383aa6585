//! `--git REV`: a commit's `.route` files, checked out with `git` into a
//! temporary directory (a temporary index, so the repository's own index
//! and working tree are never touched), removed when done.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The `.route` files of one commit, laid out as in the repository.
pub(super) struct Tree {
    /// Holds the index file and, under `tree/`, the files.
    dir: tempfile::TempDir,
    /// The working tree's top directory, canonical.
    top: PathBuf,
}

impl Tree {
    /// Checks out the `.route` files of `rev` of the repository `near` is in.
    pub(super) fn checkout(rev: &str, near: &Path) -> Result<Tree, String> {
        // A revision is never an option: `--output=…` would be one to git.
        if rev.starts_with('-') || rev.is_empty() {
            return Err(format!("`{rev}` is not a revision"));
        }
        let at = if near.is_dir() {
            near.to_path_buf()
        } else {
            near.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).into()
        };
        let top = git(&at, &["rev-parse", "--show-toplevel"], None)
            .map_err(|e| format!("`{}` is not in a git repository: {e}", near.display()))?;
        let top = std::fs::canonicalize(top.trim())
            .map_err(|e| format!("cannot read the repository `{}`: {e}", top.trim()))?;
        let commit = format!("{rev}^{{commit}}");
        git(&top, &["rev-parse", "--verify", "--quiet", &commit], None)
            .map_err(|_| format!("`{rev}` names no commit in {}", top.display()))?;
        let dir =
            tempfile::tempdir().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
        let index = dir.path().join("index");
        let files = git(&top, &["ls-tree", "-r", "-z", "--name-only", &commit], None)?;
        let routes: Vec<&str> = files.split('\0').filter(|f| f.ends_with(".route")).collect();
        let tree = Tree { dir, top };
        let prefix = format!("{}/", tree.root().display());
        git(&tree.top, &["read-tree", &commit], Some(&index))?;
        let mut checkout = Command::new("git");
        checkout
            .arg("-C")
            .arg(&tree.top)
            .args(["checkout-index", "-f", "-z", "--stdin", "--prefix"])
            .arg(&prefix)
            .env("GIT_INDEX_FILE", &index)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = checkout.spawn().map_err(|e| format!("cannot run git: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write as _;
            stdin
                .write_all(routes.join("\0").as_bytes())
                .map_err(|e| format!("cannot run git checkout-index: {e}"))?;
        }
        let done = child.wait_with_output().map_err(|e| format!("cannot run git: {e}"))?;
        if !done.status.success() {
            return Err(format!("git checkout-index failed: {}", first_line(&done.stderr)));
        }
        Ok(tree)
    }

    /// Where the files are.
    pub(super) fn root(&self) -> PathBuf {
        self.dir.path().join("tree")
    }

    /// Where the commit's version of the working-tree path `path` is (it
    /// need not exist on either side).
    pub(super) fn path_of(&self, path: &Path) -> Result<PathBuf, String> {
        let absolute = match std::fs::canonicalize(path) {
            Ok(p) => p,
            // A file deleted since the commit: its directory still exists.
            Err(_) => {
                let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
                let parent = std::fs::canonicalize(parent.unwrap_or(Path::new(".")))
                    .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
                parent.join(path.file_name().unwrap_or_default())
            }
        };
        let rel = absolute.strip_prefix(&self.top).map_err(|_| {
            format!("`{}` is outside the repository {}", path.display(), self.top.display())
        })?;
        Ok(self.root().join(rel))
    }
}

/// Runs `git -C at ARGS` (with `index` as its index file), returning stdout.
fn git(at: &Path, args: &[&str], index: Option<&Path>) -> Result<String, String> {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(at).args(args).stdin(Stdio::null());
    if let Some(index) = index {
        cmd.env("GIT_INDEX_FILE", index);
    }
    let done = cmd.output().map_err(|e| format!("cannot run git: {e}"))?;
    if !done.status.success() {
        return Err(format!("git {} failed: {}", args[0], first_line(&done.stderr)));
    }
    String::from_utf8(done.stdout).map_err(|_| format!("git {} printed no UTF-8", args[0]))
}

fn first_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).lines().next().unwrap_or("").trim().to_owned()
}
