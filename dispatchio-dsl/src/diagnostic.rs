//! The one diagnostic type of the `.route` tool chain.
//!
//! It is renderer-free: a code, a severity, a message, spans with labels, a
//! help line and, for analysis findings, a witness message. The CLI renders it
//! with miette; [`Diagnostic::render_plain`] renders it as plain ASCII for the
//! proc-macro's `compile_error!` and for snapshot tests.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::concrete::Sample;

/// Identifies one file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A byte range in one file of a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// The file the range is in.
    pub file: FileId,
    /// Byte offset of the first byte.
    pub start: u32,
    /// Byte offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from `start` to `end` (byte offsets) in `file`.
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        // Offsets beyond u32 would need a 4 GiB route file; saturate instead of panicking.
        let cv = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Span { file, start: cv(start), end: cv(end) }
    }

    /// The smallest span covering both `self` and `other` (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span { file: self.file, start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// One loaded source file.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The path as it was opened (or a pseudo path such as `<memory>`).
    pub path: PathBuf,
    /// The file's text.
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// A source file from its path and text.
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let line_starts =
            std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        SourceFile { path: path.into(), text, line_starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let col = self.text.get(start..offset).map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }

    /// How many lines the file has (a final line break starts an empty last line).
    #[cfg(feature = "cli")]
    pub(crate) fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The 0-based line of a byte offset.
    #[cfg(feature = "cli")]
    pub(crate) fn line_index(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.line_starts.partition_point(|&s| s <= offset) - 1
    }

    /// The byte range of 0-based line `line`: its start, and its end with the
    /// line break.
    #[cfg(feature = "cli")]
    pub(crate) fn line_range(&self, line: usize) -> (usize, usize) {
        let start = self.line_starts.get(line).copied().unwrap_or(self.text.len());
        let end = self.line_starts.get(line + 1).copied().unwrap_or(self.text.len());
        (start, end)
    }

    /// The text of 1-based line `line`, without its line break.
    pub fn line_text(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.wrapping_sub(1)) else {
            return "";
        };
        let end = self.line_starts.get(line).copied().unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }
}

/// Every file a program was read from, indexed by [`FileId`].
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    /// Adds a file and returns its id.
    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId(u32::try_from(self.files.len() - 1).unwrap_or(u32::MAX))
    }

    /// The file with this id.
    ///
    /// # Panics
    ///
    /// If `id` did not come from this map.
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// The id of the file loaded from `path`, if any.
    pub fn find(&self, path: &Path) -> Option<FileId> {
        self.files.iter().position(|f| f.path == path).map(|i| FileId(i as u32))
    }

    /// All files, in the order they were added.
    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (FileId(i as u32), f))
    }

    /// `path:line:col` of the start of a span.
    pub fn location(&self, span: Span) -> String {
        let file = self.get(span.file);
        let (line, col) = file.line_col(span.start as usize);
        format!("{}:{line}:{col}", file.path.display())
    }
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Allowed by default; fails `dispatchio check --deny warnings`.
    Warning,
    /// Fails `dispatchio check` and the build of `include_routes!`.
    Error,
}

impl Severity {
    /// `"error"` or `"warning"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stable code of a finding, as listed in the language reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Code {
    /// A parse error.
    Syntax,
    /// An undeclared type, field, const, listener or import file.
    UnknownName,
    /// A literal or operator that does not fit the field's type.
    TypeMismatch,
    /// A content field used where `type` may be a type without it.
    FieldNotNarrowed,
    /// A condition no message can satisfy.
    Unsatisfiable,
    /// A rule that earlier stopping rules, alone or together, always pre-empt.
    Shadowed,
    /// A rule whose removal changes no message's outcome.
    Redundant,
    /// Two rules with different actions that both match some message.
    Overlap,
    /// Listeners that can forward a message around a loop.
    ForwardCycle,
    /// A rule that can receive `sync` messages calls an `async` handler.
    SyncToAsync,
    /// Messages of a declared type that nothing catches.
    Unrouted,
    /// A message type or const that nothing uses.
    Unused,
    /// A name declared twice.
    Duplicate,
    /// Files that import each other in a loop.
    ImportCycle,
    /// A file that cannot be read as `.route` text (not a regular file,
    /// too large, not UTF-8, an I/O error).
    Unreadable,
    /// A rule the analysis gave up on: deciding a question about it exactly
    /// needed more work than the analysis allows.
    Undecided,
}

