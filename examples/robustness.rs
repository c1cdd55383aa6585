//! Robustness: invalid messages are refused with a clear error, and a
//! request in flight when its listener is deregistered and the dispatcher
//! shut down ends with an error instead of hanging.
//!
//! Run with `cargo run --example robustness`.

use std::sync::Arc;
use std::time::Duration;

use dispatchio::routing::{Action, Cond, RoutingTable};
use dispatchio::{Dispatcher, Empty, Error, Message, Reply, RoutedListener};

/// What the run observed.
#[derive(Debug)]
pub(crate) struct Report {
    /// Sending a message with both a destination and a group.
    pub(crate) dest_and_group: Result<(), Error>,
    /// Sending a response that also requires a response.
    pub(crate) response_requiring_response: Result<(), Error>,
    /// The in-flight request's outcome after deregistration and shutdown.
    pub(crate) in_flight: Result<Message, Error>,
    /// How long shutdown took.
    pub(crate) shutdown_took: Duration,
}

/// Runs the scenario.
///
/// # Errors
///
/// A dispatcher error while setting up.
pub(crate) async fn run(
    dispatcher: &Dispatcher,
) -> Result<Report, Box<dyn std::error::Error + Send + Sync>> {
    let client = dispatcher.new_source();

    let both = Message::new(Empty).to("server").to_group("All");
    let dest_and_group = client.send(both).map(|_| ());
    let mut answer = Message::new(Empty).to("server").requiring_response();
    answer.envelope_mut().is_response = true;
    let response_requiring_response = client.send(answer).map(|_| ());

    let table =
        RoutingTable::builder().rule("slow", Cond::Always, [Action::call_async("slow")]).build()?;
    let slow = RoutedListener::builder(table)
        .async_handler("slow", |_m: Message| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(Reply::Empty)
        })
        .build()?;
    dispatcher.register("server", Arc::new(slow))?;

    let request = {
        let d = dispatcher.clone();
        tokio::spawn(async move {
            d.request(Message::new(Empty).to("server").from_source("robust"), None).await
        })
    };
    // Let the request reach the slow handler.
    while dispatcher.snapshot().pending_requests == 0 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    dispatcher.deregister("server")?;
    let started = std::time::Instant::now();
    dispatcher.shutdown().await;
    let shutdown_took = started.elapsed();
    let in_flight = request.await?;
    Ok(Report { dest_and_group, response_requiring_response, in_flight, shutdown_took })
}

#[tokio::main]
#[allow(dead_code, reason = "also compiled as a module of the integration tests, which call `run`")]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let dispatcher = Dispatcher::new();
    let r = run(&dispatcher).await?;
    let show = |r: &Result<(), Error>| match r {
        Ok(()) => "accepted (unexpected!)".to_owned(),
        Err(e) => format!("refused: {e}"),
    };
    println!("A message to a destination and a group: {}", show(&r.dest_and_group));
    println!("A response that requires a response: {}", show(&r.response_requiring_response));
    match &r.in_flight {
        Ok(_) => println!("The in-flight request was answered (unexpected!)"),
        Err(e) => println!("The request in flight at shutdown ended with: {e}"),
    }
    println!("Shutdown took {:?}.", r.shutdown_took);
    Ok(())
}
