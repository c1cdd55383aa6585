//! The one diagnostic type of the `.route` tool chain.
//!
//! It is renderer-free: a code, a severity, a message, spans with labels, a
//! help line and, for analysis findings, a witness message. The CLI renders it
//! with miette; [`Diagnostic::render_plain`] renders it as plain ASCII for the
//! proc-macro's `compile_error!` and for snapshot tests.

// Over 600 lines because of its docs: every public item has a doc
// example (issue 14). Without its `///` lines it is under 450 lines:
// the one finding type, its codes and sources, one room.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::concrete::Sample;

/// Identifies one file in a [`SourceMap`].
///
/// ```
/// use dispatchio_dsl::{SourceFile, SourceMap};
///
/// let mut sources = SourceMap::new();
/// let game = sources.add(SourceFile::new("game.route", "listener l {}"));
/// let lib = sources.add(SourceFile::new("lib.route", "message Card { card: int }"));
/// assert_ne!(game, lib);
/// assert_eq!(sources.get(lib).path, std::path::Path::new("lib.route"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A byte range in one file of a [`SourceMap`].
///
/// ```
/// let report = dispatchio_dsl::check_str("game.route", "listener l { rule deal when sync => drop }");
/// let program = report.program.unwrap();
/// let span = program.listeners()[0].rules[0].name_span;
/// // Byte offsets into the text of the file `span.file`.
/// assert_eq!((span.start, span.end), (18, 22));
/// assert_eq!(&report.sources.get(span.file).text[18..22], "deal");
/// ```
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
    ///
    /// ```
    /// use dispatchio_dsl::{SourceFile, SourceMap, Span};
    ///
    /// let mut sources = SourceMap::new();
    /// let file = sources.add(SourceFile::new("game.route", "listener player {}"));
    /// let name = Span::new(file, 9, 15);
    /// assert_eq!(&sources.get(file).text[name.start as usize..name.end as usize], "player");
    /// ```
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        // Offsets beyond u32 would need a 4 GiB route file; saturate instead of panicking.
        let cv = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Span { file, start: cv(start), end: cv(end) }
    }

    /// The smallest span covering both `self` and `other` (same file assumed).
    ///
    /// ```
    /// use dispatchio_dsl::{FileId, Span};
    ///
    /// let rule = Span::new(FileId(0), 20, 30);
    /// let action = Span::new(FileId(0), 34, 44);
    /// assert_eq!(rule.to(action), Span::new(FileId(0), 20, 44));
    /// ```
    pub fn to(self, other: Span) -> Span {
        Span { file: self.file, start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// One loaded source file.
///
/// ```
/// use dispatchio_dsl::SourceFile;
///
/// let file = SourceFile::new("game.route", "message Card { card: int }\nlistener l {}\n");
/// assert_eq!(file.line_text(2), "listener l {}");
/// assert_eq!(file.line_col(27), (2, 1));
/// ```
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
    ///
    /// ```
    /// use dispatchio_dsl::SourceFile;
    ///
    /// let file = SourceFile::new("<memory>", "listener l {}");
    /// assert_eq!(file.path.to_str(), Some("<memory>"));
    /// assert_eq!(file.text, "listener l {}");
    /// ```
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let line_starts =
            std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        SourceFile { path: path.into(), text, line_starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    ///
    /// ```
    /// use dispatchio_dsl::SourceFile;
    ///
    /// let file = SourceFile::new("a.route", "// é\nlistener l {}");
    /// // Line 2 starts after the six bytes of line 1 (`é` is two bytes).
    /// assert_eq!(file.line_col(6), (2, 1));
    /// assert_eq!(file.line_col(15), (2, 10));
    /// ```
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
    ///
    /// ```
    /// use dispatchio_dsl::SourceFile;
    ///
    /// let file = SourceFile::new("a.route", "listener l {\r\n  rule r when sync => drop\r\n}");
    /// assert_eq!(file.line_text(2), "  rule r when sync => drop");
    /// // A line past the end is empty.
    /// assert_eq!(file.line_text(9), "");
    /// ```
    pub fn line_text(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.wrapping_sub(1)) else {
            return "";
        };
        let end = self.line_starts.get(line).copied().unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }
}

/// Every file a program was read from, indexed by [`FileId`].
///
/// ```
/// let report = dispatchio_dsl::check_str("game.route", "listener l { rule r when sync => drop }");
/// let paths: Vec<_> = report.sources.files().map(|(_, f)| f.path.clone()).collect();
/// assert_eq!(paths, [std::path::PathBuf::from("game.route")]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// An empty map.
    ///
    /// ```
    /// let sources = dispatchio_dsl::SourceMap::new();
    /// assert_eq!(sources.files().count(), 0);
    /// ```
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    /// Adds a file and returns its id.
    ///
    /// ```
    /// use dispatchio_dsl::{FileId, SourceFile, SourceMap};
    ///
    /// let mut sources = SourceMap::new();
    /// assert_eq!(sources.add(SourceFile::new("a.route", "")), FileId(0));
    /// assert_eq!(sources.add(SourceFile::new("b.route", "")), FileId(1));
    /// ```
    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId(u32::try_from(self.files.len() - 1).unwrap_or(u32::MAX))
    }

    /// The file with this id.
    ///
    /// # Panics
    ///
    /// If `id` did not come from this map.
    ///
    /// ```
    /// use dispatchio_dsl::{SourceFile, SourceMap};
    ///
    /// let mut sources = SourceMap::new();
    /// let id = sources.add(SourceFile::new("game.route", "listener l {}"));
    /// assert_eq!(sources.get(id).text, "listener l {}");
    /// ```
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// The id of the file loaded from `path`, if any.
    ///
    /// ```
    /// use std::path::Path;
    /// use dispatchio_dsl::{SourceFile, SourceMap};
    ///
    /// let mut sources = SourceMap::new();
    /// let id = sources.add(SourceFile::new("game.route", ""));
    /// assert_eq!(sources.find(Path::new("game.route")), Some(id));
    /// assert_eq!(sources.find(Path::new("other.route")), None);
    /// ```
    pub fn find(&self, path: &Path) -> Option<FileId> {
        self.files.iter().position(|f| f.path == path).map(|i| FileId(i as u32))
    }

    /// All files, in the order they were added.
    ///
    /// ```
    /// use dispatchio_dsl::{FileId, SourceFile, SourceMap};
    ///
    /// let mut sources = SourceMap::new();
    /// sources.add(SourceFile::new("a.route", ""));
    /// sources.add(SourceFile::new("b.route", ""));
    /// let ids: Vec<FileId> = sources.files().map(|(id, _)| id).collect();
    /// assert_eq!(ids, [FileId(0), FileId(1)]);
    /// ```
    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (FileId(i as u32), f))
    }

    /// `path:line:col` of the start of a span.
    ///
    /// ```
    /// let report = dispatchio_dsl::check_str(
    ///     "game.route",
    ///     "message Card { card: int }\nlistener l { rule r when type == Card and card == true => drop }",
    /// );
    /// let error = report.errors().next().unwrap();
    /// assert_eq!(report.sources.location(error.primary.span), "game.route:2:51");
    /// ```
    pub fn location(&self, span: Span) -> String {
        let file = self.get(span.file);
        let (line, col) = file.line_col(span.start as usize);
        format!("{}:{line}:{col}", file.path.display())
    }
}

