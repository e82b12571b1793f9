//! The row-level diff: a merge join of two key-ordered streams of hashed batches.
//!
//! Memory is bounded by two batches per side plus the rows of one duplicated key, whatever the
//! table size. Both streams must arrive ordered by the order-preserving key encoding (binary
//! collation); a stream that goes backwards is an error, never a silent false difference.

use crate::batch::{CellNotes, HashedBatch};
use crate::canonical;
use crate::decimal::Decimal;
use crate::fingerprint::Fingerprint;
use std::cmp::Ordering;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

/// Which side of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Side {
    /// The legacy side.
    Source,
    /// The new side.
    Target,
}

impl Side {
    /// Both sides, source first.
    pub const ALL: [Side; 2] = [Side::Source, Side::Target];

    /// `source` or `target`.
    pub fn name(self) -> &'static str {
        match self {
            Side::Source => "source",
            Side::Target => "target",
        }
    }
}

/// A value as reports show it: `None` is NULL.
pub type Value = Option<String>;

/// Settings of one table's diff.
#[derive(Debug, Clone)]
pub struct DiffOptions {
    /// Columns in every row; the first `key_columns` are the key.
    pub columns: usize,
    /// How many leading columns form the key.
    pub key_columns: usize,
    /// How many sample rows to keep per kind of difference.
    pub sample_size: usize,
    /// Per column: a numeric tolerance (empty: none for any column).
    pub tolerances: Vec<Option<Tolerance>>,
}

/// A numeric tolerance: two numbers are equal when they differ by at most `absolute`, or by
/// at most `relative` times the larger magnitude. Exact numbers are compared in exact decimal
/// arithmetic; floats, which are binary to begin with, as floats.
#[derive(Debug, Clone, PartialEq)]
pub struct Tolerance {
    /// Largest absolute difference.
    pub absolute: Decimal,
    /// Largest difference relative to the larger magnitude.
    pub relative: Decimal,
}

impl Tolerance {
    /// A tolerance from configured values (their shortest decimal text is taken as exact:
    /// `0.01` means one hundredth). `None` when a value is not finite.
    pub fn new(absolute: f64, relative: f64) -> Option<Tolerance> {
        Some(Tolerance {
            absolute: Decimal::from_f64(absolute)?,
            relative: Decimal::from_f64(relative)?,
        })
    }

    /// True when the two encoded cells are numbers within this tolerance.
    pub fn accepts(&self, a: &[u8], b: &[u8]) -> bool {
        if let (Some(x), Some(y)) = (Decimal::from_cell(a), Decimal::from_cell(b)) {
            return crate::decimal::within(&x, &y, &self.absolute, &self.relative);
        }
        let (abs, rel) = (
            self.absolute.to_string().parse::<f64>().unwrap_or(0.0),
            self.relative.to_string().parse::<f64>().unwrap_or(0.0),
        );
        match (canonical::numeric_value(a), canonical::numeric_value(b)) {
            (Some(x), Some(y)) => {
                let d = (x - y).abs();
                d <= abs || d <= rel * x.abs().max(y.abs())
            }
            _ => false,
        }
    }
}

/// What one side held.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SideSummary {
    /// Rows read.
    pub rows: u64,
    /// Fingerprint of all rows read.
    pub fingerprint: Fingerprint,
    /// Per column: values kept as they were.
    pub notes: Vec<CellNotes>,
    /// Keys that occur more than once.
    pub duplicate_keys: u64,
    /// Rows under those keys.
    pub duplicate_rows: u64,
    /// Values the side could not read as their type, located; the first of them.
    pub problems: Vec<String>,
}

/// A sample row: its key and all its values.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SampleRow {
    /// Key values, in key column order.
    pub key: Vec<Value>,
    /// All values, in column order (key first).
    pub values: Vec<Value>,
}

/// A sample of a changed row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChangedRow {
    /// Key values.
    pub key: Vec<Value>,
    /// Differing columns: index, source value, target value.
    pub columns: Vec<(usize, Value, Value)>,
}

/// A sample of a duplicated key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DuplicateKey {
    /// The side it was found on.
    pub side: Side,
    /// Key values.
    pub key: Vec<Value>,
    /// How many rows carry it.
    pub rows: u64,
}

/// Samples per kind, in key order.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Samples {
    /// Rows on the source only.
    pub missing: Vec<SampleRow>,
    /// Rows on the target only.
    pub extra: Vec<SampleRow>,
    /// Rows whose values differ.
    pub changed: Vec<ChangedRow>,
    /// Keys that occur more than once.
    pub duplicates: Vec<DuplicateKey>,
}

/// The exact result of one table's diff.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TableDiff {
    /// The source side.
    pub source: SideSummary,
    /// The target side.
    pub target: SideSummary,
    /// Rows equal on both sides (including those equal within a tolerance).
    pub matched: u64,
    /// Of the matched rows, those that differ only within a numeric tolerance.
    pub matched_within_tolerance: u64,
    /// Rows on the source only.
    pub missing: u64,
    /// Rows on the target only.
    pub extra: u64,
    /// Rows with the same key and different values.
    pub changed: u64,
    /// Per column: changed rows in which it differs.
    pub changed_by_column: Vec<u64>,
    /// Per column: why its changed values differ (classified, exact counts).
    pub diagnosis: Vec<crate::diagnose::ColumnDiagnosis>,
    /// Sample rows.
    pub samples: Samples,
}

impl SideSummary {
    /// Adds the summary of the rows of another key range of the same side.
    pub fn merge(&mut self, other: &SideSummary) {
        self.rows += other.rows;
        self.fingerprint.merge(&other.fingerprint);
        for (n, m) in self.notes.iter_mut().zip(&other.notes) {
            n.merge(m);
        }
        self.duplicate_keys += other.duplicate_keys;
        self.duplicate_rows += other.duplicate_rows;
        let room = PROBLEMS_KEPT.saturating_sub(self.problems.len());
        self.problems
            .extend(other.problems.iter().take(room).cloned());
    }
}

impl TableDiff {
    /// Appends the diff of the next key range (every key of `next` follows every key of
    /// `self`): counts add up, and samples stay the first `sample_size` of each kind in key
    /// order, so the result is the diff of both ranges read as one.
    pub fn append(&mut self, next: TableDiff, sample_size: usize) {
        self.source.merge(&next.source);
        self.target.merge(&next.target);
        self.add_findings(&next);
        fn keep<T>(mine: &mut Vec<T>, theirs: Vec<T>, n: usize) {
            mine.extend(theirs);
            mine.truncate(n);
        }
        let s = next.samples;
        keep(&mut self.samples.missing, s.missing, sample_size);
        keep(&mut self.samples.extra, s.extra, sample_size);
        keep(&mut self.samples.changed, s.changed, sample_size);
        keep(&mut self.samples.duplicates, s.duplicates, sample_size);
    }

