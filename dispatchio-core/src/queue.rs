//! Named queues: where a `queue name` action puts messages for client code
//! to take, with async receive and timeouts.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::id::SharedStr;
use crate::message::Message;

/// A listener's named queue. Cloning gives another handle to the same queue;
/// any number of consumers may take from it (each message goes to one).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use dispatchio_core::{Message, Queue, Text};
/// let inbox = Queue::new("inbox");
/// let consumer = inbox.clone(); // the same queue
/// inbox.push(Message::new(Text::from("hi")).to("p-1")).unwrap();
/// let got = consumer.recv().await.unwrap();
/// assert_eq!(got.content_as::<Text>().unwrap().0, "hi");
/// assert!(inbox.is_empty());
/// # }
/// ```
#[derive(Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

struct Inner {
    name: SharedStr,
    items: Mutex<VecDeque<Message>>,
    notify: Notify,
    closed: AtomicBool,
}

impl Queue {
    /// An empty, open queue called `name`.
    ///
    /// ```
    /// use dispatchio_core::Queue;
    /// let q = Queue::new("inbox");
    /// assert_eq!(q.name(), "inbox");
    /// assert!(q.is_empty() && !q.is_closed());
    /// ```
    pub fn new(name: impl Into<SharedStr>) -> Queue {
        Queue {
            inner: Arc::new(Inner {
                name: name.into(),
                items: Mutex::new(VecDeque::new()),
                notify: Notify::new(),
                closed: AtomicBool::new(false),
            }),
        }
    }