/// How bad a finding is.
///
/// ```
/// use dispatchio_dsl::Severity;
///
/// let report = dispatchio_dsl::check_str("game.route", "message Card { card: int }");
/// // A type nothing uses is a warning, not an error.
/// assert_eq!(report.diagnostics[0].severity, Severity::Warning);
/// assert!(!report.has_errors());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Allowed by default; fails `dispatchio check --deny warnings`.
    Warning,
    /// Fails `dispatchio check` and the build of `include_routes!`.
    Error,
}

impl Severity {
    /// `"error"` or `"warning"`.
    ///
    /// ```
    /// assert_eq!(dispatchio_dsl::Severity::Error.as_str(), "error");
    /// assert_eq!(dispatchio_dsl::Severity::Warning.to_string(), "warning");
    /// ```
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
///
/// ```
/// use dispatchio_dsl::Code;
///
/// let report = dispatchio_dsl::check_str("game.route", "listener l { rule r when type == Card => drop }");
/// assert_eq!(report.errors().next().unwrap().code, Code::UnknownName);
/// ```
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
    ///
    /// ```
    /// use dispatchio_dsl::Code;
    ///
    /// // The name `allow(…)` takes and `dispatchio check` prints.
    /// assert_eq!(Code::SyncToAsync.as_str(), "sync-to-async");
    /// assert_eq!(Code::SyncToAsync.to_string(), "sync-to-async");
    /// ```
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
    ///
    /// ```
    /// use dispatchio_dsl::Code;
    ///
    /// assert_eq!(Code::from_name("forward-cycle"), Some(Code::ForwardCycle));
    /// assert_eq!(Code::from_name("forward_cycle"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The severity the reference gives this code.
    ///
    /// ```
    /// use dispatchio_dsl::{Code, Severity};
    ///
    /// assert_eq!(Code::Shadowed.severity(), Severity::Error);
    /// assert_eq!(Code::Overlap.severity(), Severity::Warning);
    /// ```
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
    ///
    /// ```
    /// use dispatchio_dsl::Code;
    ///
    /// assert_eq!(Code::Duplicate.description(), "a name declared twice");
    /// ```
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
///
/// ```
/// let report = dispatchio_dsl::check_str(
///     "game.route",
///     "listener l {\n rule a when sync => queue q\n rule b when sync => drop\n}",
/// );
/// let shadowed = report.errors().next().unwrap();
/// // The primary label is on the rule that never fires; the related one on the rule that covers it.
/// assert_eq!(report.sources.location(shadowed.primary.span), "game.route:3:2");
/// assert_eq!(report.sources.location(shadowed.related[0].span), "game.route:2:2");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What (may be empty).
    pub message: String,
}

