// Every error-level finding becomes its own compile_error!, and code using
// the generated API adds no errors of its own (the stub after errors).
dispatchio::include_routes!("tests/ui/type_mismatch.route");

fn main() {
    let d = dispatchio::Dispatcher::new();
    let table = std::sync::Arc::new(player::Listener::new(()));
    let _ = d.register("table", table);
    let _ = d.send(dispatchio::Message::new(Card { card: 1, suit: None }).to("table"));
}
