//! The `dispatchio` command line (feature `cli`): `dispatchio check`,
//! `dispatchio explain` (cli/explain.rs), `dispatchio graph` (cli/graph.rs)
//! and `dispatchio diff` (cli/diff.rs; see it for its own exit statuses
//! and output).
//!
//! The facade's `main` is one call to [`run`]. [`run_with`] takes the
//! arguments and output streams explicitly, so every behaviour of the command
//! (exit status, JSON and SARIF shape) is tested as a library call.
//!
//! Exit status of `check`: 0 when there is no error-level finding (warnings allowed
//! unless `--deny warnings`), 1 when there is, 2 when the command could not
//! run (no such file, bad flag), with a one-line reason on stderr.
//! `explain` and `graph` exit 0 when they wrote their output, 2 when they
//! could not (bad input included: an unknown listener, a message that does
//! not read), with the same one-line reason.

use std::collections::{BTreeSet, HashSet};
use std::ffi::OsString;
use std::io::{BufRead, IsTerminal as _, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod diff;
mod excerpt;
mod explain;
mod graph;
mod human;
mod message_text;
mod programs;
mod trace_human;
pub(crate) mod witness;
use serde_json::{Value as Json, json};
pub use witness::{WitnessError, read_witness};

use crate::diagnostic::{Code, Diagnostic, SourceMap};
use crate::report::Report;

/// How a run of the command ended.
///
/// ```
/// use dispatchio_dsl::cli::{Exit, run_with};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("bad.route");
/// std::fs::write(&path, "listener l { rule r when type == Card => drop }")?;
/// let (mut out, mut err) = (Vec::new(), Vec::new());
/// let exit = run_with(["dispatchio", "check", path.to_str().unwrap()], &mut out, &mut err);
/// assert_eq!(exit, Exit::Findings);
/// let exit = run_with(["dispatchio", "check", "--no-such-flag"], &mut out, &mut err);
/// assert_eq!(exit, Exit::Failed);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// No error-level findings (and no warnings under `--deny warnings`): status 0.
    Clean,
    /// Error-level findings: status 1.
    Findings,
    /// The command could not run: status 2.
    Failed,
}

