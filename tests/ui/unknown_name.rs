// An undeclared type name; the stub still declares `Card` and `player`, so
// the uses below add no errors of their own.
dispatchio::include_routes!("tests/ui/unknown_name.route");

fn main() {
    let _card = Card { card: 3 };
    let _matcher = player::Matcher::new();
}