    /// The diff as one line of JSON, for a checkpoint; [`TableDiff::from_json`] reads it back
    /// exactly.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a diff is plain data")
    }

    /// A diff written by [`TableDiff::to_json`].
    pub fn from_json(text: &str) -> Result<TableDiff, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// Completes the diff of a join that left `displaced` rows out
    /// ([`merge_join_unordered`]), given the diff of a second read of exactly those keys on
    /// both sides, in the same snapshots. Rows, fingerprints and notes already count every
    /// row; what changes is the verdict on each displaced key:
    ///
    /// - a key one side held in order and the other side left out was reported as on one side
    ///   only; that finding is taken back (count and sample);
    /// - the second read's findings on every displaced key are added, and samples stay the
    ///   first `sample_size` of each kind in key order.
    ///
    /// The join must have kept [`DISPLACED_LIMIT`] samples more than `sample_size`, and the key
    /// must be one integer column (samples are ordered by its value).
    pub fn repair(&mut self, displaced: &Displaced, second: RepairSink, sample_size: usize) {
        let RepairSink { diff, only } = second;
        let fix = diff.into_diff();
        let int = |k: &[Value]| -> i128 {
            k.first()
                .and_then(Option::as_deref)
                .and_then(|v| v.parse().ok())
                .unwrap_or(i128::MIN)
        };
        let left_out = |side: usize, k: &Vec<Value>| displaced.keys[side].contains(k);
        for k in displaced.union() {
            let holds = [!only[1].contains(&k), !only[0].contains(&k)];
            let joined = [holds[0] && !left_out(0, &k), holds[1] && !left_out(1, &k)];
            if joined[0] && !joined[1] {
                self.missing = self.missing.saturating_sub(1);
                self.samples.missing.retain(|r| r.key != k);
            }
            if joined[1] && !joined[0] {
                self.extra = self.extra.saturating_sub(1);
                self.samples.extra.retain(|r| r.key != k);
            }
        }
        self.add_findings(&fix);
        for (mine, theirs) in [
            (&mut self.source, &fix.source),
            (&mut self.target, &fix.target),
        ] {
            mine.duplicate_keys += theirs.duplicate_keys;
            mine.duplicate_rows += theirs.duplicate_rows;
        }
        fn join<T>(mine: &mut Vec<T>, theirs: Vec<T>, n: usize, key: impl Fn(&T) -> i128) {
            mine.extend(theirs);
            mine.sort_by_key(|t| key(t));
            mine.truncate(n);
        }
        let s = fix.samples;
        join(&mut self.samples.missing, s.missing, sample_size, |r| {
            int(&r.key)
        });
        join(&mut self.samples.extra, s.extra, sample_size, |r| {
            int(&r.key)
        });
        join(&mut self.samples.changed, s.changed, sample_size, |r| {
            int(&r.key)
        });
        join(
            &mut self.samples.duplicates,
            s.duplicates,
            sample_size,
            |r| int(&r.key),
        );
    }

    /// Adds the counts of `other`'s findings (not its samples or side summaries).
    fn add_findings(&mut self, other: &TableDiff) {
        self.matched += other.matched;
        self.matched_within_tolerance += other.matched_within_tolerance;
        self.missing += other.missing;
        self.extra += other.extra;
        self.changed += other.changed;
        for (c, n) in self
            .changed_by_column
            .iter_mut()
            .zip(&other.changed_by_column)
        {
            *c += n;
        }
        for (d, n) in self.diagnosis.iter_mut().zip(&other.diagnosis) {
            d.merge(n);
        }
    }

    /// Keeps the first `sample_size` samples of each kind.
    pub fn truncate_samples(&mut self, sample_size: usize) {
        self.samples.missing.truncate(sample_size);
        self.samples.extra.truncate(sample_size);
        self.samples.changed.truncate(sample_size);
        self.samples.duplicates.truncate(sample_size);
    }

    /// True when both sides hold exactly the same rows and no key is duplicated.
    pub fn is_match(&self) -> bool {
        self.missing == 0
            && self.extra == 0
            && self.changed == 0
            && self.source.duplicate_keys == 0
            && self.target.duplicate_keys == 0
    }
}

/// Why a diff stopped.
#[derive(Debug, thiserror::Error)]
pub enum DiffError<E: std::fmt::Display + std::fmt::Debug> {
    /// A side's stream failed.
    #[error("{side} side: {error}", side = .0.name(), error = .1)]
    Stream(Side, E),
    /// A side returned keys out of order.
    #[error(
        "{side} side returned key {next} after {previous}: the rows are not in binary key order",
        side = side.name(), previous = show_key(previous), next = show_key(next)
    )]
    OutOfOrder {
        /// The side.
        side: Side,
        /// The key read first.
        previous: Vec<Value>,
        /// The smaller key read after it.
        next: Vec<Value>,
    },
    /// The run was interrupted.
    #[error("interrupted")]
    Cancelled,
    /// A sink asked to stop (for example, an export that could not be written).
    #[error("stopped by the consumer")]
    Stopped,
    /// A side read in its storage order ([`merge_join_unordered`]) had more rows out of key
    /// order than [`DISPLACED_LIMIT`]: it must be read again in key order.
    #[error("{side} side: more than {DISPLACED_LIMIT} rows out of key order", side = .0.name())]
    Displaced(Side),
}

/// Renders a key for messages: `(1, 'a', NULL)`.
pub fn show_key(key: &[Value]) -> String {
    let parts: Vec<String> = key
        .iter()
        .map(|v| match v {
            None => "NULL".to_string(),
            Some(s) => format!("'{s}'"),
        })
        .collect();
    format!("({})", parts.join(", "))
}

struct Cursor<I> {
    side: Side,
    iter: I,
    cur: Option<HashedBatch>,
    idx: usize,
    next: Option<HashedBatch>,
    exhausted: bool,
    summary: SideSummary,
    /// For a side read in its storage order: what keeps its rows in key order.
    reorder: Option<Reorder>,
}

/// Keeps a side read in its storage order (a heap scanned without `ORDER BY`) in key order:
/// each batch, with the next one in view, keeps its longest run of rows in increasing key
/// order that follows the last row kept, and sets the others aside as displaced. A row updated
/// after a bulk load (moved to the heap's end) is one displaced row; a few rows stored early
/// (in space freed before the rows around them) are displaced themselves instead of making
/// every row after them late.
struct Reorder {
    /// The key of the last row handed to the join.
    last: Option<Vec<u8>>,
    /// The batch after the current one, read but not yet sorted out.
    ahead: Option<HashedBatch>,
    /// The key values of the rows set aside.
    displaced: Vec<Vec<Value>>,
    /// Key columns.
    nkey: usize,
}

/// The most rows out of key order one side may have before it must be read again in key
/// order ([`DiffError::Displaced`]). The join keeps this many more samples, so that samples
/// taken back by [`TableDiff::repair`] leave the first `sample_size` exact.
pub const DISPLACED_LIMIT: usize = 1000;

