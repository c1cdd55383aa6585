//! The part of a file one finding shows, as miette source code.
//!
//! Why not the whole file: miette's `SourceCode` for a string scans it from
//! the start to find a span's line, and each report owned a copy of its
//! file, so a finding cost the size of its file (20,000 findings in one
//! file: 23 s, against 0.7 s for JSON). And miette pads with `{:width$}`,
//! which panics past 65,535 columns, so a finding far out on a long line
//! crashed the command. An [`Excerpt`] holds only the lines the labels are
//! on, with one line of context (what miette shows), each long line cut to
//! a window around its labels, and answers miette with the true line
//! numbers and columns of the file.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use crate::diagnostic::SourceFile;

/// Lines of context around a label: miette's default, which the handler keeps.
const CONTEXT: usize = 1;
/// Lines longer than this (in characters) are cut to a window of this width.
const MAX_LINE: usize = 240;
/// Characters kept before the first label of a cut line.
const LEAD: usize = 40;
/// A label over more lines than this is drawn on its first line only.
const MAX_SPAN_LINES: usize = 8;
/// Marks where a cut line continues.
const MARK: &str = "…";

/// Some lines of one file, and where the labels fall in them.
#[derive(Debug)]
pub(super) struct Excerpt {
    name: String,
    chunks: Vec<Chunk>,
}

/// A run of consecutive lines of the file, as shown.
#[derive(Debug)]
struct Chunk {
    /// The 0-based line of the file the chunk starts at.
    first_line: usize,
    /// Where the chunk's text starts in the excerpt's offsets (the chunks'
    /// texts laid end to end).
    base: usize,
    text: String,
    lines: Vec<Shown>,
}

/// One line of a chunk.
#[derive(Debug)]
struct Shown {
    /// Where the line starts in the file.
    line_start: usize,
    /// The bytes of the file shown: `from..to`.
    from: usize,
    to: usize,
    /// Where `from` is in the chunk's text.
    at: usize,
}

