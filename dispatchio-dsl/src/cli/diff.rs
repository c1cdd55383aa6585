//! `dispatchio diff OLD NEW` (or `--git REV [PATHS…]`): what a change to
//! route files changes, per listener (see [`crate::analysis::diff()`]).
//!
//! Files are paired by path (two files; or, for two directories, the
//! `.route` files at the same relative path under each); a file on one
//! side only has every listener added or removed. Both sides must check
//! without errors. No change prints nothing (`--format human`) and exits
//! 0; `--exit-code` makes any change exit 1; 2 is a command that could
//! not run, with a one-line reason.

mod git;
mod human;
mod json;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Exit, Format, collect, display_path};
use crate::analysis::{Diff, diff};
use crate::diagnostic::SourceMap;
use crate::program::Program;
use crate::report::{LoadError, load};

#[derive(clap::Args, Debug)]
pub(super) struct DiffArgs {
    /// OLD and NEW (two files or two directories); with `--git`, the
    /// working-tree files or directories to compare (default: `.`).
    paths: Vec<PathBuf>,
    /// Compare the working tree with commit REV (any revision git names).
    #[arg(long, value_name = "REV")]
    git: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Exit with status 1 when something changes (as `git diff --exit-code`).
    #[arg(long)]
    exit_code: bool,
}

/// One file compared: its programs on each side (an empty one where the
/// file is missing) and what changes.
pub(super) struct Compared {
    /// The file as shown on each side (`REV:path` for a commit's).
    pub(super) names: [String; 2],
    /// The programs: old, new.
    pub(super) programs: [Program; 2],
    pub(super) diff: Diff,
}

impl Compared {
    /// The sources of side `new` (false: old).
    pub(super) fn sources(&self, new: bool) -> &SourceMap {
        self.programs[usize::from(new)].sources()
    }
}

/// How each side's paths are shown.
pub(super) struct Names {
    /// A commit's files: the temporary directory they are in, and the revision.
    git: Option<(PathBuf, String)>,
}

impl Names {
    /// `path` for output: as given, or `REV:path` for a file of the commit.
    pub(super) fn show(&self, path: &Path) -> String {
        if let Some((dir, rev)) = &self.git {
            if let Ok(rel) = path.strip_prefix(dir) {
                return format!("{rev}:{}", display_path(rel));
            }
        }
        display_path(path)
    }
}

/// `dispatchio diff`; `Err` is the one-line reason it could not run.
pub(super) fn run(args: &DiffArgs, out: &mut dyn Write, color: bool) -> Result<Exit, String> {
    let tree;
    let (pairs, names) = match &args.git {
        Some(rev) => {
            let roots =
                if args.paths.is_empty() { vec![PathBuf::from(".")] } else { args.paths.clone() };
            tree = git::Tree::checkout(rev, &roots[0])?;
            let mut pairs = Vec::new();
            for new in &roots {
                let old = tree.path_of(new)?;
                let found = pair(&old, new, true)?;
                if found.is_empty() && !new.exists() && !old.exists() {
                    return Err(format!(
                        "`{}` is neither in the working tree nor in `{rev}`",
                        new.display()
                    ));
                }
                pairs.extend(found);
            }
            (pairs, Names { git: Some((tree.root().to_path_buf(), rev.clone())) })
        }
        None => match args.paths.as_slice() {
            [old, new] => (pair(old, new, false)?, Names { git: None }),
            _ => {
                return Err(format!(
                    "diff takes two paths, OLD and NEW (got {}); or `--git REV [PATHS…]`",
                    args.paths.len()
                ));
            }
        },
    };
    if pairs.is_empty() {
        let paths: Vec<String> = args.paths.iter().map(|p| format!("`{}`", p.display())).collect();
        let under = if paths.is_empty() { "`.`".to_owned() } else { paths.join(" or ") };
        return Err(format!("no .route files found to compare under {under}"));
    }
    let mut compared = Vec::new();
    for (old, new) in &pairs {
        let programs = [side(old.as_deref(), &names)?, side(new.as_deref(), &names)?];
        let shown = |p: &Option<PathBuf>| p.as_deref().map(|p| names.show(p)).unwrap_or_default();
        let diff = diff(&programs[0], &programs[1]);
        compared.push(Compared { names: [shown(old), shown(new)], programs, diff });
    }
    each_listener_once(&mut compared);
    let changed = compared.iter().any(|c| !c.diff.is_empty());
    let written = match args.format {
        Format::Human => human::write(out, &compared, &names, color),
        Format::Json => writeln!(out, "{:#}", json::document(&compared, &names)),
        Format::Sarif => writeln!(out, "{:#}", json::sarif(&compared, &names)),
    };
    super::wrote(written)?;
    Ok(if changed && args.exit_code { Exit::Findings } else { Exit::Clean })
}

