//! More than one listener from one `listener` of a program: instances that
//! share its table, and so its reloads, each with queues of its own.

use std::sync::Arc;

use dispatchio_core::RoutedListener;

use super::{Error, RouteListener, Routes, chain};

impl Routes {
    /// A new listener that runs the table of the file's listener `name`,
    /// with queues and per-rule hit counters of its own: register it under
    /// any destination ID, once per destination it is to serve, as the
    /// compiled form's `Listener::new` does. Four players from one
    /// `listener player`:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use dispatchio_core::{Dispatcher, DynContent, DynValue, Message};
    /// # let dir = std::env::temp_dir().join(format!("interp-instance-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("game.route");
    /// # std::fs::write(&path, "message Card { card: int }\nlistener player {\n    rule deal when type == Card => queue hand\n}\n")?;
    /// let routes = dispatchio_dsl::interp::load(&path)?.build()?;
    /// let dispatcher = Dispatcher::new();
    /// let mut players = Vec::new();
    /// for name in ["ann", "bob", "cid", "dan"] {
    ///     let player = routes.instance("player")?;
    ///     dispatcher.register(name, player.clone())?;
    ///     players.push(player);
    /// }
    /// let card = DynValue::Record([("card".to_owned(), DynValue::Int(7))].into());
    /// let card = std::sync::Arc::new(DynContent::new("Card", card));
    /// dispatcher.send(Message::from_shared(card).to("cid"))?;
    /// assert!(players[2].queue("hand")?.recv().await.is_some()); // cid's hand, nobody else's
    /// assert!(players[0].queue("hand")?.is_empty());
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok(()) }
    /// ```
    ///
    /// Every instance routes with the one table of its listener, so
    /// [`reload`](Routes::reload) switches them all at once, and each is
    /// bound to the same forward targets (the program's listeners, by
    /// name). An instance costs its queues and counters, not a build of the
    /// program.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownListener`] when the file declares no listener `name`.
    pub fn instance(&self, name: &str) -> Result<Arc<RouteListener>, Error> {
        let primary = self.primary(name)?;
        let listener = RoutedListener::new(primary.matcher().share(), primary.handlers().clone());
        chain::bind_forwards(&listener, &self.inner.listeners, &self.inner.index);
        Ok(Arc::new(listener))
    }
}
