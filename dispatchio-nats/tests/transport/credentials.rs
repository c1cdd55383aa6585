//! Credentials files (`NatsConfig::credentials_file`): a valid one admitted
//! by a server in operator mode, one the server does not trust refused at
//! join, and a file that is not one named in the error.

use super::*;
use crate::support::Operator;

/// Writes `text` as `name` in `dir` and returns its path.
fn creds_file(dir: &tempfile::TempDir, name: &str, text: String) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn a_valid_credentials_file_is_admitted_and_its_dispatcher_reaches_others() {
    let operator = Operator::new("dispatchio-test");
    let game = operator.account("game");
    let server = NatsServer::start_trusting(&operator, &[&game]).await;
    let dir = tempfile::tempdir().unwrap();
    let bob_creds = creds_file(&dir, "bob.creds", game.user_credentials("bob"));
    let alice_creds = creds_file(&dir, "alice.creds", game.user_credentials("alice"));
    let bob = Dispatcher::new();
    counting(&bob, "bob");
    let _b =
        within("bob's join", bob.join_nats(config(&server, "bob").credentials_file(bob_creds)))
            .await
            .unwrap();
    let alice = Dispatcher::new();
    let _a = within(
        "alice's join",
        alice.join_nats(config(&server, "alice").credentials_file(alice_creds)),
    )
    .await
    .unwrap();
    let reply = alice.request(Message::new(Ask { n: 6 }).to("bob"), Some(PROMPTLY)).await;
    assert_eq!(reply.unwrap().content_as::<Ans>(), Some(&Ans { n: 6, seen: 0 }));
}

#[tokio::test]
async fn a_credentials_file_of_a_user_the_server_does_not_trust_is_refused_at_join() {
    let operator = Operator::new("dispatchio-test");
    let game = operator.account("game");
    let server = NatsServer::start_trusting(&operator, &[&game]).await;
    // Well-formed and signed, but by an account of an operator the server
    // does not trust.
    let stranger = Operator::new("elsewhere").account("game");
    let dir = tempfile::tempdir().unwrap();
    let path = creds_file(&dir, "stranger.creds", stranger.user_credentials("mallory"));
    let e = within(
        "join_nats",
        Dispatcher::new().join_nats(config(&server, "mallory").credentials_file(path)),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), NatsErrorKind::Refused, "{e}");
    assert!(e.to_string().contains(server.url()), "{e}");
}

#[tokio::test]
async fn a_credentials_file_that_is_not_one_is_a_credentials_error_at_join_naming_it() {
    let server = NatsServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = creds_file(&dir, "bad.creds", "not a credentials file\n".to_owned());
    let e = within(
        "join_nats",
        Dispatcher::new().join_nats(config(&server, "d").credentials_file(path.clone())),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), NatsErrorKind::Credentials, "{e}");
    assert!(e.to_string().contains("bad.creds"), "{e}");
}
