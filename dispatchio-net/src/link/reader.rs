//! The reading half of a connection: frames in order to [`LinkEvents`],
//! keep-alive, the announcement limit.

use std::time::Duration;

use futures::FutureExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::{End, Link, LinkEvents, ReadSide};
use crate::error::DownReason;
use crate::frames::ReadError;
use crate::wire::{self, FrameIn, Payload};

pub(super) async fn read_loop<E: LinkEvents>(
    link: &Link,
    stream: &mut ReadSide,
    events: &E,
    pong_tx: mpsc::Sender<u64>,
    stop: &CancellationToken,
    keepalive: Option<Duration>,
) -> End {
    // Three missed pings: long enough to ride out a busy peer, short enough
    // to notice a vanished machine.
    let dead_after = keepalive.map(|k| k * 3);
    let mut unchecked = 0;
    loop {
        // A frame already buffered is taken without a keep-alive timer or a
        // look at the stop token, which cost more than the frame itself when
        // a peer streams; the token is still checked every few frames, so a
        // flood cannot keep a closed link reading.
        let range = match stream.buffered() {
            Ok(Some(range)) => range,
            Ok(None) => {
                // The socket is tried once as it is (most often it has more),
                // then waited on with the timer and the token.
                let filled = match stream.fill().now_or_never() {
                    Some(filled) => filled,
                    None => {
                        tokio::select! {
                            biased;
                            () = stop.cancelled() => return End::Stopped,
                            filled = fill_within(stream, dead_after) => match filled {
                                Ok(filled) => filled,
                                Err(after) => {
                                    return End::Reason(DownReason::KeepaliveTimeout { after });
                                }
                            },
                        }
                    }
                };
                match filled {
                    Ok(true) => continue,
                    Ok(false) => return End::Reason(DownReason::PeerClosed),
                    Err(e) => return End::Reason(read_error(e, link)),
                }
            }
            Err(e) => return End::Reason(read_error(e, link)),
        };
        unchecked += 1;
        if unchecked == STOP_CHECK_EVERY {
            unchecked = 0;
            if stop.is_cancelled() {
                return End::Stopped;
            }
        }
        let body = stream.frame(range);
        // Too many announcements are refused from the frame's header,
        // before decoding them costs anything.
        if let Some(n) = wire::announce_len(body).filter(|&n| n > link.shared.max_announcements) {
            refuse_announcement(link, events, n);
            continue;
        }
        let frame = match wire::decode_frame_in(body) {
            Ok(frame) => frame,
            Err(e) => return End::Reason(DownReason::Malformed(e.to_string())),
        };
        let payload = match frame {
            FrameIn::Message(m) => {
                events.received_message(link, m).await;
                continue;
            }
            FrameIn::Reply(r) => {
                link.shared.in_flight.lock().remove(&r.to);
                Payload::Reply(r)
            }
            // The same limit for a frame whose header was not read above
            // (another valid encoding of it).
            FrameIn::Announce(a) if a.len() > link.shared.max_announcements => {
                refuse_announcement(link, events, a.len());
                continue;
            }
            FrameIn::Announce(a) => Payload::Announce(a),
            FrameIn::Ping(n) => {
                // If pongs back up, the writer is stuck anyway; dropping one
                // is harmless since any frame proves liveness.
                let _ = pong_tx.try_send(n);
                continue;
            }
            FrameIn::Pong(_) => continue,
            FrameIn::Goodbye(text) => return End::Reason(DownReason::Goodbye(text)),
        };
        events.received(link, payload).await;
    }
}

/// Logs and reports an `Announce` frame refused for listing `entries`
/// announcements, more than the link takes in one frame.
fn refuse_announcement<E: LinkEvents>(link: &Link, events: &E, entries: usize) {
    warn!(
        link = %link.id(),
        peer = %link.peer_name(),
        entries,
        limit = link.shared.max_announcements,
        "announcement refused: it lists more than one frame may (NetConfig::max_announcements)"
    );
    events.announcement_refused(link, entries);
}

/// How many frames the reader takes in a row before it looks at the stop
/// token again.
const STOP_CHECK_EVERY: u32 = 64;

/// Reads more of the socket, giving up after `limit` (the keep-alive's
/// patience) when there is one.
async fn fill_within(
    stream: &mut ReadSide,
    limit: Option<Duration>,
) -> Result<Result<bool, ReadError>, Duration> {
    match limit {
        None => Ok(stream.fill().await),
        Some(limit) => tokio::time::timeout(limit, stream.fill()).await.map_err(|_| limit),
    }
}

fn read_error(e: ReadError, link: &Link) -> DownReason {
    match e {
        ReadError::TooLarge => DownReason::FrameTooLarge { max: link.shared.max_frame_len },
        ReadError::Truncated => DownReason::io(&std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the peer closed the connection in the middle of a frame",
        )),
        ReadError::Io(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof
            ) =>
        {
            DownReason::PeerClosed
        }
        ReadError::Io(e) => DownReason::io(&e),
    }
}
