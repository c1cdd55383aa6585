//! Dispatchers in other OS processes: this test binary run again as a
//! child (see [`child_dispatcher`]), killed with SIGKILL mid-stream.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use super::*;

/// The child's environment variable with the server's URL: set, the
/// `child_dispatcher` test is a dispatcher until killed.
const CHILD_URL: &str = "DISPATCHIO_NATS_TEST_CHILD_URL";

/// Not a test of its own (ignored in a plain run): the body of the child
/// processes the tests below start (this binary, run again with only this
/// test, `--ignored`, and [`CHILD_URL`] set). Without the variable it
/// returns at once.
#[test]
#[ignore = "the child process of the tests across processes, started by them"]
fn child_dispatcher() {
    let Ok(url) = std::env::var(CHILD_URL) else { return };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let d = Dispatcher::new();
        counting(&d, "worker");
        let _deferred = deferring(&d, "slow");
        let config = NatsConfig::new(url).namespace("test").name("child").registry(registry());
        let _nats = d.join_nats(config).await.unwrap();
        println!("ready");
        std::future::pending::<()>().await;
    });
}

/// Kills the child on drop, whatever the test did.
pub(super) struct ChildProcess(pub(super) Child);

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_dispatcher_process_killed_mid_stream_fails_its_senders_requests_and_nothing_hangs() {
    let server = NatsServer::start().await;
    let mut child = tokio::task::spawn_blocking({
        let url = server.url().to_owned();
        move || spawn_child(&url)
    })
    .await
    .unwrap();
    let alice = Dispatcher::new();
    let a = alice.join_nats(config(&server, "alice")).await.unwrap();
    // The child serves "worker": a stream of messages and a request after
    // them, answered across the process boundary.
    for n in 0..100 {
        alice.send(Message::new(Num { n }).to("worker")).unwrap();
    }
    let ans = alice.request(Message::new(Ask { n: 100 }).to("worker"), Some(PROMPTLY)).await;
    assert_eq!(ans.unwrap().content_as::<Ans>(), Some(&Ans { n: 100, seen: 100 }));
    // Requests the child holds (it defers them), then SIGKILL mid-stream.
    let waiting: Vec<_> = (0..3)
        .map(|n| {
            let alice = alice.clone();
            tokio::spawn(async move {
                let ask = Message::new(Ask { n }).to("slow");
                alice.request(ask, Some(Duration::from_secs(600))).await
            })
        })
        .collect();
    within("the requests sent", async {
        while alice.snapshot().pending_requests < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    for n in 100..150 {
        alice.send(Message::new(Num { n }).to("worker")).unwrap();
    }
    // Answered after the child read everything sent before (one connection
    // each way, in order): the held requests reached it.
    let ans = alice.request(Message::new(Ask { n: 150 }).to("worker"), Some(PROMPTLY)).await;
    assert_eq!(ans.unwrap().content_as::<Ans>(), Some(&Ans { n: 150, seen: 150 }));
    for n in 150..1000 {
        alice.send(Message::new(Num { n }).to("worker")).unwrap();
    }
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    for request in waiting {
        match within("a request the killed process held", request).await.unwrap() {
            Err(Error::Transport(t)) => {
                assert_eq!(t.kind(), TransportErrorKind::PeerLost, "{t}");
                assert!(t.to_string().contains("nobody serves \"slow\""), "{t}");
            }
            other => panic!("expected the request to fail as lost, got {other:?}"),
        }
    }
    // And what comes after: nobody serves "worker" now, said at once.
    let after = within(
        "a request after the kill",
        alice.request(Message::new(Ask { n: 0 }).to("worker"), Some(Duration::from_secs(600))),
    )
    .await;
    assert!(matches!(after, Err(Error::UnknownDestination(_))), "{after:?}");
    assert_eq!(a.stats().requests_failed_disconnected, 0);
}

/// Starts a [`child_dispatcher`] on the server at `url`; returns once it
/// has joined.
fn spawn_child(url: &str) -> ChildProcess {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "transport::processes::child_dispatcher", "--ignored", "--nocapture"])
        .env(CHILD_URL, url)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = ChildProcess(child);
    let ready = BufReader::new(stdout).lines().map_while(Result::ok).any(|l| l.trim() == "ready");
    assert!(ready, "the child dispatcher ended before it joined");
    child
}
