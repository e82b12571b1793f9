//! Parquet exports: `parquet://folder`, one table per file or per glob of files. Only the
//! compared columns are decoded (projection), Arrow values map to the same canonical cells as
//! the database connectors, and rows are sorted by key with bounded memory (`files::sort`).

use super::sort::Sorter;
use super::{file_error, folder, matching_files, shown_files};
use crate::{ColumnInfo, Connector, Endpoint, Engine, ReadRequest, SourceError, TableSchema};
use arrow_array::{Array, ArrayRef, RecordBatch, cast::AsArray, types::*};
use arrow_schema::{DataType, TimeUnit};
use cutover_check::{Batch, Cell, Kind};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// A folder of Parquet files.
pub(crate) struct Conn {
    dir: PathBuf,
    /// SQL over the folder (its engine starts when a read or a rule first needs it).
    query: super::query::Exports,
}

/// Opens a `parquet://folder` side.
pub(crate) fn open(e: &Endpoint) -> Result<Box<dyn Connector>, SourceError> {
    let dir = folder(&e.url, "parquet")?;
    Ok(Box::new(Conn {
        query: super::query::Exports::new(&dir, Engine::Parquet, &e.csv, e.memory_budget),
        dir,
    }))
}

/// The kind of an Arrow type.
pub(crate) fn kind_of(t: &DataType) -> Kind {
    match t {
        DataType::Boolean => Kind::Bool,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => Kind::Number,
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => Kind::Number,
        DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => Kind::Number,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => Kind::Float,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Kind::Text,
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => Kind::Bytes,
        DataType::Date32 | DataType::Date64 => Kind::Date,
        DataType::Time32(_) | DataType::Time64(_) => Kind::Time,
        DataType::Timestamp(..) => Kind::Timestamp,
        _ => Kind::Text,
    }
}

impl Conn {
    fn files(&self, table: &str) -> Result<Vec<PathBuf>, SourceError> {
        matching_files(&self.dir, table, "parquet")
    }
}

impl Connector for Conn {
    fn engine(&self) -> Engine {
        Engine::Parquet
    }

    fn tables(&mut self) -> Result<Vec<String>, SourceError> {
        super::table_names(&self.dir, "parquet")
    }

    fn estimate_rows(&mut self, table: &str) -> Option<u64> {
        // The footers hold the exact counts.
        let mut rows = 0u64;
        for f in self.files(table).ok()? {
            rows += builder(&f)
                .ok()?
                .metadata()
                .file_metadata()
                .num_rows()
                .max(0) as u64;
        }
        Some(rows)
    }

    fn describe(&mut self, table: &str) -> Result<Option<TableSchema>, SourceError> {
        let files = self.files(table)?;
        let Some(first) = files.first() else {
            return Ok(None);
        };
        let builder = builder(first)?;
        let columns = builder
            .schema()
            .fields()
            .iter()
            .map(|f| {
                let mut c = ColumnInfo::stored(
                    f.name().clone(),
                    format!("{:?}", f.data_type()),
                    kind_of(f.data_type()),
                );
                c.zoned = matches!(f.data_type(), DataType::Timestamp(_, Some(_)));
                c
            })
            .collect();
        Ok(Some(TableSchema {
            columns,
            primary_key: vec![],
        }))
    }

    fn sql(&mut self) -> Option<&mut dyn crate::SqlConnector> {
        Some(&mut self.query)
    }

    fn read_sql(&self, req: &ReadRequest) -> String {
        if super::needs_sql(req) {
            return super::query::read_sql(req);
        }
        format!(
            "read columns {} of {} in {}, sorted by key within {} KiB of memory",
            req.columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            shown_files(&self.dir, &req.table, "parquet"),
            self.dir.display(),
            req.memory_budget >> 10
        )
    }

    fn read(
        &mut self,
        req: &ReadRequest,
        sink: &mut dyn FnMut(Batch) -> bool,
    ) -> Result<(), SourceError> {
        if super::needs_sql(req) {
            return self.query.read(req, sink);
        }
        let mut sorter = Sorter::new(
            req.columns.len(),
            req.key_columns,
            req.batch_rows,
            req.memory_budget,
            None,
        );
        for path in self.files(&req.table)? {
            let builder = builder(&path)?;
            let fields = builder.schema().fields().clone();
            // Leaf columns of the requested fields, in file order; then map request order to it.
            let wanted: Vec<usize> = req
                .columns
                .iter()
                .map(|c| {
                    fields
                        .iter()
                        .position(|f| f.name().eq_ignore_ascii_case(&c.name))
                        .ok_or_else(|| file_error(&path, format!("has no column {}", c.name)))
                })
                .collect::<Result<_, _>>()?;
            let mut sorted_roots = wanted.clone();
            sorted_roots.sort_unstable();
            let positions: Vec<usize> = wanted
                .iter()
                .map(|w| sorted_roots.iter().position(|s| s == w).unwrap_or(0))
                .collect();
            // Row groups are decoded in parallel, as many at a time as there are threads, so
            // memory holds at most that many row groups besides the sorter's budget.
            let groups: Vec<usize> = (0..builder.metadata().num_row_groups()).collect();
            drop(builder);
            for chunk in groups.chunks(rayon::current_num_threads().max(1)) {
                let decoded: Vec<Result<Vec<Batch>, SourceError>> = chunk
                    .par_iter()
                    .map(|&group| read_row_group(&path, group, &wanted, &positions, req))
                    .collect();
                for batches in decoded {
                    for batch in batches? {
                        sorter.push(batch)?;
                    }
                }
            }
        }
        sorter.finish(sink)
    }
}

