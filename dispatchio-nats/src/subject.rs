//! Subjects: where a destination or a group lives on NATS.
//!
//! (Over 600 lines: the scheme, its inverse and the errors of each are one
//! contract, kept in one file (JetStream mode's names are in `held.rs`);
//! about 400 of its lines are docs, with an example on every item.)
//!
//! Every subject of a dispatcher lies under its [`Namespace`] (`game` below):
//!
//! | what                          | ID              | subject                 |
//! |-------------------------------|-----------------|-------------------------|
//! | a destination, integer ID     | `7`, `-3`       | `game.d.i.7`, `game.d.i.-3` |
//! | a destination, string ID      | `"bob"`         | `game.d.s.bob`          |
//! | a group, integer or string ID | `1`, `"All"`    | `game.g.i.1`, `game.g.s.All` |
//! | a destination's claim         | `"bob"`         | `game.c.s.bob`          |
//! | a dispatcher, by name         | `"dealer"`      | `game.p.s.dealer`       |
//! | the roster of groups          |                 | `game.r` ([`Namespace::roster`]) |
//! | JetStream mode: a destination held by `dealer` | `"bob"` | `game.n.dealer.d.s.bob` ([`Namespace::held`]) |
//! | JetStream mode: a group's members in `dealer` | `"All"` | `game.n.dealer.g.s.All` ([`Namespace::held_group`]) |
//!
//! `i` and `s` keep `7` and `"7"` apart, as [`Id`] does. An integer is
//! written in decimal. A string keeps its ASCII letters, digits and `-`;
//! every other byte of its UTF-8 (`.`, `*`, `>`, whitespace, control
//! characters, non-ASCII, and `_` itself) is written `_XX`, two upper-case
//! hex digits, and the empty string is `_` alone. So an ID always takes
//! exactly one token of `[A-Za-z0-9_-]`: never a wildcard, never a token
//! separator, plain ASCII (NATS takes UTF-8 subjects but not every tool
//! around it does), and short enough to name a JetStream consumer.
//!
//! The mapping goes both ways: [`Namespace::parse`] gives back the kind and
//! the ID, and refuses with a [`ParseSubjectError`] any subject this module
//! would not have written (another namespace, another shape, an integer
//! written `+7` or `007`, an escape of a plain character such as `_61` for
//! `a`). Each ID has one subject and each subject at most one ID, so a
//! subscription on a destination's subject is that destination's alone.

use std::fmt;

use dispatchio_core::Id;

/// The longest subject [`Namespace::destination`] and [`Namespace::group`]
/// write, in bytes.
///
/// The server refuses a protocol line over its `max_control_line` (4,096
/// bytes by default), and the line that publishes a request holds the
/// subject, the reply subject and two sizes: half of it for the subject
/// leaves room for the rest.
pub const MAX_SUBJECT_LEN: usize = 2048;

/// The longest [`Namespace`], in bytes: well under [`MAX_SUBJECT_LEN`], so
/// that every namespace leaves room for IDs.
pub const MAX_NAMESPACE_LEN: usize = 256;

/// How much of a long name, ID or subject an error message shows.
const SHOWN_CHARS: usize = 64;

/// What an ID names on NATS.
///
/// ```
/// use dispatchio_core::Id;
/// use dispatchio_nats::{Namespace, SubjectKind};
/// let game = Namespace::new("game")?;
/// let bob = Id::from("bob");
/// assert_eq!(game.subject(SubjectKind::Destination, &bob)?, "game.d.s.bob");
/// assert_eq!(game.subject(SubjectKind::Claim, &bob)?, "game.c.s.bob");
/// assert_eq!(game.subject(SubjectKind::Dispatcher, &Id::from("dealer"))?, "game.p.s.dealer");
/// assert_eq!(SubjectKind::Claim.to_string(), "claim"); // as errors name it
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubjectKind {
    /// A destination: one listener, served by one dispatcher.
    Destination,
    /// A group: its subscribers, in any number of dispatchers.
    Group,
    /// A destination's claim: the dispatcher that serves a destination
    /// answers there, so that a second one learns who holds it.
    Claim,
    /// A dispatcher itself, by its name: it answers there while it is up,
    /// so that others can tell it is gone.
    Dispatcher,
}

