//! A CSV table as DataFusion sees it: one partition per file, each file read with its own
//! format (encoding, delimiter, decimal comma, date formats, NULL texts), and typed columns so
//! that `amount > 100` or `order_date >= DATE '2019-01-01'` mean what they say.
//!
//! Types are inferred from every value of every file of the table (one pass, remembered per
//! file size and modification time): a column is `BIGINT` when every value is an integer,
//! `DECIMAL(p, s)` when every value is a number, `DATE` or `TIMESTAMP` when every value is one
//! (in the configured format, else ISO), else text. A number with a leading zero (`007`) or a
//! sign `+` keeps its column text, because the number would not render as the file wrote it.
//! Bytes that are not valid in the file's encoding become a located problem (file, line,
//! column) and are read with U+FFFD in their place.

use super::csv_files::CsvFile;
use crate::{CsvFormat, SourceError};
use arrow_array::builder::{
    Date32Builder, Decimal128Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::TableProvider;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// Rows per batch handed to the engine.
const BATCH_ROWS: usize = 8192;

/// Located problems met while the engine read the files (kept up to a thousand).
#[derive(Debug, Default)]
pub(crate) struct Problems(Mutex<Vec<String>>);

impl Problems {
    fn add(&self, p: String) {
        if let Ok(mut list) = self.0.lock()
            && list.len() < 1000
        {
            list.push(p);
        }
    }

    /// The problems recorded so far, emptied.
    pub(crate) fn take(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default()
    }
}

/// What every value of a column seen so far could be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guess {
    /// Only NULLs so far.
    Empty,
    Int,
    /// A number with this many digits before and after the point (at most).
    Decimal {
        int_digits: u8,
        scale: u8,
    },
    Date,
    Timestamp,
    Text,
}

impl Guess {
    fn merge(self, other: Guess) -> Guess {
        use Guess::*;
        match (self, other) {
            (Empty, g) | (g, Empty) => g,
            (a, b) if a == b => a,
            (Int, Decimal { int_digits, scale }) | (Decimal { int_digits, scale }, Int) => {
                Decimal {
                    int_digits: int_digits.max(19),
                    scale,
                }
            }
            (
                Decimal {
                    int_digits: a,
                    scale: s,
                },
                Decimal {
                    int_digits: b,
                    scale: t,
                },
            ) => {
                let (int_digits, scale) = (a.max(b), s.max(t));
                if int_digits as u32 + scale as u32 > 38 {
                    Text
                } else {
                    Decimal { int_digits, scale }
                }
            }
            _ => Text,
        }
    }

    fn data_type(self) -> DataType {
        match self {
            Guess::Int => DataType::Int64,
            Guess::Decimal { int_digits, scale } => {
                DataType::Decimal128((int_digits + scale).clamp(1, 38), scale as i8)
            }
            Guess::Date => DataType::Date32,
            Guess::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            Guess::Empty | Guess::Text => DataType::Utf8,
        }
    }
}