impl Reorder {
    /// The rows of `cur` to hand to the join, in increasing key order after `last`; the others
    /// are recorded as displaced.
    fn sort_out(&mut self, cur: HashedBatch) -> HashedBatch {
        let (n, nkey) = (cur.len(), self.nkey);
        let after_last = |k: &[u8]| self.last.as_deref().is_none_or(|l| k > l);
        let ahead = self.ahead.as_ref();
        let in_order = (1..n).all(|r| cur.key(r - 1) < cur.key(r))
            && n > 0
            && after_last(cur.key(0))
            && ahead.is_none_or(|a| a.is_empty() || cur.key(n - 1) < a.key(0));
        if in_order {
            self.last = Some(cur.key(n - 1).to_vec());
            return cur;
        }
        // The longest strictly increasing run over this batch and the next (patience sorting),
        // among rows after the last one kept.
        let total = n + ahead.map_or(0, HashedBatch::len);
        let key = |i: usize| -> &[u8] {
            if i < n {
                cur.key(i)
            } else {
                ahead.expect("a row of the next batch").key(i - n)
            }
        };
        let mut tails: Vec<usize> = Vec::new();
        let mut prev = vec![usize::MAX; total];
        for i in (0..total).filter(|&i| after_last(key(i))) {
            let p = tails.partition_point(|&t| key(t) < key(i));
            if p > 0 {
                prev[i] = tails[p - 1];
            }
            if p == tails.len() {
                tails.push(i);
            } else {
                tails[p] = i;
            }
        }
        let mut keep = vec![false; n];
        let mut at = tails.last().copied().unwrap_or(usize::MAX);
        while at != usize::MAX {
            if at < n {
                keep[at] = true;
            }
            at = prev[at];
        }
        for (r, _) in keep.iter().enumerate().filter(|(_, k)| !**k) {
            self.displaced.push(key_values(&cur, r, nkey));
        }
        if let Some(r) = keep.iter().rposition(|k| *k) {
            self.last = Some(cur.key(r).to_vec());
        }
        cur.select(&keep)
    }
}

impl<I, E: std::fmt::Display + std::fmt::Debug> Cursor<I>
where
    I: Iterator<Item = Result<HashedBatch, E>>,
{
    fn new(side: Side, iter: I, opts: &DiffOptions, unordered: bool) -> Self {
        let ncols = opts.columns;
        Cursor {
            reorder: unordered.then(|| Reorder {
                last: None,
                ahead: None,
                displaced: Vec::new(),
                nkey: opts.key_columns,
            }),
            side,
            iter,
            cur: None,
            idx: 0,
            next: None,
            exhausted: false,
            summary: SideSummary {
                rows: 0,
                fingerprint: Fingerprint::new(ncols),
                notes: vec![CellNotes::default(); ncols],
                duplicate_keys: 0,
                duplicate_rows: 0,
                problems: Vec::new(),
            },
        }
    }

    /// Pulls the next non-empty batch in key order: from the stream, or, for a side read in
    /// its storage order, the rows of the next batch that are in key order.
    fn pull(&mut self, cancel: &AtomicBool) -> Result<Option<HashedBatch>, DiffError<E>> {
        if self.reorder.is_none() {
            return self.pull_raw(cancel);
        }
        loop {
            let cur = match self.reorder.as_mut().and_then(|r| r.ahead.take()) {
                Some(b) => b,
                None => match self.pull_raw(cancel)? {
                    Some(b) => b,
                    None => return Ok(None),
                },
            };
            let ahead = self.pull_raw(cancel)?;
            let r = self.reorder.as_mut().expect("a side read in storage order");
            r.ahead = ahead;
            let kept = r.sort_out(cur);
            if r.displaced.len() > DISPLACED_LIMIT {
                return Err(DiffError::Displaced(self.side));
            }
            if !kept.is_empty() {
                return Ok(Some(kept));
            }
        }
    }

    /// Pulls the next non-empty batch from the stream, adding it to the side's summary.
    fn pull_raw(&mut self, cancel: &AtomicBool) -> Result<Option<HashedBatch>, DiffError<E>> {
        while !self.exhausted {
            if cancel.load(AtomicOrdering::Relaxed) {
                return Err(DiffError::Cancelled);
            }
            match self.iter.next() {
                None => self.exhausted = true,
                Some(Err(e)) => return Err(DiffError::Stream(self.side, e)),
                Some(Ok(b)) => {
                    self.summary.rows += b.len() as u64;
                    self.summary.fingerprint.merge(&b.fingerprint);
                    for (n, m) in self.summary.notes.iter_mut().zip(b.batch.notes()) {
                        n.merge(m);
                    }
                    let room = PROBLEMS_KEPT.saturating_sub(self.summary.problems.len());
                    self.summary
                        .problems
                        .extend(b.batch.problems().iter().take(room).cloned());
                    if !b.is_empty() {
                        return Ok(Some(b));
                    }
                }
            }
        }
        Ok(None)
    }

    /// Makes sure the current row exists, if the stream has one.
    fn fill(&mut self, cancel: &AtomicBool) -> Result<(), DiffError<E>> {
        if self.cur.as_ref().is_some_and(|b| self.idx < b.len()) {
            return Ok(());
        }
        self.cur = match self.next.take() {
            Some(b) => Some(b),
            None => self.pull(cancel)?,
        };
        self.idx = 0;
        Ok(())
    }

    fn key(&self) -> Option<&[u8]> {
        self.cur.as_ref().map(|b| b.key(self.idx))
    }

    /// Loads the batch after the current one when the current row is its last.
    fn peek(&mut self, cancel: &AtomicBool) -> Result<(), DiffError<E>> {
        if let Some(b) = &self.cur
            && self.idx + 1 >= b.len()
            && self.next.is_none()
        {
            self.next = self.pull(cancel)?;
        }
        Ok(())
    }

    fn next_key(&self) -> Option<&[u8]> {
        let b = self.cur.as_ref()?;
        if self.idx + 1 < b.len() {
            Some(b.key(self.idx + 1))
        } else {
            self.next.as_ref().map(|n| n.key(0))
        }
    }

    /// Moves past the current row; the caller has called `peek`. Fails if the next key is smaller.
    fn advance(&mut self, nkey: usize) -> Result<(), DiffError<E>> {
        if let (Some(k), Some(n)) = (self.key(), self.next_key())
            && n < k
        {
            let next_row = if self.idx + 1 < self.cur.as_ref().map_or(0, |b| b.len()) {
                (self.cur.as_ref(), self.idx + 1)
            } else {
                (self.next.as_ref(), 0)
            };
            let b = self.cur.as_ref().expect("current batch");
            return Err(DiffError::OutOfOrder {
                side: self.side,
                previous: key_values(b, self.idx, nkey),
                next: next_row
                    .0
                    .map(|nb| key_values(nb, next_row.1, nkey))
                    .unwrap_or_default(),
            });
        }
        self.idx += 1;
        Ok(())
    }

    /// True if the row after the current one has the same key.
    fn next_is_same(&mut self, cancel: &AtomicBool) -> Result<bool, DiffError<E>> {
        self.peek(cancel)?;
        Ok(matches!((self.key(), self.next_key()), (Some(a), Some(b)) if a == b))
    }

    fn row(&self) -> (&HashedBatch, usize) {
        (self.cur.as_ref().expect("current row"), self.idx)
    }
}

fn key_values(b: &HashedBatch, row: usize, nkey: usize) -> Vec<Value> {
    (0..nkey)
        .map(|c| canonical::display(b.batch.cell(row, c)))
        .collect()
}

