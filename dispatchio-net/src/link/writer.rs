//! The writing half of a connection: queued batches, pings and pongs, all
//! through the write half that senders also write to directly.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use futures::SinkExt;
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use super::{Batch, Direct, End, Link, Out, Shared};
use crate::error::DownReason;
use crate::wire::{self, Frame};

pub(super) async fn write_loop(
    link: &Link,
    pongs: &mut mpsc::Receiver<u64>,
    stop: &CancellationToken,
    keepalive: Option<Duration>,
) -> End {
    let shared = &*link.shared;
    let mut ping = keepalive.map(|k| tokio::time::interval_at(tokio::time::Instant::now() + k, k));
    let mut ping_counter = 0u64;
    // Made once: a cancellation future per frame would register and
    // unregister a waiter on the token for every frame written.
    let cancelled = stop.cancelled();
    tokio::pin!(cancelled);
    // Senders that write directly poll with this task's waker.
    poll_fn(|cx| {
        shared.direct.lock().writer = Some(cx.waker().clone());
        Poll::Ready(())
    })
    .await;
    loop {
        // Everything queued, a batch at a time (what was queued while one
        // was written is the next), before waiting again: frames queued
        // while no connection was up are sent first thing.
        while let Some(batch) = link.take_batch() {
            if !batch.requests.is_empty() {
                // Recorded before writing, so a reply cannot overtake it.
                shared.in_flight.lock().extend(batch.requests.iter().copied());
            }
            let goodbye = batch.goodbye;
            match guarded(cancelled.as_mut(), feed(shared, batch)).await {
                None => return End::Stopped,
                Some(Err(e)) => return End::Reason(DownReason::io(&e)),
                Some(Ok(())) => {}
            }
            let flushed = guarded(cancelled.as_mut(), flush(shared)).await;
            if goodbye {
                return End::Reason(DownReason::LocalClose);
            }
            match flushed {
                None => return End::Stopped,
                Some(Err(e)) => return End::Reason(DownReason::io(&e)),
                Some(Ok(())) => {}
            }
        }
        let control = tokio::select! {
            biased;
            _ = &mut cancelled => return End::Stopped,
            Some(n) = pongs.recv() => Some(Frame::Pong(n)),
            () = shared.queued_frames.notified() => None,
            // A sender's direct write left part of a flush to do.
            () = shared.flush.notified() => None,
            _ = tick(&mut ping) => {
                ping_counter += 1;
                Some(Frame::Ping(ping_counter))
            }
        };
        if let Some(frame) = control {
            // Control frames are tiny and of fixed shape; encoding cannot fail.
            let bytes = wire::encode_frame(&frame).unwrap_or_default();
            match guarded(cancelled.as_mut(), feed_control(shared, bytes)).await {
                None => return End::Stopped,
                Some(Err(e)) => return End::Reason(DownReason::io(&e)),
                Some(Ok(())) => {}
            }
        }
        match guarded(cancelled.as_mut(), flush(shared)).await {
            None => return End::Stopped,
            Some(Err(e)) => return End::Reason(DownReason::io(&e)),
            Some(Ok(())) => {}
        }
    }
}

/// A batch on its way from the outbox to the codec; its frames are
/// uncounted from `Shared::queued` when handed over, or when dropped on the
/// way (the connection failed: they are lost with it, and its requests are
/// reported as in flight).
struct InHand<'a> {
    batch: Option<Batch>,
    queued: &'a AtomicUsize,
}

impl Drop for InHand<'_> {
    fn drop(&mut self) {
        if let Some(b) = self.batch.take() {
            self.queued.fetch_sub(b.frames, Ordering::SeqCst);
        }
    }
}

/// Hands a batch of queued frames to the codec of the shared write half.
fn feed(shared: &Shared, batch: Batch) -> impl Future<Output = std::io::Result<()>> + '_ {
    let mut in_hand = InHand { batch: Some(batch), queued: &shared.queued };
    poll_fn(move |cx| {
        let mut direct = shared.direct.lock();
        let Some(sink) = direct.sink.as_mut() else {
            return Poll::Ready(Err(std::io::ErrorKind::NotConnected.into()));
        };
        ready!(SinkExt::<Out>::poll_ready_unpin(sink, cx))?;
        let Some(batch) = in_hand.batch.take() else { return Poll::Ready(Ok(())) };
        // Under the lock senders check the count under: once it is zero,
        // every queued frame is in the codec, ahead of theirs.
        shared.queued.fetch_sub(batch.frames, Ordering::SeqCst);
        Poll::Ready(SinkExt::<Out>::start_send_unpin(sink, Out::Batch(batch.buf)))
    })
}

/// Hands a control frame (ping, pong) to the codec; it is not queued.
fn feed_control(shared: &Shared, bytes: Bytes) -> impl Future<Output = std::io::Result<()>> + '_ {
    let mut bytes = Some(bytes);
    poll_fn(move |cx| {
        let mut direct = shared.direct.lock();
        let Some(sink) = direct.sink.as_mut() else {
            return Poll::Ready(Err(std::io::ErrorKind::NotConnected.into()));
        };
        ready!(SinkExt::<Out>::poll_ready_unpin(sink, cx))?;
        match bytes.take() {
            Some(b) => Poll::Ready(SinkExt::<Out>::start_send_unpin(sink, Out::Frame(b))),
            None => Poll::Ready(Ok(())),
        }
    })
}

/// Flushes the shared write half.
fn flush(shared: &Shared) -> impl Future<Output = std::io::Result<()>> + '_ {
    poll_fn(move |cx| match shared.direct.lock().sink.as_mut() {
        Some(sink) => SinkExt::<Out>::poll_flush_unpin(sink, cx),
        None => Poll::Ready(Err(std::io::ErrorKind::NotConnected.into())),
    })
}

/// Takes the write half back from senders when a connection ends.
pub(super) struct ClearDirect<'a>(pub(super) &'a Shared);

impl Drop for ClearDirect<'_> {
    fn drop(&mut self) {
        *self.0.direct.lock() = Direct::default();
    }
}

async fn tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Runs `fut` unless the stop token fires while it waits (a write to a peer that stopped
/// reading must not keep a closing link alive).
pub(super) async fn guarded<F: Future>(
    cancelled: Pin<&mut WaitForCancellationFuture<'_>>,
    fut: F,
) -> Option<F::Output> {
    // The work first: a write that completes at once (the usual case: the
    // codec's buffer has room) does not even look at the token.
    tokio::select! {
        biased;
        out = fut => Some(out),
        _ = cancelled => None,
    }
}