/// A number as the file writes it: sign, integer digits, fraction digits. `None` when it is not
/// one, or would not render back as written (a leading zero, a `+`).
fn number<'a>(v: &'a str, f: &CsvFormat) -> Option<(bool, &'a str, &'a str)> {
    let (negative, body) = match v.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    let point = if f.decimal_comma { ',' } else { '.' };
    let (int, frac) = match body.split_once(point) {
        Some((i, fr)) if !fr.is_empty() => (i, fr),
        Some(_) => return None,
        None => (body, ""),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || (!frac.is_empty() && !digits(frac)) {
        return None;
    }
    if int.len() > 1 && int.starts_with('0') {
        return None;
    }
    Some((negative, int, frac))
}

fn date(v: &str, f: &CsvFormat) -> Option<chrono::NaiveDate> {
    match &f.date_format {
        Some(fmt) => chrono::NaiveDate::parse_from_str(v, fmt).ok(),
        None if v.len() == 10 => chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").ok(),
        None => None,
    }
}

fn timestamp(v: &str, f: &CsvFormat) -> Option<chrono::NaiveDateTime> {
    // Microseconds at most: a finer fraction keeps the column text.
    if v.rsplit_once('.')
        .is_some_and(|(_, frac)| frac.len() > 6 && frac.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    match &f.timestamp_format {
        Some(fmt) => chrono::NaiveDateTime::parse_from_str(v, fmt).ok(),
        None => ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
            .iter()
            .find_map(|fmt| chrono::NaiveDateTime::parse_from_str(v, fmt).ok()),
    }
}

fn guess(v: &str, f: &CsvFormat) -> Guess {
    if let Some((_, int, frac)) = number(v, f) {
        return match (frac.is_empty(), int.len()) {
            (true, 1..=18) => Guess::Int,
            _ if int.len() + frac.len() <= 38 => Guess::Decimal {
                int_digits: int.len() as u8,
                scale: frac.len() as u8,
            },
            _ => Guess::Text,
        };
    }
    if date(v, f).is_some() {
        Guess::Date
    } else if timestamp(v, f).is_some() {
        Guess::Timestamp
    } else {
        Guess::Text
    }
}

/// The columns' guesses of one file, remembered by path, format, size and modification time.
fn infer(file: &CsvFile, columns: usize) -> Result<Vec<Guess>, SourceError> {
    type Seen = HashMap<(PathBuf, String, u64, std::time::SystemTime), Vec<Guess>>;
    static SEEN: OnceLock<Mutex<Seen>> = OnceLock::new();
    let meta = std::fs::metadata(&file.path).map_err(|e| super::file_error(&file.path, e))?;
    let id = (
        file.path.clone(),
        format!("{:?}", file.format),
        meta.len(),
        meta.modified().unwrap_or(std::time::UNIX_EPOCH),
    );
    let seen = SEEN.get_or_init(Mutex::default);
    if let Some(g) = seen.lock().ok().and_then(|s| s.get(&id).cloned()) {
        return Ok(g);
    }
    let mut guesses = vec![Guess::Empty; columns];
    let mut rdr = file.reader()?;
    let mut rec = csv::ByteRecord::new();
    let mut first = file.format.header;
    while rdr
        .read_byte_record(&mut rec)
        .map_err(|e| super::file_error(&file.path, e))?
    {
        if std::mem::take(&mut first) {
            continue;
        }
        for (g, raw) in guesses.iter_mut().zip(rec.iter()) {
            if *g == Guess::Text {
                continue;
            }
            let field = file.decode(raw);
            if file.is_null(&field) {
                continue;
            }
            *g = match std::str::from_utf8(&field) {
                Ok(v) => g.merge(guess(v, &file.format)),
                Err(_) => Guess::Text,
            };
        }
    }
    if let Ok(mut s) = seen.lock() {
        s.insert(id, guesses.clone());
    }
    Ok(guesses)
}

/// The DataFusion table of a CSV table's files (all with the same header).
pub(crate) fn provider(
    files: &[PathBuf],
    side: &CsvFormat,
    problems: Arc<Problems>,
) -> Result<Arc<dyn TableProvider>, SourceError> {
    let files: Vec<CsvFile> = files
        .iter()
        .map(|p| CsvFile::new(p, side))
        .collect::<Result<_, _>>()?;
    let header = files[0].header()?;
    let mut guesses = vec![Guess::Empty; header.len()];
    for f in &files {
        let h = f.header()?;
        let same = h.len() == header.len()
            && h.iter()
                .zip(&header)
                .all(|(a, b)| a.eq_ignore_ascii_case(b));
        if !same {
            return Err(super::file_error(
                &f.path,
                format!(
                    "its columns ({}) are not those of {} ({}): the files of one table must have the same header",
                    h.join(", "),
                    files[0].name(),
                    header.join(", ")
                ),
            ));
        }
        for (g, h) in guesses.iter_mut().zip(infer(f, header.len())?) {
            *g = g.merge(h);
        }
    }
    let schema: SchemaRef = Arc::new(Schema::new(
        header
            .iter()
            .zip(&guesses)
            .map(|(name, g)| Field::new(name, g.data_type(), true))
            .collect::<Vec<_>>(),
    ));
    let partitions: Vec<Arc<dyn PartitionStream>> = files
        .into_iter()
        .map(|file| {
            Arc::new(Partition {
                file: Arc::new(file),
                schema: schema.clone(),
                problems: problems.clone(),
            }) as Arc<dyn PartitionStream>
        })
        .collect();
    let table =
        StreamingTable::try_new(schema, partitions).map_err(|e| SourceError::Unsupported {
            what: format!("cannot register a CSV table: {e}"),
            hint: "report this as a bug of cutover".into(),
        })?;
    Ok(Arc::new(table))
}

/// One file of a table.
struct Partition {
    file: Arc<CsvFile>,
    schema: SchemaRef,
    problems: Arc<Problems>,
}

impl std::fmt::Debug for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "csv file {}", self.file.path.display())
    }
}

