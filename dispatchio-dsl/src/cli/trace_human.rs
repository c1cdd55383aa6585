//! `dispatchio explain --format human`: each message's trace, rule by rule,
//! the part of a condition that failed drawn on its source by miette as a
//! diagnostic is (from an [`Excerpt`](super::excerpt::Excerpt) of its file).

use std::fmt;
use std::io::Write;

use super::excerpt::Excerpt;
use super::human::excerpt;
use super::programs::Declared;
use crate::concrete::Sample;
use crate::diagnostic::Label;
use crate::explain::{Failure, Followed, Outcome, Trace, actions_text};
use crate::program::Program;

pub(super) fn write(
    out: &mut dyn Write,
    listener: &Declared<'_>,
    traces: &[(Sample, Trace)],
    color: bool,
) -> std::io::Result<()> {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false);
    for (i, (msg, trace)) in traces.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(out, "message {msg}")?;
        write_trace(out, &handler, listener.program, trace, None)?;
    }
    Ok(())
}

fn write_trace(
    out: &mut dyn Write,
    handler: &miette::GraphicalReportHandler,
    program: &Program,
    t: &Trace,
    from: Option<&str>,
) -> std::io::Result<()> {
    let file = program
        .listener(&t.listener)
        .map(|d| super::display_path(&program.sources().get(d.span.file).path))
        .unwrap_or_default();
    let via = from.map(|f| format!(", forwarded by {f}")).unwrap_or_default();
    writeln!(out, "listener {} ({file}{via}): {}", t.listener, t.end_text())?;
    for r in &t.rules {
        match &r.outcome {
            Outcome::Fired { actions, continued } => {
                let then = if *continued { ", continue" } else { "" };
                writeln!(out, "  ✓ rule {} fired: {}{then}", r.name, actions_text(actions))?;
            }
            Outcome::NotTried => writeln!(out, "  · rule {} not tried", r.name)?,
            Outcome::Failed(failure) => {
                let report = Failed::new(program, &r.name, failure);
                let mut text = String::new();
                if handler.render_report(&mut text, &report).is_err() {
                    // The graphical renderer failed (it should not): one plain line.
                    text = format!("  ✗ rule {} did not match: {failure}\n", r.name);
                }
                write!(out, "{text}")?;
            }
        }
    }
    if let Some(actions) = &t.otherwise {
        writeln!(out, "  ✓ otherwise: {}", actions_text(actions))?;
    }
    for f in &t.forwards {
        match &f.followed {
            Followed::Traced(inner) => {
                write_trace(out, handler, program, inner, Some(&t.listener))?
            }
            Followed::Cycle => {
                writeln!(out, "  forward {}: a cycle, not followed again", f.target)?
            }
            Followed::Outside => {
                writeln!(out, "  forward {}: not a listener of this program", f.target)?;
            }
        }
    }
    Ok(())
}

/// A rule that did not match, as miette draws a finding: the failed part
/// of its condition labelled with why.
#[derive(Debug)]
struct Failed {
    message: String,
    source: Excerpt,
    labels: Vec<miette::LabeledSpan>,
}

impl Failed {
    fn new(program: &Program, rule: &str, failure: &Failure) -> Failed {
        let label = Label::new(failure.span, failure.kind.to_string());
        let (source, labels) =
            excerpt((program.sources(), &super::display_path), failure.span.file, &[&label]);
        Failed {
            message: format!("rule {rule} did not match: `{}` is false", failure.text),
            source,
            labels,
        }
    }
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failed {}

impl miette::Diagnostic for Failed {
    fn severity(&self) -> Option<miette::Severity> {
        // Not a finding: a note on the route a message took.
        Some(miette::Severity::Advice)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
}
