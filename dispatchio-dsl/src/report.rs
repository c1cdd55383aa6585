//! The front end's entry points: from a `.route` file to a checked
//! [`Program`] and every finding about it.
//!
//! [`check`] is what `dispatchio check` and `include_routes!` run: parsing,
//! imports, names, types, then the analysis, with each rule's `allow(…)`
//! applied. [`load`] is the same, for callers that only want a program free
//! of errors (the interpreter).

use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, SourceMap};
use crate::program::{Program, Skeleton};
use crate::read::read_text;

/// Everything `check` found about one root file and its imports.
///
/// ```
/// let report = dispatchio_dsl::check_str(
///     "game.route",
///     "message Card { card: int }\n\
///      listener player { rule deal when type == Card and card < \"52\" => queue hand }",
/// );
/// // The front end refused the file: no program, one error, and what of it checked.
/// assert!(report.program.is_none() && report.skeleton.is_some());
/// assert_eq!(report.diagnostics.len(), 1);
/// assert_eq!(report.sources.files().count(), 1);
/// ```
#[derive(Clone, Debug)]
pub struct Report {
    /// Every file read (for rendering the diagnostics).
    pub sources: SourceMap,
    /// The checked program; `None` when the front end found errors (the
    /// analysis only runs on a well-typed program).
    pub program: Option<Program>,
    /// Every finding, errors and warnings, ordered by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// When some finding is an error, what of the program checked: what the
    /// code generator makes the API stub after errors from. `None` when no
    /// finding is an error, or when the root file could not be read.
    pub skeleton: Option<Skeleton>,
}

impl Report {
    /// Whether any finding is an error.
    ///
    /// ```
    /// let warned = dispatchio_dsl::check_str("game.route", "message Card { card: int }");
    /// assert!(!warned.has_errors() && !warned.diagnostics.is_empty());
    /// let refused = dispatchio_dsl::check_str("game.route", "listener l { rule r when => drop }");
    /// assert!(refused.has_errors());
    /// ```
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The error-level findings.
    ///
    /// ```
    /// let report = dispatchio_dsl::check_str(
    ///     "game.route",
    ///     "message Bet { amount: int }\nlistener l { rule r when type == Card => drop }",
    /// );
    /// // `Card` is unknown (an error); `Bet` is unused (a warning).
    /// let errors: Vec<&str> = report.errors().map(|d| d.code.as_str()).collect();
    /// assert_eq!(errors, ["unknown-name"]);
    /// ```
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    /// The warning-level findings.
    ///
    /// ```
    /// let report = dispatchio_dsl::check_str(
    ///     "game.route",
    ///     "const LIMIT = 10\nlistener l { rule r when sync => drop }",
    /// );
    /// let warnings: Vec<&str> = report.warnings().map(|d| d.message.as_str()).collect();
    /// assert_eq!(warnings.len(), 1);
    /// assert!(warnings[0].contains("LIMIT"), "{warnings:?}");
    /// ```
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }

    /// Every finding rendered as plain ASCII (see [`Diagnostic::render_plain`]).
    ///
    /// ```
    /// let report = dispatchio_dsl::check_str("game.route", "const LIMIT = 10");
    /// assert_eq!(
    ///     report.render_plain(),
    ///     "warning[unused]: const `LIMIT` is never used\n --> game.route:1:7\n  |\n1 | const LIMIT = 10\n  |       ^^^^^ declared here\n   = help: use it in a condition, or remove it\n"
    /// );
    /// ```
    pub fn render_plain(&self) -> String {
        self.diagnostics
            .iter()
            .map(|d| d.render_plain(&self.sources))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A root file that could not be read.
///
/// ```
/// use std::path::Path;
///
/// let err = dispatchio_dsl::check(Path::new("no/such.route")).unwrap_err();
/// assert_eq!(err.path, Path::new("no/such.route"));
/// assert_eq!(err.source.kind(), std::io::ErrorKind::NotFound);
/// assert!(err.to_string().starts_with("cannot read `no/such.route`: "));
/// ```
#[derive(Debug, thiserror::Error)]
#[error("cannot read `{}`: {source}", path.display())]
pub struct ReadError {
    /// The path given.
    pub path: PathBuf,
    /// Why it could not be read.
    #[source]
    pub source: std::io::Error,
}

/// A program [`load`] accepted: no error-level findings.
///
/// ```
/// let loaded = dispatchio_dsl::load_str(
///     "game.route",
///     "message Card { card: int }\nlistener l { rule r when sync => drop }",
/// )?;
/// assert_eq!(loaded.program.listeners()[0].name, "l");
/// // Warnings do not refuse a program: `Card` is declared and nothing uses or catches it.
/// let codes: Vec<&str> = loaded.warnings.iter().map(|d| d.code.as_str()).collect();
/// assert_eq!(codes, ["unused", "unrouted"]);
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The checked program.
    pub program: Program,
    /// Warning-level findings (after `allow`).
    pub warnings: Vec<Diagnostic>,
}

