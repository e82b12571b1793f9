//! The core of cutover: canonical values, fingerprints and the row diff.
//!
//! Everything here is pure and synchronous: no I/O, no clock, no async. Connectors turn engine
//! values into [`canonical::Cell`]s and build [`Batch`]es; [`Batch::hash`] computes keys, row
//! digests and [`Fingerprint`]s on the rayon pool; [`diff::diff`] merge-joins two key-ordered
//! streams of hashed batches, reporting every finding to a [`DiffSink`]; [`outcome`] holds the
//! typed statuses and the one function that decides the verdict.

pub mod batch;
pub mod canonical;
pub mod decimal;
pub mod diagnose;
pub mod diff;
pub mod fingerprint;
pub mod names;
pub mod outcome;
#[cfg(test)]
mod properties;
pub mod schema;

pub use batch::{Batch, CellNotes, HashedBatch};
pub use canonical::{Cell, ColumnCodec, Kind};
pub use diff::{
    DISPLACED_LIMIT, DiffError, DiffOptions, DiffSink, Displaced, RepairSink, Side, TableDiff,
    TableDiffSink, diff, merge_join, merge_join_unordered,
};
pub use fingerprint::Fingerprint;
pub use outcome::{ChecklistStatus, DiffKind, RuleStatus, Severity, TableStatus, Verdict};