impl Code {
    /// Every code, in the order of the language reference's table.
    pub const ALL: [Code; 16] = [
        Code::Syntax,
        Code::UnknownName,
        Code::TypeMismatch,
        Code::FieldNotNarrowed,
        Code::Unsatisfiable,
        Code::Shadowed,
        Code::Redundant,
        Code::Overlap,
        Code::ForwardCycle,
        Code::SyncToAsync,
        Code::Unrouted,
        Code::Unused,
        Code::Duplicate,
        Code::ImportCycle,
        Code::Unreadable,
        Code::Undecided,
    ];

    /// The kebab-case name used in output and in `allow(…)`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "syntax",
            Code::UnknownName => "unknown-name",
            Code::TypeMismatch => "type-mismatch",
            Code::FieldNotNarrowed => "field-not-narrowed",
            Code::Unsatisfiable => "unsatisfiable",
            Code::Shadowed => "shadowed",
            Code::Redundant => "redundant",
            Code::Overlap => "overlap",
            Code::ForwardCycle => "forward-cycle",
            Code::SyncToAsync => "sync-to-async",
            Code::Unrouted => "unrouted",
            Code::Unused => "unused",
            Code::Duplicate => "duplicate",
            Code::ImportCycle => "import-cycle",
            Code::Unreadable => "unreadable",
            Code::Undecided => "undecided",
        }
    }

    /// The code with this kebab-case name.
    pub fn from_name(name: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The severity the reference gives this code.
    pub fn severity(self) -> Severity {
        match self {
            Code::Redundant
            | Code::Overlap
            | Code::SyncToAsync
            | Code::Unrouted
            | Code::Unused
            | Code::Undecided => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// A one-line description, for SARIF rule metadata and `--explain`-style help.
    pub fn description(self) -> &'static str {
        match self {
            Code::Syntax => "the file does not parse",
            Code::UnknownName => "an undeclared type, field, const, listener or import file",
            Code::TypeMismatch => "a literal or operator that does not fit the field's type",
            Code::FieldNotNarrowed => "a content field used where `type` may be a type without it",
            Code::Unsatisfiable => "a condition no message can satisfy",
            Code::Shadowed => "a rule that earlier stopping rules always pre-empt",
            Code::Redundant => "a rule whose removal changes no message's outcome",
            Code::Overlap => {
                "two rules with different actions match one message; the order decides"
            }
            Code::ForwardCycle => "listeners that can forward a message around a loop",
            Code::SyncToAsync => "a rule that can receive sync messages calls an async handler",
            Code::Unrouted => "messages of a declared type that no rule and no otherwise catches",
            Code::Unused => "a message type or const that nothing uses",
            Code::Duplicate => "a name declared twice",
            Code::ImportCycle => "files that import each other in a loop",
            Code::Unreadable => "a file that cannot be read as .route text",
            Code::Undecided => "a rule the analysis gave up on; findings about it may be missing",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A span with a short text saying what is there.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What (may be empty).
    pub message: String,
}

impl Label {
    /// A label.
    pub fn new(span: Span, message: impl Into<String>) -> Label {
        Label { span, message: message.into() }
    }
}

/// One finding of the parser, checker or analyser.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// Error or warning (the code's default; `allow` removes warnings, it never downgrades).
    pub severity: Severity,
    /// One sentence, lower case, no trailing period.
    pub message: String,
    /// The place the finding is about.
    pub primary: Label,
    /// Related places (the shadowing rules, the other file of an import cycle, …).
    pub related: Vec<Label>,
    /// How to fix it, if there is something useful to say.
    pub help: Option<String>,
    /// The listener the finding is in, if any.
    pub listener: Option<String>,
    /// Rule names: the rule the finding is about first, then the rules it relates to.
    pub rules: Vec<String>,
    /// A message that shows the finding, for analysis findings.
    pub witness: Option<Sample>,
    /// False where the analysis could prove the finding only approximately.
    pub exact: bool,
}

impl Diagnostic {
    /// A diagnostic with the code's severity, no related spans, help or witness.
    pub fn new(code: Code, message: impl Into<String>, primary: Label) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            primary,
            related: Vec::new(),
            help: None,
            listener: None,
            rules: Vec::new(),
            witness: None,
            exact: true,
        }
    }

    /// Adds a related span.
    pub fn with_related(mut self, label: Label) -> Diagnostic {
        self.related.push(label);
        self
    }

    /// Sets the help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Sets the listener and rule names.
    pub fn in_listener(mut self, listener: impl Into<String>, rules: Vec<String>) -> Diagnostic {
        self.listener = Some(listener.into());
        self.rules = rules;
        self
    }

    /// Sets the witness message.
    pub fn with_witness(mut self, witness: Sample) -> Diagnostic {
        self.witness = Some(witness);
        self
    }

    /// True for error-level findings.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic as plain ASCII, in rustc's layout:
    ///
    /// ```text
    /// error[shadowed]: rule `bad` can never fire
    ///  --> game.route:12:5
    ///    |
    /// 12 |     rule bad when type == Card => drop
    ///    |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ covered by `deal` and `other`
    ///    = witness: type=Card card=3
    ///    = help: remove the rule or move it above `deal`
    /// ```
    pub fn render_plain(&self, sources: &SourceMap) -> String {
        use fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(out, "{}[{}]: {}", self.severity, self.code, self.message);
        let _ = writeln!(out, " --> {}", sources.location(self.primary.span));
        render_snippet(&mut out, sources, &self.primary);
        for label in &self.related {
            let _ = writeln!(out, " ::: {}", sources.location(label.span));
            render_snippet(&mut out, sources, label);
        }
        if let Some(w) = &self.witness {
            let _ = writeln!(out, "   = witness: {w}");
        }
        if !self.exact {
            let _ = writeln!(out, "   = note: this finding is approximate");
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "   = help: {help}");
        }
        out
    }
}

