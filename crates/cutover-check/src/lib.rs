//! The core of cutover: canonical values, fingerprints and the row diff.
//!
//! Everything here is pure and synchronous: no I/O, no clock, no async. Connectors turn engine
//! values into [`canonical::Cell`]s and build [`Batch`]es; [`Batch::hash`] computes keys, row
//! digests and [`Fingerprint`]s on the rayon pool; [`diff::diff`] merge-joins two key-ordered
//! streams of hashed batches into an exact [`TableDiff`].

pub mod batch;
pub mod canonical;
pub mod diagnose;
pub mod diff;
pub mod fingerprint;

pub use batch::{Batch, CellNotes, HashedBatch};
pub use canonical::{Cell, ColumnCodec, Kind};
pub use diff::{DiffError, DiffOptions, Side, TableDiff, diff};
pub use fingerprint::Fingerprint;
