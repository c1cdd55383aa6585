//! `diff --format human`: each change drawn like a diagnostic, on an
//! excerpt of the new file at the rule that decides it now, with the old
//! file's deciding rule as a related excerpt. Nothing at all when nothing
//! changes.

use std::fmt;
use std::io::Write;

use super::json::{change_message, listener_message, outcome_text};
use super::{Compared, Names};
use crate::analysis::{Change, End, ListenerDiff, Presence};
use crate::cli::excerpt::Excerpt;
use crate::diagnostic::{SourceMap, Span};

pub(super) fn write(
    out: &mut dyn Write,
    compared: &[Compared],
    names: &Names,
    color: bool,
) -> std::io::Result<()> {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false);
    let (mut listeners, mut changes) = (0, 0);
    for c in compared {
        for l in &c.diff.listeners {
            listeners += 1;
            let mut reports = Vec::new();
            if let Some(message) = listener_message(l) {
                let new = l.presence != Presence::Removed;
                let code = match l.presence {
                    Presence::Added => "listener-added",
                    Presence::Removed => "listener-removed",
                    Presence::Both => "undecided",
                };
                let label = (l.span, String::new());
                reports.push(Report::new(message, code, None, c.sources(new), names, label));
            }
            for ch in &l.changes {
                changes += 1;
                reports.push(change_report(c, l, ch, names));
            }
            for r in reports {
                let mut text = String::new();
                if handler.render_report(&mut text, &r).is_err() {
                    text = format!("{r}\n");
                }
                writeln!(out, "{text}")?;
            }
        }
    }
    if listeners > 0 {
        writeln!(
            out,
            "compared {} file{}: {changes} change{} in {listeners} listener{}",
            compared.len(),
            plural(compared.len()),
            plural(changes),
            plural(listeners)
        )?;
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn change_report(c: &Compared, l: &ListenerDiff, ch: &Change, names: &Names) -> Report {
    let mut help =
        vec![format!("witness: {}", ch.witness), format!("class: {}", ch.class.join("; "))];
    if !ch.exact {
        help.push("note: this change is approximate (untyped content)".to_owned());
    }
    let at = |end: &End, fallback: Span, what: String| match end {
        End::Rule { span, .. } | End::Otherwise { span } => (*span, what),
        End::Unrouted => (fallback, format!("{what}: no rule stops it")),
    };
    let now = at(&ch.new.end, l.span, format!("now: {}", outcome_text(&ch.new)));
    let mut r = Report::new(
        change_message(l, ch),
        ch.kind.as_str(),
        Some(help.join("\n")),
        c.sources(true),
        names,
        now,
    );
    let old_listener = c.programs[0].listener(&l.name).map_or(l.span, |o| o.name_span);
    let before = at(&ch.old.end, old_listener, format!("before: {}", outcome_text(&ch.old)));
    let mut related = Report::new(before.1.clone(), "", None, c.sources(false), names, before);
    related.is_related = true;
    r.related.push(related);
    r
}

/// One change (or listener) seen through miette's eyes.
#[derive(Debug)]
struct Report {
    message: String,
    code: &'static str,
    help: Option<String>,
    source: Excerpt,
    labels: Vec<miette::LabeledSpan>,
    related: Vec<Report>,
    is_related: bool,
}

impl Report {
    fn new(
        message: String,
        code: &'static str,
        help: Option<String>,
        sources: &SourceMap,
        names: &Names,
        (span, label): (Span, String),
    ) -> Report {
        let file = sources.get(span.file);
        let (source, placed) =
            Excerpt::new(names.show(&file.path), file, &[(span.start as usize, span.end as usize)]);
        let labels = placed
            .into_iter()
            .map(|(start, end)| {
                let text = (!label.is_empty()).then(|| label.clone());
                miette::LabeledSpan::new_primary_with_span(text, (start, end - start))
            })
            .collect();
        Report { message, code, help, source, labels, related: Vec::new(), is_related: false }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    /// `change[now-unrouted]`, as check heads its findings `warning[shadowed]`.
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.is_related)
            .then(|| Box::new(format!("change[{}]", self.code)) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(if self.is_related || self.code != "undecided" {
            miette::Severity::Advice
        } else {
            miette::Severity::Warning
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|r| r as &dyn miette::Diagnostic)))
    }
}
