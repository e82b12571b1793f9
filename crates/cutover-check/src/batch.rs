//! Batches of canonical rows, and their hashing into keys, row digests and fingerprints.

use crate::canonical::{self, Cell, ColumnCodec, EncodeNote};
use crate::fingerprint::Fingerprint;
use rayon::prelude::*;

/// Rows of canonical cells, as a connector builds them. Row-major; every row has the same
/// columns in the same order on both sides (key columns first).
#[derive(Debug, Clone)]
pub struct Batch {
    ncols: usize,
    buf: Vec<u8>,
    /// Start offset of every cell, plus one final end offset.
    starts: Vec<u32>,
    /// Per column: values kept as they were (invalid UTF-8, not convertible).
    notes: Vec<CellNotes>,
    /// Values a source could not read as their type, located (file, line, column) for reports.
    problems: Vec<String>,
}

/// Counts of values that were kept as they were instead of converted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CellNotes {
    /// Text values that are not valid UTF-8.
    pub invalid_utf8: u64,
    /// Values that could not be converted to the comparison kind.
    pub not_convertible: u64,
}

impl CellNotes {
    /// Adds another count into this one.
    pub fn merge(&mut self, other: &CellNotes) {
        self.invalid_utf8 += other.invalid_utf8;
        self.not_convertible += other.not_convertible;
    }
}

impl Batch {
    /// An empty batch of rows with `ncols` columns.
    pub fn new(ncols: usize) -> Self {
        Batch {
            ncols,
            buf: Vec::new(),
            starts: vec![0],
            notes: vec![CellNotes::default(); ncols],
            problems: Vec::new(),
        }
    }

    /// Appends one value of the current row; call it once per column, in column order.
    /// Returns the note when the value was kept as it was (it is also counted).
    #[inline]
    pub fn push(&mut self, cell: Cell<'_>, codec: ColumnCodec) -> Option<EncodeNote> {
        let note = canonical::encode(cell, codec, &mut self.buf);
        if let Some(note) = note {
            // The column is only worked out for the rare value kept as it was.
            let col = (self.starts.len() - 1) % self.ncols;
            match note {
                EncodeNote::InvalidUtf8 => self.notes[col].invalid_utf8 += 1,
                EncodeNote::NotConvertible => self.notes[col].not_convertible += 1,
            }
        }
        self.starts.push(self.buf.len() as u32);
        note
    }

    /// An empty batch with room for `rows` rows of `bytes` bytes of canonical data in all, so
    /// a reader that knows the size of its last batch fills the next without reallocating.
    pub fn with_capacity(ncols: usize, rows: usize, bytes: usize) -> Self {
        let mut starts = Vec::with_capacity(rows * ncols + 1);
        starts.push(0);
        Batch {
            buf: Vec::with_capacity(bytes),
            starts,
            ..Batch::new(ncols)
        }
    }

    /// Appends a whole row of already encoded cells (as [`Batch::row`] returns them).
    pub fn push_encoded_row(&mut self, cells: &[u8]) {
        let mut pos = 0;
        for _ in 0..self.ncols {
            pos += canonical::cell_len(&cells[pos..]);
            self.starts.push((self.buf.len() + pos) as u32);
        }
        self.buf.extend_from_slice(&cells[..pos]);
    }

    /// Adds per-column note counts gathered elsewhere (by a sorter that re-batches rows).
    pub fn add_notes(&mut self, notes: &[CellNotes]) {
        for (n, m) in self.notes.iter_mut().zip(notes) {
            n.merge(m);
        }
    }

    /// Records a located problem, such as `a.csv line 7, column total: 'x' is not a number`.
    pub fn add_problem(&mut self, problem: String) {
        self.problems.push(problem);
    }

    /// Located problems recorded while this batch was built.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// Moves the located problems out of this batch.
    pub fn take_problems(&mut self) -> Vec<String> {
        std::mem::take(&mut self.problems)
    }

    /// The number of complete rows.
    pub fn len(&self) -> usize {
        (self.starts.len() - 1) / self.ncols
    }

    /// True if the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of canonical data held.
    pub fn byte_len(&self) -> usize {
        self.buf.len()
    }

    /// The number of columns.
    pub fn ncols(&self) -> usize {
        self.ncols
    }

    /// The encoded cell at `row`, `col`.
    pub fn cell(&self, row: usize, col: usize) -> &[u8] {
        let i = row * self.ncols + col;
        &self.buf[self.starts[i] as usize..self.starts[i + 1] as usize]
    }

    /// All encoded cells of `row`, concatenated.
    pub fn row(&self, row: usize) -> &[u8] {
        let i = row * self.ncols;
        &self.buf[self.starts[i] as usize..self.starts[i + self.ncols] as usize]
    }

    /// Hashes every row on the rayon pool: keys, row digests and the batch's fingerprint.
    /// The result does not depend on how rows are split into batches or threads.
    pub fn hash(self, nkey: usize) -> HashedBatch {
        self.hash_on(nkey, true)
    }

    /// As [`Batch::hash`], on the calling thread: for a reader whose server and other side
    /// already keep every core busy, where handing each batch to the pool only adds thread
    /// switches.
    pub fn hash_here(self, nkey: usize) -> HashedBatch {
        self.hash_on(nkey, false)
    }