/// Why [`load`] returned no program.
///
/// ```
/// use dispatchio_dsl::{LoadError, load_str};
///
/// let err = load_str("bad.route", "listener l { rule r when => drop }").unwrap_err();
/// assert_eq!(err.to_string(), "bad.route has 1 error(s)");
/// let LoadError::Invalid(report) = err else { panic!("the file was read") };
/// assert_eq!(report.errors().next().unwrap().code.as_str(), "syntax");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The root file could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The program has error-level findings; the report holds them all.
    #[error("{} has {} error(s)", root_name(.0), .0.errors().count())]
    Invalid(Box<Report>),
}

fn root_name(report: &Report) -> String {
    report.sources.files().next().map(|(_, f)| f.path.display().to_string()).unwrap_or_default()
}

/// Checks the `.route` file at `path` and everything it imports: parsing,
/// names, types, then the analysis. Imported files are read relative to the
/// file importing them; an import that names no file is an `unknown-name`
/// finding, one that cannot be read an `unreadable` finding. Only regular
/// files of at most [`MAX_FILE_BYTES`](crate::MAX_FILE_BYTES) are read.
///
/// # Errors
///
/// [`ReadError`] when `path` itself cannot be read: no such file, not a
/// regular file (a directory, a FIFO, a device), over the size limit, not
/// UTF-8 (the error names the offset of the first bad byte). Findings in
/// the files are not errors of this function: they are in the [`Report`].
///
/// ```
/// use std::path::Path;
///
/// // croupier.route imports card_dealer.route: both are read and checked.
/// let report = dispatchio_dsl::check(Path::new("../examples/routes/croupier.route"))?;
/// assert_eq!(report.sources.files().count(), 2);
/// assert!(!report.has_errors(), "{}", report.render_plain());
/// assert!(report.program.unwrap().message("Card").is_some());
/// # Ok::<(), dispatchio_dsl::ReadError>(())
/// ```
pub fn check(path: &Path) -> Result<Report, ReadError> {
    let text = read_text(path)
        .map_err(|why| ReadError { path: path.to_path_buf(), source: why.into_io() })?;
    Ok(check_str(path, text))
}

/// [`check`], with a root file that cannot be read (whatever the reason)
/// reported as an `unreadable` finding in it: for `dispatchio check`, which
/// goes on with the other files.
#[cfg(feature = "cli")]
pub(crate) fn check_or_report(path: &Path) -> Report {
    let why = match read_text(path) {
        Ok(text) => return check_str(path, text),
        Err(why) => why,
    };
    let message = format!("cannot read `{}`: {why}", path.display());
    let mut sources = SourceMap::new();
    let (text, label) = match why {
        crate::read::Unreadable::NotUtf8 { offset, text } => {
            (text, (offset, "not UTF-8 from here"))
        }
        _ => (String::new(), (0, "this file")),
    };
    let file = sources.add(crate::diagnostic::SourceFile::new(path, text));
    let span = crate::diagnostic::Span::new(file, label.0, label.0);
    let d = Diagnostic::new(crate::Code::Unreadable, message, crate::Label::new(span, label.1));
    Report { sources, program: None, diagnostics: vec![d], skeleton: None }
}

