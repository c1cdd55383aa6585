// An analysis error: `mid` can never fire, `high` takes all its messages
// (this needs the analysis of branch `analysis`; without it the file compiles).
dispatchio::include_routes!("tests/ui/shadowed.route");

fn main() {}
