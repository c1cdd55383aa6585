//! Memory: 1,000,000 messages queued on a listener's named queue (sent
//! through the dispatcher, routed by a one-rule table, never drained)
//! against 1,000,000 of the same `Arc`'d payloads in an unbounded tokio
//! mpsc channel. Each side runs in a fresh child process of this program,
//! which reports its peak resident set (`VmHWM`) before and after.
//!
//! Then a listener slower than its sender (1 ms per message), sent
//! 1,000,000 messages as fast as one sender can: with the default
//! unbounded mailbox every one is held; with a mailbox bounded at
//! [`memory::SLOW_BOUND`] the sender is refused past it (issue 10, item 2).

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use dispatchio::routing::{Action, Cond, RoutingTable};
use dispatchio::{Dispatcher, Message, RoutedListener};

pub(crate) const CHILD_ENV: &str = "DISPATCHIO_BENCH_MEM_CHILD";
const N: u64 = 1_000_000;

/// The payload: the same small struct on both sides.
use super::inproc::routes::Tick as Payload;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Peak resident growth of one side, in KiB, and the sends a bounded
/// mailbox refused.
pub(crate) struct Memory {
    pub(crate) peak_kb: u64,
    pub(crate) refused: u64,
}

impl Memory {
    pub(crate) fn bytes_per_msg(&self) -> f64 {
        self.peak_kb as f64 * 1024.0 / N as f64
    }
}

