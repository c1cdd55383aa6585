//! `matches "glob"`, the one glob parser and matcher of dispatchio: the
//! checker parses every pattern into a [`Glob`] once, the analyser reasons
//! on its tokens, the code generator embeds them as static arrays, and the
//! builder's tables, the interpreter and generated code all match through
//! [`match_tokens`].
//!
//! Syntax: the whole
//! string must match; `*` any run of characters, `?` exactly one, `[abc]`,
//! `[a-z]` one character of a class, `[!a]` (or `[^a]`) one character
//! outside it, `\x` the character `x` itself (a trailing `\` is a literal
//! `\`). A `]` first in a class is a member; a `[` with no closing `]` is a
//! literal `[`; a reversed range (`[z-a]`) is empty.

use std::fmt;

/// One element of a glob.
///
/// `R` holds a class's ranges: `&'static [(char, char)]` (the default) for
/// the static token arrays generated code embeds, `Box<[(char, char)]>` for
/// globs parsed at run time ([`Glob`]).
///
/// ```
/// use dispatchio_model::{Glob, GlobTok};
/// let glob = Glob::new("a?[!0-9]*");
/// assert_eq!(
///     glob.tokens(),
///     [GlobTok::Char('a'), GlobTok::Any, GlobTok::Class { negated: true, ranges: Box::from([('0', '9')]) }, GlobTok::Star]
/// );
/// // What generated code embeds: the same tokens as a static array.
/// const TOKS: &[GlobTok] = &[GlobTok::Char('a'), GlobTok::Star];
/// assert!(dispatchio_model::match_tokens(TOKS, "ace"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GlobTok<R = &'static [(char, char)]> {
    /// This character.
    Char(char),
    /// `?`: any one character.
    Any,
    /// `[…]`: one character in (or, if `negated`, outside) the inclusive ranges.
    Class {
        /// `[!…]` or `[^…]`.
        negated: bool,
        /// Inclusive ranges.
        ranges: R,
    },
    /// `*`: any run of characters, empty included.
    Star,
}

impl<R: AsRef<[(char, char)]>> GlobTok<R> {
    /// Whether this single-character token accepts `c` (`Star` accepts everything).
    ///
    /// ```
    /// use dispatchio_model::GlobTok;
    /// let digit: GlobTok = GlobTok::Class { negated: false, ranges: &[('0', '9')] };
    /// assert!(digit.accepts('7') && !digit.accepts('x'));
    /// assert!(GlobTok::<&[(char, char)]>::Any.accepts('x'));
    /// ```
    #[inline]
    pub fn accepts(&self, c: char) -> bool {
        match self {
            GlobTok::Char(x) => *x == c,
            GlobTok::Any | GlobTok::Star => true,
            GlobTok::Class { negated, ranges } => {
                ranges.as_ref().iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
            }
        }
    }

    fn is_star(&self) -> bool {
        matches!(self, GlobTok::Star)
    }
}

/// Whether the glob `toks` matches the whole of `s`. Allocates nothing.
///
/// Greedy with one backtrack point (the last `*`), which is exact for globs
/// (a later star can absorb anything an earlier one would have): linear in
/// practice, quadratic at worst, never exponential.
///
/// ```
/// use dispatchio_model::{GlobTok, match_tokens};
/// // `enemy-*`, as generated code embeds it.
/// const ENEMY: &[GlobTok] = &[
///     GlobTok::Char('e'), GlobTok::Char('n'), GlobTok::Char('e'), GlobTok::Char('m'),
///     GlobTok::Char('y'), GlobTok::Char('-'), GlobTok::Star,
/// ];
/// assert!(match_tokens(ENEMY, "enemy-3"));
/// assert!(!match_tokens(ENEMY, "friend-3"));
/// assert!(match_tokens(dispatchio_model::Glob::new("*a*b").tokens(), "xaxxb")); // the whole string
/// ```
pub fn match_tokens<R: AsRef<[(char, char)]>>(toks: &[GlobTok<R>], s: &str) -> bool {
    let (mut ti, mut si) = (0usize, 0usize);
    // (token index after the star, text offset the star's run ends at)
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(tok) = toks.get(ti) {
            if tok.is_star() {
                star = Some((ti + 1, si));
                ti += 1;
                continue;
            }
            if let Some(c) = s[si..].chars().next() {
                if tok.accepts(c) {
                    ti += 1;
                    si += c.len_utf8();
                    continue;
                }
            }
        } else if si == s.len() {
            return true;
        }
        // Mismatch: let the last star absorb one more character and retry.
        let Some((after, from)) = star else { return false };
        let Some(c) = s[from..].chars().next() else { return false };
        let next = from + c.len_utf8();
        star = Some((after, next));
        ti = after;
        si = next;
    }
}