impl Exit {
    /// The process exit status.
    ///
    /// ```
    /// use dispatchio_dsl::cli::Exit;
    ///
    /// assert_eq!([Exit::Clean, Exit::Findings, Exit::Failed].map(Exit::code), [0, 1, 2]);
    /// ```
    pub fn code(self) -> u8 {
        match self {
            Exit::Clean => 0,
            Exit::Findings => 1,
            Exit::Failed => 2,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

#[derive(Parser, Debug)]
#[command(name = "dispatchio", version, about = "Tools for dispatchio's .route files")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Parse, type-check and analyse .route files.
    ///
    /// Exit status: 0 without errors (warnings allowed unless `--deny
    /// warnings`), 1 with errors, 2 when the command could not run.
    Check(CheckArgs),
    /// Show, rule by rule, why messages go where they go through a listener.
    ///
    /// Exit status: 0 when every message was explained, 2 when the command
    /// could not run (an unknown listener, a message that does not read).
    Explain(explain::ExplainArgs),
    /// Show which messages a change to .route files routes differently.
    ///
    /// Every class of messages whose outcome differs, per listener, with a
    /// witness message and the deciding rule before and after. Exit status:
    /// 0 (also with changes, unless `--exit-code`: then 1), 2 when the
    /// command could not run.
    Diff(diff::DiffArgs),
    /// Draw listeners, forwards, queues and handlers (DOT or Mermaid).
    ///
    /// Exit status: 0 when the graph was written, 2 when the command could
    /// not run.
    Graph(graph::GraphArgs),
}

#[derive(clap::Args, Debug)]
struct CheckArgs {
    /// Files, or directories searched recursively for `.route` files (default: `.`).
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Treat these findings as errors for the exit status.
    #[arg(long, value_enum)]
    deny: Vec<Deny>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Rendered diagnostics with source snippets.
    Human,
    /// One JSON document.
    Json,
    /// SARIF 2.1.0, for code scanning in CI.
    Sarif,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Deny {
    /// Warnings fail the check (exit status 1).
    Warnings,
}

/// Runs the command with the process's arguments and standard streams.
///
/// ```no_run
/// // The whole `main` of the `dispatchio` command.
/// fn main() -> std::process::ExitCode {
///     dispatchio_dsl::cli::run()
/// }
/// ```
pub fn run() -> ExitCode {
    // Colour only for a person at a terminal who has not opted out.
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let stdin = std::io::stdin();
    let exit = run_inner(
        std::env::args_os(),
        &mut stdin.lock(),
        &mut stdout.lock(),
        &mut stderr.lock(),
        color,
    );
    exit.into()
}

/// Runs the command with `args` (the program name first, as in
/// [`std::env::args_os`]), writing its output to `out` and its one-line
/// failure reason to `err`. Output is never coloured; standard input is
/// empty (see [`run_with_input`]).
///
/// ```
/// use dispatchio_dsl::cli::{Exit, run_with};
///
/// let (mut out, mut err) = (Vec::new(), Vec::new());
/// let file = "../examples/routes/card_dealer.route";
/// let exit = run_with(["dispatchio", "check", "--format", "json", file], &mut out, &mut err);
/// assert_eq!(exit, Exit::Clean);
/// let report: serde_json::Value = serde_json::from_slice(&out)?;
/// assert_eq!((report["errors"].as_u64(), report["files"].as_u64()), (Some(0), Some(1)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run_with<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    run_inner(args, &mut std::io::empty(), out, err, false)
}

/// [`run_with`], with `input` as standard input (`explain --message -`).
///
/// ```
/// use dispatchio_dsl::cli::{Exit, run_with_input};
///
/// let file = "../examples/routes/card_dealer.route";
/// let args = ["dispatchio", "explain", file, "--listener", "player", "--message", "-"];
/// let mut input: &[u8] = b"type=Card card=60\n";
/// let (mut out, mut err) = (Vec::new(), Vec::new());
/// assert_eq!(run_with_input(args, &mut input, &mut out, &mut err), Exit::Clean);
/// let out = String::from_utf8(out)?;
/// assert!(out.contains("rule deal did not match: `card < DECK` is false"), "{out}");
/// assert!(out.contains("card is 60") && out.contains("otherwise: drop"), "{out}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run_with_input<I, T>(
    args: I,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    run_inner(args, input, out, err, false)
}

fn run_inner<I, T>(
    args: I,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
    color: bool,
) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = write!(out, "{e}");
                return Exit::Clean;
            }
            // clap's message spans several lines (usage, hints); the first says what is wrong.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            let reason = first.strip_prefix("error: ").unwrap_or(first);
            let _ = writeln!(err, "dispatchio: {reason} (see `dispatchio --help`)");
            return Exit::Failed;
        }
    };
    let ran = match cli.command {
        Command::Check(args) => check(&args, out, color),
        Command::Explain(args) => explain::run(&args, input, out, err, color).map(|()| Exit::Clean),
        Command::Diff(args) => diff::run(&args, out, color),
        Command::Graph(args) => graph::run(&args, out).map(|()| Exit::Clean),
    };
    match ran {
        Ok(exit) => exit,
        Err(reason) => {
            let _ = writeln!(err, "dispatchio: {reason}");
            Exit::Failed
        }
    }
}

