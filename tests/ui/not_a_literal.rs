// The argument must be one string literal.
dispatchio::include_routes!(routes);

fn main() {}
