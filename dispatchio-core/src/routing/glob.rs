//! `matches "glob"`: `*` any run of characters, `?` one character, `[a-z]` a
//! class (`[!…]` or `[^…]` negated), everything else literal, on the whole string.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Lit(char),
    One,
    Star,
    Class { negated: bool, ranges: Vec<(char, char)> },
}

/// A compiled glob pattern. Every string is a valid pattern: an unclosed `[`
/// is a literal `[`.
#[derive(Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
    toks: Vec<Tok>,
}

impl Glob {
    /// Compiles `pattern`.
    pub fn new(pattern: &str) -> Glob {
        let chars: Vec<char> = pattern.chars().collect();
        let mut toks = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' => {
                    // Consecutive stars mean the same as one.
                    if toks.last() != Some(&Tok::Star) {
                        toks.push(Tok::Star);
                    }
                    i += 1;
                }
                '?' => {
                    toks.push(Tok::One);
                    i += 1;
                }
                '[' => match parse_class(&chars[i + 1..]) {
                    Some((tok, used)) => {
                        toks.push(tok);
                        i += 1 + used;
                    }
                    None => {
                        toks.push(Tok::Lit('['));
                        i += 1;
                    }
                },
                c => {
                    toks.push(Tok::Lit(c));
                    i += 1;
                }
            }
        }
        Glob { pattern: pattern.to_owned(), toks }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether the whole of `s` matches.
    pub fn is_match(&self, s: &str) -> bool {
        // Iterative matching with one backtrack point (the last star): linear
        // in practice, never exponential.
        let text: Vec<char> = s.chars().collect();
        let (mut t, mut p) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.toks.get(p) {
                Some(Tok::Star) => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(tok) if single(tok, text[t]) => {
                    t += 1;
                    p += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        p = sp + 1;
                        t = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        self.toks[p..].iter().all(|tok| *tok == Tok::Star)
    }
}

fn single(tok: &Tok, c: char) -> bool {
    match tok {
        Tok::Lit(l) => *l == c,
        Tok::One => true,
        Tok::Star => false,
        Tok::Class { negated, ranges } => {
            ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
        }
    }
}

/// Parses a class after its `[`; returns the token and the characters used
/// (including the closing `]`), or `None` when it is not closed.
fn parse_class(chars: &[char]) -> Option<(Tok, usize)> {
    let mut i = 0;
    let negated = matches!(chars.first(), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let start = i;
    while i < chars.len() {
        let c = chars[i];
        // A `]` first in the class is a member, as in shell globs.
        if c == ']' && i > start {
            return Some((Tok::Class { negated, ranges }, i + 1));
        }
        if i + 2 < chars.len() && chars[i + 1] == '-' && chars[i + 2] != ']' {
            ranges.push((c, chars[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
    None
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Glob({:?})", self.pattern)
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    #[test]
    fn star_question_and_classes() {
        let g = Glob::new("enemy-*");
        assert!(g.is_match("enemy-"));
        assert!(g.is_match("enemy-12"));
        assert!(!g.is_match("friend-1"));
        assert!(Glob::new("p?").is_match("p1"));
        assert!(!Glob::new("p?").is_match("p12"));
        assert!(Glob::new("[a-c]x").is_match("bx"));
        assert!(!Glob::new("[!a-c]x").is_match("bx"));
        assert!(Glob::new("*a*b*").is_match("xxaxxbxx"));
        assert!(!Glob::new("*a*b").is_match("xxaxxbxx"));
        assert!(Glob::new("").is_match(""));
        assert!(Glob::new("**").is_match(""));
    }

    #[test]
    fn an_unclosed_bracket_is_literal() {
        assert!(Glob::new("a[b").is_match("a[b"));
        assert!(!Glob::new("a[b").is_match("ab"));
    }
}
