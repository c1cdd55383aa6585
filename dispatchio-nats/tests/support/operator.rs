//! Decentralised NATS auth ("operator mode") for the tests: an operator,
//! its accounts and their users as signed JWTs, and users' `.creds` files.
//!
//! Written here because the tool that makes these (`nsc`) is not packaged
//! for Debian and no Rust crate of the field issues NATS JWTs (async-nats
//! only reads them); the format is nats-io/jwt v2's: a JWT is
//! `base64url(header).base64url(claims).base64url(signature)`, signed with
//! the issuer's NKey.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use nkeys::KeyPair;
use serde_json::{Value, json};

/// No limit, in the limits of a NATS JWT (where an absent limit is zero:
/// no connection, no subscription allowed).
const NO_LIMIT: i64 = -1;

/// An operator: the key a server in operator mode trusts, and the accounts
/// it signs.
pub(crate) struct Operator {
    key: KeyPair,
    /// The operator's self-signed JWT.
    jwt: String,
    /// The system account the server needs in operator mode.
    system: Account,
}

/// An account: its key (which signs its users) and its JWT, signed by an
/// operator.
pub(crate) struct Account {
    key: KeyPair,
    jwt: String,
}

impl Operator {
    /// A new operator with its system account.
    pub(crate) fn new(name: &str) -> Operator {
        let key = KeyPair::new_operator();
        let jwt = sign(&key, &key.public_key(), name, json!({ "type": "operator" }));
        let system = Account::signed_by(&key, "SYS");
        Operator { key, jwt, system }
    }

    /// A new account of this operator.
    pub(crate) fn account(&self, name: &str) -> Account {
        Account::signed_by(&self.key, name)
    }

    /// A server configuration that trusts this operator and knows exactly
    /// `accounts` (and the system account), from memory.
    pub(crate) fn server_config(&self, accounts: &[&Account]) -> String {
        let preload = std::iter::once(&self.system)
            .chain(accounts.iter().copied())
            .map(|a| format!("  {}: \"{}\"\n", a.public_key(), a.jwt))
            .collect::<String>();
        format!(
            "operator: \"{}\"\nsystem_account: {}\n\
             resolver: MEMORY\nresolver_preload: {{\n{preload}}}\n",
            self.jwt,
            self.system.public_key()
        )
    }
}

impl Account {
    fn signed_by(operator: &KeyPair, name: &str) -> Account {
        let key = KeyPair::new_account();
        let limits = json!({
            "subs": NO_LIMIT, "data": NO_LIMIT, "payload": NO_LIMIT,
            "imports": NO_LIMIT, "exports": NO_LIMIT, "wildcards": true,
            "conn": NO_LIMIT, "leaf": NO_LIMIT,
        });
        let nats = json!({ "type": "account", "limits": limits });
        let jwt = sign(operator, &key.public_key(), name, nats);
        Account { key, jwt }
    }

    /// The account's public key (its ID).
    pub(crate) fn public_key(&self) -> String {
        self.key.public_key()
    }

    /// The `.creds` file of a new user of this account, allowed everything:
    /// the user's JWT, signed by the account, and the user's NKey seed.
    pub(crate) fn user_credentials(&self, name: &str) -> String {
        let user = KeyPair::new_user();
        let jwt = sign(
            &self.key,
            &user.public_key(),
            name,
            json!({
                "type": "user", "pub": {}, "sub": {},
                "subs": NO_LIMIT, "data": NO_LIMIT, "payload": NO_LIMIT,
            }),
        );
        let seed = user.seed().expect("a generated key has its seed");
        format!(
            "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
             ************************* IMPORTANT *************************\n\
             NKEY Seed printed below can be used to sign and prove identity.\n\
             NKEYs are sensitive and should be treated as secrets.\n\n\
             -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n\n\
             *************************************************************\n"
        )
    }
}

/// A JWT of `subject` named `name`, with the `nats` claims `nats` (version
/// 2), issued and signed by `issuer`.
fn sign(issuer: &KeyPair, subject: &str, name: &str, mut nats: Value) -> String {
    // nats-io/jwt makes `jti` a hash of the claims; the server only needs it
    // unique.
    static ISSUED: AtomicU64 = AtomicU64::new(0);
    nats["version"] = json!(2);
    let issued_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs();
    let claims = json!({
        "jti": format!("{subject}-{}", ISSUED.fetch_add(1, Ordering::Relaxed)),
        "iat": issued_at,
        "iss": issuer.public_key(),
        "sub": subject,
        "name": name,
        "nats": nats,
    });
    let header = json!({ "typ": "JWT", "alg": "ed25519-nkey" });
    let signed = format!("{}.{}", encode(&header), encode(&claims));
    let signature = issuer.sign(signed.as_bytes()).expect("an NKey with its seed signs");
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn encode(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}
