//! Why the exporter could not start or stop cleanly.

use crate::state::StateError;

/// Why the exporter could not start.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A source's HTTP client could not be built (bad proxy URL, unreadable CA file).
    #[error("config error: sources[{source_name}]: {message}")]
    Transport {
        /// The source.
        source_name: String,
        /// Why.
        message: String,
    },
    /// The checkpoint could not be restored (unreadable, or counted with other buckets).
    #[error(transparent)]
    State(#[from] StateError),
    /// The checkpoint could not be written at shutdown (the error was logged).
    #[error("the final checkpoint could not be written")]
    FinalCheckpoint,
    /// The web server failed.
    #[error("web server: {0}")]
    Serve(#[from] std::io::Error),
}
