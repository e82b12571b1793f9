//! External sort of canonical rows by key, for sources that cannot deliver rows in key order
//! (files). Rows are kept in memory up to a byte budget, then sorted and spilled to an anonymous
//! temporary file as a run; at the end the runs are merged. Memory stays within the budget
//! whatever the input size, and the output honours the connector contract: batches in binary
//! key order, so the same merge join serves files and databases.

use crate::SourceError;
use cutover_check::canonical;
use cutover_check::{Batch, CellNotes};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::PathBuf;

/// Sorts rows by (key, row bytes); see the module documentation.
pub(crate) struct Sorter {
    ncols: usize,
    nkey: usize,
    batch_rows: usize,
    budget: usize,
    spill_dir: Option<PathBuf>,
    /// Entries' bytes: key, then the row's cells.
    arena: Vec<u8>,
    /// (start in arena, key length, row length).
    entries: Vec<(usize, u32, u32)>,
    runs: Vec<File>,
    notes: Vec<CellNotes>,
    problems: Vec<String>,
    key: Vec<u8>,
}

fn io_error(e: std::io::Error) -> SourceError {
    SourceError::File {
        path: "(temporary file)".into(),
        message: format!("cannot spill sorted rows: {e}"),
        hint: Some("free disk space, or set TMPDIR to a folder on a larger disk".into()),
    }
}

impl Sorter {
    /// A sorter for rows of `ncols` columns whose first `nkey` form the key.
    pub(crate) fn new(
        ncols: usize,
        nkey: usize,
        batch_rows: usize,
        budget: usize,
        spill_dir: Option<PathBuf>,
    ) -> Sorter {
        Sorter {
            ncols,
            nkey,
            batch_rows: batch_rows.max(1),
            budget: budget.max(1),
            spill_dir,
            arena: Vec::new(),
            entries: Vec::new(),
            runs: Vec::new(),
            notes: vec![CellNotes::default(); ncols],
            problems: Vec::new(),
            key: Vec::new(),
        }
    }

    /// How many runs were spilled to disk so far.
    #[cfg(test)]
    pub(crate) fn spilled_runs(&self) -> usize {
        self.runs.len()
    }

    /// Takes the rows of a batch.
    pub(crate) fn push(&mut self, mut batch: Batch) -> Result<(), SourceError> {
        for (n, m) in self.notes.iter_mut().zip(batch.notes()) {
            n.merge(m);
        }
        self.problems.extend(batch.take_problems());
        for r in 0..batch.len() {
            self.key.clear();
            for k in 0..self.nkey {
                canonical::key_encode(batch.cell(r, k), &mut self.key);
            }
            let row = batch.row(r);
            self.entries
                .push((self.arena.len(), self.key.len() as u32, row.len() as u32));
            self.arena.extend_from_slice(&self.key);
            self.arena.extend_from_slice(row);
            if self.arena.len() + self.entries.len() * 16 >= self.budget {
                self.spill()?;
            }
        }
        Ok(())
    }

    fn sort_entries(&mut self) {
        let arena = &self.arena;
        let slice = |&(s, k, r): &(usize, u32, u32)| {
            (
                &arena[s..s + k as usize],
                &arena[s + k as usize..s + (k + r) as usize],
            )
        };
        self.entries
            .sort_unstable_by(|a, b| slice(a).cmp(&slice(b)));
    }

    fn spill(&mut self) -> Result<(), SourceError> {
        self.sort_entries();
        let file = match &self.spill_dir {
            Some(d) => tempfile::tempfile_in(d),
            None => tempfile::tempfile(),
        }
        .map_err(io_error)?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        for &(s, k, r) in &self.entries {
            w.write_all(&k.to_le_bytes()).map_err(io_error)?;
            w.write_all(&r.to_le_bytes()).map_err(io_error)?;
            w.write_all(&self.arena[s..s + (k + r) as usize])
                .map_err(io_error)?;
        }
        let mut file = w.into_inner().map_err(|e| io_error(e.into_error()))?;
        file.rewind().map_err(io_error)?;
        self.runs.push(file);
        self.arena.clear();
        self.entries.clear();
        Ok(())
    }

