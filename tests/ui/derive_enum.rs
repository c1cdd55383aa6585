// Content fields are read by name: an enum has none to route on.
#[derive(Debug, serde::Serialize, dispatchio::ContentType)]
enum Suit {
    Hearts,
    Spades,
}

fn main() {}