/// `dispatchio check`; `Err` is the one-line reason it could not run.
fn check(args: &CheckArgs, out: &mut dyn Write, color: bool) -> Result<Exit, String> {
    let roots = if args.paths.is_empty() { vec![PathBuf::from(".")] } else { args.paths.clone() };
    let mut files = Vec::new();
    for root in &roots {
        collect(root, &mut files)?;
    }
    let mut seen = HashSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    // Checking nothing is a mistake (a wrong directory), not a clean result:
    // CI must not pass because the path missed the files.
    if files.is_empty() {
        let shown: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
        return Err(format!("no .route files found under {}", shown.join(", ")));
    }

    // A file that cannot be read is a finding in it, and the others are
    // still checked: one bad file must not hide every other finding.
    let reports: Vec<Report> = files.iter().map(|f| crate::report::check_or_report(f)).collect();
    let findings = findings(&reports);
    let read: BTreeSet<PathBuf> =
        reports.iter().flat_map(|r| r.sources.files().map(|(_, f)| canonical(&f.path))).collect();
    let errors = findings.iter().filter(|f| f.diag.is_error()).count();
    let warnings = findings.len() - errors;

    let written = match args.format {
        Format::Human => human::write(out, &findings, read.len(), color),
        Format::Json => {
            writeln!(out, "{:#}", json_document(&findings, read.len()))
        }
        Format::Sarif => {
            writeln!(out, "{:#}", sarif_document(&findings))
        }
    };
    wrote(written)?;

    let denied = args.deny.contains(&Deny::Warnings) && warnings > 0;
    Ok(if errors > 0 || denied { Exit::Findings } else { Exit::Clean })
}

/// Adds `path` (a file) or the `.route` files under it (a directory) to `files`.
fn collect(path: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    if !meta.is_dir() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    let entries = std::fs::read_dir(path)
        .map_err(|e| format!("cannot read directory `{}`: {e}", path.display()))?;
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let p = entry.path();
        // `file_type` does not follow symlinks, so a link loop cannot recurse forever.
        match entry.file_type() {
            Ok(t) if t.is_dir() => collect(&p, files)?,
            Ok(_) if p.extension().is_some_and(|e| e == "route") => files.push(p),
            _ => {}
        }
    }
    Ok(())
}

/// The outcome of writing a command's output. A reader that closed the
/// pipe (`dispatchio graph … | head`) wanted no more: that is no failure,
/// as for `git log | head`; any other error is the reason the command failed.
fn wrote(written: std::io::Result<()>) -> Result<(), String> {
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write the output: {e}"))
        }
        _ => Ok(()),
    }
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// One finding to print, with the sources to render it from.
struct Finding<'a> {
    diag: &'a Diagnostic,
    sources: &'a SourceMap,
}

impl Finding<'_> {
    fn file(&self) -> String {
        display_path(&self.sources.get(self.diag.primary.span.file).path)
    }

    fn line_col(&self) -> (usize, usize) {
        let span = self.diag.primary.span;
        self.sources.get(span.file).line_col(span.start as usize)
    }
}

/// Every finding of every report, once. A file checked on its own and also
/// imported by another checked file is reported once; `unused` is not
/// reported for a file that another checked file imports (its declarations
/// are there for the importer).
fn findings(reports: &[Report]) -> Vec<Finding<'_>> {
    let imported: HashSet<PathBuf> = reports
        .iter()
        .flat_map(|r| r.sources.files().skip(1).map(|(_, f)| canonical(&f.path)))
        .collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for report in reports {
        // Once per file, not per finding: thousands of findings share a file.
        let paths: Vec<PathBuf> = report.sources.files().map(|(_, f)| canonical(&f.path)).collect();
        for diag in &report.diagnostics {
            let file = paths[diag.primary.span.file.0 as usize].clone();
            if diag.code == Code::Unused && imported.contains(&file) {
                continue;
            }
            let key = (
                diag.code,
                file,
                diag.primary.span.start,
                diag.primary.span.end,
                diag.message.clone(),
            );
            if seen.insert(key) {
                out.push(Finding { diag, sources: &report.sources });
            }
        }
    }
    out
}

