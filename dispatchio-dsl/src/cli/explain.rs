//! `dispatchio explain`: why each message goes where it goes, through one
//! listener and the listeners its `forward`s name ([`crate::explain`]).
//!
//! Exit status: 0 when every message was explained (whatever its fate:
//! stopped, `otherwise`, unrouted), 2 when the command could not run: no
//! `.route` file, no such listener, a message that does not read (named
//! with where it came from: `--message 2`, `<stdin>:3`, `msgs.jsonl:7`).

use std::io::{BufRead, Write};
use std::path::PathBuf;

use serde_json::{Value as Json, json};

use super::programs::{self, Declared};
use super::{display_path, message_text, trace_human, witness};
use crate::concrete::Sample;
use crate::explain::{self, End, FailureKind, Followed, Outcome, Trace, action_text};
use crate::program::Program;

#[derive(clap::Args, Debug)]
pub(super) struct ExplainArgs {
    /// Files, or directories searched recursively for `.route` files (default: `.`).
    paths: Vec<PathBuf>,
    /// The listener the messages are sent to.
    #[arg(long)]
    listener: String,
    /// A message: `type=Card card=7 source="bob"`, or a JSON object as
    /// `check --format json` prints witnesses. `-` reads one message per
    /// line from standard input. May be given several times.
    #[arg(long = "message", value_name = "MESSAGE")]
    message: Vec<String>,
    /// A JSON-lines file: one message per line (a JSON object, or the
    /// `key=value` form); blank lines are skipped. May be given several times.
    #[arg(long = "messages", value_name = "FILE")]
    messages: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// Each rule's outcome, failed conditions drawn on the source.
    Human,
    /// One JSON document.
    Json,
}

/// `dispatchio explain`; `Err` is the one-line reason it could not run.
pub(super) fn run(
    args: &ExplainArgs,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
    color: bool,
) -> Result<(), String> {
    let programs = programs::load(&args.paths)?;
    let listener = programs.listener(&args.listener)?;
    let messages = read_messages(args, listener.program, input)?;
    if messages.is_empty() {
        return Err("no message to explain: give `--message` or `--messages FILE`".into());
    }
    note_undeclared_types(&listener, &messages, err);
    let traces: Vec<(Sample, Trace)> = messages
        .into_iter()
        .map(|m| {
            let t = explain::explain(listener.program, &listener.def.name, &m);
            // Cannot fail: the listener was found in this program.
            (m, t.expect("the listener is in its program"))
        })
        .collect();
    let written = match args.format {
        Format::Human => trace_human::write(out, &listener, &traces, color),
        Format::Json => writeln!(out, "{:#}", json_document(&listener, &traces)),
    };
    super::wrote(written)
}

/// Every message given, in order: `--message`s first, then `--messages` files.
fn read_messages(
    args: &ExplainArgs,
    program: &Program,
    input: &mut dyn BufRead,
) -> Result<Vec<Sample>, String> {
    let mut out = Vec::new();
    let mut stdin_read = false;
    for (i, text) in args.message.iter().enumerate() {
        if text == "-" {
            if std::mem::replace(&mut stdin_read, true) {
                continue;
            }
            let mut text = String::new();
            input
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            lines(program, "<stdin>", &text, &mut out)?;
        } else {
            let m = message_text::read(program, text)
                .map_err(|e| format!("--message {}: {e}", i + 1))?;
            out.push(m);
        }
    }
    for file in &args.messages {
        let shown = display_path(file);
        let text =
            std::fs::read_to_string(file).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
        lines(program, &shown, &text, &mut out)?;
    }
    Ok(out)
}