    /// The queue's name.
    ///
    /// ```
    /// use dispatchio_core::Queue;
    /// assert_eq!(Queue::new("hand").name(), "hand");
    /// ```
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Appends a message and wakes one waiting consumer. A closed queue
    /// refuses it and returns it.
    ///
    /// # Errors
    ///
    /// The message itself, when the queue is closed.
    #[allow(
        clippy::result_large_err,
        reason = "the refused message goes back unboxed; refusal is the rare path"
    )]
    /// ```
    /// use dispatchio_core::{Message, Queue, Text};
    /// let q = Queue::new("inbox");
    /// assert!(q.push(Message::new(Text::from("one")).to("p-1")).is_ok());
    /// assert_eq!(q.len(), 1);
    /// q.close();
    /// let refused = q.push(Message::new(Text::from("two")).to("p-1")).unwrap_err();
    /// assert_eq!(refused.content_as::<Text>().unwrap().0, "two"); // given back
    /// assert_eq!(q.len(), 1);
    /// ```
    pub fn push(&self, msg: Message) -> Result<(), Message> {
        if self.is_closed() {
            return Err(msg);
        }
        self.inner.items.lock().push_back(msg);
        // `notify_one` stores a permit when nobody waits, so a consumer that
        // checks the queue and then waits cannot miss this message.
        self.inner.notify.notify_one();
        Ok(())
    }

    /// Takes the oldest message, if any, without waiting.
    ///
    /// ```
    /// use dispatchio_core::{Message, Queue, Text};
    /// let q = Queue::new("inbox");
    /// assert!(q.try_recv().is_none()); // empty: no waiting
    /// q.push(Message::new(Text::from("first")).to("p-1")).unwrap();
    /// q.push(Message::new(Text::from("second")).to("p-1")).unwrap();
    /// assert_eq!(q.try_recv().unwrap().content_as::<Text>().unwrap().0, "first");
    /// assert_eq!(q.len(), 1);
    /// ```
    pub fn try_recv(&self) -> Option<Message> {
        self.inner.items.lock().pop_front()
    }

    /// Waits for the oldest message. `None` once the queue is closed and empty
    /// (its listener was deregistered or the dispatcher shut down).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use dispatchio_core::{Message, Queue, Text};
    /// let q = Queue::new("inbox");
    /// let producer = q.clone();
    /// tokio::spawn(async move {
    ///     producer.push(Message::new(Text::from("hi")).to("p-1")).unwrap();
    ///     producer.close();
    /// });
    /// assert_eq!(q.recv().await.unwrap().content_as::<Text>().unwrap().0, "hi");
    /// assert!(q.recv().await.is_none()); // closed and empty
    /// # }
    /// ```
    pub async fn recv(&self) -> Option<Message> {
        loop {
            if let Some(m) = self.try_recv() {
                return Some(m);
            }
            if self.is_closed() {
                return None;
            }
            self.inner.notify.notified().await;
        }
    }

    /// [`recv`](Self::recv) with a time limit: `None` when nothing arrives in time.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::time::Duration;
    /// use dispatchio_core::{Message, Queue, Text};
    /// let q = Queue::new("inbox");
    /// assert!(q.recv_timeout(Duration::from_millis(10)).await.is_none()); // nothing came
    /// q.push(Message::new(Text::from("hi")).to("p-1")).unwrap();
    /// assert!(q.recv_timeout(Duration::from_millis(10)).await.is_some());
    /// # }
    /// ```
    pub async fn recv_timeout(&self, timeout: Duration) -> Option<Message> {
        tokio::time::timeout(timeout, self.recv()).await.ok().flatten()
    }

    /// Takes every message now in the queue.
    ///
    /// ```
    /// use dispatchio_core::{Message, Queue, Text};
    /// let q = Queue::new("inbox");
    /// for word in ["a", "b"] {
    ///     q.push(Message::new(Text::from(word)).to("p-1")).unwrap();
    /// }
    /// let all: Vec<String> = q.drain().iter().map(|m| m.content_as::<Text>().unwrap().0.clone()).collect();
    /// assert_eq!(all, ["a", "b"]); // oldest first
    /// assert!(q.is_empty());
    /// ```
    pub fn drain(&self) -> Vec<Message> {
        self.inner.items.lock().drain(..).collect()
    }

    /// The number of messages waiting.
    ///
    /// ```
    /// use dispatchio_core::{Empty, Message, Queue};
    /// let q = Queue::new("inbox");
    /// q.push(Message::new(Empty).to("p-1")).unwrap();
    /// q.push(Message::new(Empty).to("p-1")).unwrap();
    /// assert_eq!(q.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.items.lock().len()
    }

    /// Whether no message is waiting.
    ///
    /// ```
    /// use dispatchio_core::{Empty, Message, Queue};
    /// let q = Queue::new("inbox");
    /// assert!(q.is_empty());
    /// q.push(Message::new(Empty).to("p-1")).unwrap();
    /// assert!(!q.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes the queue: no more pushes; consumers take what is left, then
    /// get `None`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use dispatchio_core::{Empty, Message, Queue};
    /// let q = Queue::new("inbox");
    /// q.push(Message::new(Empty).to("p-1")).unwrap();
    /// q.close();
    /// assert!(q.recv().await.is_some()); // what is left
    /// assert!(q.recv().await.is_none()); // then the end
    /// # }
    /// ```
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.inner.notify.notify_waiters();
        // A consumer between its emptiness check and its wait is woken by the
        // stored permit.
        self.inner.notify.notify_one();
    }

    /// Whether the queue is closed.
    ///
    /// ```
    /// use dispatchio_core::Queue;
    /// let q = Queue::new("inbox");
    /// assert!(!q.is_closed());
    /// q.clone().close(); // any handle closes the queue
    /// assert!(q.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").field("name", &self.name()).field("len", &self.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::Empty;

    #[tokio::test(start_paused = true)]
    async fn recv_waits_for_a_push_and_times_out_when_none_comes() {
        let q = Queue::new("hand");
        assert!(q.recv_timeout(Duration::from_millis(50)).await.is_none());
        let q2 = q.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            q2.push(Message::new(Empty).to(1).with_id(5)).unwrap();
        });
        let m = q.recv_timeout(Duration::from_secs(1)).await.unwrap();
        assert_eq!(m.id().get(), 5);
    }

    #[tokio::test]
    async fn a_closed_queue_hands_out_what_is_left_then_ends() {
        let q = Queue::new("hand");
        q.push(Message::new(Empty).to(1)).unwrap();
        q.close();
        assert!(q.push(Message::new(Empty).to(1)).is_err());
        assert!(q.recv().await.is_some());
        assert!(q.recv().await.is_none());
    }
}

/// A queue name a listener does not have: the error of
/// [`RoutedListener::queue`](crate::RoutedListener::queue), naming the
/// queues it does have.
///
/// ```
/// use std::sync::Arc;
/// use dispatchio_core::{RoutedListener, SharedStr};
/// use dispatchio_core::routing::{Action, Cond, RoutingTable};
/// let table = RoutingTable::builder()
///     .rule("text", Cond::type_is("Text"), [Action::queue("inbox")])
///     .build()
///     .unwrap();
/// let player = Arc::new(RoutedListener::builder(table).build().unwrap());
/// let err = player.queue("outbox").unwrap_err();
/// assert_eq!(&*err.name, "outbox");
/// assert_eq!(err.queues, [SharedStr::from("inbox")]);
/// assert_eq!(err.to_string(), r#"the listener has no queue "outbox" (its queues: "inbox")"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the listener has no queue {name:?} ({})", known_queues(.queues))]
pub struct UnknownQueue {
    /// The name asked for.
    pub name: SharedStr,
    /// The listener's queues, in the order its table names them.
    pub queues: Vec<SharedStr>,
}

fn known_queues(queues: &[SharedStr]) -> String {
    if queues.is_empty() {
        return "it has none".to_owned();
    }
    let names: Vec<String> = queues.iter().map(|q| format!("{q:?}")).collect();
    format!("its queues: {}", names.join(", "))
}