impl Excerpt {
    /// The excerpt of `file` that shows `spans` (byte ranges of the file),
    /// and each span in the excerpt's offsets.
    pub(super) fn new(
        name: String,
        file: &SourceFile,
        spans: &[(usize, usize)],
    ) -> (Excerpt, Vec<(usize, usize)>) {
        let last_line = file.line_count() - 1;
        // Each span as (start, end, first line, last line), a long one cut
        // to the end of its first line.
        let spans: Vec<(usize, usize, usize, usize)> = spans
            .iter()
            .map(|&(start, end)| {
                let first = file.line_index(start);
                let last = file.line_index(end.saturating_sub(1).max(start));
                if last - first >= MAX_SPAN_LINES {
                    let (_, line_end) = file.line_range(first);
                    (start, content_end(&file.text, start, line_end), first, first)
                } else {
                    (start, end, first, last)
                }
            })
            .collect();
        let mut ranges: Vec<(usize, usize)> = spans
            .iter()
            .map(|s| (s.2.saturating_sub(CONTEXT), (s.3 + CONTEXT).min(last_line)))
            .collect();
        ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (a, b) in ranges {
            match merged.last_mut() {
                // Touching runs are one: miette draws them as one snippet.
                Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        let mut chunks = Vec::with_capacity(merged.len());
        let mut base = 0;
        for (a, b) in merged {
            let chunk = Chunk::new(file, a, b, base, &spans);
            base += chunk.text.len();
            chunks.push(chunk);
        }
        let excerpt = Excerpt { name, chunks };
        let mapped = spans
            .iter()
            .map(|&(start, end, first, last)| {
                let s = excerpt.map(start, first);
                (s, excerpt.map(end, last).max(s))
            })
            .collect();
        (excerpt, mapped)
    }

    /// Where file offset `offset`, on 0-based line `line`, is in the
    /// excerpt (clamped into the part of the line that is shown).
    fn map(&self, offset: usize, line: usize) -> usize {
        let i = self.chunks.partition_point(|c| c.first_line <= line).saturating_sub(1);
        let Some(chunk) = self.chunks.get(i) else { return 0 };
        let k = (line - chunk.first_line.min(line)).min(chunk.lines.len().saturating_sub(1));
        let Some(shown) = chunk.lines.get(k) else { return chunk.base };
        chunk.base + shown.at + (offset.clamp(shown.from, shown.to) - shown.from)
    }
}

impl Chunk {
    /// Lines `a..=b` of `file`, long ones cut around the spans on them.
    fn new(
        file: &SourceFile,
        a: usize,
        b: usize,
        base: usize,
        spans: &[(usize, usize, usize, usize)],
    ) -> Chunk {
        let text = &file.text;
        let mut out = String::new();
        let mut lines = Vec::with_capacity(b - a + 1);
        for line in a..=b {
            let (start, end) = file.line_range(line);
            let content = content_end(text, start, end);
            if text[start..content].chars().count() <= MAX_LINE {
                lines.push(Shown { line_start: start, from: start, to: end, at: out.len() });
                out.push_str(&text[start..end]);
                continue;
            }
            // The window starts a little before the first label on the line
            // (a label's start, or the end of one that ends here).
            let anchor = spans
                .iter()
                .filter_map(|s| {
                    if s.2 == line {
                        Some(s.0)
                    } else if s.3 == line {
                        Some(s.1)
                    } else {
                        None
                    }
                })
                .min()
                .unwrap_or(start)
                .clamp(start, content);
            let from = text[start..anchor]
                .char_indices()
                .rev()
                .nth(LEAD - 1)
                .map_or(start, |(i, _)| start + i);
            let to =
                text[from..content].char_indices().nth(MAX_LINE).map_or(content, |(i, _)| from + i);
            if from > start {
                out.push_str(MARK);
            }
            lines.push(Shown { line_start: start, from, to, at: out.len() });
            out.push_str(&text[from..to]);
            if to < content {
                out.push_str(MARK);
            }
            out.push_str(&text[content..end]);
        }
        Chunk { first_line: a, base, text: out, lines }
    }

    /// The file's byte column of a byte of the chunk's text.
    fn column(&self, local: usize) -> usize {
        let k = self.lines.partition_point(|s| s.at <= local).saturating_sub(1);
        self.lines.get(k).map_or(0, |s| s.from + local.saturating_sub(s.at) - s.line_start)
    }
}

/// The end of a line's content: before its `\n` or `\r\n`.
fn content_end(text: &str, start: usize, end: usize) -> usize {
    let line = &text[start..end];
    start + line.trim_end_matches(['\n', '\r']).len()
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let (offset, len) = (span.offset(), span.len());
        let i = self.chunks.partition_point(|c| c.base <= offset).saturating_sub(1);
        let chunk = self.chunks.get(i).ok_or(MietteError::OutOfBounds)?;
        // A span across two chunks has lines between them that are not
        // here; miette then draws the two parts apart.
        if offset + len > chunk.base + chunk.text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let local = SourceSpan::new((offset - chunk.base).into(), len);
        let inner = chunk.text.as_str().read_span(&local, before, after)?;
        let data = inner.data();
        let breaks = data.iter().filter(|&&b| b == b'\n').count();
        // The lines the contents hold (miette's own count is the file's
        // line number of their end; this is what its merging of nearby
        // snippets needs).
        let line_count = breaks + usize::from(!data.is_empty() && !data.ends_with(b"\n"));
        let column = if before == 0 { chunk.column(inner.span().offset()) } else { inner.column() };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            data,
            SourceSpan::new((inner.span().offset() + chunk.base).into(), inner.span().len()),
            inner.line() + chunk.first_line,
            column,
            line_count,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excerpt(text: &str, spans: &[(usize, usize)]) -> (Excerpt, Vec<(usize, usize)>) {
        Excerpt::new("t.route".into(), &SourceFile::new("t.route", text), spans)
    }

    #[test]
    fn only_the_lines_of_the_labels_and_their_context_are_kept() {
        let text: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        let at = text.find("line 500").unwrap();
        let (e, mapped) = excerpt(&text, &[(at, at + 8)]);
        assert_eq!(e.chunks.len(), 1);
        assert_eq!(e.chunks[0].text, "line 499\nline 500\nline 501\n");
        assert_eq!(mapped, [(9, 17)]);
        let c = e.read_span(&SourceSpan::new(9.into(), 8), 0, 0).unwrap();
        assert_eq!((c.line(), c.column()), (500, 0));
        let c = e.read_span(&SourceSpan::new(9.into(), 8), 1, 1).unwrap();
        assert_eq!(
            (c.line(), c.line_count(), c.data()),
            (499, 3, &b"line 499\nline 500\nline 501\n"[..])
        );
    }

    #[test]
    fn a_long_line_is_cut_around_its_label_and_keeps_the_true_column() {
        let text = format!("{}x\n", " ".repeat(65_536));
        let (e, mapped) = excerpt(&text, &[(65_536, 65_537)]);
        let shown = &e.chunks[0].text;
        assert!(shown.starts_with(MARK) && shown.chars().count() <= MAX_LINE + 3, "{shown:?}");
        let (s, end) = mapped[0];
        assert_eq!(&shown[s..end], "x");
        let c = e.read_span(&SourceSpan::new(s.into(), 1), 0, 0).unwrap();
        assert_eq!((c.line(), c.column()), (0, 65_536));
    }

    #[test]
    fn labels_far_apart_are_separate_chunks() {
        let text: String = (0..100).map(|i| format!("l{i}\n")).collect();
        let (a, b) = (text.find("l10\n").unwrap(), text.find("l90\n").unwrap());
        let (e, mapped) = excerpt(&text, &[(b, b + 3), (a, a + 3)]);
        assert_eq!(e.chunks.len(), 2);
        let c = e.read_span(&SourceSpan::new(mapped[0].0.into(), 3), 0, 0).unwrap();
        assert_eq!(c.line(), 90);
        // A span over both is refused (miette then draws them apart).
        assert!(
            e.read_span(&SourceSpan::new(mapped[1].0.into(), mapped[0].1 - mapped[1].0), 1, 1)
                .is_err()
        );
    }
}