impl Label {
    /// A label.
    ///
    /// ```
    /// use dispatchio_dsl::{FileId, Label, Span};
    ///
    /// let label = Label::new(Span::new(FileId(0), 4, 9), "declared here");
    /// assert_eq!(label.message, "declared here");
    /// ```
    pub fn new(span: Span, message: impl Into<String>) -> Label {
        Label { span, message: message.into() }
    }
}

/// One finding of the parser, checker or analyser.
///
/// ```
/// use dispatchio_dsl::Code;
///
/// let report = dispatchio_dsl::check_str(
///     "game.route",
///     "listener l {\n rule a when sync => queue q\n rule b when sync => drop\n}",
/// );
/// let d = report.errors().next().unwrap();
/// assert_eq!(d.code, Code::Shadowed);
/// assert_eq!((d.listener.as_deref(), d.rules.as_slice()), (Some("l"), &["b".to_owned(), "a".to_owned()][..]));
/// assert_eq!(d.witness.as_ref().unwrap().to_string(), "type=Unknown sync=true");
/// ```
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
    ///
    /// ```
    /// use dispatchio_dsl::{Code, Diagnostic, Label, Severity, SourceFile, SourceMap, Span};
    ///
    /// let mut sources = SourceMap::new();
    /// let file = sources.add(SourceFile::new("game.route", "listener l {}"));
    /// let d = Diagnostic::new(Code::Unrouted, "nothing routes here", Label::new(Span::new(file, 9, 10), ""));
    /// assert_eq!(d.severity, Severity::Warning);
    /// assert!(d.render_plain(&sources).starts_with("warning[unrouted]: nothing routes here\n --> game.route:1:10"));
    /// ```
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
    ///
    /// ```
    /// use dispatchio_dsl::{Code, Diagnostic, Label, SourceFile, SourceMap, Span};
    ///
    /// let mut sources = SourceMap::new();
    /// let file = sources.add(SourceFile::new("game.route", "const A = 1\nconst A = 2\n"));
    /// let d = Diagnostic::new(Code::Duplicate, "`A` is declared twice", Label::new(Span::new(file, 18, 19), "again"))
    ///     .with_related(Label::new(Span::new(file, 6, 7), "first here"));
    /// assert!(d.render_plain(&sources).contains(" ::: game.route:1:7"));
    /// ```
    pub fn with_related(mut self, label: Label) -> Diagnostic {
        self.related.push(label);
        self
    }

    /// Sets the help line.
    ///
    /// ```
    /// use dispatchio_dsl::{Code, Diagnostic, FileId, Label, Span};
    ///
    /// let d = Diagnostic::new(Code::Unused, "`B` is never used", Label::new(Span::new(FileId(0), 0, 1), ""))
    ///     .with_help("remove it");
    /// assert_eq!(d.help.as_deref(), Some("remove it"));
    /// ```
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Sets the listener and rule names.
    ///
    /// ```
    /// use dispatchio_dsl::{Code, Diagnostic, FileId, Label, Span};
    ///
    /// let d = Diagnostic::new(Code::Overlap, "rules overlap", Label::new(Span::new(FileId(0), 0, 1), ""))
    ///     .in_listener("player", vec!["deal".into(), "other".into()]);
    /// assert_eq!(d.listener.as_deref(), Some("player"));
    /// assert_eq!(d.rules[0], "deal");
    /// ```
    pub fn in_listener(mut self, listener: impl Into<String>, rules: Vec<String>) -> Diagnostic {
        self.listener = Some(listener.into());
        self.rules = rules;
        self
    }

    /// Sets the witness message.
    ///
    /// ```
    /// use dispatchio_dsl::{Code, Diagnostic, FileId, Label, Sample, Span, Value};
    ///
    /// let mut card = Sample::new("Card");
    /// card.content.insert("card".into(), Value::Int(60));
    /// let d = Diagnostic::new(Code::Unrouted, "`Card`s over 51 go nowhere", Label::new(Span::new(FileId(0), 0, 1), ""))
    ///     .with_witness(card);
    /// assert_eq!(d.witness.unwrap().to_string(), "type=Card card=60");
    /// ```
    pub fn with_witness(mut self, witness: Sample) -> Diagnostic {
        self.witness = Some(witness);
        self
    }

    /// True for error-level findings.
    ///
    /// ```
    /// let report = dispatchio_dsl::check_str(
    ///     "game.route",
    ///     "message Card { card: int }\nlistener l { rule r when type == Card and card == \"x\" => drop }",
    /// );
    /// let d = &report.diagnostics[0];
    /// assert_eq!(d.code.as_str(), "type-mismatch");
    /// assert!(d.is_error());
    /// ```
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
    ///
    /// ```
    /// let report = dispatchio_dsl::check_str(
    ///     "game.route",
    ///     "listener l {\n  rule a when sync => queue q\n  rule b when sync => drop\n}",
    /// );
    /// let text = report.errors().next().unwrap().render_plain(&report.sources);
    /// assert!(text.starts_with("error[shadowed]: "), "{text}");
    /// assert!(text.contains(" --> game.route:3:3\n  |\n3 |   rule b when sync => drop\n"), "{text}");
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
