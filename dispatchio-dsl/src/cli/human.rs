//! `--format human`: each finding drawn by miette's graphical renderer,
//! from an [`Excerpt`] of its file rather than the whole file.

use std::fmt;
use std::io::Write;
use std::path::Path;

use super::excerpt::Excerpt;
use super::{Finding, display_path};
use crate::diagnostic::{Diagnostic, FileId, Label, Severity, SourceMap};

pub(super) fn write(
    out: &mut dyn Write,
    findings: &[Finding<'_>],
    files: usize,
    color: bool,
) -> std::io::Result<()> {
    let handler = handler(color);
    for f in findings {
        let report = HumanDiagnostic::new(f.diag, f.sources);
        // The graphical renderer failed (it should not): fall back to plain text.
        let text = render(&handler, &report).unwrap_or_else(|| f.diag.render_plain(f.sources));
        writeln!(out, "{text}")?;
    }
    let errors = findings.iter().filter(|f| f.diag.is_error()).count();
    let warnings = findings.len() - errors;
    writeln!(
        out,
        "checked {files} file{}: {errors} error{}, {warnings} warning{}",
        plural(files),
        plural(errors),
        plural(warnings)
    )
}

/// miette's graphical renderer as the command uses it: 100 columns, no links.
pub(super) fn handler(color: bool) -> miette::GraphicalReportHandler {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false)
}

/// `report` drawn, or `None` if the renderer failed.
pub(super) fn render(
    handler: &miette::GraphicalReportHandler,
    report: &HumanDiagnostic,
) -> Option<String> {
    let mut text = String::new();
    handler.render_report(&mut text, report).ok()?;
    // Related places are rendered here rather than by miette, which heads
    // each with a stray `Advice:` line; drawn after the report, a blank
    // line between, each says what it is in its own `☞` line.
    for r in &report.related {
        text.push('\n');
        handler.render_report(&mut text, r).ok()?;
    }
    Some(text)
}

pub(super) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A [`Diagnostic`] (or a change `diff` reports) seen through miette's
/// eyes. Labels in the primary file are drawn on its snippet; labels in
/// other files become related reports.
#[derive(Debug)]
pub(super) struct HumanDiagnostic {
    message: String,
    /// `error[shadowed]`, as rustc heads its diagnostics: the severity in
    /// words as well as in the glyph. None for a related place of another
    /// report, drawn without a header of its own.
    heading: Option<String>,
    severity: miette::Severity,
    help: Option<String>,
    source: Excerpt,
    labels: Vec<miette::LabeledSpan>,
    related: Vec<HumanDiagnostic>,
}

impl HumanDiagnostic {
    fn new(d: &Diagnostic, sources: &SourceMap) -> HumanDiagnostic {
        let file = d.primary.span.file;
        let mut help = Vec::new();
        if let Some(w) = &d.witness {
            help.push(format!("witness: {w}"));
        }
        if !d.exact {
            help.push("note: this finding is approximate".to_owned());
        }
        if let Some(h) = &d.help {
            help.push(h.clone());
        }
        let (severity, word) = match d.severity {
            Severity::Error => (miette::Severity::Error, "error"),
            Severity::Warning => (miette::Severity::Warning, "warning"),
        };
        // The primary label, and the related ones in its file, on one excerpt.
        let here: Vec<&Label> = std::iter::once(&d.primary)
            .chain(d.related.iter().filter(|l| l.span.file == file))
            .collect();
        let mut report = HumanDiagnostic::drawn(
            d.message.clone(),
            Some(format!("{word}[{}]", d.code)),
            severity,
            (!help.is_empty()).then(|| help.join("\n")),
            (sources, &|p| display_path(p)),
            &here,
        );
        for l in d.related.iter().filter(|l| l.span.file != file) {
            let message = if l.message.is_empty() { "related".into() } else { l.message.clone() };
            report.related.push(HumanDiagnostic::related(
                message,
                (sources, &|p| display_path(p)),
                l,
            ));
        }
        report
    }

    /// A report headed `heading`, drawn on `labels` (all in one file, the
    /// first primary), the file named by `name`.
    pub(super) fn drawn(
        message: String,
        heading: Option<String>,
        severity: miette::Severity,
        help: Option<String>,
        (sources, name): (&SourceMap, &dyn Fn(&Path) -> String),
        labels: &[&Label],
    ) -> HumanDiagnostic {
        let (source, labels) = excerpt((sources, name), labels[0].span.file, labels);
        HumanDiagnostic { message, heading, severity, help, source, labels, related: Vec::new() }
    }

    /// A related place of another report, drawn after it by [`render`].
    pub(super) fn related(
        message: String,
        sources: (&SourceMap, &dyn Fn(&Path) -> String),
        label: &Label,
    ) -> HumanDiagnostic {
        HumanDiagnostic::drawn(message, None, miette::Severity::Advice, None, sources, &[label])
    }

    /// The same, with `related` drawn after it.
    pub(super) fn with_related(mut self, related: HumanDiagnostic) -> HumanDiagnostic {
        self.related.push(related);
        self
    }
}

/// The excerpt of `file` showing `labels` (the first is the primary one),
/// and the labels placed in it.
pub(super) fn excerpt(
    (sources, name): (&SourceMap, &dyn Fn(&Path) -> String),
    file: FileId,
    labels: &[&Label],
) -> (Excerpt, Vec<miette::LabeledSpan>) {
    let src = sources.get(file);
    let spans: Vec<(usize, usize)> =
        labels.iter().map(|l| (l.span.start as usize, l.span.end as usize)).collect();
    let (excerpt, placed) = Excerpt::new(name(&src.path), src, &spans);
    let labels = labels
        .iter()
        .zip(placed)
        .enumerate()
        .map(|(i, (l, (start, end)))| {
            let text = (!l.message.is_empty()).then(|| l.message.clone());
            if i == 0 {
                miette::LabeledSpan::new_primary_with_span(text, (start, end - start))
            } else {
                miette::LabeledSpan::new_with_span(text, (start, end - start))
            }
        })
        .collect();
    (excerpt, labels)
}

impl fmt::Display for HumanDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HumanDiagnostic {}

impl miette::Diagnostic for HumanDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.heading.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
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
}
