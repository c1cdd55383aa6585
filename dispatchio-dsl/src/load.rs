//! Reading a root file and, transitively, everything it imports.
//!
//! Import paths are relative to the importing file. Each file is read once,
//! however many files import it (keyed by its canonical path); an import that
//! leads back to a file still being loaded is an `import-cycle` error naming
//! every file of the loop.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use crate::ast;
use crate::diagnostic::{Code, Diagnostic, FileId, Label, SourceFile, SourceMap, Span};
use crate::parse::parse_file;

/// Every file of a program, parsed.
pub(crate) struct Loaded {
    /// Every file read.
    pub(crate) sources: SourceMap,
    /// The root file.
    pub(crate) root: FileId,
    /// Parsed files, each after the files it imports (so declarations come
    /// out "imports first").
    pub(crate) files: Vec<(FileId, ast::File)>,
    /// Syntax, unreadable-import and import-cycle errors.
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// Whether the files are complete enough to check names and types:
    /// false after a syntax error or an unreadable import, whose missing
    /// declarations would only cause a cascade of unknown-name errors.
    pub(crate) complete: bool,
}

/// Loads `root_text` as the file `root_path`, and everything it imports from disk.
pub(crate) fn load(root_path: &Path, root_text: String) -> Loaded {
    let mut sources = SourceMap::new();
    let root = sources.add(SourceFile::new(root_path, root_text));
    let mut loader = Loader {
        sources,
        files: Vec::new(),
        diagnostics: Vec::new(),
        complete: true,
        done: HashSet::new(),
        stack: Vec::new(),
    };
    loader.visit(root, key_of(root_path));
    Loaded {
        sources: loader.sources,
        root,
        files: loader.files,
        diagnostics: loader.diagnostics,
        complete: loader.complete,
    }
}

struct Loader {
    sources: SourceMap,
    files: Vec<(FileId, ast::File)>,
    diagnostics: Vec<Diagnostic>,
    complete: bool,
    /// Files fully loaded.
    done: HashSet<PathBuf>,
    /// Files being loaded, outermost first, with the import (in that file)
    /// that is being followed.
    stack: Vec<(PathBuf, FileId, Option<Span>)>,
}

impl Loader {
    fn visit(&mut self, id: FileId, key: PathBuf) {
        let parsed = parse_file(id, &self.sources.get(id).text);
        let file = match parsed {
            Ok(file) => file,
            Err(errors) => {
                self.diagnostics.extend(errors);
                self.complete = false;
                self.done.insert(key);
                return;
            }
        };
        self.stack.push((key.clone(), id, None));
        let dir = self.sources.get(id).path.parent().map(Path::to_path_buf).unwrap_or_default();
        for item in &file.items {
            let ast::Item::Import(import) = item else { continue };
            // Folded lexically, so `lib/../a.route` is shown as `a.route`.
            let target = fold(&dir.join(&import.path));
            let target_key = key_of(&target);
            if let Some(pos) = self.stack.iter().position(|(k, ..)| *k == target_key) {
                self.cycle(pos, import);
                continue;
            }
            if self.done.contains(&target_key) {
                continue;
            }
            match std::fs::read_to_string(&target) {
                Ok(text) => {
                    let child = self.sources.add(SourceFile::new(&target, text));
                    if let Some(top) = self.stack.last_mut() {
                        top.2 = Some(import.path_span);
                    }
                    self.visit(child, target_key);
                }
                Err(err) => {
                    self.complete = false;
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::UnknownName,
                            format!("cannot read imported file `{}`: {err}", import.path),
                            Label::new(import.path_span, "imported here"),
                        )
                        .with_help(format!(
                            "import paths are relative to the importing file; this one resolves to `{}`",
                            target.display()
                        )),
                    );
                }
            }
        }
        self.stack.pop();
        self.done.insert(key);
        self.files.push((id, file));
    }

    /// Reports the loop from `stack[pos]` back to itself through `import`.
    fn cycle(&mut self, pos: usize, import: &ast::Import) {
        let names: Vec<String> = self.stack[pos..]
            .iter()
            .map(|(_, id, _)| self.sources.get(*id).path.display().to_string())
            .collect();
        let mut chain = names.join("` imports `");
        chain = format!("`{chain}` imports `{}`", names[0]);
        let mut d = Diagnostic::new(
            Code::ImportCycle,
            format!("import cycle: {chain}"),
            Label::new(import.path_span, "this import closes the loop"),
        )
        .with_help("move the shared declarations into a file that both can import");
        // The last entry is the current file, whose import is the primary label.
        let followed = &self.stack[pos..self.stack.len() - 1];
        for (_, _, span) in followed {
            if let Some(span) = span {
                d = d.with_related(Label::new(*span, "imported here"));
            }
        }
        self.diagnostics.push(d);
    }
}

/// The identity of a file: its canonical path where it exists, else its path
/// folded (so an unreadable file still has a stable key).
fn key_of(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| fold(path))
}

/// `path` with `.` and `..` folded lexically.
fn fold(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                // `..` cancels a name before it, never another `..` or the root.
                let last = out.components().next_back();
                if matches!(last, Some(Component::Normal(_))) {
                    out.pop();
                } else if !matches!(last, Some(Component::RootDir | Component::Prefix(_))) {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_cancels_names_but_keeps_leading_parents() {
        assert_eq!(fold(Path::new("a/./b/../c.route")), Path::new("a/c.route"));
        assert_eq!(fold(Path::new("../../x.route")), Path::new("../../x.route"));
        assert_eq!(fold(Path::new("a/../../x.route")), Path::new("../x.route"));
        assert_eq!(fold(Path::new("/../x.route")), Path::new("/x.route"));
    }
}