impl SubjectKind {
    fn token(self) -> &'static str {
        match self {
            SubjectKind::Destination => "d",
            SubjectKind::Group => "g",
            SubjectKind::Claim => "c",
            SubjectKind::Dispatcher => "p",
        }
    }
}

impl fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SubjectKind::Destination => "destination",
            SubjectKind::Group => "group",
            SubjectKind::Claim => "claim",
            SubjectKind::Dispatcher => "dispatcher",
        })
    }
}

/// The part of the subject space one set of dispatchers shares: dispatchers
/// reach each other's destinations and groups only within one namespace.
///
/// A namespace is one or more tokens separated by `.` (`game`,
/// `acme.game-2`), each of ASCII letters, digits, `_` and `-`, at most
/// [`MAX_NAMESPACE_LEN`] bytes in all. Its first token may not be `_INBOX`,
/// where NATS clients receive their replies.
///
/// ```
/// use dispatchio_core::Id;
/// use dispatchio_nats::{Namespace, SubjectKind};
/// let game: Namespace = "acme.game-2".parse()?;
/// let subject = game.destination(&Id::from("bob"))?;
/// assert_eq!(subject, "acme.game-2.d.s.bob");
/// assert_eq!(game.parse(&subject)?, (SubjectKind::Destination, Id::from("bob")));
/// // Another namespace's subjects are not this one's.
/// assert!(Namespace::new("acme")?.parse(&subject).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Namespace {
    name: String,
}