fn row_values(b: &HashedBatch, row: usize) -> Vec<Value> {
    (0..b.batch.ncols())
        .map(|c| canonical::display(b.batch.cell(row, c)))
        .collect()
}

/// A row under a duplicated key, copied out of its batch.
struct GroupRow {
    digest: u128,
    values: Option<Vec<Value>>,
}

/// How many located problems a side keeps for the report.
const PROBLEMS_KEPT: usize = 50;

/// How many rows of a duplicated key keep their values for samples.
const GROUP_VALUES_KEPT: usize = 64;

/// What the merge join finds, row by row, in key order. Table comparison ([`TableDiffSink`]),
/// cross-side rules and the export of every difference are sinks; [`Tee`] feeds two at once.
///
/// Every method returns whether to go on: `false` stops the join with [`DiffError::Stopped`].
pub trait DiffSink {
    /// The join starts.
    fn begin(&mut self, _opts: &DiffOptions) {}
    /// A row with the same key and equal values on both sides (`within_tolerance`: equal only
    /// within a numeric tolerance).
    fn matched(&mut self, _within_tolerance: bool) -> bool {
        true
    }
    /// A source row with no target row of the same key (or an unmatched row under a duplicated key).
    fn missing(&mut self, _row: RowRef<'_>) -> bool {
        true
    }
    /// A target row with no source row of the same key.
    fn extra(&mut self, _row: RowRef<'_>) -> bool {
        true
    }
    /// A key on both sides whose values differ in `columns` (indexes, key columns excluded).
    fn changed(&mut self, _source: RowRef<'_>, _target: RowRef<'_>, _columns: &[usize]) -> bool {
        true
    }
    /// A key that occurs `rows` times on `side`.
    fn duplicate(&mut self, _side: Side, _key: &[Value], _rows: u64) -> bool {
        true
    }
    /// The join ended; both sides' summaries (rows, fingerprints, notes, duplicates).
    fn finish(&mut self, _source: &SideSummary, _target: &SideSummary) {}
}

/// One row as a sink sees it: in its batch, or copied out of it (rows under a duplicated key).
#[derive(Clone, Copy)]
pub struct RowRef<'a>(RowAt<'a>);

#[derive(Clone, Copy)]
enum RowAt<'a> {
    Batch(&'a HashedBatch, usize, usize),
    Copied(&'a [Value], Option<&'a [Value]>),
}

impl RowRef<'_> {
    /// The key values, in key column order.
    pub fn key(&self) -> Vec<Value> {
        match self.0 {
            RowAt::Batch(b, r, nkey) => key_values(b, r, nkey),
            RowAt::Copied(key, _) => key.to_vec(),
        }
    }

    /// All values in column order, when known (rows beyond the first 64 under one duplicated
    /// key keep only their digest).
    pub fn values(&self) -> Option<Vec<Value>> {
        match self.0 {
            RowAt::Batch(b, r, _) => Some(row_values(b, r)),
            RowAt::Copied(_, values) => values.map(<[Value]>::to_vec),
        }
    }

    /// The encoded cell of column `col`, when the row is still in its batch.
    pub fn cell(&self, col: usize) -> Option<&[u8]> {
        match self.0 {
            RowAt::Batch(b, r, _) => Some(b.batch.cell(r, col)),
            RowAt::Copied(..) => None,
        }
    }
}

/// Two sinks fed the same findings; the join goes on while both want it.
pub struct Tee<'a, A: DiffSink + ?Sized, B: DiffSink + ?Sized>(pub &'a mut A, pub &'a mut B);

impl<A: DiffSink + ?Sized, B: DiffSink + ?Sized> DiffSink for Tee<'_, A, B> {
    fn begin(&mut self, opts: &DiffOptions) {
        self.0.begin(opts);
        self.1.begin(opts);
    }
    fn matched(&mut self, within_tolerance: bool) -> bool {
        self.0.matched(within_tolerance) & self.1.matched(within_tolerance)
    }
    fn missing(&mut self, row: RowRef<'_>) -> bool {
        self.0.missing(row) & self.1.missing(row)
    }
    fn extra(&mut self, row: RowRef<'_>) -> bool {
        self.0.extra(row) & self.1.extra(row)
    }
    fn changed(&mut self, source: RowRef<'_>, target: RowRef<'_>, columns: &[usize]) -> bool {
        self.0.changed(source, target, columns) & self.1.changed(source, target, columns)
    }
    fn duplicate(&mut self, side: Side, key: &[Value], rows: u64) -> bool {
        self.0.duplicate(side, key, rows) & self.1.duplicate(side, key, rows)
    }
    fn finish(&mut self, source: &SideSummary, target: &SideSummary) {
        self.0.finish(source, target);
        self.1.finish(source, target);
    }
}

/// The longest value a sample shows whole, in characters; longer ones are shown as a prefix
/// (or the stretch around the first difference) with their length and a digest. The export of
/// every difference keeps them whole.
pub const SHOWN_CHARS: usize = 200;

/// A value as a sample shows it: whole when short, else a prefix, its length and a digest.
pub fn capped(v: Value) -> Value {
    v.map(|s| {
        if s.chars().count() <= SHOWN_CHARS {
            return s;
        }
        let prefix: String = s.chars().take(SHOWN_CHARS).collect();
        format!(
            "{prefix}… ({} characters in all, blake3 {})",
            s.chars().count(),
            &blake3::hash(s.as_bytes()).to_hex()[..16]
        )
    })
}

/// Two differing values as a sample shows them: when either is long, the stretch around the
/// first character where they differ, with both lengths and digests.
fn capped_pair(a: Value, b: Value) -> (Value, Value) {
    let long = |v: &Value| v.as_ref().is_some_and(|s| s.chars().count() > SHOWN_CHARS);
    if !long(&a) && !long(&b) {
        return (a, b);
    }
    let (Some(x), Some(y)) = (&a, &b) else {
        return (capped(a), capped(b));
    };
    let at = x.chars().zip(y.chars()).take_while(|(p, q)| p == q).count();
    let window = |s: &str| {
        let start = at.saturating_sub(SHOWN_CHARS / 4);
        let shown: String = s.chars().skip(start).take(SHOWN_CHARS / 2).collect();
        format!(
            "{}{shown}… (differs at character {}; {} characters in all, blake3 {})",
            if start > 0 { "…" } else { "" },
            at + 1,
            s.chars().count(),
            &blake3::hash(s.as_bytes()).to_hex()[..16]
        )
    };
    (Some(window(x)), Some(window(y)))
}

/// The sink that builds a [`TableDiff`]: exact counts, per-column counts and diagnosis, and the
/// first `sample_size` samples of each kind in key order (long values capped, see
/// [`SHOWN_CHARS`]).
pub struct TableDiffSink {
    out: TableDiff,
    sample_size: usize,
}

