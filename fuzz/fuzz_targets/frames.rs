//! The frame reader and everything behind it: after a legitimate
//! handshake, the input is what the peer sends (length-prefixed frames:
//! messages, requests, replies, announcements, pings). The connection must
//! end once the input does, and the dispatcher must go on serving.
#![no_main]

use dispatchio_fuzz::{Target, hello, read_frame, runtime, send_and_drain};
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
    use tokio::io::AsyncWriteExt;
    stream.write_all(&hello()).await.expect("the target reads a Hello");
    if read_frame(stream).await.is_none() {
        panic!("a legitimate Hello was not answered");
    }
    send_and_drain(stream, input).await;
}