/// Checks `.route` source text as if it were the file `name` (imports are
/// read from disk relative to `name`'s directory).
///
/// ```
/// let report = dispatchio_dsl::check_str(
///     "inline.route",
///     "message Card { card: int }\n\
///      listener player { rule deal when type == Card and card < 52 => queue hand }",
/// );
/// assert!(!report.has_errors());
/// assert_eq!(report.program.unwrap().listeners()[0].rules[0].name, "deal");
/// ```
pub fn check_str(name: impl AsRef<Path>, text: impl Into<String>) -> Report {
    let loaded = crate::imports::parse_with_imports(name.as_ref(), text.into());
    let sources = loaded.sources.clone();
    let crate::check::Checked { program, mut skeleton, mut diagnostics } =
        crate::check::check(loaded);
    if let Some(program) = &program {
        diagnostics.extend(crate::analysis::analyse(program));
        diagnostics.retain(|d| !is_allowed(program, d));
        diagnostics
            .sort_by_key(|d| (d.primary.span.file, d.primary.span.start, d.primary.span.end));
        // An error of the analysis (a rule that can never match): the
        // program checked, so all of it is the skeleton.
        if diagnostics.iter().any(Diagnostic::is_error) {
            skeleton = Some(Skeleton::new(program.clone()));
        }
    }
    Report { sources, program, diagnostics, skeleton }
}

/// Whether the rule a warning is about silences its code with `allow(…)`.
fn is_allowed(program: &Program, d: &Diagnostic) -> bool {
    if d.is_error() {
        return false;
    }
    let (Some(listener), Some(rule)) = (&d.listener, d.rules.first()) else {
        return false;
    };
    program
        .listener(listener)
        .and_then(|l| l.rules.iter().find(|r| r.name == *rule))
        .is_some_and(|r| r.allow.contains(&d.code))
}

/// Loads the program at `path`: [`check`], accepting only a program without
/// error-level findings.
///
/// # Errors
///
/// [`LoadError::Read`] when `path` cannot be read; [`LoadError::Invalid`]
/// with every finding when there is an error-level one.
///
/// ```
/// use std::path::Path;
///
/// let loaded = dispatchio_dsl::load(Path::new("../examples/routes/card_dealer.route"))?;
/// assert!(loaded.warnings.is_empty());
/// assert_eq!(loaded.program.listeners()[0].name, "player");
/// # Ok::<(), dispatchio_dsl::LoadError>(())
/// ```
pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    accept(check(path)?)
}

/// Loads `.route` source text as if it were the file `name`; see [`load`].
///
/// # Errors
///
/// [`LoadError::Invalid`] with every finding when there is an error-level one.
///
/// ```
/// use dispatchio_dsl::{LoadError, load_str};
///
/// let loaded = load_str("game.route", "listener l { rule r when sync => queue q }")?;
/// assert_eq!(loaded.program.listeners()[0].rules[0].name, "r");
/// // A rule that an earlier one always pre-empts is an error: no program.
/// let shadowed = load_str("game.route", "listener l {\n rule a when sync => queue q\n rule b when sync => drop\n}");
/// assert!(matches!(shadowed, Err(LoadError::Invalid(_))));
/// # Ok::<(), LoadError>(())
/// ```
pub fn load_str(name: impl AsRef<Path>, text: impl Into<String>) -> Result<Loaded, LoadError> {
    accept(check_str(name, text))
}

fn accept(report: Report) -> Result<Loaded, LoadError> {
    match report.program {
        Some(program) if !report.has_errors() => {
            Ok(Loaded { program, warnings: report.diagnostics })
        }
        _ => Err(LoadError::Invalid(Box::new(report))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Code, Label};

    #[test]
    fn allow_silences_only_the_named_warnings_of_its_own_rule() {
        let program = load_str(
            "t.route",
            "listener l {\n allow(overlap) rule a when sync => drop\n rule b when blocking => queue q\n}",
        )
        .unwrap()
        .program;
        let span = program.listeners()[0].rules[0].name_span;
        let finding = |code: Code, rule: &str| {
            Diagnostic::new(code, "x", Label::new(span, "")).in_listener("l", vec![rule.to_owned()])
        };
        assert!(is_allowed(&program, &finding(Code::Overlap, "a")));
        assert!(!is_allowed(&program, &finding(Code::Redundant, "a")));
        assert!(!is_allowed(&program, &finding(Code::Overlap, "b")));
        // Errors are never silenced, whatever the rule says.
        let mut error = finding(Code::Overlap, "a");
        error.severity = crate::diagnostic::Severity::Error;
        assert!(!is_allowed(&program, &error));
    }
}