impl PartitionStream for Partition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let batches = Batches {
            file: self.file.clone(),
            schema: self.schema.clone(),
            problems: self.problems.clone(),
            reader: None,
            done: false,
        };
        Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            futures_util::stream::iter(batches),
        ))
    }
}

/// The batches of one file, read as the engine asks for them.
struct Batches {
    file: Arc<CsvFile>,
    schema: SchemaRef,
    problems: Arc<Problems>,
    reader: Option<csv::Reader<std::fs::File>>,
    done: bool,
}

fn external(e: SourceError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

impl Iterator for Batches {
    type Item = Result<RecordBatch, DataFusionError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.read_batch() {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(external(e)))
            }
        }
    }
}

/// A column being filled.
enum Column {
    Int(Int64Builder),
    Decimal(Decimal128Builder, u32),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    Text(StringBuilder),
}

impl Column {
    fn new(t: &DataType) -> Column {
        match t {
            DataType::Int64 => Column::Int(Int64Builder::with_capacity(BATCH_ROWS)),
            DataType::Decimal128(_, s) => Column::Decimal(
                Decimal128Builder::with_capacity(BATCH_ROWS).with_data_type(t.clone()),
                (*s).max(0) as u32,
            ),
            DataType::Date32 => Column::Date(Date32Builder::with_capacity(BATCH_ROWS)),
            DataType::Timestamp(..) => {
                Column::Timestamp(TimestampMicrosecondBuilder::with_capacity(BATCH_ROWS))
            }
            _ => Column::Text(StringBuilder::new()),
        }
    }

    fn null(&mut self) {
        match self {
            Column::Int(b) => b.append_null(),
            Column::Decimal(b, _) => b.append_null(),
            Column::Date(b) => b.append_null(),
            Column::Timestamp(b) => b.append_null(),
            Column::Text(b) => b.append_null(),
        }
    }

    /// Appends a value; false when it is not of the column's type (the file changed since its
    /// types were read), and then appends nothing.
    fn value(&mut self, v: &str, f: &CsvFormat) -> bool {
        match self {
            Column::Int(b) => match v.parse::<i64>() {
                Ok(i) => b.append_value(i),
                Err(_) => return false,
            },
            Column::Decimal(b, scale) => match decimal(v, f, *scale) {
                Some(d) => b.append_value(d),
                None => return false,
            },
            Column::Date(b) => match date(v, f) {
                Some(d) => {
                    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
                    b.append_value((d - epoch).num_days() as i32)
                }
                None => return false,
            },
            Column::Timestamp(b) => match timestamp(v, f) {
                Some(t) => b.append_value(t.and_utc().timestamp_micros()),
                None => return false,
            },
            Column::Text(b) => b.append_value(v),
        }
        true
    }

    fn finish(self) -> ArrayRef {
        match self {
            Column::Int(mut b) => Arc::new(b.finish()),
            Column::Decimal(mut b, _) => Arc::new(b.finish()),
            Column::Date(mut b) => Arc::new(b.finish()),
            Column::Timestamp(mut b) => Arc::new(b.finish()),
            Column::Text(mut b) => Arc::new(b.finish()),
        }
    }
}

/// A number as an integer count of 10^-scale.
fn decimal(v: &str, f: &CsvFormat, scale: u32) -> Option<i128> {
    let (negative, int, frac) = number(v, f)?;
    if frac.len() as u32 > scale {
        return None;
    }
    let mut n: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        n = n.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    n = n.checked_mul(10i128.checked_pow(scale - frac.len() as u32)?)?;
    Some(if negative { -n } else { n })
}

