//! [`NatsExt::join_nats`]: connecting, attaching the outlet as the
//! dispatcher's fallback, and the tasks that keep it going; the [`Nats`]
//! handle that gives.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot, watch};

use crate::config::{Auth, Delivery, NatsConfig};
use crate::conflict::Conflict;
use crate::durable::{self, Durable, DurablePublisher};
use crate::inbox::{InboxSubscriptions, read_inbox};
use crate::outlet::{NatsOutlet, publish};
use crate::roster::Roster;
use crate::serve::{Command, Serving, serve};
use crate::stats::{Counters, NatsStats, bump};
use crate::{Namespace, NatsError, NatsErrorKind, SubjectKind};
use dispatchio_core::{Dispatcher, Id, TransportErrorKind};

/// Puts a [`Dispatcher`] on a NATS cluster.
///
/// An extension of the core's dispatcher (implemented for it alone), so
/// that the dispatcher knows nothing of NATS: bring it into scope with
/// `use dispatchio::nats::NatsExt;`.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::Dispatcher;
/// use dispatchio_nats::{NatsConfig, NatsExt};
/// use dispatchio_core::{Message, Text};
/// let dispatcher = Dispatcher::new();
/// let _nats = dispatcher.join_nats(NatsConfig::new("nats://127.0.0.1:4222").namespace("game")).await?;
/// // Nobody here serves "bob": the dispatcher of the namespace that does gets it.
/// dispatcher.send(Message::new(Text::from("hi")).to("bob"))?;
/// # Ok(()) }
/// ```
pub trait NatsExt {
    /// Connects to the cluster and makes it the dispatcher's fallback: from
    /// then on, messages to destinations and groups nobody in this process
    /// serves go to the dispatchers of the namespace that serve them, and
    /// this process's destinations and groups are served to them. Returns
    /// once the server has this process's subscriptions.
    ///
    /// # Errors
    ///
    /// [`NatsError`]: a bad namespace, credentials that cannot be read or
    /// that the server refuses, no server reachable within the connect
    /// timeout, TLS that cannot be set up, a dispatcher that joined
    /// already.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Dispatcher;
    /// use dispatchio_nats::{NatsConfig, NatsExt};
    /// use dispatchio_nats::NatsErrorKind;
    /// let dispatcher = Dispatcher::new();
    /// let nats = dispatcher.join_nats(NatsConfig::new("nats://127.0.0.1:4222").namespace("game").name("dealer")).await?;
    /// assert_eq!(nats.name(), "dealer");
    /// let again = dispatcher.join_nats(NatsConfig::new("nats://127.0.0.1:4222")).await.unwrap_err();
    /// assert_eq!(again.kind(), NatsErrorKind::AlreadyJoined);
    /// # Ok(()) }
    /// ```
    fn join_nats(&self, config: NatsConfig)
    -> impl Future<Output = Result<Nats, NatsError>> + Send;
}

/// A dispatcher's membership of a cluster (made by
/// [`NatsExt::join_nats`]). Dropping it changes nothing: the dispatcher
/// stays joined until it shuts down (its subscriptions are then drained)
/// or [`leave`](Self::leave) is called.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dispatchio_core::Dispatcher;
/// use dispatchio_nats::{NatsConfig, NatsExt};
/// let dispatcher = Dispatcher::new();
/// let nats = dispatcher.join_nats(NatsConfig::new("nats://127.0.0.1:4222").namespace("game").name("dealer")).await?;
/// assert_eq!(nats.outlet_name(), "nats:game/dealer");
/// assert_eq!(dispatcher.snapshot().fallback.as_deref(), Some("nats:game/dealer"));
/// nats.leave().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Nats {
    outlet: Arc<NatsOutlet>,
    commands: mpsc::Sender<Command>,
    client: async_nats::Client,
}

impl std::fmt::Debug for Nats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nats").field("name", &self.outlet.dispatcher_name).finish_non_exhaustive()
    }
}

impl Nats {
    /// This dispatcher's name on the cluster.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Dispatcher;
    /// use dispatchio_nats::{NatsConfig, NatsExt};
    /// let dispatcher = Dispatcher::new();
    /// let nats = dispatcher.join_nats(NatsConfig::new("nats://127.0.0.1:4222")).await?;
    /// assert!(nats.name().starts_with("pid")); // made up: no name was given
    /// # Ok(()) }
    /// ```
    pub fn name(&self) -> &str {
        &self.outlet.dispatcher_name
    }