impl TableDiffSink {
    /// A sink for rows of `opts.columns` columns.
    pub fn new(opts: &DiffOptions) -> TableDiffSink {
        let empty = SideSummary {
            rows: 0,
            fingerprint: Fingerprint::new(opts.columns),
            notes: vec![CellNotes::default(); opts.columns],
            duplicate_keys: 0,
            duplicate_rows: 0,
            problems: Vec::new(),
        };
        TableDiffSink {
            out: TableDiff {
                source: empty.clone(),
                target: empty,
                matched: 0,
                matched_within_tolerance: 0,
                missing: 0,
                extra: 0,
                changed: 0,
                changed_by_column: vec![0; opts.columns],
                diagnosis: vec![Default::default(); opts.columns],
                samples: Samples::default(),
            },
            sample_size: opts.sample_size,
        }
    }

    /// The result.
    pub fn into_diff(self) -> TableDiff {
        self.out
    }

    fn sample(&self, kept: usize) -> bool {
        kept < self.sample_size
    }
}

impl DiffSink for TableDiffSink {
    fn matched(&mut self, within_tolerance: bool) -> bool {
        self.out.matched += 1;
        self.out.matched_within_tolerance += u64::from(within_tolerance);
        true
    }

    fn missing(&mut self, row: RowRef<'_>) -> bool {
        self.out.missing += 1;
        if self.sample(self.out.samples.missing.len())
            && let Some(values) = row.values()
        {
            self.out.samples.missing.push(SampleRow {
                key: row.key().into_iter().map(capped).collect(),
                values: values.into_iter().map(capped).collect(),
            });
        }
        true
    }

    fn extra(&mut self, row: RowRef<'_>) -> bool {
        self.out.extra += 1;
        if self.sample(self.out.samples.extra.len())
            && let Some(values) = row.values()
        {
            self.out.samples.extra.push(SampleRow {
                key: row.key().into_iter().map(capped).collect(),
                values: values.into_iter().map(capped).collect(),
            });
        }
        true
    }

    fn changed(&mut self, source: RowRef<'_>, target: RowRef<'_>, columns: &[usize]) -> bool {
        self.out.changed += 1;
        let keep = self.sample(self.out.samples.changed.len());
        let mut cols = Vec::new();
        for &c in columns {
            self.out.changed_by_column[c] += 1;
            let (a, b) = (source.cell(c).unwrap_or(&[]), target.cell(c).unwrap_or(&[]));
            self.out.diagnosis[c].add(a, b);
            if keep {
                let (x, y) = capped_pair(canonical::display(a), canonical::display(b));
                cols.push((c, x, y));
            }
        }
        if keep {
            self.out.samples.changed.push(ChangedRow {
                key: source.key().into_iter().map(capped).collect(),
                columns: cols,
            });
        }
        true
    }

    fn duplicate(&mut self, side: Side, key: &[Value], rows: u64) -> bool {
        if self.sample(self.out.samples.duplicates.len()) {
            self.out.samples.duplicates.push(DuplicateKey {
                side,
                key: key.iter().cloned().map(capped).collect(),
                rows,
            });
        }
        true
    }

    fn finish(&mut self, source: &SideSummary, target: &SideSummary) {
        self.out.source = source.clone();
        self.out.target = target.clone();
    }
}

/// Compares two key-ordered streams of hashed batches and returns the exact differences.
///
/// Counts are exact; samples are the first `sample_size` of each kind in key order, so the
/// result is the same for any batch size or thread count.
pub fn diff<S, T, E: std::fmt::Display + std::fmt::Debug>(
    source: S,
    target: T,
    opts: &DiffOptions,
    cancel: &AtomicBool,
) -> Result<TableDiff, DiffError<E>>
where
    S: Iterator<Item = Result<HashedBatch, E>>,
    T: Iterator<Item = Result<HashedBatch, E>>,
{
    let mut sink = TableDiffSink::new(opts);
    merge_join(source, target, opts, cancel, &mut sink)?;
    Ok(sink.into_diff())
}

/// The merge join: walks both key-ordered streams once and reports every finding to `sink`,
/// in key order. Memory is bounded by the batches in hand plus the rows of one duplicated key.
pub fn merge_join<S, T, E, K>(
    source: S,
    target: T,
    opts: &DiffOptions,
    cancel: &AtomicBool,
    sink: &mut K,
) -> Result<(), DiffError<E>>
where
    S: Iterator<Item = Result<HashedBatch, E>>,
    T: Iterator<Item = Result<HashedBatch, E>>,
    E: std::fmt::Display + std::fmt::Debug,
    K: DiffSink + ?Sized,
{
    merge_join_unordered(source, target, opts, [false; 2], cancel, sink).map(|_| ())
}

/// The merge join where a side flagged in `unordered` arrives in its storage order, nearly in
/// key order (a table bulk-loaded in key order, then updated here and there): its rows out of
/// key order are left out of the join and returned, at most [`DISPLACED_LIMIT`] per side
/// (more fail with [`DiffError::Displaced`]). The join's verdicts on their keys are then
/// incomplete: [`TableDiff::repair`] completes them from a second read of those keys.
///
/// Only for a key that both sides hold at most once (declared unique), so that a key left out
/// on one side was joined at most once on the other.
pub fn merge_join_unordered<S, T, E, K>(
    source: S,
    target: T,
    opts: &DiffOptions,
    unordered: [bool; 2],
    cancel: &AtomicBool,
    sink: &mut K,
) -> Result<Displaced, DiffError<E>>
where
    S: Iterator<Item = Result<HashedBatch, E>>,
    T: Iterator<Item = Result<HashedBatch, E>>,
    E: std::fmt::Display + std::fmt::Debug,
    K: DiffSink + ?Sized,
{
    let nkey = opts.key_columns;
    let mut src = Cursor::new(Side::Source, source, opts, unordered[0]);
    let mut tgt = Cursor::new(Side::Target, target, opts, unordered[1]);
    let go_on = |ok: bool| if ok { Ok(()) } else { Err(DiffError::Stopped) };
    sink.begin(opts);
    let mut differing: Vec<usize> = Vec::new();
    loop {
        src.fill(cancel)?;
        tgt.fill(cancel)?;
        let ord = match (src.key(), tgt.key()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(a), Some(b)) => a.cmp(b),
        };
        let src_dup = ord != Ordering::Greater && src.next_is_same(cancel)?;
        let tgt_dup = ord != Ordering::Less && tgt.next_is_same(cancel)?;
        if src_dup || tgt_dup {
            let sg = if ord != Ordering::Greater {
                take_group(&mut src, opts, cancel, sink)?
            } else {
                Group::default()
            };
            let tg = if ord != Ordering::Less {
                take_group(&mut tgt, opts, cancel, sink)?
            } else {
                Group::default()
            };
            go_on(match_group(sg, tg, sink))?;
            continue;
        }
        match ord {
            Ordering::Less => {
                let (b, r) = src.row();
                go_on(sink.missing(RowRef(RowAt::Batch(b, r, nkey))))?;
                src.advance(nkey)?;
            }
            Ordering::Greater => {
                let (b, r) = tgt.row();
                go_on(sink.extra(RowRef(RowAt::Batch(b, r, nkey))))?;
                tgt.advance(nkey)?;
            }
            Ordering::Equal => {
                let ((sb, sr), (tb, tr)) = (src.row(), tgt.row());
                let same_digest = sb.digest(sr) == tb.digest(tr);
                differing.clear();
                if !same_digest {
                    differing.extend((nkey..opts.columns).filter(|&c| {
                        let (a, b) = (sb.batch.cell(sr, c), tb.batch.cell(tr, c));
                        a != b
                            && !opts
                                .tolerances
                                .get(c)
                                .and_then(Option::as_ref)
                                .is_some_and(|t| t.accepts(a, b))
                    }));
                }
                let ok = if differing.is_empty() {
                    sink.matched(!same_digest)
                } else {
                    sink.changed(
                        RowRef(RowAt::Batch(sb, sr, nkey)),
                        RowRef(RowAt::Batch(tb, tr, nkey)),
                        &differing,
                    )
                };
                go_on(ok)?;
                src.advance(nkey)?;
                tgt.advance(nkey)?;
            }
        }
    }
    sink.finish(&src.summary, &tgt.summary);
    let displaced = |r: Option<Reorder>| r.map(|r| r.displaced).unwrap_or_default();
    Ok(Displaced {
        keys: [displaced(src.reorder), displaced(tgt.reorder)],
    })
}