impl Namespace {
    /// Checks `name` and makes it a namespace.
    ///
    /// # Errors
    ///
    /// A [`NamespaceError`] saying what is wrong with `name` and where: empty,
    /// too long, an empty token, a character a namespace cannot hold, or the
    /// reserved `_INBOX`.
    ///
    /// ```
    /// use dispatchio_nats::{Namespace, NamespaceErrorKind};
    /// assert_eq!(Namespace::new("acme.game")?.as_str(), "acme.game");
    /// let err = Namespace::new("game.*").unwrap_err();
    /// assert_eq!(*err.kind(), NamespaceErrorKind::Char { ch: '*', at: 5 });
    /// assert_eq!(*Namespace::new("_INBOX.game").unwrap_err().kind(), NamespaceErrorKind::Inbox);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(name: impl Into<String>) -> Result<Namespace, NamespaceError> {
        let name = name.into();
        match check_namespace(&name) {
            Ok(()) => Ok(Namespace { name }),
            Err(kind) => Err(NamespaceError { name, kind }),
        }
    }

    /// The namespace as written.
    ///
    /// ```
    /// let game = dispatchio_nats::Namespace::new("acme.game")?;
    /// assert_eq!(game.as_str(), "acme.game");
    /// assert_eq!(game.to_string(), "acme.game");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The subject of destination `id`.
    ///
    /// ```
    /// use dispatchio_core::Id;
    /// use dispatchio_nats::{Namespace, SubjectKind};
    /// let game = Namespace::new("game")?;
    /// assert_eq!(game.destination(&Id::from(-3))?, "game.d.i.-3");
    /// assert_eq!(game.destination(&Id::from("7"))?, "game.d.s.7"); // never the integer 7's
    /// // Dots, wildcards, spaces, `_` and non-ASCII are escaped as `_XX`, and parse back.
    /// let odd = Id::from("p_1.*é");
    /// let subject = game.destination(&odd)?;
    /// assert_eq!(subject, "game.d.s.p_5F1_2E_2A_C3_A9");
    /// assert_eq!(game.parse(&subject)?, (SubjectKind::Destination, odd));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`SubjectError`] when the subject would be longer than
    /// [`MAX_SUBJECT_LEN`].
    pub fn destination(&self, id: &Id) -> Result<String, SubjectError> {
        self.subject(SubjectKind::Destination, id)
    }

    /// The subject of group `id`.
    ///
    /// ```
    /// use dispatchio_core::Id;
    /// use dispatchio_nats::{Namespace, SubjectKind};
    /// let game = Namespace::new("game")?;
    /// assert_eq!(game.group(&Id::from(1))?, "game.g.i.1");
    /// assert_eq!(game.group(&Id::from("All players"))?, "game.g.s.All_20players");
    /// assert_eq!(game.parse("game.g.s.All_20players")?, (SubjectKind::Group, Id::from("All players")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`SubjectError`] when the subject would be longer than
    /// [`MAX_SUBJECT_LEN`].
    pub fn group(&self, id: &Id) -> Result<String, SubjectError> {
        self.subject(SubjectKind::Group, id)
    }

    /// The subject of `id` as a `kind`.
    ///
    /// ```
    /// use dispatchio_core::Id;
    /// use dispatchio_nats::{MAX_SUBJECT_LEN, Namespace, SubjectKind};
    /// let game = Namespace::new("game")?;
    /// assert_eq!(game.subject(SubjectKind::Claim, &Id::from(7))?, "game.c.i.7");
    /// // An empty string ID is `_` alone: one token still.
    /// assert_eq!(game.subject(SubjectKind::Destination, &Id::from(""))?, "game.d.s._");
    /// let huge = Id::from("x".repeat(MAX_SUBJECT_LEN));
    /// assert!(game.subject(SubjectKind::Group, &huge).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`SubjectError`] when the subject would be longer than
    /// [`MAX_SUBJECT_LEN`].
    pub fn subject(&self, kind: SubjectKind, id: &Id) -> Result<String, SubjectError> {
        let token_len = match id {
            Id::Int(n) => decimal_len(*n),
            Id::Str(s) => escaped_len(s),
        };
        // `<ns>.d.s.<token>`
        let len = self.name.len() + ".d.s.".len() + token_len;
        if len > MAX_SUBJECT_LEN {
            return Err(SubjectError { kind, id: id.clone(), len });
        }
        let mut subject = String::with_capacity(len);
        subject.push_str(&self.name);
        subject.push('.');
        subject.push_str(kind.token());
        match id {
            Id::Int(n) => {
                subject.push_str(".i.");
                subject.push_str(&n.to_string());
            }
            Id::Str(s) => {
                subject.push_str(".s.");
                push_escaped(&mut subject, s);
            }
        }
        debug_assert_eq!(subject.len(), len);
        Ok(subject)
    }

    /// The roster subject, `<ns>.r`: where the dispatchers of the namespace
    /// say which groups they have members of.
    ///
    /// ```
    /// let game = dispatchio_nats::Namespace::new("acme.game")?;
    /// assert_eq!(game.roster(), "acme.game.r");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn roster(&self) -> String {
        format!("{}.r", self.name)
    }

    /// Every subject of this namespace, as a wildcard: `<ns>.>`.
    ///
    /// ```
    /// let game = dispatchio_nats::Namespace::new("acme.game")?;
    /// assert_eq!(game.all(), "acme.game.>");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn all(&self) -> String {
        format!("{}.>", self.name)
    }

    /// Every subject of one kind in this namespace, as a wildcard:
    /// `<ns>.d.>` for destinations, `<ns>.g.>` for groups.
    ///
    /// ```
    /// use dispatchio_nats::{Namespace, SubjectKind};
    /// let game = Namespace::new("game")?;
    /// assert_eq!(game.all_of(SubjectKind::Destination), "game.d.>");
    /// assert_eq!(game.all_of(SubjectKind::Group), "game.g.>");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn all_of(&self, kind: SubjectKind) -> String {
        format!("{}.{}.>", self.name, kind.token())
    }

    /// The kind and the ID whose subject is `subject`: the inverse of
    /// [`subject`](Namespace::subject).
    ///
    /// # Errors
    ///
    /// A [`ParseSubjectError`] when `subject` is not one this namespace's
    /// [`subject`](Namespace::subject) writes for any ID; its
    /// [`kind`](ParseSubjectError::kind) tells why.
    ///
    /// ```
    /// use dispatchio_core::Id;
    /// use dispatchio_nats::{Namespace, ParseSubjectErrorKind, SubjectKind};
    /// let game = Namespace::new("game")?;
    /// assert_eq!(game.parse("game.d.i.-3")?, (SubjectKind::Destination, Id::from(-3)));
    /// assert_eq!(game.parse("game.c.s.bob_2Esmith")?, (SubjectKind::Claim, Id::from("bob.smith")));
    /// // Only what `subject` would write: 7 is written `7`, `a` is written `a`.
    /// let int = game.parse("game.d.i.007").unwrap_err();
    /// assert_eq!(*int.kind(), ParseSubjectErrorKind::Int { token: "007".into() });
    /// let escaped = game.parse("game.d.s._61").unwrap_err();
    /// assert_eq!(*escaped.kind(), ParseSubjectErrorKind::NotCanonical { canonical: "a".into() });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse(&self, subject: &str) -> Result<(SubjectKind, Id), ParseSubjectError> {
        self.parse_kind(subject).map_err(|kind| ParseSubjectError {
            subject: subject.to_owned(),
            namespace: self.name.clone(),
            kind,
        })
    }

    fn parse_kind(&self, subject: &str) -> Result<(SubjectKind, Id), ParseSubjectErrorKind> {
        let rest = subject
            .strip_prefix(self.name.as_str())
            .and_then(|rest| rest.strip_prefix('.'))
            .ok_or(ParseSubjectErrorKind::OtherNamespace)?;
        let mut tokens = rest.split('.');
        let (Some(kind), Some(form), Some(token), None) =
            (tokens.next(), tokens.next(), tokens.next(), tokens.next())
        else {
            return Err(ParseSubjectErrorKind::Shape);
        };
        let kind = match kind {
            "d" => SubjectKind::Destination,
            "g" => SubjectKind::Group,
            "c" => SubjectKind::Claim,
            "p" => SubjectKind::Dispatcher,
            _ => return Err(ParseSubjectErrorKind::Shape),
        };
        let id = match form {
            "i" => Id::Int(parse_int(token)?),
            "s" => Id::from(unescape(token)?),
            _ => return Err(ParseSubjectErrorKind::Shape),
        };
        Ok((kind, id))
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Namespace").field(&self.name).finish()
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl std::str::FromStr for Namespace {
    type Err = NamespaceError;
    fn from_str(name: &str) -> Result<Namespace, NamespaceError> {
        Namespace::new(name)
    }
}

fn check_namespace(name: &str) -> Result<(), NamespaceErrorKind> {
    if name.is_empty() {
        return Err(NamespaceErrorKind::Empty);
    }
    if name.len() > MAX_NAMESPACE_LEN {
        return Err(NamespaceErrorKind::TooLong { len: name.len() });
    }
    let mut token_start = 0;
    for (at, ch) in name.char_indices() {
        if ch == '.' {
            if at == token_start {
                return Err(NamespaceErrorKind::EmptyToken { at });
            }
            token_start = at + 1;
        } else if !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '-') {
            return Err(NamespaceErrorKind::Char { ch, at });
        }
    }
    if token_start == name.len() {
        return Err(NamespaceErrorKind::EmptyToken { at: name.len() });
    }
    if name.split('.').next() == Some("_INBOX") {
        return Err(NamespaceErrorKind::Inbox);
    }
    Ok(())
}

