//! The one place cutover creates async runtimes. Every session owns a current-thread runtime
//! and drives its driver on it, so the connector API is synchronous and async never leaves
//! this crate (cutover's own history file borrows a [`Runtime`] from here too).

/// A current-thread runtime with I/O and timers.
pub struct Runtime(tokio::runtime::Runtime);

impl Runtime {
    /// A new runtime.
    pub fn new() -> Result<Runtime, crate::SourceError> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(Runtime)
            .map_err(|e| crate::SourceError::Unsupported {
                what: format!("cannot start an I/O runtime: {e}"),
                hint: "the process may have run out of threads or file descriptors".into(),
            })
    }

    /// Runs `future` to completion.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
}

/// Runs `future` to completion on a runtime of its own.
pub fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, crate::SourceError> {
    Ok(Runtime::new()?.block_on(future))
}
