//! Blocking messages: later messages to a destination wait behind an
//! unanswered blocking one.
//!
//! A server answers types A, B and C after 300, 40 and 50 ms. Three requests
//! sent A, B, C at once are answered B, C, A; sent as blocking messages, the
//! server takes B only once A is answered, so the answers come A, B, C.
//!
//! Run with `cargo run --example blocking`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dispatchio::routing::{Action, Cond, RoutingTable};
use dispatchio::{Dispatcher, Empty, Message, Reply, RoutedListener, Snapshot, Text};

/// How long the server takes to answer each type.
pub(crate) const DELAYS: [(&str, u64); 3] = [("A", 300), ("B", 40), ("C", 50)];

/// Registers the server as destination "server".
///
/// # Errors
///
/// A dispatcher error (the name is taken, no runtime).
pub(crate) fn start_server(
    dispatcher: &Dispatcher,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let table = RoutingTable::builder()
        .rule("work", Cond::type_in(["A", "B", "C"]), [Action::call_async("answer")])
        .build()?;
    let server = RoutedListener::builder(table)
        .async_handler("answer", |m: Message| async move {
            let delay = DELAYS.iter().find(|(t, _)| *t == m.ty()).map_or(0, |(_, ms)| *ms);
            tokio::time::sleep(Duration::from_millis(delay)).await;
            Ok(Reply::with(Text(m.ty().to_owned())))
        })
        .build()?;
    dispatcher.register("server", Arc::new(server))?;
    Ok(())
}

/// Sends A, B and C at once (as blocking messages when `blocking`) and
/// returns the types in the order their replies arrived.
///
/// # Errors
///
/// Any request's error.
pub(crate) async fn replies_in_order(
    dispatcher: &Dispatcher,
    blocking: bool,
) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>> {
    let client = dispatcher.new_source();
    let order = Mutex::new(Vec::new());
    let ask = |ty: &'static str| {
        let (client, order) = (&client, &order);
        async move {
            let mut msg = Message::new(Empty).with_type(ty).to("server");
            if blocking {
                msg = msg.blocking();
            }
            let text = client.request_as::<Text>(msg, Some(Duration::from_secs(5))).await?;
            order.lock().unwrap_or_else(|e| e.into_inner()).push(text.0.clone());
            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
        }
    };
    // `try_join!` polls its futures in order the first time, so the
    // requests leave in the order A, B, C.
    futures::try_join!(ask("A"), ask("B"), ask("C"))?;
    Ok(order.into_inner().unwrap_or_else(|e| e.into_inner()))
}

/// Runs both rounds; returns the two orders and the dispatcher's state after.
///
/// # Errors
///
/// Any dispatcher error.
pub(crate) async fn run(
    dispatcher: &Dispatcher,
) -> Result<(Vec<String>, Vec<String>, Snapshot), Box<dyn std::error::Error + Send + Sync>> {
    start_server(dispatcher)?;
    let free = replies_in_order(dispatcher, false).await?;
    let held = replies_in_order(dispatcher, true).await?;
    Ok((free, held, dispatcher.snapshot()))
}

#[tokio::main]
#[allow(dead_code, reason = "also compiled as a module of the integration tests, which call `run`")]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let dispatcher = Dispatcher::new();
    println!("The server answers A after 300 ms, B after 40 ms, C after 50 ms.");
    let (free, held, after) = run(&dispatcher).await?;
    println!("Sent A, B, C as ordinary requests: replies arrive {}", free.join(", "));
    println!("Sent A, B, C as blocking messages: replies arrive {}", held.join(", "));
    println!(
        "Afterwards: {} blocked destinations, {} pending requests.",
        after.blocked.len(),
        after.pending_requests
    );
    dispatcher.shutdown().await;
    Ok(())
}