/// Whether a byte of a string ID stands for itself in its subject token.
fn is_plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn escaped_len(s: &str) -> usize {
    if s.is_empty() {
        return 1;
    }
    s.bytes().map(|b| if is_plain(b) { 1 } else { 3 }).sum()
}

fn push_escaped(out: &mut String, s: &str) {
    if s.is_empty() {
        out.push('_');
        return;
    }
    for b in s.bytes() {
        if is_plain(b) {
            out.push(char::from(b));
        } else {
            out.push('_');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

fn decimal_len(n: i64) -> usize {
    let sign = usize::from(n < 0);
    let digits = n.unsigned_abs().checked_ilog10().map_or(1, |log| log as usize + 1);
    sign + digits
}

fn parse_int(token: &str) -> Result<i64, ParseSubjectErrorKind> {
    match token.parse::<i64>() {
        // `+7`, `007` and `-0` parse too, but are not how 7 and 0 are written.
        Ok(n) if n.to_string() == token => Ok(n),
        _ => Err(ParseSubjectErrorKind::Int { token: token.to_owned() }),
    }
}

fn unescape(token: &str) -> Result<String, ParseSubjectErrorKind> {
    if token == "_" {
        return Ok(String::new());
    }
    let bytes = token.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let b = bytes[at];
        if b == b'_' {
            let hex = |i: usize| bytes.get(i).and_then(|&d| char::from(d).to_digit(16));
            let (Some(hi), Some(lo)) = (hex(at + 1), hex(at + 2)) else {
                return Err(ParseSubjectErrorKind::Escape { at });
            };
            // Two hex digits make a value below 256.
            out.push(u8::try_from(hi * 16 + lo).unwrap_or(u8::MAX));
            at += 3;
        } else if is_plain(b) {
            out.push(b);
            at += 1;
        } else {
            // `at` is a character boundary: every byte before it was ASCII.
            let ch = token[at..].chars().next().unwrap_or(char::REPLACEMENT_CHARACTER);
            return Err(ParseSubjectErrorKind::Unescaped { ch, at });
        }
    }
    let s = String::from_utf8(out).map_err(|_| ParseSubjectErrorKind::Utf8)?;
    let mut canonical = String::with_capacity(token.len());
    push_escaped(&mut canonical, &s);
    if canonical != token {
        return Err(ParseSubjectErrorKind::NotCanonical { canonical });
    }
    Ok(s)
}

/// Shows a name in an error message: quoted, and cut after
/// [`SHOWN_CHARS`] characters, so that a megabyte ID makes a readable error.
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(SHOWN_CHARS) {
            None => write!(f, "{:?}", self.0),
            Some((cut, _)) => write!(f, "{:?}… ({} bytes)", &self.0[..cut], self.0.len()),
        }
    }
}