    /// Emits every row in key order, in batches, to `sink`.
    pub(crate) fn finish(mut self, sink: &mut dyn FnMut(Batch) -> bool) -> Result<(), SourceError> {
        let mut out = Batch::new(self.ncols);
        out.add_notes(&self.notes);
        for p in std::mem::take(&mut self.problems) {
            out.add_problem(p);
        }
        let (ncols, batch_rows) = (self.ncols, self.batch_rows);
        // The last batch is always sent, even empty: it may carry the notes and problems.
        let mut emit = |out: &mut Batch, last: bool| -> Result<(), SourceError> {
            if (out.len() >= batch_rows || last) && !sink(std::mem::replace(out, Batch::new(ncols)))
            {
                return Err(SourceError::Stopped);
            }
            Ok(())
        };
        if self.runs.is_empty() {
            self.sort_entries();
            for &(s, k, r) in &self.entries {
                out.push_encoded_row(&self.arena[s + k as usize..s + (k + r) as usize]);
                emit(&mut out, false)?;
            }
            return emit(&mut out, true);
        }
        if !self.entries.is_empty() {
            self.spill()?;
        }
        let mut readers: Vec<BufReader<File>> = self
            .runs
            .drain(..)
            .map(|f| BufReader::with_capacity(1 << 16, f))
            .collect();
        let mut heap = BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some((key, row)) = read_entry(r)? {
                heap.push(Reverse((key, row, i)));
            }
        }
        while let Some(Reverse((_, row, i))) = heap.pop() {
            out.push_encoded_row(&row);
            emit(&mut out, false)?;
            if let Some((key, row)) = read_entry(&mut readers[i])? {
                heap.push(Reverse((key, row, i)));
            }
        }
        emit(&mut out, true)
    }
}

/// A spilled row: its key bytes and its encoded cells.
type Entry = (Vec<u8>, Vec<u8>);

fn read_entry(r: &mut BufReader<File>) -> Result<Option<Entry>, SourceError> {
    let mut lens = [0u8; 8];
    match r.read_exact(&mut lens) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(io_error(e)),
    }
    let k = u32::from_le_bytes(lens[..4].try_into().expect("4 bytes")) as usize;
    let n = u32::from_le_bytes(lens[4..].try_into().expect("4 bytes")) as usize;
    let mut key = vec![0; k];
    let mut row = vec![0; n];
    r.read_exact(&mut key).map_err(io_error)?;
    r.read_exact(&mut row).map_err(io_error)?;
    Ok(Some((key, row)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cutover_check::{Cell, ColumnCodec, Kind};

    fn rows(keys: &[i64]) -> Batch {
        let mut b = Batch::new(2);
        for k in keys {
            b.push(Cell::Int(*k), ColumnCodec::new(Kind::Number, Kind::Number));
            b.push(
                Cell::Text(format!("v{k}").as_bytes()),
                ColumnCodec::new(Kind::Text, Kind::Text),
            );
        }
        b
    }

    fn sorted(budget: usize, batches: &[&[i64]]) -> (Vec<String>, usize) {
        let mut s = Sorter::new(2, 1, 3, budget, None);
        for b in batches {
            s.push(rows(b)).unwrap();
        }
        let runs = s.spilled_runs();
        let mut out = Vec::new();
        s.finish(&mut |b| {
            for r in 0..b.len() {
                out.push(canonical::display(b.cell(r, 0)).unwrap());
            }
            true
        })
        .unwrap();
        (out, runs)
    }

    #[test]
    fn sorts_in_memory_and_with_spills_alike() {
        let input: &[&[i64]] = &[&[5, -3, 12], &[7, 7, 0], &[100, -50, 2, 9]];
        let (mem, runs) = sorted(1 << 30, input);
        assert_eq!(runs, 0);
        assert_eq!(
            mem,
            ["-50", "-3", "0", "2", "5", "7", "7", "9", "12", "100"]
        );
        let (spilled, runs) = sorted(1, input);
        assert!(runs > 3, "a tiny budget spills every row: {runs}");
        assert_eq!(spilled, mem);
    }
}
