// A syntax error in the .route file fails the build with the checker's
// message, pointing into the .route file.
dispatchio::include_routes!("tests/ui/syntax.route");

fn main() {}