/// A token of a glob parsed at run time: a class owns its ranges.
pub type OwnedGlobTok = GlobTok<Box<[(char, char)]>>;

/// A glob parsed at run time. Every string is a valid pattern (see the
/// module doc for the corner cases).
///
/// ```
/// use dispatchio_model::Glob;
/// let enemy = Glob::new("enemy-[0-9]*");
/// assert!(enemy.is_match("enemy-42"));
/// assert!(!enemy.is_match("enemy-x")); // the whole string must match
/// assert!(Glob::new("[unclosed").is_match("[unclosed")); // a lone `[` is literal
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Glob {
    pattern: String,
    toks: Vec<OwnedGlobTok>,
}

impl Glob {
    /// Parses `pattern`.
    ///
    /// ```
    /// use dispatchio_model::Glob;
    /// assert!(Glob::new("p?-*").is_match("p1-anything"));
    /// assert!(Glob::new(r"\*").is_match("*")); // `\x` is `x` itself
    /// assert!(!Glob::new("[z-a]").is_match("m")); // a reversed range is empty
    /// ```
    pub fn new(pattern: &str) -> Glob {
        let chars: Vec<char> = pattern.chars().collect();
        let mut toks = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' => {
                    // Consecutive stars mean the same as one.
                    if !toks.last().is_some_and(GlobTok::is_star) {
                        toks.push(GlobTok::Star);
                    }
                    i += 1;
                }
                '?' => {
                    toks.push(GlobTok::Any);
                    i += 1;
                }
                '\\' if i + 1 < chars.len() => {
                    toks.push(GlobTok::Char(chars[i + 1]));
                    i += 2;
                }
                '[' => match parse_class(&chars, i + 1) {
                    Some((tok, next)) => {
                        toks.push(tok);
                        i = next;
                    }
                    None => {
                        toks.push(GlobTok::Char('['));
                        i += 1;
                    }
                },
                c => {
                    toks.push(GlobTok::Char(c));
                    i += 1;
                }
            }
        }
        Glob { pattern: pattern.to_owned(), toks }
    }

    /// The glob of `toks`; its pattern ([`as_str`](Self::as_str)) is
    /// written back from them, metacharacters escaped, so that parsing it
    /// again gives the same tokens (for tokens with no two stars in a row,
    /// and classes whose members read back as written).
    ///
    /// ```
    /// use dispatchio_model::{Glob, GlobTok};
    /// let glob = Glob::from_tokens(vec![GlobTok::Char('*'), GlobTok::Star]);
    /// assert_eq!(glob.as_str(), r"\**"); // a literal `*`, then any run
    /// assert_eq!(Glob::new(glob.as_str()), glob); // read back the same
    /// assert!(glob.is_match("*star") && !glob.is_match("star"));
    /// ```
    pub fn from_tokens(toks: Vec<OwnedGlobTok>) -> Glob {
        let mut pattern = String::new();
        let literal = |c: char, pattern: &mut String| {
            if matches!(c, '*' | '?' | '[' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        };
        for t in &toks {
            match t {
                GlobTok::Char(c) => literal(*c, &mut pattern),
                GlobTok::Any => pattern.push('?'),
                GlobTok::Star => pattern.push('*'),
                GlobTok::Class { negated, ranges } => {
                    pattern.push('[');
                    if *negated {
                        pattern.push('!');
                    }
                    // A class that would be read back otherwise is written
                    // as a set of its ranges; only the tokens matter for
                    // matching, the text is for display.
                    for &(lo, hi) in ranges.iter() {
                        pattern.push(lo);
                        if hi != lo {
                            pattern.push('-');
                            pattern.push(hi);
                        }
                    }
                    pattern.push(']');
                }
            }
        }
        Glob { pattern, toks }
    }

    /// The glob matching exactly `s` (every character literal).
    ///
    /// ```
    /// use dispatchio_model::Glob;
    /// let exact = Glob::literal("a*b?");
    /// assert!(exact.is_match("a*b?") && !exact.is_match("axxb!"));
    /// assert_eq!(exact.as_str(), r"a\*b\?");
    /// ```
    pub fn literal(s: &str) -> Glob {
        Glob::from_tokens(s.chars().map(GlobTok::Char).collect())
    }

    /// The pattern as written.
    ///
    /// ```
    /// assert_eq!(dispatchio_model::Glob::new("enemy-*").as_str(), "enemy-*");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// The parsed tokens (what a code generator embeds as a static array).
    ///
    /// ```
    /// use dispatchio_model::{Glob, GlobTok};
    /// assert_eq!(Glob::new("a**").tokens(), [GlobTok::Char('a'), GlobTok::Star]); // two stars are one
    /// ```
    pub fn tokens(&self) -> &[OwnedGlobTok] {
        &self.toks
    }

    /// Whether the whole of `s` matches. Allocates nothing.
    ///
    /// ```
    /// use dispatchio_model::Glob;
    /// let glob = Glob::new("*.route");
    /// assert!(glob.is_match("hand.route"));
    /// assert!(!glob.is_match("hand.route.bak"));
    /// ```
    pub fn is_match(&self, s: &str) -> bool {
        match_tokens(&self.toks, s)
    }
}

