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
        let col = (self.starts.len() - 1) % self.ncols;
        let note = canonical::encode(cell, codec, &mut self.buf);
        match note {
            None => {}
            Some(EncodeNote::InvalidUtf8) => self.notes[col].invalid_utf8 += 1,
            Some(EncodeNote::NotConvertible) => self.notes[col].not_convertible += 1,
        }
        self.starts.push(self.buf.len() as u32);
        note
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
        const CHUNK: usize = 1024;
        let n = self.len();
        // Per chunk: keys, key end offsets, row digests, fingerprint.
        type Part = (Vec<u8>, Vec<u32>, Vec<u128>, Fingerprint);
        let parts: Vec<Part> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
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
            })
            .collect();
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

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// True if the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }
}
