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
use crate::read::{Unreadable, read_text};

/// Every file of a program, parsed.
pub(crate) struct ParsedFiles {
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
pub(crate) fn parse_with_imports(root_path: &Path, root_text: String) -> ParsedFiles {
    let mut sources = SourceMap::new();
    let root = sources.add(SourceFile::new(root_path, root_text));
    let mut loader = Loader {
        sources,
        files: Vec::new(),
        diagnostics: Vec::new(),
        complete: true,
        done: HashSet::new(),
        stack: Vec::new(),
        on_stack: HashSet::new(),
    };
    loader.run(root, key_of(root_path));
    ParsedFiles {
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
    /// Files being loaded, outermost first: the import chain from the root
    /// to the file being read.
    stack: Vec<Frame>,
    /// The keys of the files on the stack.
    on_stack: HashSet<PathBuf>,
}

/// A file being loaded: its imports are followed one after another.
struct Frame {
    key: PathBuf,
    id: FileId,
    file: ast::File,
    /// The index of the next item to look at.
    next: usize,
    /// The import (in this file) being followed.
    followed: Option<Span>,
}

impl Loader {
    /// Loads `root` and, depth first, every file it imports. The import
    /// chain is an explicit stack, not recursion: a chain of thousands of
    /// imports must not use up the thread's stack (the parser, which runs
    /// at the top of it, would fail on a trivial file).
    fn run(&mut self, root: FileId, key: PathBuf) {
        self.enter(root, key);
        while let Some(top) = self.stack.last_mut() {
            let Some(import) = next_import(top) else {
                let Some(frame) = self.stack.pop() else { break };
                self.on_stack.remove(&frame.key);
                self.done.insert(frame.key);
                self.files.push((frame.id, frame.file));
                continue;
            };
            let dir = self.sources.get(top.id).path.parent().map(Path::to_path_buf);
            // Folded lexically, so `lib/../a.route` is shown as `a.route`.
            let target = fold(&dir.unwrap_or_default().join(&import.path));
            let target_key = key_of(&target);
            if self.on_stack.contains(&target_key) {
                let pos = self.stack.iter().position(|f| f.key == target_key).unwrap_or(0);
                self.cycle(pos, &import);
                continue;
            }
            if self.done.contains(&target_key) {
                continue;
            }
            match read_text(&target) {
                Ok(text) => {
                    let child = self.sources.add(SourceFile::new(&target, text));
                    if let Some(top) = self.stack.last_mut() {
                        top.followed = Some(import.path_span);
                    }
                    self.enter(child, target_key);
                }
                Err(why) => self.unreadable(&import, &target, why),
            }
        }
    }

    /// Parses file `id` and puts it on the stack to follow its imports.
    fn enter(&mut self, id: FileId, key: PathBuf) {
        match parse_file(id, &self.sources.get(id).text) {
            Ok(file) => {
                self.on_stack.insert(key.clone());
                self.stack.push(Frame { key, id, file, next: 0, followed: None });
            }
            Err(errors) => {
                self.diagnostics.extend(errors);
                self.complete = false;
                self.done.insert(key);
            }
        }
    }

    /// Reports an import that names no readable `.route` file.
    fn unreadable(&mut self, import: &ast::Import, target: &Path, why: Unreadable) {
        self.complete = false;
        let at_import = Label::new(import.path_span, "imported here");
        let help = format!(
            "import paths are relative to the importing file; this one resolves to `{}`",
            target.display()
        );
        let message = format!("cannot read imported file `{}`: {why}", import.path);
        let d = if why.is_not_found() {
            // A path that names nothing: a wrong name, as for any other name.
            Diagnostic::new(Code::UnknownName, message, at_import).with_help(help)
        } else if let Unreadable::NotUtf8 { offset, text } = why {
            // Point at the bad byte itself, in the imported file.
            let file = self.sources.add(SourceFile::new(target, text));
            Diagnostic::new(
                Code::Unreadable,
                message,
                Label::new(Span::new(file, offset, offset), "not UTF-8 from here"),
            )
            .with_related(at_import)
        } else {
            Diagnostic::new(Code::Unreadable, message, at_import)
        };
        self.diagnostics.push(d);
    }

    /// Reports the loop from `stack[pos]` back to itself through `import`.
    fn cycle(&mut self, pos: usize, import: &ast::Import) {
        let names: Vec<String> = self.stack[pos..]
            .iter()
            .map(|f| self.sources.get(f.id).path.display().to_string())
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
        for frame in followed {
            if let Some(span) = frame.followed {
                d = d.with_related(Label::new(span, "imported here"));
            }
        }
        self.diagnostics.push(d);
    }
}

/// The next `import` of the frame's file, moving past it.
fn next_import(frame: &mut Frame) -> Option<ast::Import> {
    while let Some(item) = frame.file.items.get(frame.next) {
        frame.next += 1;
        if let ast::Item::Import(import) = item {
            return Some(import.clone());
        }
    }
    None
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