/// The keys of the rows each side delivered out of key order, which the join left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Displaced {
    /// Per side (source, target): key values, in the order read.
    pub keys: [Vec<Vec<Value>>; 2],
}

impl Displaced {
    /// True when every row was joined.
    pub fn is_empty(&self) -> bool {
        self.keys.iter().all(Vec::is_empty)
    }

    /// The keys left out on either side, each once.
    pub fn union(&self) -> Vec<Vec<Value>> {
        let mut all: Vec<Vec<Value>> = self.keys.iter().flatten().cloned().collect();
        all.sort();
        all.dedup();
        all
    }
}

/// The sink of the second read in [`TableDiff::repair`]: the diff of the displaced keys, and
/// which of those keys only one side holds.
pub struct RepairSink {
    diff: TableDiffSink,
    /// Keys found on the source only, and on the target only.
    only: [Vec<Vec<Value>>; 2],
}

impl RepairSink {
    /// A sink for rows of `opts.columns` columns.
    pub fn new(opts: &DiffOptions) -> RepairSink {
        RepairSink {
            diff: TableDiffSink::new(opts),
            only: Default::default(),
        }
    }
}

impl DiffSink for RepairSink {
    fn matched(&mut self, within_tolerance: bool) -> bool {
        self.diff.matched(within_tolerance)
    }
    fn missing(&mut self, row: RowRef<'_>) -> bool {
        self.only[0].push(row.key());
        self.diff.missing(row)
    }
    fn extra(&mut self, row: RowRef<'_>) -> bool {
        self.only[1].push(row.key());
        self.diff.extra(row)
    }
    fn changed(&mut self, source: RowRef<'_>, target: RowRef<'_>, columns: &[usize]) -> bool {
        self.diff.changed(source, target, columns)
    }
    fn duplicate(&mut self, side: Side, key: &[Value], rows: u64) -> bool {
        self.diff.duplicate(side, key, rows)
    }
    fn finish(&mut self, source: &SideSummary, target: &SideSummary) {
        self.diff.finish(source, target);
    }
}

/// The rows under one key, copied out of their batches.
#[derive(Default)]
struct Group {
    key: Vec<Value>,
    rows: Vec<GroupRow>,
}

/// Takes every row under the current key; reports the key as a duplicate if there are several.
fn take_group<I, E, K>(
    c: &mut Cursor<I>,
    opts: &DiffOptions,
    cancel: &AtomicBool,
    sink: &mut K,
) -> Result<Group, DiffError<E>>
where
    I: Iterator<Item = Result<HashedBatch, E>>,
    E: std::fmt::Display + std::fmt::Debug,
    K: DiffSink + ?Sized,
{
    let nkey = opts.key_columns;
    let (b, r) = c.row();
    let key = key_values(b, r, nkey);
    let mut rows = Vec::new();
    loop {
        let (b, r) = c.row();
        let values = (rows.len() < GROUP_VALUES_KEPT).then(|| row_values(b, r));
        rows.push(GroupRow {
            digest: b.digest(r),
            values,
        });
        let same = c.next_is_same(cancel)?;
        c.advance(nkey)?;
        if !same {
            break;
        }
        c.fill(cancel)?;
    }
    if rows.len() > 1 {
        c.summary.duplicate_keys += 1;
        c.summary.duplicate_rows += rows.len() as u64;
        if !sink.duplicate(c.side, &key, rows.len() as u64) {
            return Err(DiffError::Stopped);
        }
    }
    Ok(Group { key, rows })
}