pub(crate) fn builder(
    path: &Path,
) -> Result<ParquetRecordBatchReaderBuilder<std::fs::File>, SourceError> {
    let file = std::fs::File::open(path).map_err(|e| file_error(path, e))?;
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| file_error(path, e))
}

/// Decodes one row group of a file into batches of the requested columns.
fn read_row_group(
    path: &Path,
    group: usize,
    wanted: &[usize],
    positions: &[usize],
    req: &ReadRequest,
) -> Result<Vec<Batch>, SourceError> {
    let builder = builder(path)?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), wanted.iter().copied());
    let reader = builder
        .with_row_groups(vec![group])
        .with_projection(mask)
        .with_batch_size(req.batch_rows)
        .build()
        .map_err(|e| file_error(path, e))?;
    let mut out = Vec::new();
    let mut scratch = Vec::new();
    let mut text = String::new();
    for rb in reader {
        let rb: RecordBatch = rb.map_err(|e| file_error(path, e))?;
        let arrays: Vec<&ArrayRef> = positions.iter().map(|&p| rb.column(p)).collect();
        let mut batch = req.new_batch();
        for row in 0..rb.num_rows() {
            for (i, array) in arrays.iter().enumerate() {
                let cell = cell_at(array, row, &mut scratch, &mut text).map_err(|m| {
                    file_error(path, format!("column {}: {m}", req.columns[i].name))
                })?;
                req.push(&mut batch, i, cell);
            }
        }
        out.push(batch);
    }
    Ok(out)
}

/// Seconds and nanoseconds of a count of `unit`s since the epoch.
fn split_time(v: i64, per_second: i64) -> (i64, u32) {
    (
        v.div_euclid(per_second),
        (v.rem_euclid(per_second) * (1_000_000_000 / per_second)) as u32,
    )
}