struct ShownId<'a>(&'a Id);

impl fmt::Display for ShownId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Id::Int(n) => write!(f, "{n}"),
            Id::Str(s) => Shown(s).fmt(f),
        }
    }
}

/// A namespace that [`Namespace::new`] refused.
///
/// ```
/// use dispatchio_nats::{Namespace, NamespaceErrorKind};
/// let err = Namespace::new("game..2").unwrap_err();
/// assert_eq!(*err.kind(), NamespaceErrorKind::EmptyToken { at: 5 });
/// assert_eq!(
///     err.to_string(),
///     "invalid NATS namespace \"game..2\": empty token at byte 5 (a namespace is dot-separated \
///      tokens of ASCII letters, digits, '_' and '-')"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid NATS namespace {}: {kind} (a namespace is dot-separated tokens of \
     ASCII letters, digits, '_' and '-')",
    Shown(name)
)]
pub struct NamespaceError {
    name: String,
    kind: NamespaceErrorKind,
}

impl NamespaceError {
    /// The name that was refused.
    ///
    /// ```
    /// let err = dispatchio_nats::Namespace::new("game room").unwrap_err();
    /// assert_eq!(err.name(), "game room");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What is wrong with it.
    ///
    /// ```
    /// use dispatchio_nats::{Namespace, NamespaceErrorKind};
    /// let err = Namespace::new("game room").unwrap_err();
    /// assert_eq!(*err.kind(), NamespaceErrorKind::Char { ch: ' ', at: 4 });
    /// ```
    pub fn kind(&self) -> &NamespaceErrorKind {
        &self.kind
    }
}