/// A note on stderr for each message type the program does not declare but
/// nearly does: such a message is explained (its content read untyped),
/// but a typo (`type=Crad`) would otherwise only show as every rule failing.
fn note_undeclared_types(listener: &Declared<'_>, messages: &[Sample], err: &mut dyn Write) {
    let program = listener.program;
    let mut noted = std::collections::BTreeSet::new();
    for m in messages {
        if program.message(&m.ty).is_some() || !noted.insert(m.ty.as_str()) {
            continue;
        }
        let declared = program.messages().iter().map(|d| d.name.as_str());
        // A type unlike every declared one is a message from elsewhere,
        // which the routes may well leave to `otherwise`: no note.
        if let Some(near) = crate::check::did_you_mean(&m.ty, declared) {
            let (ty, file) = (&m.ty, listener.file());
            let _ = writeln!(
                err,
                "dispatchio: note: type `{ty}` is not declared in {file}: did you mean `{near}`?"
            );
        }
    }
}

/// One message per non-blank line of `text`.
fn lines(program: &Program, name: &str, text: &str, out: &mut Vec<Sample>) -> Result<(), String> {
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let m = message_text::read(program, line).map_err(|e| format!("{name}:{}: {e}", n + 1))?;
        out.push(m);
    }
    Ok(())
}

fn json_document(listener: &Declared<'_>, traces: &[(Sample, Trace)]) -> Json {
    let explained: Vec<Json> = traces
        .iter()
        .map(|(m, t)| {
            json!({
                "message": witness::to_json(m),
                "trace": json_trace(listener.program, t),
            })
        })
        .collect();
    json!({ "listener": listener.def.name, "file": listener.file(), "messages": explained })
}

/// A trace as data: `rules` (each with its `outcome`: `fired`, `failed`
/// with the part that failed, or `not-tried`), `otherwise`, `end`, every
/// `actions` run, and the `forwards` followed.
pub(super) fn json_trace(program: &Program, t: &Trace) -> Json {
    let def = program.listener(&t.listener);
    let sources = program.sources();
    let at = |span: crate::diagnostic::Span| {
        let file = sources.get(span.file);
        let (line, column) = file.line_col(span.start as usize);
        (display_path(&file.path), line, column)
    };
    let rules: Vec<Json> = t
        .rules
        .iter()
        .map(|r| {
            let (file, line, column) = at(r.span);
            let mut j = json!({ "rule": r.name, "file": file, "line": line, "column": column });
            match &r.outcome {
                Outcome::Fired { actions, continued } => {
                    j["outcome"] = json!("fired");
                    j["actions"] = json!(actions.iter().map(action_text).collect::<Vec<_>>());
                    j["continued"] = json!(continued);
                }
                Outcome::Failed(f) => {
                    let (_, line, column) = at(f.span);
                    j["outcome"] = json!("failed");
                    let mut failed = json!({
                        "text": f.text,
                        "line": line,
                        "column": column,
                        "reason": f.kind.to_string(),
                    });
                    if let FailureKind::Test { field, value } = &f.kind {
                        failed["field"] = json!(field.to_string());
                        failed["value"] = value.as_ref().map_or(Json::Null, witness::value_json);
                    }
                    j["failed"] = failed;
                }
                Outcome::NotTried => j["outcome"] = json!("not-tried"),
            }
            j
        })
        .collect();
    let end = match t.end {
        End::Stopped(i) => json!({ "kind": "stopped", "rule": t.rules[i].name }),
        End::Otherwise => json!({ "kind": "otherwise" }),
        End::Unrouted => json!({ "kind": "unrouted" }),
    };
    let forwards: Vec<Json> = t
        .forwards
        .iter()
        .map(|f| match &f.followed {
            Followed::Traced(inner) => json!({
                "to": f.target, "followed": "traced", "trace": json_trace(program, inner),
            }),
            Followed::Cycle => json!({ "to": f.target, "followed": "cycle" }),
            Followed::Outside => json!({ "to": f.target, "followed": "outside" }),
        })
        .collect();
    let d = t.decision();
    let file = def.map(|d| display_path(&sources.get(d.span.file).path));
    json!({
        "listener": t.listener,
        "file": file,
        "rules": rules,
        "otherwise": t.otherwise.as_ref().map(|a| a.iter().map(action_text).collect::<Vec<_>>()),
        "end": end,
        "actions": d.actions.iter().map(action_text).collect::<Vec<_>>(),
        "forwards": forwards,
    })
}