/// The cell of one Arrow value. `scratch` and `text` hold digits and rendered values.
pub(crate) fn cell_at<'a>(
    a: &'a ArrayRef,
    row: usize,
    scratch: &'a mut Vec<u8>,
    text: &'a mut String,
) -> Result<Cell<'a>, String> {
    if a.is_null(row) {
        return Ok(Cell::Null);
    }
    Ok(match a.data_type() {
        DataType::Boolean => Cell::Bool(a.as_boolean().value(row)),
        DataType::Int8 => Cell::Int(a.as_primitive::<Int8Type>().value(row) as i64),
        DataType::Int16 => Cell::Int(a.as_primitive::<Int16Type>().value(row) as i64),
        DataType::Int32 => Cell::Int(a.as_primitive::<Int32Type>().value(row) as i64),
        DataType::Int64 => Cell::Int(a.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => Cell::Int(a.as_primitive::<UInt8Type>().value(row) as i64),
        DataType::UInt16 => Cell::Int(a.as_primitive::<UInt16Type>().value(row) as i64),
        DataType::UInt32 => Cell::Int(a.as_primitive::<UInt32Type>().value(row) as i64),
        DataType::UInt64 => Cell::UInt(a.as_primitive::<UInt64Type>().value(row)),
        DataType::Float32 => Cell::Float32(a.as_primitive::<Float32Type>().value(row)),
        DataType::Float64 => Cell::Float(a.as_primitive::<Float64Type>().value(row)),
        DataType::Decimal128(_, scale) => {
            let v = a.as_primitive::<Decimal128Type>().value(row);
            scratch.clear();
            scratch.extend_from_slice(v.unsigned_abs().to_string().as_bytes());
            let exp = scratch.len() as i32 - *scale as i32;
            Cell::Decimal {
                negative: v < 0,
                digits: scratch,
                exp,
            }
        }
        DataType::Utf8 => Cell::Text(a.as_string::<i32>().value(row).as_bytes()),
        DataType::LargeUtf8 => Cell::Text(a.as_string::<i64>().value(row).as_bytes()),
        DataType::Utf8View => Cell::Text(a.as_string_view().value(row).as_bytes()),
        DataType::Binary => Cell::Bytes(a.as_binary::<i32>().value(row)),
        DataType::LargeBinary => Cell::Bytes(a.as_binary::<i64>().value(row)),
        DataType::BinaryView => Cell::Bytes(a.as_binary_view().value(row)),
        DataType::FixedSizeBinary(_) => Cell::Bytes(a.as_fixed_size_binary().value(row)),
        DataType::Date32 => Cell::Date(a.as_primitive::<Date32Type>().value(row)),
        DataType::Date64 => Cell::Date(
            a.as_primitive::<Date64Type>()
                .value(row)
                .div_euclid(86_400_000) as i32,
        ),
        DataType::Time32(TimeUnit::Second) => {
            Cell::Time(a.as_primitive::<Time32SecondType>().value(row) as i64 * 1_000_000_000)
        }
        DataType::Time32(_) => {
            Cell::Time(a.as_primitive::<Time32MillisecondType>().value(row) as i64 * 1_000_000)
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            Cell::Time(a.as_primitive::<Time64MicrosecondType>().value(row) * 1000)
        }
        DataType::Time64(_) => Cell::Time(a.as_primitive::<Time64NanosecondType>().value(row)),
        DataType::Timestamp(unit, _) => {
            let (secs, nanos) = match unit {
                TimeUnit::Second => {
                    split_time(a.as_primitive::<TimestampSecondType>().value(row), 1)
                }
                TimeUnit::Millisecond => split_time(
                    a.as_primitive::<TimestampMillisecondType>().value(row),
                    1_000,
                ),
                TimeUnit::Microsecond => split_time(
                    a.as_primitive::<TimestampMicrosecondType>().value(row),
                    1_000_000,
                ),
                TimeUnit::Nanosecond => split_time(
                    a.as_primitive::<TimestampNanosecondType>().value(row),
                    1_000_000_000,
                ),
            };
            Cell::Timestamp { secs, nanos }
        }
        _ => {
            // Any other type (Decimal256, intervals, lists, …) as Arrow renders it.
            let formatter =
                arrow_cast::display::ArrayFormatter::try_new(a.as_ref(), &Default::default())
                    .map_err(|e| e.to_string())?;
            text.clear();
            use std::fmt::Write as _;
            let _ = write!(text, "{}", formatter.value(row));
            Cell::Text(text.as_bytes())
        }
    })
}

/// The DataFusion table of a Parquet table's files (all with the same columns): one partition
/// per file, read by arrow-rs.
pub(crate) fn provider(
    files: &[PathBuf],
) -> Result<std::sync::Arc<dyn datafusion::catalog::TableProvider>, SourceError> {
    use std::sync::Arc;
    let first = builder(&files[0])?;
    let schema = Arc::new(arrow_schema::Schema::new(first.schema().fields().clone()));
    drop(first);
    let mut partitions: Vec<Arc<dyn datafusion::physical_plan::streaming::PartitionStream>> =
        Vec::new();
    for path in files {
        let fields = builder(path)?.schema().fields().clone();
        if fields != *schema.fields() {
            return Err(file_error(
                path,
                format!(
                    "its columns are not those of {}: the files of one table must have the same schema",
                    files[0].display()
                ),
            ));
        }
        partitions.push(Arc::new(Partition {
            path: path.clone(),
            schema: schema.clone(),
        }));
    }
    let table = datafusion::catalog::streaming::StreamingTable::try_new(schema, partitions)
        .map_err(|e| file_error(&files[0], e))?;
    Ok(Arc::new(table))
}

/// One Parquet file of a table.
#[derive(Debug)]
struct Partition {
    path: PathBuf,
    schema: arrow_schema::SchemaRef,
}

impl datafusion::physical_plan::streaming::PartitionStream for Partition {
    fn schema(&self) -> &arrow_schema::SchemaRef {
        &self.schema
    }

    fn execute(
        &self,
        _ctx: std::sync::Arc<datafusion::execution::TaskContext>,
    ) -> datafusion::physical_plan::SendableRecordBatchStream {
        use datafusion::error::DataFusionError;
        let schema = self.schema.clone();
        let batches: Box<dyn Iterator<Item = Result<RecordBatch, DataFusionError>> + Send> =
            match builder(&self.path).and_then(|b| b.build().map_err(|e| file_error(&self.path, e)))
            {
                Ok(reader) => {
                    let schema = schema.clone();
                    Box::new(reader.map(move |rb| {
                        let rb = rb.map_err(|e| DataFusionError::ArrowError(Box::new(e), None))?;
                        RecordBatch::try_new(schema.clone(), rb.columns().to_vec())
                            .map_err(|e| DataFusionError::ArrowError(Box::new(e), None))
                    }))
                }
                Err(e) => Box::new(std::iter::once(Err(DataFusionError::External(Box::new(e))))),
            };
        Box::pin(
            datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
                schema,
                futures_util::stream::iter(batches),
            ),
        )
    }
}