/// What is wrong with a [`NamespaceError`]'s name.
///
/// ```
/// use dispatchio_nats::{MAX_NAMESPACE_LEN, Namespace, NamespaceErrorKind as K};
/// let kind = |name: &str| Namespace::new(name).unwrap_err().kind().clone();
/// assert_eq!(kind(""), K::Empty);
/// assert_eq!(kind(".game"), K::EmptyToken { at: 0 });
/// assert_eq!(kind("game>"), K::Char { ch: '>', at: 4 });
/// assert_eq!(kind(&"g".repeat(MAX_NAMESPACE_LEN + 1)), K::TooLong { len: MAX_NAMESPACE_LEN + 1 });
/// assert_eq!(kind("_INBOX"), K::Inbox);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NamespaceErrorKind {
    /// The name is empty.
    #[error("it is empty")]
    Empty,
    /// The name is longer than [`MAX_NAMESPACE_LEN`].
    #[error("it is {len} bytes long, over the {MAX_NAMESPACE_LEN} a namespace may take")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// Two dots in a row, or a dot at the start or the end.
    #[error("empty token at byte {at}")]
    EmptyToken {
        /// Where the empty token is, in bytes.
        at: usize,
    },
    /// A character a namespace cannot hold.
    #[error("character {ch:?} at byte {at}")]
    Char {
        /// The character.
        ch: char,
        /// Where it is, in bytes.
        at: usize,
    },
    /// The first token is `_INBOX`, where NATS clients receive replies.
    #[error("'_INBOX' is where NATS clients receive their replies")]
    Inbox,
}

/// An ID whose subject NATS could not carry.
///
/// ```
/// use dispatchio_core::Id;
/// use dispatchio_nats::{MAX_SUBJECT_LEN, Namespace, SubjectKind};
/// let game = Namespace::new("game")?;
/// let huge = Id::from("x".repeat(MAX_SUBJECT_LEN));
/// let err = game.destination(&huge).unwrap_err();
/// assert_eq!((err.kind(), err.id()), (SubjectKind::Destination, &huge));
/// assert!(err.to_string().starts_with(r#"the subject of destination "xxxx"#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the subject of {kind} {} would be {len} bytes long, over the {MAX_SUBJECT_LEN} a \
     dispatchio subject may take",
    ShownId(id)
)]
pub struct SubjectError {
    kind: SubjectKind,
    id: Id,
    len: usize,
}

impl SubjectError {
    /// What the ID names.
    ///
    /// ```
    /// use dispatchio_core::Id;
    /// use dispatchio_nats::{MAX_SUBJECT_LEN, Namespace, SubjectKind};
    /// let game = Namespace::new("game")?;
    /// let huge = Id::from("x".repeat(MAX_SUBJECT_LEN));
    /// let err = game.group(&huge).unwrap_err();
    /// assert_eq!(err.kind(), SubjectKind::Group);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kind(&self) -> SubjectKind {
        self.kind
    }

    /// The ID.
    ///
    /// ```
    /// use dispatchio_core::Id;
    /// use dispatchio_nats::{MAX_SUBJECT_LEN, Namespace, SubjectKind};
    /// let game = Namespace::new("game")?;
    /// let huge = Id::from("x".repeat(MAX_SUBJECT_LEN));
    /// let err = game.destination(&huge).unwrap_err();
    /// assert_eq!(err.id(), &huge);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id(&self) -> &Id {
        &self.id
    }

    /// How long its subject would have been, in bytes.
    ///
    /// ```
    /// use dispatchio_core::Id;
    /// use dispatchio_nats::{MAX_SUBJECT_LEN, Namespace, SubjectKind};
    /// let game = Namespace::new("game")?;
    /// let huge = Id::from("x".repeat(MAX_SUBJECT_LEN));
    /// let err = game.destination(&huge).unwrap_err();
    /// assert_eq!(err.subject_len(), "game.d.s.".len() + MAX_SUBJECT_LEN);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subject_len(&self) -> usize {
        self.len
    }
}

