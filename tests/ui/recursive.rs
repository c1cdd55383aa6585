// A type that contains itself with no `?` or list: no value can exist.
dispatchio::include_routes!("tests/ui/recursive.route");

fn main() {}
