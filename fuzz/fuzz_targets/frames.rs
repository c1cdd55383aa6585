//! The frame reader and everything behind it: after a legitimate
//! handshake, the input is what the peer sends (length-prefixed frames:
//! messages, requests, replies, announcements, pings). The connection must
//! end once the input does, and the dispatcher must go on serving.
#![no_main]

use dispatchio_fuzz::{Target, pass_handshake, runtime, send_and_drain};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let target = Target::get();
    runtime().block_on(async {
        let mut stream = target.connect().await;
        send_and_drain_after_hello(&mut stream, input).await;
        target.assert_serving().await;
    });
});

async fn send_and_drain_after_hello(stream: &mut tokio::net::UnixStream, input: &[u8]) {
    pass_handshake(stream).await;
    send_and_drain(stream, input).await;
}
