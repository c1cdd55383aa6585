use super::*;
use proptest::prelude::*;

fn game() -> Namespace {
    Namespace::new("game").unwrap()
}

#[test]
fn integer_ids_are_written_in_decimal() {
    let ns = game();
    assert_eq!(ns.destination(&Id::from(7)).unwrap(), "game.d.i.7");
    assert_eq!(ns.destination(&Id::from(-3)).unwrap(), "game.d.i.-3");
    assert_eq!(ns.group(&Id::Int(i64::MIN)).unwrap(), "game.g.i.-9223372036854775808");
    assert_eq!(ns.group(&Id::Int(0)).unwrap(), "game.g.i.0");
}

#[test]
fn string_ids_keep_letters_digits_and_dashes_and_escape_the_rest() {
    let ns = game();
    assert_eq!(ns.destination(&Id::from("bob-2")).unwrap(), "game.d.s.bob-2");
    assert_eq!(ns.group(&Id::from("All")).unwrap(), "game.g.s.All");
    assert_eq!(ns.destination(&Id::from("a.b c")).unwrap(), "game.d.s.a_2Eb_20c");
    assert_eq!(ns.destination(&Id::from("*>")).unwrap(), "game.d.s._2A_3E");
    assert_eq!(ns.destination(&Id::from("p_1")).unwrap(), "game.d.s.p_5F1");
    assert_eq!(ns.destination(&Id::from("\n\t")).unwrap(), "game.d.s._0A_09");
    assert_eq!(ns.destination(&Id::from("é")).unwrap(), "game.d.s._C3_A9");
    assert_eq!(ns.destination(&Id::from("")).unwrap(), "game.d.s._");
    assert_eq!(ns.destination(&Id::from("_")).unwrap(), "game.d.s._5F");
}

#[test]
fn an_integer_and_a_string_with_the_same_text_get_different_subjects() {
    let ns = game();
    assert_ne!(ns.destination(&Id::from(7)).unwrap(), ns.destination(&Id::from("7")).unwrap());
    assert_ne!(ns.destination(&Id::from(7)).unwrap(), ns.group(&Id::from(7)).unwrap());
}

#[test]
fn wildcards_cover_the_namespace_or_one_kind() {
    let ns = Namespace::new("acme.game").unwrap();
    assert_eq!(ns.all(), "acme.game.>");
    assert_eq!(ns.all_of(SubjectKind::Destination), "acme.game.d.>");
    assert_eq!(ns.all_of(SubjectKind::Group), "acme.game.g.>");
}

#[test]
fn a_namespace_may_have_several_tokens_of_letters_digits_underscores_and_dashes() {
    for name in ["game", "acme.game-2", "my_ns", "a.b.c", "0"] {
        assert_eq!(Namespace::new(name).unwrap().as_str(), name);
    }
}

#[test]
fn invalid_namespaces_are_refused_saying_what_and_where() {
    use NamespaceErrorKind as K;
    let cases = [
        ("", K::Empty),
        ("a..b", K::EmptyToken { at: 2 }),
        (".a", K::EmptyToken { at: 0 }),
        ("a.", K::EmptyToken { at: 2 }),
        ("a b", K::Char { ch: ' ', at: 1 }),
        ("game.*", K::Char { ch: '*', at: 5 }),
        (">", K::Char { ch: '>', at: 0 }),
        ("$SYS", K::Char { ch: '$', at: 0 }),
        ("jeu.é", K::Char { ch: 'é', at: 4 }),
        ("a\tb", K::Char { ch: '\t', at: 1 }),
        ("_INBOX", K::Inbox),
        ("_INBOX.game", K::Inbox),
    ];
    for (name, kind) in cases {
        let err = Namespace::new(name).unwrap_err();
        assert_eq!(err.kind(), &kind, "{name:?}");
        assert_eq!(err.name(), name);
    }
    let long = "a".repeat(MAX_NAMESPACE_LEN + 1);
    assert_eq!(
        Namespace::new(long).unwrap_err().kind(),
        &K::TooLong { len: MAX_NAMESPACE_LEN + 1 }
    );
    assert!(Namespace::new("a".repeat(MAX_NAMESPACE_LEN)).is_ok());
    assert!(Namespace::new("_INBOXES").is_ok(), "only the token _INBOX is reserved");
    assert_eq!(
        Namespace::new("game.*").unwrap_err().to_string(),
        "invalid NATS namespace \"game.*\": character '*' at byte 5 (a namespace is \
         dot-separated tokens of ASCII letters, digits, '_' and '-')"
    );
}