/// A subject that is not one a [`Namespace`] writes for any ID.
///
/// ```
/// use dispatchio_nats::{Namespace, ParseSubjectErrorKind};
/// let err = Namespace::new("game")?.parse("game.d.s.bob.smith").unwrap_err();
/// assert_eq!((err.subject(), err.kind()), ("game.d.s.bob.smith", &ParseSubjectErrorKind::Shape));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "subject {} is not a destination or group of namespace {}: {kind}",
    Shown(subject),
    Shown(namespace)
)]
pub struct ParseSubjectError {
    subject: String,
    namespace: String,
    kind: ParseSubjectErrorKind,
}

impl ParseSubjectError {
    /// The subject that was refused.
    ///
    /// ```
    /// let err = dispatchio_nats::Namespace::new("game")?.parse("other.d.i.7").unwrap_err();
    /// assert_eq!(err.subject(), "other.d.i.7");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Why it was refused.
    ///
    /// ```
    /// use dispatchio_nats::{Namespace, ParseSubjectErrorKind};
    /// let err = Namespace::new("game")?.parse("other.d.i.7").unwrap_err();
    /// assert_eq!(*err.kind(), ParseSubjectErrorKind::OtherNamespace);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kind(&self) -> &ParseSubjectErrorKind {
        &self.kind
    }
}

/// Why a [`ParseSubjectError`]'s subject was refused.
///
/// ```
/// use dispatchio_nats::{Namespace, ParseSubjectErrorKind as K};
/// let game = Namespace::new("game")?;
/// let kind = |subject: &str| game.parse(subject).unwrap_err().kind().clone();
/// assert_eq!(kind("game.x.i.7"), K::Shape);
/// assert_eq!(kind("game.d.i.+7"), K::Int { token: "+7".into() });
/// assert_eq!(kind("game.d.s.a*"), K::Unescaped { ch: '*', at: 1 });
/// assert_eq!(kind("game.d.s._4"), K::Escape { at: 0 });
/// assert_eq!(kind("game.d.s._FF"), K::Utf8);
/// assert_eq!(kind("game.d.s._2e"), K::NotCanonical { canonical: "_2E".into() });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseSubjectErrorKind {
    /// The subject does not start with the namespace and a dot.
    #[error("it is not under that namespace")]
    OtherNamespace,
    /// Under the namespace, the subject is not three tokens: a
    /// [`SubjectKind`] (`d`, `g`, `c` or `p`), `i` or `s`, and the ID.
    #[error("expected `d` (destination) or `g` (group), `i` (integer) or `s` (string), and the ID")]
    Shape,
    /// An integer ID that is not an `i64` in decimal, written without `+`
    /// or leading zeros.
    #[error("{token:?} is not an integer in decimal, without '+' or leading zeros")]
    Int {
        /// The ID's token.
        token: String,
    },
    /// A character of a string ID that its token holds only escaped.
    #[error("character {ch:?} at byte {at} of the ID must be escaped")]
    Unescaped {
        /// The character.
        ch: char,
        /// Where it is in the ID's token, in bytes.
        at: usize,
    },
    /// A `_` that is not followed by two hex digits.
    #[error("the escape at byte {at} of the ID is not '_' and two hex digits")]
    Escape {
        /// Where it is in the ID's token, in bytes.
        at: usize,
    },
    /// The escapes of a string ID do not make UTF-8.
    #[error("the escaped bytes of the ID are not UTF-8")]
    Utf8,
    /// A string ID escaped otherwise than its one spelling (an escape of a
    /// plain character, lower-case hex digits).
    #[error("the ID is not spelt as it would be written, {canonical:?}")]
    NotCanonical {
        /// The ID's token as it would be written.
        canonical: String,
    },
}

mod held;
#[cfg(test)]
mod tests;