    /// The outlet's name (`nats:<namespace>/<name>`), as errors and
    /// [`Snapshot::fallback`](dispatchio_core::Snapshot) show it.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Dispatcher;
    /// use dispatchio_nats::{NatsConfig, NatsExt};
    /// let dispatcher = Dispatcher::new();
    /// let nats = dispatcher.join_nats(NatsConfig::new("nats://127.0.0.1:4222").namespace("game").name("dealer")).await?;
    /// assert_eq!(nats.outlet_name(), "nats:game/dealer");
    /// # Ok(()) }
    /// ```
    pub fn outlet_name(&self) -> &str {
        &self.outlet.outlet_name
    }

    /// What the NATS side has counted so far.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Dispatcher;
    /// use dispatchio_nats::{NatsConfig, NatsExt};
    /// use dispatchio_core::{Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// let nats = dispatcher.join_nats(NatsConfig::new("nats://127.0.0.1:4222").namespace("game").name("dealer")).await?;
    /// dispatcher.send(Message::new(Text::from("hi")).to("bob"))?;
    /// let stats = nats.stats();
    /// assert_eq!((stats.bad_frames, stats.disconnects), (0, 0)); // a healthy cluster
    /// # Ok(()) }
    /// ```
    pub fn stats(&self) -> NatsStats {
        self.outlet.counters.snapshot()
    }

