// Only `name` and `crate` are options; a field must be viewable as a value.
#[derive(Debug, serde::Serialize, dispatchio::ContentType)]
#[content(title = "Card")]
struct Card {
    card: i64,
}

#[derive(Debug, serde::Serialize, dispatchio::ContentType)]
#[content(name = "")]
struct Nameless;

#[derive(Debug, serde::Serialize)]
struct Opaque;

#[derive(Debug, serde::Serialize, dispatchio::ContentType)]
struct Holder {
    opaque: Opaque,
}

fn main() {}
