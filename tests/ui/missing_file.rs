// A path that does not exist.
dispatchio::include_routes!("tests/ui/no_such_file.route");

fn main() {}