/// Matches the rows under one key by content: equal rows match, the rest are missing or extra.
/// Returns false when the sink stopped.
fn match_group<K: DiffSink + ?Sized>(mut src: Group, mut tgt: Group, sink: &mut K) -> bool {
    src.rows.sort_by_key(|r| r.digest);
    tgt.rows.sort_by_key(|r| r.digest);
    fn row(g: &Group, i: usize) -> RowRef<'_> {
        RowRef(RowAt::Copied(&g.key, g.rows[i].values.as_deref()))
    }
    let (mut i, mut j) = (0, 0);
    while i < src.rows.len() || j < tgt.rows.len() {
        let ok = match (src.rows.get(i), tgt.rows.get(j)) {
            (Some(a), Some(b)) if a.digest == b.digest => {
                i += 1;
                j += 1;
                sink.matched(false)
            }
            (Some(a), Some(b)) if a.digest < b.digest => {
                i += 1;
                sink.missing(row(&src, i - 1))
            }
            (Some(_), None) => {
                i += 1;
                sink.missing(row(&src, i - 1))
            }
            (_, Some(_)) => {
                j += 1;
                sink.extra(row(&tgt, j - 1))
            }
            (None, None) => unreachable!("loop condition"),
        };
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Batch, Cell, ColumnCodec, Kind};
    use std::collections::BTreeMap;

    const NUM: ColumnCodec = ColumnCodec::new(Kind::Number, Kind::Number);
    const TEXT: ColumnCodec = ColumnCodec::new(Kind::Text, Kind::Text);

    /// A tiny deterministic generator, so the test needs no extra crate and always runs the same.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    /// Rows (key, value), sorted by key, split into batches of `batch` rows.
    fn batches(rows: &[(i64, String)], batch: usize) -> Vec<Result<HashedBatch, String>> {
        rows.chunks(batch.max(1))
            .map(|chunk| {
                let mut b = Batch::new(2);
                for (k, v) in chunk {
                    b.push(Cell::Int(*k), NUM);
                    b.push(Cell::Text(v.as_bytes()), TEXT);
                }
                Ok(b.hash(1))
            })
            .collect()
    }

    /// `rows` (sorted) as a heap might store them after a load in key order: some rows moved
    /// to the end (updated), some runs moved early (inserted into freed space).
    fn stored(rows: &[(i64, String)], rng: &mut Lcg) -> Vec<(i64, String)> {
        let mut out = rows.to_vec();
        for _ in 0..rng.next(4) {
            if out.is_empty() {
                break;
            }
            let r = out.remove(rng.next(out.len() as u64) as usize);
            out.push(r);
        }
        if rng.next(2) == 0 && out.len() > 10 {
            let start = rng.next(out.len() as u64 - 5) as usize;
            let run: Vec<_> = out.drain(start..start + 5).collect();
            let at = rng.next(out.len() as u64) as usize;
            out.splice(at..at, run);
        }
        out
    }

    /// The join of sides stored out of key order, repaired by a second read of the displaced
    /// keys, gives the diff of sides read in key order: counts, samples, diagnosis,
    /// fingerprints, whatever rows are displaced and however rows fall into batches.
    #[test]
    fn a_join_in_storage_order_repaired_equals_the_join_in_key_order() {
        let mut rng = Lcg(11);
        let mut displaced_seen = 0;
        for round in 0..300 {
            let n = 1 + rng.next(60) as i64;
            let mut src = Vec::new();
            let mut tgt = Vec::new();
            for k in 0..n {
                let v = format!("v{k}");
                match rng.next(6) {
                    0 => src.push((k, v)),
                    1 => tgt.push((k, v)),
                    2 => {
                        src.push((k, v.clone()));
                        tgt.push((k, format!("{v}x")));
                    }
                    _ => {
                        src.push((k, v.clone()));
                        tgt.push((k, v));
                    }
                }
            }
            let opts = DiffOptions {
                columns: 2,
                key_columns: 1,
                sample_size: 5,
                tolerances: vec![],
            };
            let batch = 1 + rng.next(9) as usize;
            let expected = run(&src, &tgt, batch);
            let sides = [rng.next(3) != 0, rng.next(3) != 0];
            let (s_rows, t_rows) = (
                if sides[0] {
                    stored(&src, &mut rng)
                } else {
                    src.clone()
                },
                if sides[1] {
                    stored(&tgt, &mut rng)
                } else {
                    tgt.clone()
                },
            );
            let wide = DiffOptions {
                sample_size: opts.sample_size + DISPLACED_LIMIT,
                ..opts.clone()
            };
            let mut sink = TableDiffSink::new(&wide);
            let displaced = merge_join_unordered(
                batches(&s_rows, batch).into_iter(),
                batches(&t_rows, batch).into_iter(),
                &wide,
                sides,
                &AtomicBool::new(false),
                &mut sink,
            )
            .unwrap();
            let mut got = sink.into_diff();
            if !displaced.is_empty() {
                displaced_seen += 1;
                let keys: Vec<i64> = displaced
                    .union()
                    .iter()
                    .map(|k| k[0].as_deref().unwrap().parse().unwrap())
                    .collect();
                let pick = |rows: &[(i64, String)]| -> Vec<(i64, String)> {
                    rows.iter()
                        .filter(|(k, _)| keys.contains(k))
                        .cloned()
                        .collect()
                };
                let mut second = RepairSink::new(&wide);
                merge_join(
                    batches(&pick(&src), batch).into_iter(),
                    batches(&pick(&tgt), batch).into_iter(),
                    &wide,
                    &AtomicBool::new(false),
                    &mut second,
                )
                .unwrap();
                got.repair(&displaced, second, opts.sample_size);
            }
            got.truncate_samples(opts.sample_size);
            assert_eq!(got, expected, "round {round}: {s_rows:?} / {t_rows:?}");
        }
        assert!(
            displaced_seen > 100,
            "{displaced_seen} rounds had rows out of order"
        );
    }

    /// More rows out of key order than the limit stop the join, so the side is read again.
    #[test]
    fn a_side_in_no_order_is_refused() {
        let mut rng = Lcg(5);
        let mut rows: Vec<(i64, String)> = (0..3000).map(|k| (k, String::new())).collect();
        for i in (1..rows.len()).rev() {
            rows.swap(i, rng.next(i as u64 + 1) as usize);
        }
        let opts = DiffOptions {
            columns: 2,
            key_columns: 1,
            sample_size: 3,
            tolerances: vec![],
        };
        let err = merge_join_unordered(
            batches(&rows, 500).into_iter(),
            batches(&[], 500).into_iter(),
            &opts,
            [true, false],
            &AtomicBool::new(false),
            &mut TableDiffSink::new(&opts),
        )
        .unwrap_err();
        assert!(matches!(err, DiffError::Displaced(Side::Source)), "{err}");
    }

    fn run(src: &[(i64, String)], tgt: &[(i64, String)], batch: usize) -> TableDiff {
        let opts = DiffOptions {
            columns: 2,
            key_columns: 1,
            sample_size: 5,
            tolerances: vec![],
        };
        diff(
            batches(src, batch).into_iter(),
            batches(tgt, batch).into_iter(),
            &opts,
            &AtomicBool::new(false),
        )
        .unwrap()
    }

    #[test]
    fn agrees_with_a_naive_model_for_any_batch_size() {
        let mut rng = Lcg(7);
        for round in 0..40 {
            let mut src = Vec::new();
            let mut tgt = Vec::new();
            for k in 0..rng.next(200) as i64 {
                let v = format!("v{}", rng.next(3));
                match rng.next(10) {
                    0 => src.push((k, v)),
                    1 => tgt.push((k, v)),
                    2 => {
                        src.push((k, v.clone()));
                        tgt.push((k, format!("{v}x")));
                    }
                    3 => {
                        src.push((k, v.clone()));
                        src.push((k, v.clone()));
                        tgt.push((k, v));
                    }
                    _ => {
                        src.push((k, v.clone()));
                        tgt.push((k, v));
                    }
                }
            }
            // The naive model: group by key, then count.
            let group = |rows: &[(i64, String)]| {
                let mut m: BTreeMap<i64, Vec<String>> = BTreeMap::new();
                for (k, v) in rows {
                    m.entry(*k).or_default().push(v.clone());
                }
                m
            };
            let (gs, gt) = (group(&src), group(&tgt));
            let (mut matched, mut missing, mut extra, mut changed, mut dups) =
                (0u64, 0u64, 0u64, 0u64, 0u64);
            for k in gs
                .keys()
                .chain(gt.keys())
                .collect::<std::collections::BTreeSet<_>>()
            {
                let (a, b) = (
                    gs.get(k).cloned().unwrap_or_default(),
                    gt.get(k).cloned().unwrap_or_default(),
                );
                dups += (a.len() > 1) as u64 + (b.len() > 1) as u64;
                if a.len() == 1 && b.len() == 1 {
                    if a == b { matched += 1 } else { changed += 1 }
                } else {
                    let mut b_left = b.clone();
                    for v in &a {
                        match b_left.iter().position(|x| x == v) {
                            Some(p) => {
                                b_left.remove(p);
                                matched += 1;
                            }
                            None => missing += 1,
                        }
                    }
                    extra += b_left.len() as u64;
                }
            }
            let reference = run(&src, &tgt, 8192);
            // A diff survives its checkpoint (JSON) exactly.
            assert_eq!(
                TableDiff::from_json(&reference.to_json()),
                Ok(reference.clone())
            );
            assert_eq!(
                (
                    reference.matched,
                    reference.missing,
                    reference.extra,
                    reference.changed
                ),
                (matched, missing, extra, changed),
                "round {round}"
            );
            assert_eq!(
                reference.source.duplicate_keys + reference.target.duplicate_keys,
                dups
            );
            for batch in [1, 2, 7, 64] {
                assert_eq!(
                    run(&src, &tgt, batch),
                    reference,
                    "round {round}, batch {batch}"
                );
            }
            // Two key ranges compared apart and appended: the diff of the whole.
            for split in [0, 30, 100, 199] {
                let part = |rows: &[(i64, String)], low: bool| -> Vec<(i64, String)> {
                    rows.iter()
                        .filter(|(k, _)| (*k < split) == low)
                        .cloned()
                        .collect()
                };
                let mut parts = run(&part(&src, true), &part(&tgt, true), 7);
                parts.append(run(&part(&src, false), &part(&tgt, false), 7), 5);
                assert_eq!(parts, reference, "round {round}, split at {split}");
            }
        }
    }

    /// A sink that writes down every finding, in order, and can stop after some.
    #[derive(Default)]
    struct Recorder {
        seen: Vec<String>,
        stop_after: Option<usize>,
        finished: Option<(u64, u64)>,
    }

    impl Recorder {
        fn note(&mut self, what: String) -> bool {
            self.seen.push(what);
            self.stop_after.is_none_or(|n| self.seen.len() < n)
        }
    }

    impl DiffSink for Recorder {
        fn matched(&mut self, within: bool) -> bool {
            self.note(format!("matched {within}"))
        }
        fn missing(&mut self, row: RowRef<'_>) -> bool {
            self.note(format!("missing {:?}", row.key()))
        }
        fn extra(&mut self, row: RowRef<'_>) -> bool {
            self.note(format!("extra {:?}", row.values()))
        }
        fn changed(&mut self, s: RowRef<'_>, t: RowRef<'_>, columns: &[usize]) -> bool {
            let (a, b) = (s.cell(1).unwrap(), t.cell(1).unwrap());
            self.note(format!(
                "changed {:?} {columns:?} {:?} -> {:?}",
                s.key(),
                canonical::display(a),
                canonical::display(b)
            ))
        }
        fn duplicate(&mut self, side: Side, key: &[Value], rows: u64) -> bool {
            self.note(format!("duplicate {} {key:?} {rows}", side.name()))
        }
        fn finish(&mut self, s: &SideSummary, t: &SideSummary) {
            self.finished = Some((s.rows, t.rows));
        }
    }

    fn rows(pairs: &[(i64, &str)]) -> Vec<(i64, String)> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn a_sink_sees_every_finding_in_key_order() {
        let src = rows(&[(1, "a"), (2, "b"), (3, "c"), (3, "c"), (5, "e")]);
        let tgt = rows(&[(1, "a"), (2, "x"), (3, "c"), (4, "d")]);
        let opts = DiffOptions {
            columns: 2,
            key_columns: 1,
            sample_size: 5,
            tolerances: vec![],
        };
        let mut rec = Recorder::default();
        let mut table = TableDiffSink::new(&opts);
        merge_join(
            batches(&src, 2).into_iter(),
            batches(&tgt, 3).into_iter(),
            &opts,
            &AtomicBool::new(false),
            &mut Tee(&mut rec, &mut table),
        )
        .unwrap();
        assert_eq!(
            rec.seen,
            [
                "matched false",
                "changed [Some(\"2\")] [1] Some(\"b\") -> Some(\"x\")",
                "duplicate source [Some(\"3\")] 2",
                "matched false",
                "missing [Some(\"3\")]",
                "extra Some([Some(\"4\"), Some(\"d\")])",
                "missing [Some(\"5\")]",
            ]
        );
        assert_eq!(rec.finished, Some((5, 4)));
        let d = table.into_diff();
        assert_eq!(
            (
                d.matched,
                d.missing,
                d.extra,
                d.changed,
                d.source.duplicate_keys
            ),
            (2, 2, 1, 1, 1)
        );
        assert_eq!(d, run(&src, &tgt, 8192), "the Tee changes nothing");
    }

    #[test]
    fn long_values_are_capped_in_samples_around_their_first_difference() {
        let long = "x".repeat(10_000);
        let src = vec![(1, format!("{long}a"))];
        let tgt = vec![(1, format!("{long}b"))];
        let d = run(&src, &tgt, 8192);
        let (_, s, t) = &d.samples.changed[0].columns[0];
        let (s, t) = (s.as_deref().unwrap(), t.as_deref().unwrap());
        assert!(s.len() < 400 && t.len() < 400, "{s}");
        assert!(
            s.contains("differs at character 10001; 10001 characters in all"),
            "{s}"
        );
        assert!(s.contains("a…") && t.contains("b…"), "{s} / {t}");
        assert_ne!(s, t);
        let (short, _) = capped_pair(Some("a".into()), Some("b".into()));
        assert_eq!(short.as_deref(), Some("a"));
    }

    #[test]
    fn a_sink_that_stops_ends_the_join() {
        let src = rows(&[(1, "a"), (2, "b"), (3, "c")]);
        let opts = DiffOptions {
            columns: 2,
            key_columns: 1,
            sample_size: 5,
            tolerances: vec![],
        };
        let mut rec = Recorder {
            stop_after: Some(2),
            ..Default::default()
        };
        let err = merge_join(
            batches(&src, 1).into_iter(),
            batches(&[], 1).into_iter(),
            &opts,
            &AtomicBool::new(false),
            &mut rec,
        )
        .unwrap_err();
        assert!(matches!(err, DiffError::Stopped), "{err}");
        assert_eq!(rec.seen.len(), 2);
        assert_eq!(rec.finished, None);
    }

    #[test]
    fn a_stream_that_goes_backwards_is_an_error() {
        let src = vec![
            (1, "a".to_string()),
            (3, "a".to_string()),
            (2, "a".to_string()),
        ];
        let opts = DiffOptions {
            columns: 2,
            key_columns: 1,
            sample_size: 5,
            tolerances: vec![],
        };
        let err = diff(
            batches(&src, 2).into_iter(),
            batches(&[], 2).into_iter(),
            &opts,
            &AtomicBool::new(false),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                DiffError::OutOfOrder {
                    side: Side::Source,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains("returned key ('2') after ('3')"),
            "{err}"
        );
    }

    #[test]
    fn fingerprints_ignore_row_order_and_count_duplicates() {
        let rows: Vec<(i64, String)> = (0..50).map(|k| (k, format!("v{k}"))).collect();
        let fp = |rows: &[(i64, String)]| {
            let mut f = crate::Fingerprint::new(2);
            for b in batches(rows, 3) {
                f.merge(&b.unwrap().fingerprint);
            }
            f
        };
        let mut reversed = rows.clone();
        reversed.reverse();
        assert_eq!(fp(&rows), fp(&reversed));
        let mut doubled = rows.clone();
        doubled.push(rows[0].clone());
        doubled.push(rows[0].clone());
        let mut once = rows.clone();
        once.push(rows[1].clone());
        assert_ne!(
            fp(&doubled).table,
            fp(&rows).table,
            "a duplicated pair must not cancel out"
        );
        assert_ne!(fp(&doubled), fp(&once));
    }
}
