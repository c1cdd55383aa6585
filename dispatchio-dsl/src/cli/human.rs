//! `--format human`: each finding drawn by miette's graphical renderer,
//! from an [`Excerpt`] of its file rather than the whole file.

use std::fmt;
use std::io::Write;

use super::excerpt::Excerpt;
use super::{Finding, display_path};
use crate::diagnostic::{Code, Diagnostic, FileId, Label, Severity, SourceMap};

pub(super) fn write(
    out: &mut dyn Write,
    findings: &[Finding<'_>],
    files: usize,
    color: bool,
) -> std::io::Result<()> {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false);
    for f in findings {
        let report = HumanDiagnostic::new(f.diag, f.sources);
        let mut text = String::new();
        if handler.render_report(&mut text, &report).is_err() {
            // The graphical renderer failed (it should not): fall back to plain text.
            text = f.diag.render_plain(f.sources);
        }
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

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A [`Diagnostic`] seen through miette's eyes. Labels in the primary file
/// are drawn on its snippet; labels in other files become related reports.
#[derive(Debug)]
struct HumanDiagnostic {
    message: String,
    code: Code,
    severity: Severity,
    help: Option<String>,
    source: Excerpt,
    labels: Vec<miette::LabeledSpan>,
    related: Vec<HumanDiagnostic>,
    /// A related location of another finding: drawn without a header of
    /// its own.
    is_related: bool,
}

impl HumanDiagnostic {
    fn new(d: &Diagnostic, sources: &SourceMap) -> HumanDiagnostic {
        let file = d.primary.span.file;
        // The primary label, and the related ones in its file, on one excerpt.
        let here: Vec<&Label> = std::iter::once(&d.primary)
            .chain(d.related.iter().filter(|l| l.span.file == file))
            .collect();
        let (source, labels) = excerpt(sources, file, &here);
        let mut related = Vec::new();
        for l in d.related.iter().filter(|l| l.span.file != file) {
            let (source, labels) = excerpt(sources, l.span.file, &[l]);
            related.push(HumanDiagnostic {
                message: if l.message.is_empty() { "related".into() } else { l.message.clone() },
                code: d.code,
                severity: d.severity,
                help: None,
                source,
                labels,
                related: Vec::new(),
                is_related: true,
            });
        }
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
        HumanDiagnostic {
            message: d.message.clone(),
            code: d.code,
            severity: d.severity,
            help: (!help.is_empty()).then(|| help.join("\n")),
            source,
            labels,
            related,
            is_related: false,
        }
    }
}

/// The excerpt of `file` showing `labels` (the first is the primary one),
/// and the labels placed in it.
pub(super) fn excerpt(
    sources: &SourceMap,
    file: FileId,
    labels: &[&Label],
) -> (Excerpt, Vec<miette::LabeledSpan>) {
    let src = sources.get(file);
    let spans: Vec<(usize, usize)> =
        labels.iter().map(|l| (l.span.start as usize, l.span.end as usize)).collect();
    let (excerpt, placed) = Excerpt::new(display_path(&src.path), src, &spans);
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
    /// `error[shadowed]`, as rustc heads its diagnostics: the severity in
    /// words as well as in the glyph.
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        if self.is_related {
            return None;
        }
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        Some(Box::new(format!("{severity}[{}]", self.code)))
    }

    fn severity(&self) -> Option<miette::Severity> {
        // A related place in another file is a note on its finding (miette
        // heads it "Advice"), not a second error.
        if self.is_related {
            return Some(miette::Severity::Advice);
        }
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
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
