//! `--export-diffs DIR`: every differing row of a table, not only the samples, written as it is
//! found to `DIR/<table>.csv` and `DIR/<table>.parquet`, with the kind of difference, the
//! differing columns, the key and both sides' values. Memory stays bounded: CSV rows are
//! written at once and Parquet rows in batches.

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use cutover_check::diff::Difference;
use parquet::arrow::ArrowWriter;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

/// Rows per Parquet batch.
const BATCH: usize = 4096;

/// The export files of one table.
pub struct Exporter {
    columns: Vec<String>,
    key_columns: usize,
    csv: csv::Writer<File>,
    parquet: ArrowWriter<File>,
    schema: Arc<Schema>,
    pending: Vec<Vec<Option<String>>>,
    /// Rows written.
    pub rows: u64,
}

/// A file name for a table: letters, digits, `_`, `-` and `.` kept, the rest `_`.
fn file_stem(table: &str) -> String {
    table
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Exporter {
    /// Creates `DIR/<table>.csv` and `DIR/<table>.parquet` for rows of `columns`.
    pub fn create(
        dir: &Path,
        table: &str,
        columns: &[String],
        key_columns: usize,
    ) -> Result<Exporter, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let stem = file_stem(table);
        let mut header = vec!["difference".to_string(), "differing_columns".to_string()];
        for c in columns {
            header.push(format!("{c}_source"));
            header.push(format!("{c}_target"));
        }
        let csv_path = dir.join(format!("{stem}.csv"));
        let mut csv = csv::Writer::from_path(&csv_path)
            .map_err(|e| format!("cannot write {}: {e}", csv_path.display()))?;
        csv.write_record(&header).map_err(|e| e.to_string())?;
        let schema = Arc::new(Schema::new(
            header
                .iter()
                .map(|h| Field::new(h, DataType::Utf8, true))
                .collect::<Vec<_>>(),
        ));
        let pq_path = dir.join(format!("{stem}.parquet"));
        let file = File::create(&pq_path)
            .map_err(|e| format!("cannot write {}: {e}", pq_path.display()))?;
        let parquet =
            ArrowWriter::try_new(file, schema.clone(), None).map_err(|e| e.to_string())?;
        Ok(Exporter {
            columns: columns.to_vec(),
            key_columns,
            csv,
            parquet,
            schema,
            pending: Vec::new(),
            rows: 0,
        })
    }

    /// Writes one difference.
    pub fn write(&mut self, d: &Difference) -> Result<(), String> {
        let mut row: Vec<Option<String>> = vec![
            Some(d.kind.to_string()),
            Some(
                d.columns
                    .iter()
                    .map(|&c| self.columns[c].as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        ];
        for c in 0..self.columns.len() {
            // A key column is the same on both sides; it is written on both.
            let key = (c < self.key_columns)
                .then(|| d.key.get(c).cloned().flatten())
                .flatten();
            let side = |v: &Option<Vec<Option<String>>>| {
                v.as_ref()
                    .and_then(|v| v.get(c).cloned().flatten())
                    .or_else(|| key.clone())
            };
            row.push(side(&d.source));
            row.push(side(&d.target));
        }
        // CSV has no NULL: an empty field is NULL, and the text NULL is never written for it.
        self.csv
            .write_record(row.iter().map(|v| v.as_deref().unwrap_or("")))
            .map_err(|e| e.to_string())?;
        self.pending.push(row);
        self.rows += 1;
        if self.pending.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let ncols = self.schema.fields().len();
        let arrays: Vec<ArrayRef> = (0..ncols)
            .map(|i| {
                Arc::new(StringArray::from(
                    self.pending
                        .iter()
                        .map(|r| r[i].clone())
                        .collect::<Vec<_>>(),
                )) as ArrayRef
            })
            .collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| e.to_string())?;
        self.parquet.write(&batch).map_err(|e| e.to_string())?;
        self.pending.clear();
        Ok(())
    }

    /// Flushes and closes both files.
    pub fn finish(mut self) -> Result<u64, String> {
        self.flush()?;
        self.csv.flush().map_err(|e| e.to_string())?;
        self.parquet.close().map_err(|e| e.to_string())?;
        Ok(self.rows)
    }
}
