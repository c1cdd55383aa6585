//! JetStream mode's names: the subjects of the namespace's stream, under
//! the name of the dispatcher that reads them (`<ns>.n.<dispatcher>.…`),
//! their inverse, and the stream's and consumers' names.

use super::{
    MAX_SUBJECT_LEN, Namespace, ParseSubjectError, ParseSubjectErrorKind, SubjectError,
    SubjectKind, push_escaped, unescape,
};
use dispatchio_core::Id;

impl Namespace {
    /// In JetStream mode, the subject of a message to destination `id`
    /// held by the dispatcher named `holder`: `<ns>.n.<holder>.d.…`, the
    /// holder's name escaped as a string ID is. Each dispatcher reads the
    /// messages under its own name ([`held_by`](Namespace::held_by)).
    ///
    /// ```
    /// use dispatchio_core::Id;
    /// let game = dispatchio_nats::Namespace::new("game")?;
    /// assert_eq!(game.held("dealer 1", &Id::from("bob"))?, "game.n.dealer_201.d.s.bob");
    /// assert_eq!(game.held_by("dealer 1"), "game.n.dealer_201.>");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`SubjectError`] when the subject would be longer than
    /// [`MAX_SUBJECT_LEN`].
    pub fn held(&self, holder: &str, id: &Id) -> Result<String, SubjectError> {
        self.under(holder, SubjectKind::Destination, id)
    }

    /// In JetStream mode, the subject of a message to group `group` for
    /// its members in the dispatcher named `dispatcher`:
    /// `<ns>.n.<dispatcher>.g.…` (a group message goes into the stream once
    /// for each dispatcher with members).
    ///
    /// ```
    /// use dispatchio_core::Id;
    /// use dispatchio_nats::{Namespace, SubjectKind};
    /// let game = Namespace::new("game")?;
    /// let subject = game.held_group("p1", &Id::from("All"))?;
    /// assert_eq!(subject, "game.n.p1.g.s.All");
    /// assert_eq!(game.parse_held(&subject)?, ("p1".to_owned(), SubjectKind::Group, Id::from("All")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`SubjectError`] when the subject would be longer than
    /// [`MAX_SUBJECT_LEN`].
    pub fn held_group(&self, dispatcher: &str, group: &Id) -> Result<String, SubjectError> {
        self.under(dispatcher, SubjectKind::Group, group)
    }

    /// `<ns>.n.<dispatcher>.<kind>.…`.
    fn under(&self, dispatcher: &str, kind: SubjectKind, id: &Id) -> Result<String, SubjectError> {
        let plain = self.subject(kind, id)?;
        let mut subject = format!("{}.n.", self.name);
        push_escaped(&mut subject, dispatcher);
        subject.push_str(&plain[self.name.len()..]);
        if subject.len() > MAX_SUBJECT_LEN {
            let len = subject.len();
            return Err(SubjectError { kind, id: id.clone(), len });
        }
        Ok(subject)
    }

