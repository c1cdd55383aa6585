//! Helpers of the unit tests.

/// Runs `f` on its own thread and fails the test if it has not returned
/// within 30 s: a guard for fixes of hangs (the fixed code takes a fraction
/// of that in a debug build; the old code took minutes or never returned).
pub(crate) fn within_30s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(30)).expect("returned within 30 s")
}

/// `default` cases, or `PROPTEST_CASES` for a deeper run (the analyser's property tests compare every table with tens of
/// thousands of messages: a debug build does about ten tables a second).
pub(crate) fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