/// Drops the listener diffs that another compared file reports: a
/// listener of an imported file is compared in each importer's program
/// too, so it is kept only where its own file is compared (or, where that
/// file is not, in the first importer), as `check` prints a finding
/// reached through several roots once.
fn each_listener_once(compared: &mut [Compared]) {
    use crate::analysis::Presence;
    use std::collections::HashSet;
    let side = |l: &crate::analysis::ListenerDiff| usize::from(l.presence != Presence::Removed);
    let roots: [HashSet<PathBuf>; 2] = [0, 1].map(|s| {
        compared
            .iter()
            .map(|c| &c.programs[s])
            .map(|p| super::canonical(&p.sources().get(p.root()).path))
            .collect()
    });
    let mut seen = HashSet::new();
    for c in compared {
        let programs = &c.programs;
        c.diff.listeners.retain(|l| {
            let s = side(l);
            let program = &programs[s];
            let file = super::canonical(&program.sources().get(l.span.file).path);
            let home = l.span.file == program.root();
            (home || !roots[s].contains(&file)) && seen.insert((s, file, l.name.clone()))
        });
    }
}

/// One file on each side (`None`: not on that side).
type FilePair = (Option<PathBuf>, Option<PathBuf>);

/// The files to compare under `old` and `new`: the two files, or the
/// `.route` files at the same relative path under two directories. A path
/// missing on one side (only allowed with `missing`, for a commit) pairs
/// with nothing.
fn pair(old: &Path, new: &Path, missing: bool) -> Result<Vec<FilePair>, String> {
    let files = |root: &Path| -> Result<Option<(bool, Vec<PathBuf>)>, String> {
        match std::fs::metadata(root) {
            Err(_) if missing => Ok(None),
            Err(e) => Err(format!("cannot read `{}`: {e}", root.display())),
            Ok(meta) => {
                let mut files = Vec::new();
                collect(root, &mut files)?;
                Ok(Some((meta.is_dir(), files)))
            }
        }
    };
    let (a, b) = (files(old)?, files(new)?);
    let dir = |f: &Option<(bool, Vec<PathBuf>)>| f.as_ref().map(|f| f.0);
    match (dir(&a), dir(&b)) {
        (Some(false), Some(false)) => return Ok(vec![(Some(old.into()), Some(new.into()))]),
        (Some(false), None) => return Ok(vec![(Some(old.into()), None)]),
        (None, Some(false)) => return Ok(vec![(None, Some(new.into()))]),
        (Some(x), Some(y)) if x != y => {
            return Err(format!(
                "`{}` and `{}`: compare two files or two directories",
                old.display(),
                new.display()
            ));
        }
        _ => {}
    }
    let mut by_rel: BTreeMap<PathBuf, FilePair> = BTreeMap::new();
    for (root, files, is_new) in [(old, a, false), (new, b, true)] {
        for f in files.map(|f| f.1).unwrap_or_default() {
            let rel = f.strip_prefix(root).unwrap_or(&f).to_path_buf();
            let e = by_rel.entry(rel).or_default();
            if is_new { e.1 = Some(f) } else { e.0 = Some(f) }
        }
    }
    Ok(by_rel.into_values().collect())
}

/// The checked program of one side's file, or an empty program for none.
fn side(path: Option<&Path>, names: &Names) -> Result<Program, String> {
    let Some(path) = path else {
        return crate::report::load_str("<none>", "")
            .map(|l| l.program)
            .map_err(|e| format!("the empty program does not check: {e}"));
    };
    match load(path) {
        Ok(loaded) => Ok(loaded.program),
        Err(LoadError::Read(e)) => Err(format!("cannot read `{}`: {}", names.show(path), e.source)),
        Err(LoadError::Invalid(report)) => Err(format!(
            "`{}` has {} error(s), so it cannot be compared (see `dispatchio check`)",
            names.show(path),
            report.errors().count()
        )),
    }
}