impl Batches {
    fn read_batch(&mut self) -> Result<Option<RecordBatch>, SourceError> {
        let file = self.file.clone();
        if self.reader.is_none() {
            let mut rdr = file.reader()?;
            if file.format.header {
                let mut skip = csv::ByteRecord::new();
                rdr.read_byte_record(&mut skip)
                    .map_err(|e| super::file_error(&file.path, e))?;
            }
            self.reader = Some(rdr);
        }
        let Some(rdr) = self.reader.as_mut() else {
            return Ok(None);
        };
        let fields = self.schema.fields();
        let mut columns: Vec<Column> = fields.iter().map(|f| Column::new(f.data_type())).collect();
        let mut rec = csv::ByteRecord::new();
        let mut rows = 0;
        while rows < BATCH_ROWS
            && rdr
                .read_byte_record(&mut rec)
                .map_err(|e| super::file_error(&file.path, e))?
        {
            let line = rec.position().map_or(0, |p| p.line());
            if rec.len() != fields.len() {
                return Err(super::file_error(
                    &file.path,
                    format!(
                        "line {line} has {} fields, the header has {}",
                        rec.len(),
                        fields.len()
                    ),
                ));
            }
            for (i, (column, raw)) in columns.iter_mut().zip(rec.iter()).enumerate() {
                let bytes = file.decode(raw);
                if file.is_null(&bytes) {
                    column.null();
                    continue;
                }
                let text = match std::str::from_utf8(&bytes) {
                    Ok(v) => std::borrow::Cow::Borrowed(v),
                    Err(_) => {
                        self.problems.add(format!(
                            "{} line {line}, column {}: bytes that are not {} (read with U+FFFD in their place; set the file's encoding)",
                            file.name(),
                            fields[i].name(),
                            file.format.encoding.as_deref().unwrap_or("utf-8")
                        ));
                        String::from_utf8_lossy(&bytes)
                    }
                };
                if !column.value(&text, &file.format) {
                    // Its type was read from every value: the file changed since. A NULL in its
                    // place could match a NULL on the other side, so the read stops.
                    return Err(super::file_error(
                        &file.path,
                        format!(
                            "line {line}, column {}: {:?} is not a {}, although every value was when the file's types were read; the file changed during the check, run it again",
                            fields[i].name(),
                            text,
                            fields[i].data_type()
                        ),
                    ));
                }
            }
            rows += 1;
        }
        if rows == 0 {
            return Ok(None);
        }
        let arrays: Vec<ArrayRef> = columns.into_iter().map(Column::finish).collect();
        RecordBatch::try_new(self.schema.clone(), arrays)
            .map(Some)
            .map_err(|e| super::file_error(&file.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_inferred_conservatively() {
        let f = CsvFormat::default();
        assert_eq!(guess("42", &f), Guess::Int);
        assert_eq!(guess("-42", &f), Guess::Int);
        assert_eq!(guess("007", &f), Guess::Text);
        assert_eq!(guess("+7", &f), Guess::Text);
        assert_eq!(
            guess("12.50", &f),
            Guess::Decimal {
                int_digits: 2,
                scale: 2
            }
        );
        assert_eq!(guess("12,50", &f), Guess::Text);
        let comma = CsvFormat {
            decimal_comma: true,
            ..CsvFormat::default()
        };
        assert_eq!(
            guess("12,50", &comma),
            Guess::Decimal {
                int_digits: 2,
                scale: 2
            }
        );
        assert_eq!(decimal("-12,5", &comma, 2), Some(-1250));
        assert_eq!(guess("2024-02-29", &f), Guess::Date);
        assert_eq!(guess("2024-02-30", &f), Guess::Text);
        assert_eq!(guess("2024-02-29 10:00:00.123456", &f), Guess::Timestamp);
        assert_eq!(guess("2024-02-29 10:00:00.1234567", &f), Guess::Text);
        assert_eq!(Guess::Int.merge(Guess::Date), Guess::Text);
        assert_eq!(
            Guess::Int.merge(Guess::Decimal {
                int_digits: 1,
                scale: 2
            }),
            Guess::Decimal {
                int_digits: 19,
                scale: 2
            }
        );
        assert_eq!(Guess::Empty.merge(Guess::Date), Guess::Date);
    }

    #[test]
    fn a_value_that_no_longer_fits_its_type_stops_the_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "ID\n1\nx\n").unwrap();
        let mut batches = Batches {
            file: Arc::new(CsvFile::new(&path, &CsvFormat::default()).unwrap()),
            schema: Arc::new(Schema::new(vec![Field::new("ID", DataType::Int64, true)])),
            problems: Arc::default(),
            reader: None,
            done: false,
        };
        let err = batches.next().unwrap().unwrap_err();
        assert!(
            err.to_string()
                .contains("the file changed during the check"),
            "{err}"
        );
        assert!(batches.next().is_none());
    }
}
