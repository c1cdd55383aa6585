//! The programs of the files `dispatchio explain` and `dispatchio graph`
//! are given, found as `check` finds files, and each listener once.

use std::collections::HashSet;
use std::path::PathBuf;

use super::{canonical, collect, display_path};
use crate::program::{ListenerDef, Program};

/// Every program among the files under some paths.
pub(super) struct Programs {
    /// The programs of the files that check without errors, in file order.
    pub(super) programs: Vec<Program>,
    /// The files that have errors (`dispatchio check` says which).
    pub(super) refused: Vec<PathBuf>,
    /// The paths as given, for messages.
    pub(super) roots: String,
}

/// One listener declaration, and the program it is read in.
pub(super) struct Declared<'a> {
    pub(super) program: &'a Program,
    pub(super) def: &'a ListenerDef,
}

impl Declared<'_> {
    /// The file the listener is declared in, for output.
    pub(super) fn file(&self) -> String {
        display_path(&self.program.sources().get(self.def.span.file).path)
    }
}

/// Checks every `.route` file under `paths` (`.` when empty).
pub(super) fn load(paths: &[PathBuf]) -> Result<Programs, String> {
    let roots = if paths.is_empty() { vec![PathBuf::from(".")] } else { paths.to_vec() };
    let mut files = Vec::new();
    for root in &roots {
        collect(root, &mut files)?;
    }
    let mut seen = HashSet::new();
    files.retain(|f| seen.insert(canonical(f)));
    let shown: Vec<String> = roots.iter().map(|r| display_path(r)).collect();
    let roots = shown.join(", ");
    if files.is_empty() {
        return Err(format!("no .route files found under {roots}"));
    }
    let mut programs = Vec::new();
    let mut refused = Vec::new();
    for file in files {
        match crate::report::check_or_report(&file) {
            report if report.has_errors() => refused.push(file),
            report => programs.extend(report.program),
        }
    }
    Ok(Programs { programs, refused, roots })
}

impl Programs {
    /// Every listener once, in file order: a listener of an imported file
    /// is read in the program of its own file when that file is among them
    /// (what it forwards to is resolved there), else in its importer's.
    pub(super) fn listeners(&self) -> Vec<Declared<'_>> {
        let key = |p: &Program, l: &ListenerDef| {
            (canonical(&p.sources().get(l.span.file).path), l.span.start)
        };
        let own: HashSet<_> = self
            .programs
            .iter()
            .flat_map(|p| {
                p.listeners().iter().filter(|l| l.span.file == p.root()).map(|l| key(p, l))
            })
            .collect();
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for program in &self.programs {
            for def in program.listeners() {
                let k = key(program, def);
                let home = def.span.file == program.root();
                if (home || !own.contains(&k)) && seen.insert(k) {
                    out.push(Declared { program, def });
                }
            }
        }
        out
    }

    /// The one listener named `name`.
    ///
    /// # Errors
    ///
    /// The reason, in a line: no such listener (with the names there are,
    /// and files that have errors), or several of that name in different
    /// files.
    pub(super) fn listener(&self, name: &str) -> Result<Declared<'_>, String> {
        let all = self.listeners();
        let names: Vec<String> = all.iter().map(|d| d.def.name.clone()).collect();
        let mut found: Vec<Declared<'_>> = all.into_iter().filter(|d| d.def.name == name).collect();
        match found.len() {
            1 => return Ok(found.remove(0)),
            0 => {}
            _ => {
                let files: Vec<String> = found.iter().map(|d| format!("`{}`", d.file())).collect();
                return Err(format!(
                    "listener `{name}` is declared in {}: give one of the files",
                    files.join(" and ")
                ));
            }
        }
        let mut reason = format!("no listener `{name}` in {}", self.roots);
        if let Some(near) = crate::check::did_you_mean(name, names.iter().map(String::as_str)) {
            reason.push_str(&format!(": did you mean `{near}`?"));
        } else if !names.is_empty() {
            let mut sorted: Vec<&str> = names.iter().map(String::as_str).collect();
            sorted.sort_unstable();
            sorted.dedup();
            reason.push_str(&format!(" (its listeners: {})", sorted.join(", ")));
        }
        if !self.refused.is_empty() {
            let files: Vec<String> =
                self.refused.iter().map(|f| format!("`{}`", display_path(f))).collect();
            reason.push_str(&format!(
                "; {} {} errors (see `dispatchio check`)",
                files.join(", "),
                if files.len() == 1 { "has" } else { "have" }
            ));
        }
        Err(reason)
    }
}
