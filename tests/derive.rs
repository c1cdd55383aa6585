//! `#[derive(ContentType)]`: the type name, field access as serde names the
//! fields on the wire (so dynamic content of another process routes the
//! same), and routing by conditions on derived content. Its compile errors
//! are in `tests/ui/derive_*.rs`.

use std::path::PathBuf;

use dispatchio::routing::{Fired, Matcher, Step};
use dispatchio::{Content, ContentType, DynContent, DynValue, Fields, Id, Message, Value};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, dispatchio::ContentType)]
struct Card {
    card: i64,
    suit: Option<String>,
    small: u8,
    serial: u64,
    ratio: f32,
    tags: Vec<String>,
    owner: Id,
    #[serde(rename = "kind")]
    r#type: String,
    #[serde(skip)]
    cache: u32,
    #[serde(rename = "at")]
    position: Position,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, dispatchio::ContentType)]
#[content(name = "game.Position")]
struct Position {
    x: i64,
    y: i64,
}

#[derive(Debug, serde::Serialize, dispatchio::ContentType)]
struct Ping;

fn card() -> Card {
    Card {
        card: 7,
        suit: None,
        small: 200,
        serial: u64::MAX,
        ratio: 0.5,
        tags: vec!["red".into(), "face".into()],
        owner: Id::from("alice"),
        r#type: "joker".into(),
        cache: 99,
        position: Position { x: 1, y: -2 },
    }
}

#[test]
fn the_type_name_is_the_struct_name_unless_the_content_attribute_names_it() {
    assert_eq!(Card::TYPE_NAME, "Card");
    assert_eq!(Position::TYPE_NAME, "game.Position");
    assert_eq!(Ping::TYPE_NAME, "Ping");
    assert_eq!(Message::new(Position { x: 0, y: 0 }).ty(), "game.Position");
}

#[test]
fn fields_are_read_by_their_wire_names_with_empty_options_absent() {
    let c = card();
    assert_eq!(c.field("card"), Some(Value::Int(7)));
    assert_eq!(c.field("suit"), None, "an empty Option is absent");
    assert_eq!(c.field("small"), Some(Value::Int(200)));
    assert_eq!(c.field("serial"), Some(Value::Float(u64::MAX as f64)), "too wide for an int");
    assert_eq!(c.field("ratio"), Some(Value::Float(0.5)));
    assert_eq!(c.field("owner"), Some(Value::Str("alice")));
    assert_eq!(c.field("kind"), Some(Value::Str("joker")), "serde's rename is the field's name");
    assert_eq!(c.field("type"), None, "the Rust name is not visible under a rename");
    assert_eq!((c.cache, c.field("cache")), (99, None), "a skipped field is not visible");
    let Some(Value::List(tags)) = c.field("tags") else { panic!("tags is a list") };
    assert_eq!(tags.item(1), Some(Value::Str("face")));
    let content: &dyn Content = &c;
    assert_eq!(content.at(&["at", "y"]), Some(Value::Int(-2)), "a nested content type is a record");
    assert_eq!(
        c.field_names(),
        ["card", "small", "serial", "ratio", "tags", "owner", "kind", "at"]
    );
    assert!(Ping.field_names().is_empty());

    let suited = Card { suit: Some("hearts".into()), ..card() };
    assert_eq!(suited.field("suit"), Some(Value::Str("hearts")));
    assert!(suited.field_names().contains(&"suit".to_owned()));
}

/// A process that did not register `Card` sees it as a map keyed by serde's
/// names: every condition must read the same values from both.
#[test]
fn derived_fields_equal_the_dynamic_view_of_the_same_content_decoded_elsewhere() {
    for c in [card(), Card { suit: Some("spades".into()), ..card() }] {
        let json = serde_json::to_string(&c).unwrap();
        let dynamic = DynContent::new("Card", serde_json::from_str::<DynValue>(&json).unwrap());
        let mut typed_names = c.field_names();
        let mut dyn_names = dynamic.field_names();
        typed_names.sort();
        dyn_names.sort();
        assert_eq!(typed_names, dyn_names, "the same fields are present ({json})");
        for name in &typed_names {
            let typed = c.field(name).map(Value::to_owned_value);
            let dynamic = dynamic.field(name).map(Value::to_owned_value);
            // JSON has one number type; compare floats as floats.
            let same = match (&typed, &dynamic) {
                (Some(DynValue::Float(a)), Some(DynValue::Float(b))) => a == b,
                (a, b) => a == b,
            };
            assert!(same, "field {name}: typed {typed:?}, dynamic {dynamic:?}");
        }
    }
}

#[test]
fn the_interpreter_routes_derived_content_on_its_fields() {
    let dir = std::env::temp_dir().join(format!("dispatchio-derive-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join("derive.route");
    std::fs::write(
        &path,
        r#"
        message Position { x: int, y: int }
        message Card { card: int, suit: string?, kind: string, at: Position }
        listener table {
            rule jokers when type == Card and kind == "joker" and at.y < 0 => queue low
            rule suited when type == Card and suit == "hearts" => queue hearts
            otherwise => drop
        }
        "#,
    )
    .unwrap();
    let routes = dispatchio::routes::load(&path).unwrap().build().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let table = routes.listener("table").unwrap();
    let queue_of = |c: Card| {
        let mut fired = Fired::new();
        table.matcher().route(&Message::new(c), &mut fired);
        let layout = table.matcher().layout();
        fired
            .steps()
            .iter()
            .map(|s| match *s {
                Step::Queue(i) => layout.queues[i].to_string(),
                Step::Drop => "drop".to_owned(),
                ref other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(queue_of(card()), ["low"]);
    let above = Card { position: Position { x: 0, y: 3 }, ..card() };
    assert_eq!(queue_of(above.clone()), ["drop"]);
    assert_eq!(queue_of(Card { suit: Some("hearts".into()), ..above }), ["hearts"]);
}