#[test]
fn a_subject_longer_than_the_limit_is_refused_and_one_at_the_limit_is_not() {
    let ns = game();
    let room = MAX_SUBJECT_LEN - "game.d.s.".len();
    let at_limit = Id::from("x".repeat(room));
    assert_eq!(ns.destination(&at_limit).unwrap().len(), MAX_SUBJECT_LEN);
    let over = Id::from("x".repeat(room + 1));
    let err = ns.destination(&over).unwrap_err();
    assert_eq!((err.kind(), err.subject_len()), (SubjectKind::Destination, MAX_SUBJECT_LEN + 1));
    // Each escaped byte takes three.
    let escaped = Id::from(".".repeat(room / 3 + 1));
    assert!(ns.group(&escaped).unwrap_err().subject_len() > MAX_SUBJECT_LEN);
    assert_eq!(
        err.to_string(),
        format!(
            "the subject of destination {:?}… ({} bytes) would be {} bytes long, over \
             the 2048 a dispatchio subject may take",
            "x".repeat(SHOWN_CHARS),
            room + 1,
            MAX_SUBJECT_LEN + 1
        )
    );
}

#[test]
fn subjects_that_are_not_ours_are_refused_saying_why() {
    use ParseSubjectErrorKind as K;
    let ns = game();
    let cases = [
        ("other.d.i.7", K::OtherNamespace),
        ("gamer.d.i.7", K::OtherNamespace),
        ("game", K::OtherNamespace),
        ("game.d.i", K::Shape),
        ("game.d.i.7.8", K::Shape),
        ("game.x.i.7", K::Shape),
        ("game.d.x.7", K::Shape),
        ("game.d.i.", K::Int { token: String::new() }),
        ("game.d.i.+7", K::Int { token: "+7".into() }),
        ("game.d.i.007", K::Int { token: "007".into() }),
        ("game.d.i.-0", K::Int { token: "-0".into() }),
        ("game.d.i.9223372036854775808", K::Int { token: "9223372036854775808".into() }),
        ("game.d.s.", K::NotCanonical { canonical: "_".into() }),
        ("game.d.s.a b", K::Unescaped { ch: ' ', at: 1 }),
        ("game.d.s.*", K::Unescaped { ch: '*', at: 0 }),
        ("game.d.s.xé", K::Unescaped { ch: 'é', at: 1 }),
        ("game.d.s.a_2", K::Escape { at: 1 }),
        ("game.d.s.__5F", K::Escape { at: 0 }),
        ("game.d.s._G0", K::Escape { at: 0 }),
        ("game.d.s._FF", K::Utf8),
        ("game.d.s._61", K::NotCanonical { canonical: "a".into() }),
        ("game.d.s._2e", K::NotCanonical { canonical: "_2E".into() }),
    ];
    for (subject, kind) in cases {
        let err = ns.parse(subject).unwrap_err();
        assert_eq!(err.kind(), &kind, "{subject:?}");
        assert_eq!(err.subject(), subject);
    }
    assert_eq!(
        ns.parse("game.d.s._61").unwrap_err().to_string(),
        "subject \"game.d.s._61\" is not a destination or group of namespace \"game\": \
         the ID is not spelt as it would be written, \"a\""
    );
}

