// Every error-level finding becomes its own compile_error!.
dispatchio::include_routes!("tests/ui/type_mismatch.route");

fn main() {}