pub(crate) fn measure(side: &str) -> Result<Memory, Error> {
    let out = Command::new(std::env::current_exe()?).env(CHILD_ENV, side).output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let value =
        |key: &str| text.lines().find_map(|l| l.strip_prefix(key)).map(|v| v.trim().parse::<u64>());
    match (out.status.success(), value("peak_kb "), value("refused ")) {
        (true, Some(Ok(peak_kb)), None) => Ok(Memory { peak_kb, refused: 0 }),
        (true, Some(Ok(peak_kb)), Some(Ok(refused))) => Ok(Memory { peak_kb, refused }),
        _ => Err(format!(
            "memory child ({side}) failed: {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into()),
    }
}

fn vm_hwm_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub(crate) fn child(side: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let result: Result<(u64, Option<u64>), Error> = rt.block_on(async {
        match side {
            "raw" => raw().await.map(|kb| (kb, None)),
            "slow" => slow(None).await,
            "slow-bounded" => slow(Some(SLOW_BOUND)).await,
            "unread-replies" => faults::unread_replies().await,
            "stalled-frames" => faults::stalled_frames().await,
            "announce-flood" => faults::announce_flood().await,
            peer if peer.starts_with("announce-peer ") => {
                faults::announce_peer(&peer["announce-peer ".len()..]).await
            }
            _ => queued().await.map(|kb| (kb, None)),
        }
    });
    match result {
        Ok((kb, refused)) => {
            println!("peak_kb {kb}");
            if let Some(n) = refused {
                println!("refused {n}");
            }
            use std::io::Write as _;
            let _ = std::io::stdout().flush();
            // A slow listener still has its backlog: not waited for.
            std::process::exit(0);
        }
        Err(e) => {
            eprintln!("memory child: {e}");
            std::process::exit(1);
        }
    }
}

async fn queued() -> Result<u64, Error> {
    let d = Dispatcher::new();
    let table =
        RoutingTable::builder().rule("all", Cond::Always, [Action::queue("inbox")]).build()?;
    let listener = Arc::new(RoutedListener::builder(table).build()?);
    d.register("sink", listener.clone())?;
    let inbox = listener.queue("inbox")?;
    let me = d.new_source();
    let before = vm_hwm_kb().ok_or("no VmHWM")?;
    for i in 0..N {
        me.send(Message::new(Payload { n: i as i64 }).to("sink"))?;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while (inbox.len() as u64) < N {
        if std::time::Instant::now() > deadline {
            return Err(format!("only {} of {N} queued", inbox.len()).into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let after = vm_hwm_kb().ok_or("no VmHWM")?;
    drop(std::hint::black_box(inbox));
    Ok(after.saturating_sub(before))
}

/// The bound of the slow listener's mailbox in the bounded case.
pub(crate) const SLOW_BOUND: usize = 1024;

/// A million one-way messages sent as fast as one sender can to a
/// listener that takes 1 ms each: with an unbounded mailbox every one
/// is accepted and held; with a bounded one, the sender is refused
/// past the bound. Returns the peak growth and the refusals.
async fn slow(bound: Option<usize>) -> Result<(u64, Option<u64>), Error> {
    let d = Dispatcher::new();
    let table = RoutingTable::builder().rule("all", Cond::Always, [Action::call("nap")]).build()?;
    let listener = RoutedListener::builder(table)
        .handler("nap", |_m: &Message| {
            std::thread::sleep(Duration::from_millis(1));
            Ok(dispatchio::Reply::Empty)
        })
        .build()?;
    match bound {
        Some(capacity) => d.register_bounded("slow", Arc::new(listener), capacity)?,
        None => d.register("slow", Arc::new(listener))?,
    }
    let me = d.new_source();
    let before = vm_hwm_kb().ok_or("no VmHWM")?;
    let mut refused = 0u64;
    for i in 0..N {
        match me.send(Message::new(Payload { n: i as i64 }).to("slow")) {
            Ok(_) => {}
            Err(dispatchio::Error::MailboxFull { .. }) => refused += 1,
            Err(e) => return Err(e.into()),
        }
    }
    let after = vm_hwm_kb().ok_or("no VmHWM")?;
    Ok((after.saturating_sub(before), Some(refused)))
}

/// The peers of issue 10 that once grew a process's memory without
/// bound, each measured in a child of its own: the growth of the peak
/// resident set (`VmHWM`; `VmRSS` for the stalled connections, whose
/// cost is what stays), and how many messages were refused or lost.
mod faults {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use dispatchio::net::{
        self, Announcement, Handshake, Hello, LinkEvents, NetConfig, NetExt, Payload, WireContent,
        WireId, WireMessage,
    };
    use dispatchio::routing::{Action, Cond, RoutingTable};
    use dispatchio::{Dispatcher, Message, Reply, RoutedListener};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::{Error, vm_hwm_kb};

    pub(crate) const REQUESTS: u64 = 300_000;
    pub(crate) const STALLED: usize = 50;
    pub(crate) const ANNOUNCED: usize = 400_000;

    /// `server` listening on a fresh Unix socket; with the socket's path.
    async fn listening(
        server: &Dispatcher,
        tag: &str,
    ) -> Result<(dispatchio::net::RemoteAcceptor, std::path::PathBuf), Error> {
        let path =
            std::env::temp_dir().join(format!("dio-bench-{tag}-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = server.listen(&format!("unix:{}", path.display())).await?;
        Ok((listener, path))
    }

    fn vm_rss_kb() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// A peer's reader that stops at the first reply: it asks and never
    /// reads the answers.
    struct Stuck;

    impl LinkEvents for Stuck {
        async fn received(&self, _link: &net::Link, payload: Payload) {
            if let Payload::Reply(_) = payload {
                std::future::pending::<()>().await;
            }
        }
    }

    /// 300,000 requests from a peer that never reads the replies (the
    /// issue: 160 → 366 MiB, a task per reply).
    pub(crate) async fn unread_replies() -> Result<(u64, Option<u64>), Error> {
        let server = Dispatcher::new();
        let handled = Arc::new(AtomicU64::new(0));
        let h = handled.clone();
        let table =
            RoutingTable::builder().rule("all", Cond::Always, [Action::call("echo")]).build()?;
        let echo = RoutedListener::builder(table)
            .handler("echo", move |m: &Message| {
                h.fetch_add(1, Ordering::Relaxed);
                Ok(Reply::Content(m.content().clone()))
            })
            .build()?;
        server.register("echo", Arc::new(echo))?;
        let (listener, _) = listening(&server, "replies").await?;
        let link =
            net::connect(listener.local_addr(), &NetConfig::new("stuck"), Arc::new(Stuck)).await?;
        let before = vm_hwm_kb().ok_or("no VmHWM")?;
        for id in 1..=REQUESTS {
            let m = WireMessage {
                dest: Some(WireId::from("echo")),
                response_required: true,
                ..WireMessage::new(id, "Tick", Some(WireContent::encode("Tick", &id)?))
            };
            link.send(Payload::Message(m)).await?;
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while handled.load(Ordering::Relaxed) < REQUESTS {
            if std::time::Instant::now() > deadline {
                return Err("the server did not handle every request".into());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let after = vm_hwm_kb().ok_or("no VmHWM")?;
        Ok((after.saturating_sub(before), Some(server.remote_stats().replies_lost)))
    }

    /// 50 peers that pass the handshake, send the length prefix of an
    /// 8 MiB frame and one byte of it, and stall (the issue: 400 MiB).
    pub(crate) async fn stalled_frames() -> Result<(u64, Option<u64>), Error> {
        let server = Dispatcher::new();
        let (_listener, path) = listening(&server, "stalled").await?;
        let before = vm_rss_kb().ok_or("no VmRSS")?;
        let mut peers = Vec::new();
        for n in 0..STALLED {
            let mut io = tokio::net::UnixStream::connect(&path).await?;
            let hello = Handshake::Hello(Hello {
                version: net::PROTOCOL_VERSION,
                peer_name: format!("stall-{n}"),
                nonce: net::Nonce::fresh()?,
            });
            let body = hello.encode()?;
            io.write_all(&(body.len() as u32).to_be_bytes()).await?;
            io.write_all(&body).await?;
            let len = io.read_u32().await? as usize;
            let mut welcome = vec![0; len];
            io.read_exact(&mut welcome).await?;
            io.write_all(&(net::DEFAULT_MAX_FRAME_LEN as u32).to_be_bytes()).await?;
            io.write_all(&[0]).await?;
            peers.push(io);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let after = vm_rss_kb().ok_or("no VmRSS")?;
        drop(peers);
        Ok((after.saturating_sub(before), None))
    }

    /// A peer whose snapshot lists what it serves.
    struct Boast(Vec<Announcement>);

    impl LinkEvents for Boast {
        fn announcements(&self) -> Vec<Announcement> {
            self.0.clone()
        }

        async fn received(&self, _link: &net::Link, _payload: Payload) {}
    }

    /// One peer announcing 400,000 destination IDs in one frame (the
    /// issue: +73 MiB, applied whole). The peer is another process, so
    /// the growth is the receiving side's alone.
    pub(crate) async fn announce_flood() -> Result<(u64, Option<u64>), Error> {
        let server = Dispatcher::new();
        let (listener, _) = listening(&server, "announce").await?;
        let before = vm_hwm_kb().ok_or("no VmHWM")?;
        let mut peer = std::process::Command::new(std::env::current_exe()?)
            .env(super::CHILD_ENV, format!("announce-peer {}", listener.local_addr()))
            .stdout(std::process::Stdio::null())
            .spawn()?;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let result = loop {
            let applied = server.snapshot().remote.len();
            let refused = server.remote_stats().announcements_refused;
            if applied == ANNOUNCED || refused > 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let after = vm_hwm_kb().ok_or("no VmHWM")?;
                break Ok((after.saturating_sub(before), Some(applied as u64)));
            }
            if std::time::Instant::now() > deadline {
                break Err(format!("{applied} of {ANNOUNCED} applied, none refused").into());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let _ = peer.kill();
        let _ = peer.wait();
        result
    }

    /// The announcing peer of [`announce_flood`]: connects and waits to
    /// be killed.
    pub(crate) async fn announce_peer(addr: &str) -> Result<(u64, Option<u64>), Error> {
        let ids = (0..ANNOUNCED).map(|n| Announcement::Serve(WireId::Str(format!("dest-{n}"))));
        let boast = Arc::new(Boast(ids.collect()));
        let _link = net::connect(&addr.parse()?, &NetConfig::new("boast"), boast).await?;
        tokio::time::sleep(Duration::from_secs(120)).await;
        Ok((0, None))
    }
}

async fn raw() -> Result<u64, Error> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Arc<Payload>>();
    let before = vm_hwm_kb().ok_or("no VmHWM")?;
    for i in 0..N {
        tx.send(Arc::new(Payload { n: i as i64 }))?;
    }
    let after = vm_hwm_kb().ok_or("no VmHWM")?;
    drop(std::hint::black_box((tx, rx)));
    Ok(after.saturating_sub(before))
}