/// Parses a class body starting at `i`, just after its `[`; returns the
/// token and the index after the closing `]`, or `None` when it is not closed.
fn parse_class(chars: &[char], mut i: usize) -> Option<(OwnedGlobTok, usize)> {
    let negated = matches!(chars.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *chars.get(i)?;
        // A `]` first in the class is a member, as in shell globs.
        if c == ']' && !first {
            return Some((GlobTok::Class { negated, ranges: ranges.into() }, i + 1));
        }
        first = false;
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|&h| h != ']') {
            let hi = chars[i + 2];
            // A reversed range is empty; leaving it out says so.
            if c <= hi {
                ranges.push((c, hi));
            }
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
}

impl From<&str> for Glob {
    fn from(pattern: &str) -> Glob {
        Glob::new(pattern)
    }
}

impl From<String> for Glob {
    fn from(pattern: String) -> Glob {
        Glob::new(&pattern)
    }
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Glob({:?})", self.pattern)
    }
}

#[cfg(test)]
mod tests {
    use super::{Glob, GlobTok, match_tokens};

    fn g(p: &str, s: &str) -> bool {
        Glob::new(p).is_match(s)
    }

    #[test]
    fn star_question_and_classes() {
        assert!(g("enemy-*", "enemy-") && g("enemy-*", "enemy-12"));
        assert!(!g("enemy-*", "friend-1"));
        assert!(g("p?", "p1") && !g("p?", "p12"));
        assert!(g("[a-c]x", "bx") && !g("[!a-c]x", "bx") && !g("[^a-c]x", "bx"));
        assert!(g("[!a]", "b") && !g("[!a]", "a") && !g("[!a]", ""));
        assert!(g("[]]", "]") && g("[!]]", "x") && !g("[!]]", "]"));
        assert!(g("*a*b*", "xxaxxbxx") && !g("*a*b", "xxaxxbxx"));
        assert!(g("", "") && g("**", "") && !g("", "a"));
        assert!(!g("[z-a]", "m"), "a reversed range is empty");
        assert!(g("[é-ü]?", "ñé"), "classes and ? work on characters, not bytes");
    }

    #[test]
    fn backslash_escapes_the_next_character() {
        assert!(g(r"\*", "*") && !g(r"\*", "x"));
        assert!(g(r"a\?", "a?") && !g(r"a\?", "ab"));
        assert!(g(r"\[a]", "[a]") && !g(r"\[a]", "a"));
        assert!(g(r"\\", "\\"));
        assert!(g(r"a\", "a\\"), "a trailing backslash is literal");
    }

    #[test]
    fn a_glob_built_from_tokens_reads_back_from_its_pattern() {
        for p in ["a*b?", r"\*x\?", "[a-c]z", "[!x]", r"a\\b", "lit[eral"] {
            let g = Glob::new(p);
            let back = Glob::from_tokens(g.tokens().to_vec());
            let again = Glob::new(back.as_str());
            assert_eq!(again.tokens(), g.tokens(), "pattern {p:?} written as {:?}", back.as_str());
        }
        let lit = Glob::literal("a*[b");
        assert!(lit.is_match("a*[b") && !lit.is_match("axxb"));
    }

    #[test]
    fn an_unclosed_bracket_is_literal() {
        assert!(g("a[b", "a[b") && !g("a[b", "ab"));
    }

    #[test]
    fn static_tokens_match_like_parsed_ones() {
        use GlobTok::*;
        let class: [GlobTok; 2] = [Class { negated: false, ranges: &[('a', 'c')] }, Any];
        assert!(match_tokens(&class, "bé") && !match_tokens(&class, "dx"));
        let ab: [GlobTok; 4] = [Star, Char('a'), Star, Char('b')];
        assert!(match_tokens(&ab, "xxaxxb") && !match_tokens(&ab, "ba"));
        let empty: [GlobTok; 0] = [];
        assert!(match_tokens(&empty, "") && !match_tokens(&empty, "a"));
    }
}
