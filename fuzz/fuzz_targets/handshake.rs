//! The handshake, from both ends. As the listener's peer: the input is the
//! first bytes a dialler sends. As a dialler: the input is what a listener
//! answers to our `Hello`. Neither side may hang or panic; the listening
//! dispatcher goes on serving.
#![no_main]

use dispatchio::net::RemoteConfig;
use dispatchio_fuzz::{PATIENCE, SECRET, Target, read_frame, runtime, scratch, send_and_drain};
use libfuzzer_sys::fuzz_target;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixListener;

fuzz_target!(|input: &[u8]| {
    let target = Target::get();
    runtime().block_on(async {
        let mut stream = target.connect().await;
        send_and_drain(&mut stream, input).await;
        target.assert_serving().await;
        dial_a_listener_that_answers(input).await;
    });
});

/// `connect` to a fake listener whose answer to the `Hello` is `input`.
async fn dial_a_listener_that_answers(input: &[u8]) {
    let path = scratch().join("fake.sock");
    let _ = std::fs::remove_file(&path);
    let fake = UnixListener::bind(&path).expect("the fake listener binds");
    let answer = input.to_vec();
    let server = tokio::spawn(async move {
        let (mut stream, _) = fake.accept().await.expect("the dialler connects");
        let _ = read_frame(&mut stream).await;
        let _ = stream.write_all(&answer).await;
        let _ = stream.shutdown().await;
    });
    let config = RemoteConfig::new("dialler").secret(SECRET).handshake_timeout(PATIENCE / 4);
    let dialler = dispatchio::Dispatcher::new();
    let address = format!("unix:{}", path.display());
    match tokio::time::timeout(PATIENCE, dialler.connect_with(&address, &config)).await {
        Err(_) => panic!("connect hung on a listener's answer"),
        Ok(Ok(peer)) => peer.close().await,
        Ok(Err(_refused)) => {}
    }
    server.await.expect("the fake listener does not panic");
    dialler.shutdown().await;
}