/// Whether `s` is a subject a NATS server takes for publishing, checked
/// apart from the code under test: non-empty tokens, no whitespace or
/// control characters, and no wildcard (`*` or `>`) anywhere.
fn is_publishable(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|token| {
            !token.is_empty()
                && token.chars().all(|c| !c.is_whitespace() && !c.is_control())
                && !token.contains(['*', '>'])
        })
}

fn namespaces() -> impl Strategy<Value = Namespace> {
    "[A-Za-z0-9_-]{1,8}(\\.[A-Za-z0-9_-]{1,8}){0,2}"
        .prop_filter_map("_INBOX is reserved", |name| Namespace::new(name).ok())
}

fn ids() -> impl Strategy<Value = Id> {
    prop_oneof![
        any::<i64>().prop_map(Id::Int),
        any::<String>().prop_map(Id::from),
        // Strings of the characters that matter most here.
        "[a-z_.*> \t\\-\u{0}é]{0,6}".prop_map(Id::from),
    ]
}

fn kinds() -> impl Strategy<Value = SubjectKind> {
    prop_oneof![
        Just(SubjectKind::Destination),
        Just(SubjectKind::Group),
        Just(SubjectKind::Claim),
        Just(SubjectKind::Dispatcher)
    ]
}

#[test]
fn jetstream_subjects_put_the_dispatchers_escaped_name_before_the_plain_subject() {
    let ns = game();
    assert_eq!(ns.held("dealer 1", &Id::from("bob")).unwrap(), "game.n.dealer_201.d.s.bob");
    assert_eq!(ns.held_group("p.1", &Id::from(7)).unwrap(), "game.n.p_2E1.g.i.7");
    assert_eq!(ns.held_group("", &Id::from("")).unwrap(), "game.n._.g.s._");
    assert_eq!(Namespace::group_consumer_name("p_1", &Id::from("a b")), "p_5F1_gs-a_20b");
}

#[test]
fn jetstream_subjects_that_are_not_ours_are_refused_saying_why() {
    use ParseSubjectErrorKind as K;
    let ns = game();
    let cases = [
        ("game.d.s.bob", K::OtherNamespace),
        ("other.n.p1.g.s.All", K::OtherNamespace),
        ("game.n.p1", K::Shape),
        ("game.n.p1.c.s.bob", K::Shape),
        ("game.n.p1.p.s.bob", K::Shape),
        ("game.n.p1.g.s.All.x", K::Shape),
        ("game.n.p 1.g.s.All", K::Unescaped { ch: ' ', at: 1 }),
        ("game.n._61.g.s.All", K::NotCanonical { canonical: "a".into() }),
        ("game.n.p1.g.i.007", K::Int { token: "007".into() }),
    ];
    for (subject, kind) in cases {
        let err = ns.parse_held(subject).unwrap_err();
        assert_eq!(err.kind(), &kind, "{subject:?}");
        assert_eq!(err.subject(), subject);
    }
}

fn held_kinds() -> impl Strategy<Value = SubjectKind> {
    prop_oneof![Just(SubjectKind::Destination), Just(SubjectKind::Group)]
}

/// The JetStream subject of `id` as a `kind` (a destination or a group)
/// for dispatcher `name`.
fn held_subject(ns: &Namespace, name: &str, kind: SubjectKind, id: &Id) -> String {
    match kind {
        SubjectKind::Group => ns.held_group(name, id).unwrap(),
        _ => ns.held(name, id).unwrap(),
    }
}