    /// The dispatcher, the kind and the ID whose [`held`](Namespace::held)
    /// or [`held_group`](Namespace::held_group) subject is `subject`: their
    /// inverse.
    ///
    /// ```
    /// use dispatchio_core::Id;
    /// use dispatchio_nats::{Namespace, SubjectKind};
    /// let game = Namespace::new("game")?;
    /// let subject = game.held_group("dealer 1", &Id::from("All"))?;
    /// assert_eq!(
    ///     game.parse_held(&subject)?,
    ///     ("dealer 1".to_owned(), SubjectKind::Group, Id::from("All"))
    /// );
    /// assert!(game.parse_held("game.d.s.bob").is_err()); // a plain destination subject
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`ParseSubjectError`] when `subject` is not one of those this
    /// namespace writes.
    pub fn parse_held(
        &self,
        subject: &str,
    ) -> Result<(String, SubjectKind, Id), ParseSubjectError> {
        let refused = |kind| ParseSubjectError {
            subject: subject.to_owned(),
            namespace: self.name.clone(),
            kind,
        };
        let rest = subject
            .strip_prefix(self.name.as_str())
            .and_then(|rest| rest.strip_prefix(".n."))
            .ok_or_else(|| refused(ParseSubjectErrorKind::OtherNamespace))?;
        let (dispatcher, rest) =
            rest.split_once('.').ok_or_else(|| refused(ParseSubjectErrorKind::Shape))?;
        let dispatcher = unescape(dispatcher).map_err(refused)?;
        let (kind, id) = self.parse_kind(&format!("{}.{rest}", self.name)).map_err(refused)?;
        match kind {
            SubjectKind::Destination | SubjectKind::Group => Ok((dispatcher, kind, id)),
            _ => Err(refused(ParseSubjectErrorKind::Shape)),
        }
    }

    /// Every [`held`](Namespace::held) subject of one holder, as a
    /// wildcard: `<ns>.n.<holder>.>`.
    ///
    /// ```
    /// let game = dispatchio_nats::Namespace::new("game")?;
    /// assert_eq!(game.held_by("dealer"), "game.n.dealer.>");
    /// assert_eq!(game.held_by("table.1"), "game.n.table_2E1.>"); // a dot in a name is no token separator
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn held_by(&self, holder: &str) -> String {
        let mut subject = format!("{}.n.", self.name);
        push_escaped(&mut subject, holder);
        subject.push_str(".>");
        subject
    }

    /// Every [`held`](Namespace::held) subject of one holder's
    /// destinations (not its groups'): `<ns>.n.<holder>.d.>`, the filter
    /// of its consumer.
    ///
    /// ```
    /// let game = dispatchio_nats::Namespace::new("game")?;
    /// assert_eq!(game.destinations_held_by("dealer"), "game.n.dealer.d.>");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn destinations_held_by(&self, holder: &str) -> String {
        let mut subject = format!("{}.n.", self.name);
        push_escaped(&mut subject, holder);
        subject.push_str(".d.>");
        subject
    }

    /// Every [`held`](Namespace::held) subject of every holder: `<ns>.n.>`,
    /// the subjects of the namespace's JetStream stream.
    ///
    /// ```
    /// let game = dispatchio_nats::Namespace::new("game")?;
    /// assert_eq!(game.all_held(), "game.n.>");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn all_held(&self) -> String {
        format!("{}.n.>", self.name)
    }

    /// The name of the namespace's JetStream stream: `dispatchio-` and the
    /// namespace with `_` written `_5F` and `.` written `_2E` (a stream
    /// name holds no dots), so that two namespaces never share a stream.
    ///
    /// ```
    /// let ns = dispatchio_nats::Namespace::new("acme.game_2")?;
    /// assert_eq!(ns.stream_name(), "dispatchio-acme_2Egame_5F2");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stream_name(&self) -> String {
        let mut name = String::from("dispatchio-");
        push_escaped(&mut name, &self.name);
        name
    }

    /// The name of the durable JetStream consumer of the dispatcher named
    /// `dispatcher` (the name escaped as a string ID is: no dots, no
    /// wildcards, no whitespace).
    ///
    /// ```
    /// use dispatchio_nats::Namespace;
    /// assert_eq!(Namespace::consumer_name("dealer"), "dealer");
    /// assert_eq!(Namespace::consumer_name("table 1.a"), "table_201_2Ea");
    /// ```
    pub fn consumer_name(dispatcher: &str) -> String {
        let mut name = String::new();
        push_escaped(&mut name, dispatcher);
        name
    }

    /// The name of the durable JetStream consumer through which the
    /// dispatcher named `dispatcher` reads group `group`'s messages:
    /// `<dispatcher>_g<i|s>-<ID>`, each escaped as in a subject. An escaped
    /// name never holds `_g` (an escape is `_` and two hex digits), so no
    /// group's consumer is named like a dispatcher's, and the first `_g`
    /// ends the dispatcher's part: two (dispatcher, group) pairs never share
    /// a name.
    ///
    /// ```
    /// use dispatchio_core::Id;
    /// use dispatchio_nats::Namespace;
    /// assert_eq!(Namespace::group_consumer_name("p 1", &Id::from("All")), "p_201_gs-All");
    /// assert_eq!(Namespace::group_consumer_name("p1", &Id::from(-7)), "p1_gi--7");
    /// ```
    pub fn group_consumer_name(dispatcher: &str, group: &Id) -> String {
        let mut name = Namespace::consumer_name(dispatcher);
        match group {
            Id::Int(n) => {
                name.push_str("_gi-");
                name.push_str(&n.to_string());
            }
            Id::Str(s) => {
                name.push_str("_gs-");
                push_escaped(&mut name, s);
            }
        }
        name
    }
}