fn render_snippet(out: &mut String, sources: &SourceMap, label: &Label) {
    use fmt::Write as _;
    let file = sources.get(label.span.file);
    let (line, col) = file.line_col(label.span.start as usize);
    let (end_line, end_col) = file.line_col(label.span.end as usize);
    let text = file.line_text(line);
    let width = line.to_string().len();
    let pad = " ".repeat(width);
    // Underline to the end of the span, or to the end of the first line if it spans several.
    let last = if end_line == line { end_col } else { text.chars().count() + 1 };
    let carets = "^".repeat(last.saturating_sub(col).max(1));
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{line} | {text}");
    let _ = write!(out, "{pad} | {}{carets}", " ".repeat(col - 1));
    if label.message.is_empty() {
        out.push('\n');
    } else {
        let _ = writeln!(out, " {}", label.message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_and_in_characters() {
        let f = SourceFile::new("a.route", "ab\nçd ef\n");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        // 'ç' is two bytes: byte 6 is the third character of line 2.
        assert_eq!(f.line_col(6), (2, 3));
        assert_eq!(f.line_text(2), "çd ef");
        assert_eq!(f.line_text(9), "");
    }

    #[test]
    fn plain_rendering_points_at_the_span() {
        let mut map = SourceMap::new();
        let id =
            map.add(SourceFile::new("g.route", "listener a {\n  rule x when sync => drop\n}\n"));
        let d = Diagnostic::new(
            Code::Overlap,
            "rules overlap",
            Label::new(Span::new(id, 15, 21), "this rule"),
        )
        .with_help("reorder them");
        let text = d.render_plain(&map);
        assert_eq!(
            text,
            "warning[overlap]: rules overlap\n --> g.route:2:3\n  |\n2 |   rule x when sync => drop\n  |   ^^^^^^ this rule\n   = help: reorder them\n"
        );
    }

    #[test]
    fn every_code_round_trips_through_its_name() {
        for code in Code::ALL {
            assert_eq!(Code::from_name(code.as_str()), Some(code));
        }
    }
}