proptest! {
    #[test]
    fn every_jetstream_subject_parses_back_to_its_dispatcher_kind_and_id(
        ns in namespaces(), name in any::<String>(), kind in held_kinds(), id in ids()
    ) {
        let subject = held_subject(&ns, &name, kind, &id);
        prop_assert!(is_publishable(&subject), "{subject:?}");
        prop_assert!(subject.is_ascii(), "{subject:?}");
        prop_assert_eq!(subject.split('.').count(), ns.as_str().split('.').count() + 5);
        prop_assert!(subject.starts_with(ns.held_by(&name).trim_end_matches('>')));
        prop_assert_eq!(ns.parse_held(&subject), Ok((name, kind, id)));
    }

    #[test]
    fn distinct_dispatchers_and_groups_get_distinct_jetstream_subjects_and_consumers(
        ns in namespaces(), a in (any::<String>(), held_kinds(), ids()), b in (any::<String>(), held_kinds(), ids())
    ) {
        prop_assume!(a != b);
        prop_assert_ne!(held_subject(&ns, &a.0, a.1, &a.2), held_subject(&ns, &b.0, b.1, &b.2));
        if a.1 == SubjectKind::Group && b.1 == SubjectKind::Group {
            prop_assert_ne!(
                Namespace::group_consumer_name(&a.0, &a.2),
                Namespace::group_consumer_name(&b.0, &b.2)
            );
        }
        prop_assert_ne!(Namespace::group_consumer_name(&a.0, &a.2), Namespace::consumer_name(&b.0));
    }

    #[test]
    fn parsing_any_jetstream_subject_never_panics_and_accepts_only_what_it_would_write(
        s in prop_oneof![
            any::<String>(),
            "game\\.n\\.[a-z_0-9 .]{0,6}\\.[dgcx]\\.[is]\\.[A-Za-z0-9_\\-+.]{0,6}",
        ]
    ) {
        let ns = game();
        if let Ok((name, kind, id)) = ns.parse_held(&s) {
            prop_assert_eq!(held_subject(&ns, &name, kind, &id), s);
        }
    }

    #[test]
    fn every_subject_parses_back_to_its_kind_and_id(ns in namespaces(), kind in kinds(), id in ids()) {
        let subject = ns.subject(kind, &id).unwrap();
        prop_assert_eq!(ns.parse(&subject), Ok((kind, id)));
    }

    #[test]
    fn every_subject_is_a_publishable_ascii_subject_with_one_token_for_the_id(
        ns in namespaces(), kind in kinds(), id in ids()
    ) {
        let subject = ns.subject(kind, &id).unwrap();
        prop_assert!(is_publishable(&subject), "{subject:?}");
        prop_assert!(subject.is_ascii(), "{subject:?}");
        prop_assert_eq!(subject.split('.').count(), ns.as_str().split('.').count() + 3);
        prop_assert!(subject.len() <= MAX_SUBJECT_LEN);
    }

    #[test]
    fn the_wildcards_are_valid_and_wild_only_in_their_last_token(ns in namespaces(), kind in kinds()) {
        for wildcard in [ns.all(), ns.all_of(kind)] {
            let (head, last) = wildcard.rsplit_once('.').unwrap();
            prop_assert_eq!(last, ">");
            prop_assert!(is_publishable(head), "{wildcard:?}");
        }
    }

    #[test]
    fn distinct_ids_get_distinct_subjects(
        ns in namespaces(), a in (kinds(), ids()), b in (kinds(), ids())
    ) {
        prop_assume!(a != b);
        prop_assert_ne!(ns.subject(a.0, &a.1).unwrap(), ns.subject(b.0, &b.1).unwrap());
    }

    #[test]
    fn parsing_any_string_never_panics_and_accepts_only_what_it_would_write(
        s in prop_oneof![
            any::<String>(),
            "game\\.[dgx]{0,2}\\.[isx]{0,2}\\.[A-Za-z0-9_\\-+.*é ]{0,10}",
            "game\\.[dg]\\.s\\.(_[0-9A-Fa-fG]{0,2}|[a-z]){0,5}",
        ]
    ) {
        let ns = game();
        if let Ok((kind, id)) = ns.parse(&s) {
            prop_assert_eq!(ns.subject(kind, &id).unwrap(), s);
        }
    }

    #[test]
    fn checking_any_namespace_never_panics_and_accepts_only_publishable_ones(s in any::<String>()) {
        if let Ok(ns) = Namespace::new(s) {
            prop_assert!(is_publishable(ns.as_str()));
        }
    }
}
