//! `forward` between the listeners of one program: each listener is bound
//! to the listeners its layout names, held weakly.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use dispatchio_core::{Context, Delivery, ForwardTarget, Listener, Message, SyncContext};

use super::{RouteListener, layout_of};

/// Binds `l` to the targets of its layout that are listeners of the
/// program (`listeners`, found by name through `index`). Targets are held
/// weakly: two listeners forwarding to each other must not keep each other
/// alive.
pub(super) fn bind_forwards(
    l: &RouteListener,
    listeners: &[(String, Arc<RouteListener>)],
    index: &HashMap<String, usize>,
) {
    for target_name in &layout_of(l).forwards {
        let Some(&t) = index.get(&**target_name) else { continue };
        let chained: Arc<dyn Listener> = Arc::new(Chained {
            name: target_name.to_string(),
            target: Arc::downgrade(&listeners[t].1),
        });
        // Cannot fail: every name is in the layout's forwards, bound once.
        let _ = l.bind_forward(target_name, ForwardTarget::Listener(chained));
    }
}

/// A `forward` target: another listener of the program, held weakly.
struct Chained {
    name: String,
    target: Weak<RouteListener>,
}

impl Listener for Chained {
    fn deliver(&self, delivery: Delivery, cx: &mut Context<'_>) {
        match self.target.upgrade() {
            Some(l) => l.deliver(delivery, cx),
            None => {
                delivery.reply.send(Err(dispatchio_core::Error::UnboundForward(self.name.clone())))
            }
        }
    }

    fn deliver_sync(
        &self,
        message: Message,
        cx: &SyncContext<'_>,
    ) -> Result<Option<Message>, dispatchio_core::Error> {
        match self.target.upgrade() {
            Some(l) => l.deliver_sync(message, cx),
            None => Err(dispatchio_core::Error::UnboundForward(self.name.clone())),
        }
    }

    // The target owns its queues: the default `close` must not close them
    // when a forwarding listener is closed.
    fn close(&self) {}
}