    /// The other dispatchers of the namespace with members of each group,
    /// as their roster notes said: a group request from here waits for an
    /// answer from each.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Dispatcher;
    /// use dispatchio_nats::{NatsConfig, NatsExt};
    /// let dispatcher = Dispatcher::new();
    /// let nats = dispatcher.join_nats(NatsConfig::new("nats://127.0.0.1:4222").namespace("game").name("dealer")).await?;
    /// for (group, dispatchers) in nats.roster() {
    ///     println!("group {group} has members in {dispatchers:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn roster(&self) -> BTreeMap<Id, BTreeSet<String>> {
        // After `followed`: a group listed here is one the outlet is a
        // member of already (`NatsOutlet::note_groups`).
        let _followed = self.outlet.followed.lock();
        self.outlet.roster.lock().by_group()
    }

    /// The conflicts over destination IDs this dispatcher serves or wants
    /// to: another dispatcher of the namespace wanting one it serves, or
    /// serving one it has a listener for (which it then does not serve on
    /// the cluster until the other lets it go). Each is listed by both
    /// dispatchers, logged as an error when it starts, and counted in
    /// [`NatsStats::conflicts`](crate::NatsStats::conflicts).
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Dispatcher;
    /// use dispatchio_nats::{NatsConfig, NatsExt};
    /// let dispatcher = Dispatcher::new();
    /// let nats = dispatcher.join_nats(NatsConfig::new("nats://127.0.0.1:4222").namespace("game").name("dealer")).await?;
    /// assert!(nats.conflicts().iter().all(|c| c.holder == "dealer" || c.claimant == "dealer"));
    /// # Ok(()) }
    /// ```
    pub fn conflicts(&self) -> Vec<Conflict> {
        self.outlet.conflicts.borrow().clone()
    }

    /// [`conflicts`](Self::conflicts) as they change.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Dispatcher;
    /// use dispatchio_nats::{NatsConfig, NatsExt};
    /// let dispatcher = Dispatcher::new();
    /// let nats = dispatcher.join_nats(NatsConfig::new("nats://127.0.0.1:4222").namespace("game").name("dealer")).await?;
    /// let mut conflicts = nats.watch_conflicts();
    /// while conflicts.changed().await.is_ok() {
    ///     let now = conflicts.borrow().clone();
    ///     println!("{} conflicts", now.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn watch_conflicts(&self) -> watch::Receiver<Vec<Conflict>> {
        self.outlet.conflicts.subscribe()
    }

    /// The client underneath (to watch its connection state, say).
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Dispatcher;
    /// use dispatchio_nats::{NatsConfig, NatsExt};
    /// let dispatcher = Dispatcher::new();
    /// let nats = dispatcher.join_nats(NatsConfig::new("nats://127.0.0.1:4222").namespace("game").name("dealer")).await?;
    /// println!("connection: {:?}", nats.client().connection_state());
    /// # Ok(()) }
    /// ```
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// Returns once every change to what this process serves, up to now,
    /// is subscribed on the server. Other dispatchers on the same server
    /// reach it from then on; on other servers of a cluster, a moment
    /// later (interest crosses routes a little after).
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Dispatcher;
    /// use dispatchio_nats::{NatsConfig, NatsExt};
    /// # fn inbox() -> std::sync::Arc<dispatchio_core::RoutedListener<dispatchio_core::routing::RoutingTable, dispatchio_core::FnHandlers>> {
    /// #     use dispatchio_core::routing::{Action, Cond, RoutingTable};
    /// #     let table = RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build().unwrap();
    /// #     std::sync::Arc::new(dispatchio_core::RoutedListener::builder(table).build().unwrap())
    /// # }
    /// let dispatcher = Dispatcher::new();
    /// let nats = dispatcher.join_nats(NatsConfig::new("nats://127.0.0.1:4222").namespace("game").name("dealer")).await?;
    /// dispatcher.register("bob", inbox())?;
    /// nats.sync().await; // from now on, other dispatchers on this server reach "bob"
    /// # Ok(()) }
    /// ```
    pub async fn sync(&self) {
        let (done, wait) = oneshot::channel();
        if self.commands.send(Command::Sync(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// Leaves the cluster: the subscriptions gone, the outlet detached
    /// (sends to what nobody here serves fail again with
    /// `UnknownDestination`), what was queued published, the connection
    /// closed. Requests still waiting fail.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::Dispatcher;
    /// use dispatchio_nats::{NatsConfig, NatsExt};
    /// use dispatchio_core::{Error, Message, Text};
    /// let dispatcher = Dispatcher::new();
    /// let nats = dispatcher.join_nats(NatsConfig::new("nats://127.0.0.1:4222").namespace("game").name("dealer")).await?;
    /// nats.leave().await;
    /// let alone = dispatcher.send(Message::new(Text::from("hi")).to("bob"));
    /// assert!(matches!(alone, Err(Error::UnknownDestination(_)))); // no fallback any more
    /// # Ok(()) }
    /// ```
    pub async fn leave(&self) {
        let (done, wait) = oneshot::channel();
        if self.commands.send(Command::Leave(done)).await.is_ok() {
            let _ = wait.await;
        }
        self.outlet.fail_pending(TransportErrorKind::Closed, "left the NATS cluster");
    }
}

impl NatsExt for Dispatcher {
    async fn join_nats(&self, config: NatsConfig) -> Result<Nats, NatsError> {
        let ns = Namespace::new(config.namespace.clone()).map_err(|e| {
            NatsError::new(NatsErrorKind::Namespace, "cannot join NATS").with_source(e)
        })?;
        let counters = Arc::new(Counters::default());
        let (events, events_rx) = mpsc::unbounded_channel();
        let client = connect(&config, events).await?;
        let name = config.name.clone().unwrap_or_else(|| made_up_name(&client));
        let outlet_name = format!("nats:{}/{name}", ns.as_str());
        let set_up = match config.delivery {
            Delivery::Core => None,
            Delivery::JetStream => Some(durable::set_up(&client, &ns, &name, &config).await?),
        };
        // Replies come to an inbox of this dispatcher's own, under the
        // client's inbox prefix.
        let inbox = client.new_inbox();
        let (queue, queue_rx) = mpsc::channel(config.queue_capacity);
        let (remote_groups, remote_groups_rx) = watch::channel(BTreeSet::new());
        let name_for_presence = name.clone();
        let durable = set_up.as_ref().map(|_| Durable::new(made_up_name(&client), &name));
        let outlet = Arc::new(NatsOutlet {
            outlet_name,
            dispatcher_name: name,
            ns,
            inbox,
            queue,
            pending: Mutex::new(HashMap::new()),
            seq: Default::default(),
            counters,
            registry: config.registry.clone(),
            roster: Mutex::new(Roster::default()),
            remote_groups,
            followed: Mutex::new(BTreeSet::new()),
            my_groups: Mutex::new(BTreeSet::new()),
            my_streamed: Mutex::new(BTreeSet::new()),
            conflicts: watch::channel(Vec::new()).0,
            durable,
        });
        let subscribe = |subject: String, what: &'static str| {
            let client = client.clone();
            async move {
                client.subscribe(subject).await.map_err(|e| {
                    NatsError::new(NatsErrorKind::Subscribe, format!("cannot subscribe to {what}"))
                        .with_source(e)
                })
            }
        };
        let presence_subject = outlet
            .ns
            .subject(SubjectKind::Dispatcher, &Id::from(name_for_presence))
            .map_err(|e| {
                NatsError::new(NatsErrorKind::Namespace, "the dispatcher's name is too long")
                    .with_source(e)
            })?;
        let subs = InboxSubscriptions {
            inbox: subscribe(format!("{}.>", outlet.inbox), "this dispatcher's inbox").await?,
            roster: subscribe(outlet.ns.roster(), "the roster").await?,
            presence: subscribe(presence_subject, "this dispatcher's presence subject").await?,
        };
        let attachment = Arc::new(self.attach(outlet.clone()));
        if !attachment.set_fallback() {
            return Err(NatsError::new(
                NatsErrorKind::AlreadyJoined,
                "cannot join NATS: the dispatcher has a fallback transport already (joined before?)",
            ));
        }
        let (publisher, consumer, durable_groups) = match set_up {
            Some(s) => {
                let publisher = DurablePublisher::start(s.js, Arc::downgrade(&outlet));
                (Some(publisher), Some(s.consumer), Some(s.groups))
            }
            None => (None, None, None),
        };
        tokio::spawn(publish(client.clone(), Arc::downgrade(&outlet), queue_rx, publisher));
        tokio::spawn(read_inbox(outlet.clone(), Arc::downgrade(&attachment), client.clone(), subs));
        tokio::spawn(follow_events(Arc::downgrade(&outlet), events_rx));
        let (yields, yielded) = mpsc::unbounded_channel();
        let mut serving = Serving {
            outlet: outlet.clone(),
            client: client.clone(),
            attachment,
            watch: self.watch_directory(),
            readers: HashMap::new(),
            draining: Vec::new(),
            remote_groups: remote_groups_rx,
            contested: BTreeSet::new(),
            yields,
            yielded,
            durable_reader: None,
            durable_groups,
            said_streamed: BTreeSet::new(),
        };
        serving.apply_changes().await?;
        serving.round_trip().await;
        if let Some(consumer) = consumer {
            // After the claims: what the stream gives is for IDs this
            // dispatcher served, now delivered to its listeners.
            let (stop, stopped) = oneshot::channel();
            let inlet = self.inlet();
            let reader = tokio::spawn(durable::consume(outlet.clone(), inlet, consumer, stopped));
            serving.durable_reader = Some((reader, stop));
        }
        // Everyone answers with their groups (the roster subscription is in
        // place: the round trip came after it).
        outlet.publish_note(&outlet.here(true));
        let (commands, commands_rx) = mpsc::channel(16);
        tokio::spawn(serve(serving, commands_rx));
        tracing::info!(nats = %outlet.outlet_name, urls = ?config.urls, delivery = ?config.delivery, "joined NATS");
        Ok(Nats { outlet, commands, client })
    }
}

/// A name unique enough among the dispatchers of a namespace: the process
/// ID and the random part of a fresh inbox.
fn made_up_name(client: &async_nats::Client) -> String {
    let inbox = client.new_inbox();
    let random = inbox.rsplit('.').next().unwrap_or_default();
    format!("pid{}-{}", std::process::id(), &random[..random.len().min(10)])
}

/// Connects with `config`'s servers, credentials and TLS, within its
/// connect timeout.
async fn connect(
    config: &NatsConfig,
    events: mpsc::UnboundedSender<async_nats::Event>,
) -> Result<async_nats::Client, NatsError> {
    let mut options = match &config.auth {
        Auth::None => async_nats::ConnectOptions::new(),
        Auth::Token(token) => async_nats::ConnectOptions::with_token(token.clone()),
        Auth::UserPassword(user, password) => {
            async_nats::ConnectOptions::with_user_and_password(user.clone(), password.clone())
        }
        Auth::NKey(seed) => async_nats::ConnectOptions::with_nkey(seed.clone()),
        Auth::CredentialsFile(path) => {
            async_nats::ConnectOptions::with_credentials_file(path).await.map_err(|e| {
                NatsError::new(
                    NatsErrorKind::Credentials,
                    format!("cannot read the credentials file {}", path.display()),
                )
                .with_source(e)
            })?
        }
    };
    if let Some(name) = &config.name {
        options = options.name(name);
    }
    options = options
        .connection_timeout(config.connect_timeout)
        // A dispatcher delivers its own messages to its own listeners; what
        // it publishes is for the others.
        .no_echo()
        .require_tls(config.tls.required)
        .event_callback(move |event| {
            let events = events.clone();
            async move {
                let _ = events.send(event);
            }
        });
    for path in &config.tls.root_certificates {
        options = options.add_root_certificates(path.clone());
    }
    if let Some((cert, key)) = &config.tls.client_certificate {
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    let urls = config.urls.join(",");
    let where_ = || format!("cannot connect to NATS at {urls}");
    let addrs: Vec<async_nats::ServerAddr> = config
        .urls
        .iter()
        .map(|u| u.parse())
        .collect::<Result<_, _>>()
        .map_err(|e| NatsError::new(NatsErrorKind::Unreachable, where_()).with_source(e))?;
    // Bounded twice: the client's own timeout is per attempt at one server.
    let timeout = config.connect_timeout * (addrs.len().max(1) as u32 + 1);
    match tokio::time::timeout(timeout, options.connect(addrs)).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => {
            use async_nats::ConnectErrorKind as K;
            let kind = match e.kind() {
                K::AuthorizationViolation => NatsErrorKind::Refused,
                K::Authentication => NatsErrorKind::Credentials,
                K::TimedOut => NatsErrorKind::Timeout,
                K::Tls => NatsErrorKind::Tls,
                _ if is_tls_failure(&e) => NatsErrorKind::Tls,
                _ => NatsErrorKind::Unreachable,
            };
            Err(NatsError::new(kind, where_()).with_source(e))
        }
        Err(_) => Err(NatsError::new(
            NatsErrorKind::Timeout,
            format!("{}: no server connected within {timeout:?}", where_()),
        )),
    }
}

/// Whether a connection failed in the TLS handshake (a certificate not
/// trusted, say): async-nats reports it as an I/O error around rustls's.
fn is_tls_failure(e: &async_nats::ConnectError) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let inner = s.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref());
        if s.is::<async_nats::rustls::Error>()
            || inner.is_some_and(|i| i.is::<async_nats::rustls::Error>())
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// What the client reports: slow consumers counted, a lost connection
/// failing the requests that waited on it (their replies cannot come).
async fn follow_events(
    outlet: Weak<NatsOutlet>,
    mut events: mpsc::UnboundedReceiver<async_nats::Event>,
) {
    while let Some(event) = events.recv().await {
        let Some(outlet) = outlet.upgrade() else { return };
        match event {
            async_nats::Event::SlowConsumer(sid) => {
                bump(&outlet.counters.slow_consumer_events);
                tracing::error!(nats = %outlet.outlet_name, subscription = sid, "slow consumer: NATS dropped messages of a subscription not read fast enough");
            }
            async_nats::Event::Disconnected => {
                bump(&outlet.counters.disconnects);
                let failed = outlet.fail_pending(
                    TransportErrorKind::PeerLost,
                    "the connection to NATS was lost while the request waited for its answer",
                );
                outlet
                    .counters
                    .requests_failed_disconnected
                    .fetch_add(failed as u64, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(nats = %outlet.outlet_name, failed_requests = failed, "disconnected from NATS; reconnecting");
            }
            async_nats::Event::Connected => {
                tracing::info!(nats = %outlet.outlet_name, "connected to NATS");
            }
            async_nats::Event::ServerError(e) => {
                tracing::error!(nats = %outlet.outlet_name, error = %e, "NATS server error");
            }
            async_nats::Event::ClientError(e) => {
                tracing::error!(nats = %outlet.outlet_name, error = %e, "NATS client error");
            }
            other => tracing::debug!(nats = %outlet.outlet_name, event = %other, "NATS event"),
        }
    }
}