/// A path for output: as given, with `/` separators.
fn display_path(path: &Path) -> String {
    let text = path.display().to_string().replace('\\', "/");
    text.strip_prefix("./").map(str::to_owned).unwrap_or(text)
}

// ------------------------------------------------------------------ json

fn json_document(findings: &[Finding<'_>], files: usize) -> Json {
    let errors = findings.iter().filter(|f| f.diag.is_error()).count();
    json!({
        "files": files,
        "errors": errors,
        "warnings": findings.len() - errors,
        "findings": findings.iter().map(json_finding).collect::<Vec<_>>(),
    })
}

fn json_finding(f: &Finding<'_>) -> Json {
    let (line, column) = f.line_col();
    let d = f.diag;
    json!({
        "code": d.code.as_str(),
        "severity": d.severity.as_str(),
        "message": d.message,
        "file": f.file(),
        "line": line,
        "column": column,
        "listener": d.listener,
        "rules": d.rules,
        "witness": d.witness.as_ref().map(witness::to_json),
        "exact": d.exact,
    })
}

// ------------------------------------------------------------------ sarif

const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn sarif_document(findings: &[Finding<'_>]) -> Json {
    let rules: Vec<Json> = Code::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.as_str(),
                "shortDescription": { "text": c.description() },
                "defaultConfiguration": { "level": c.severity().as_str() },
            })
        })
        .collect();
    let results: Vec<Json> = findings.iter().map(sarif_result).collect();
    sarif_log("dispatchio", rules, results)
}

/// A SARIF 2.1.0 log of one run of the tool `name`.
fn sarif_log(name: &str, rules: Vec<Json>, results: Vec<Json>) -> Json {
    json!({
        "version": "2.1.0",
        "$schema": SARIF_SCHEMA,
        "runs": [{
            "tool": {
                "driver": {
                    "name": name,
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "results": results,
        }],
    })
}

fn sarif_result(f: &Finding<'_>) -> Json {
    let d = f.diag;
    let rule_index = Code::ALL.iter().position(|c| *c == d.code).unwrap_or(0);
    let mut text = d.message.clone();
    if let Some(w) = &d.witness {
        text.push_str(&format!(" (witness: {w})"));
    }
    if let Some(h) = &d.help {
        text.push_str(&format!(". Help: {h}"));
    }
    let related: Vec<Json> = d
        .related
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut loc = sarif_location(f.sources, l.span);
            loc["id"] = json!(i);
            loc["message"] = json!({ "text": l.message });
            loc
        })
        .collect();
    let mut result = json!({
        "ruleId": d.code.as_str(),
        "ruleIndex": rule_index,
        "level": d.severity.as_str(),
        "message": { "text": text },
        "locations": [sarif_location(f.sources, d.primary.span)],
        "properties": {
            "listener": d.listener,
            "rules": d.rules,
            "exact": d.exact,
        },
    });
    if !related.is_empty() {
        result["relatedLocations"] = Json::Array(related);
    }
    result
}

fn sarif_location(sources: &SourceMap, span: crate::diagnostic::Span) -> Json {
    let file = sources.get(span.file);
    let (line, column) = file.line_col(span.start as usize);
    let (end_line, end_column) = file.line_col(span.end as usize);
    json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri_of(&file.path) },
            "region": {
                "startLine": line,
                "startColumn": column,
                "endLine": end_line,
                "endColumn": end_column,
            }
        }
    })
}

/// A URI reference for a path: relative for a relative path, `file://` for
/// an absolute one; `/` separators, and the characters a URI cannot hold
/// literally percent-encoded.
fn uri_of(path: &Path) -> String {
    let mut out = String::new();
    let text = display_path(path);
    if text.starts_with('/') {
        out.push_str("file://");
    } else if path.is_absolute() {
        // A Windows path (`C:/…`): the drive goes after a third slash.
        out.push_str("file:///");
    }
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) || (b == b':' && path.is_absolute()) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
