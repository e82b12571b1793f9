//! `--export-diffs DIR`: every differing row of a table, not only the samples, written as it is
//! found to `DIR/<table>.csv` and `DIR/<table>.parquet`, with the kind of difference, the
//! differing columns, the key and both sides' values. Memory stays bounded: CSV rows are
//! written at once and Parquet rows in batches.

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use cutover_check::DiffKind;
use cutover_check::diff::{DiffSink, RowRef, Value};
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
    /// The first write error; the exporter stops the join when it happens.
    failed: Option<String>,
}

/// Makes an [`Exporter`] per table in one folder (`--export-diffs DIR`).
pub struct ExportDir(pub std::path::PathBuf);

impl cutover_run::ExportFactory for ExportDir {
    fn create(
        &self,
        table: &str,
        columns: &[String],
        key_columns: usize,
    ) -> Result<Box<dyn cutover_run::Exporter>, String> {
        Ok(Box::new(Exporter::create(
            &self.0,
            table,
            columns,
            key_columns,
        )?))
    }
}

impl DiffSink for Exporter {
    fn missing(&mut self, row: RowRef<'_>) -> bool {
        self.record(
            DiffKind::Missing,
            &row.key(),
            row.values().as_deref(),
            None,
            &[],
        )
    }

    fn extra(&mut self, row: RowRef<'_>) -> bool {
        self.record(
            DiffKind::Extra,
            &row.key(),
            None,
            row.values().as_deref(),
            &[],
        )
    }

    fn changed(&mut self, source: RowRef<'_>, target: RowRef<'_>, columns: &[usize]) -> bool {
        self.record(
            DiffKind::Changed,
            &source.key(),
            source.values().as_deref(),
            target.values().as_deref(),
            columns,
        )
    }
}

impl cutover_run::Exporter for Exporter {
    fn close(self: Box<Self>) -> Result<(), String> {
        self.finish().map(|_| ())
    }

    fn error(&self) -> Option<String> {
        self.failed.clone()
    }
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
            failed: None,
        })
    }

    /// Writes one difference; on an error, keeps it and asks the join to stop.
    fn record(
        &mut self,
        kind: DiffKind,
        key: &[Value],
        source: Option<&[Value]>,
        target: Option<&[Value]>,
        columns: &[usize],
    ) -> bool {
        if let Err(e) = self.write(kind, key, source, target, columns) {
            self.failed.get_or_insert(e);
            return false;
        }
        true
    }

    /// Writes one difference: its kind, the differing columns, and both sides' values.
    fn write(
        &mut self,
        kind: DiffKind,
        key: &[Value],
        source: Option<&[Value]>,
        target: Option<&[Value]>,
        columns: &[usize],
    ) -> Result<(), String> {
        let mut row: Vec<Option<String>> = vec![
            Some(kind.to_string()),
            Some(
                columns
                    .iter()
                    .map(|&c| self.columns[c].as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        ];
        for c in 0..self.columns.len() {
            // A key column is the same on both sides; it is written on both.
            let key = (c < self.key_columns)
                .then(|| key.get(c).cloned().flatten())
                .flatten();
            let side = |v: Option<&[Value]>| {
                v.and_then(|v| v.get(c).cloned().flatten())
                    .or_else(|| key.clone())
            };
            row.push(side(source));
            row.push(side(target));
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
