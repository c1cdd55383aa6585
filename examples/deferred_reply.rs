//! Deferred replies and handler errors.
//!
//! The handler for type D answers "later": it returns the reply promised by
//! `Reply::later()` and moves the token to a worker task, which answers 100
//! ms later; the sender's request returns that answer (a token dropped
//! unanswered would fail the request at once). The handler for type X
//! fails, and the sender gets the handler's error.
//!
//! Run with `cargo run --example deferred_reply`.

use std::sync::Arc;
use std::time::Duration;

use dispatchio::routing::{Action, Cond, RoutingTable};
use dispatchio::{Dispatcher, Empty, Error, HandlerError, Message, Reply, RoutedListener, Text};

/// Registers the server as destination "server".
///
/// # Errors
///
/// A dispatcher error (the name is taken, no runtime).
pub(crate) fn start_server(
    dispatcher: &Dispatcher,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let table = RoutingTable::builder()
        .rule("later", Cond::type_is("D"), [Action::call("defer")])
        .rule("fail", Cond::type_is("X"), [Action::call("refuse")])
        .build()?;
    let server = RoutedListener::builder(table)
        .handler("defer", |m: &Message| {
            let (reply, later) = Reply::later();
            let id = m.id();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                later.reply_with(Text(format!("answer to {id}, worked out later")));
            });
            Ok(reply)
        })
        .handler("refuse", |_: &Message| Err(HandlerError::new("X is not allowed here")))
        .build()?;
    dispatcher.register("server", Arc::new(server))?;
    Ok(())
}

/// Asks for D (returns the deferred answer) and for X (returns the error).
///
/// # Errors
///
/// A dispatcher error on the D request.
pub(crate) async fn run(
    dispatcher: &Dispatcher,
) -> Result<(String, Error), Box<dyn std::error::Error + Send + Sync>> {
    start_server(dispatcher)?;
    let client = dispatcher.new_source();
    let d = Message::new(Empty).with_type("D").to("server");
    let answer = client.request_as::<Text>(d, Some(Duration::from_secs(5))).await?.0.clone();
    let x = client
        .request(Message::new(Empty).with_type("X").to("server"), Some(Duration::from_secs(5)))
        .await;
    let error = x.err().ok_or("the X request succeeded")?;
    Ok((answer, error))
}

#[tokio::main]
#[allow(dead_code, reason = "also compiled as a module of the integration tests, which call `run`")]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let dispatcher = Dispatcher::new();
    let (answer, error) = run(&dispatcher).await?;
    println!("Request D, answered by a worker 100 ms later: {answer}");
    println!("Request X, whose handler fails: error: {error}");
    dispatcher.shutdown().await;
    Ok(())
}