    fn hash_on(self, nkey: usize, pool: bool) -> HashedBatch {
        const CHUNK: usize = 1024;
        let n = self.len();
        // Per chunk: keys, key end offsets, row digests, fingerprint.
        type Part = (Vec<u8>, Vec<u32>, Vec<u128>, Fingerprint);
        let chunk = |c: usize| -> Part {
            let rows = c * CHUNK..((c + 1) * CHUNK).min(n);
            let mut keys = Vec::with_capacity(rows.len() * 16);
            let mut key_ends = Vec::with_capacity(rows.len());
            let mut digests = Vec::with_capacity(rows.len());
            let mut fp = Fingerprint::new(self.ncols);
            for r in rows {
                let start = keys.len();
                for k in 0..nkey {
                    canonical::key_encode(self.cell(r, k), &mut keys);
                }
                key_ends.push(keys.len() as u32);
                let key = &keys[start..];
                let digest = fp.add_row(
                    key,
                    self.row(r),
                    (0..self.ncols).map(|col| self.cell(r, col)),
                );
                digests.push(digest);
            }
            (keys, key_ends, digests, fp)
        };
        let parts: Vec<Part> = if pool {
            (0..n.div_ceil(CHUNK)).into_par_iter().map(chunk).collect()
        } else {
            (0..n.div_ceil(CHUNK)).map(chunk).collect()
        };
        let mut keys = Vec::new();
        let mut key_starts = Vec::with_capacity(n + 1);
        key_starts.push(0u32);
        let mut digests = Vec::with_capacity(n);
        let mut fingerprint = Fingerprint::new(self.ncols);
        for (k, ends, d, fp) in parts {
            let base = keys.len() as u32;
            keys.extend_from_slice(&k);
            key_starts.extend(ends.iter().map(|e| base + e));
            digests.extend_from_slice(&d);
            fingerprint.merge(&fp);
        }
        HashedBatch {
            batch: self,
            keys,
            key_starts,
            digests,
            fingerprint,
        }
    }

    /// Per-column counts of values kept as they were.
    pub fn notes(&self) -> &[CellNotes] {
        &self.notes
    }
}

/// A batch with its sort keys, row digests and fingerprint computed.
#[derive(Debug, Clone)]
pub struct HashedBatch {
    /// The rows.
    pub batch: Batch,
    keys: Vec<u8>,
    key_starts: Vec<u32>,
    digests: Vec<u128>,
    /// The fingerprint of the rows in this batch.
    pub fingerprint: Fingerprint,
}

impl HashedBatch {
    /// The order-preserving key of `row`.
    #[inline]
    pub fn key(&self, row: usize) -> &[u8] {
        &self.keys[self.key_starts[row] as usize..self.key_starts[row + 1] as usize]
    }

    /// The 128-bit digest of `row`.
    #[inline]
    pub fn digest(&self, row: usize) -> u128 {
        self.digests[row]
    }

    /// The rows whose `keep` flag is set, in their order, with their keys and digests. The
    /// fingerprint stays that of every row, since the rows left out are still the side's rows.
    pub fn select(&self, keep: &[bool]) -> HashedBatch {
        let mut batch = Batch::new(self.batch.ncols);
        let (mut keys, mut key_starts, mut digests) = (Vec::new(), vec![0u32], Vec::new());
        for (r, _) in keep.iter().enumerate().filter(|(_, k)| **k) {
            batch.push_encoded_row(self.batch.row(r));
            keys.extend_from_slice(self.key(r));
            key_starts.push(keys.len() as u32);
            digests.push(self.digests[r]);
        }
        HashedBatch {
            batch,
            keys,
            key_starts,
            digests,
            fingerprint: self.fingerprint.clone(),
        }
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// True if the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::Kind;

    fn batch(rows: std::ops::Range<i64>, with_capacity: bool) -> Batch {
        let mut b = if with_capacity {
            Batch::with_capacity(3, 16, 64)
        } else {
            Batch::new(3)
        };
        let n = ColumnCodec::new(Kind::Number, Kind::Number);
        let t = ColumnCodec::new(Kind::Text, Kind::Text);
        for i in rows {
            b.push(Cell::Int(i), n);
            b.push(Cell::Text(format!("row {i}").as_bytes()), t);
            b.push(
                if i % 3 == 0 {
                    Cell::Null
                } else {
                    Cell::Int(-i)
                },
                n,
            );
        }
        b
    }

    #[test]
    fn a_batch_hashes_the_same_on_the_pool_and_here() {
        let (a, b) = (
            batch(0..5000, false).hash(1),
            batch(0..5000, true).hash_here(1),
        );
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(a.len(), 5000);
        for r in 0..a.len() {
            assert_eq!(a.key(r), b.key(r));
            assert_eq!(a.digest(r), b.digest(r));
            assert_eq!(a.batch.row(r), b.batch.row(r));
        }
        // And the split into batches does not change the fingerprint.
        let mut split = batch(0..1234, false).hash_here(1).fingerprint;
        split.merge(&batch(1234..5000, true).hash(1).fingerprint);
        assert_eq!(split, a.fingerprint);
    }

    #[test]
    fn a_note_is_counted_on_its_column() {
        let mut b = Batch::new(2);
        let t = ColumnCodec::new(Kind::Text, Kind::Text);
        let n = ColumnCodec::new(Kind::Text, Kind::Number);
        for _ in 0..3 {
            b.push(Cell::Text(b"ok"), t);
            b.push(Cell::Text(b"not a number"), n);
        }
        b.push(Cell::Text(b"\xff"), t);
        b.push(Cell::Text(b"7"), n);
        assert_eq!(b.notes()[0].invalid_utf8, 1);
        assert_eq!(b.notes()[1].not_convertible, 3);
        assert_eq!(b.notes()[0].not_convertible + b.notes()[1].invalid_utf8, 0);
    }
}
