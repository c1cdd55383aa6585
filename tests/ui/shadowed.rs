// An analysis error: `mid` is covered by `low` and `high` together.
dispatchio::include_routes!("tests/ui/shadowed.route");

fn main() {}
