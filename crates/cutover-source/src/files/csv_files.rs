//! CSV and other delimited exports: `csv://folder`, one table per file or per glob of files
//! (`ORD_*.csv`). Fields are decoded from the declared encoding, NULL markers, decimal commas and
//! date formats are applied for the kind the other side compares the column as, and rows are
//! sorted by key with bounded memory ([`crate::sort`]) so the merge join can consume them.
//! A value that does not parse is recorded with file, line and column, never dropped.

use super::sort::Sorter;
use super::{CsvFormat, file_error, folder, matching_files, shown_files};
use crate::{ColumnInfo, Connector, Endpoint, Engine, ReadRequest, SourceError, TableSchema};
use cutover_check::canonical::{EncodeNote, days_from_civil};
use cutover_check::{Batch, Cell, Kind};
use encoding_rs::Encoding;
use std::path::{Path, PathBuf};

/// A folder of delimited text files, read with the side's format and its per-file overrides.
pub(crate) struct Conn {
    dir: PathBuf,
    opts: CsvFormat,
    /// SQL over the folder (its engine starts when a read or a rule first needs it).
    query: super::query::Exports,
}

/// Opens a `csv://folder` side.
pub(crate) fn open(e: &Endpoint) -> Result<Box<dyn Connector>, SourceError> {
    Ok(Box::new(Conn::connect(&e.url, &e.csv, e.memory_budget)?))
}

/// The encoding of a configured name; `None` for UTF-8.
pub fn encoding_of(name: Option<&str>) -> Result<Option<&'static Encoding>, String> {
    match name.map(str::to_ascii_lowercase).as_deref() {
        None | Some("utf-8" | "utf8") => Ok(None),
        // WHATWG maps ISO-8859-1 to windows-1252, a superset for the printable range.
        Some("latin-1" | "latin1" | "iso-8859-1" | "windows-1252" | "cp1252") => {
            Ok(Some(encoding_rs::WINDOWS_1252))
        }
        Some("windows-1251" | "cp1251") => Ok(Some(encoding_rs::WINDOWS_1251)),
        Some(other) => Err(format!("unknown encoding {other}")),
    }
}

/// One delimited text file and the format it is read with.
pub(crate) struct CsvFile {
    pub(crate) path: PathBuf,
    pub(crate) format: CsvFormat,
    encoding: Option<&'static Encoding>,
}

impl CsvFile {
    /// The file at `path`, read with the side's `format` and the overrides matching its name.
    pub(crate) fn new(path: &Path, side: &CsvFormat) -> Result<CsvFile, SourceError> {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let format = side.for_file(&name);
        let encoding = encoding_of(format.encoding.as_deref()).map_err(|m| SourceError::File {
            path: path.display().to_string(),
            message: m,
            hint: Some("use utf-8, latin-1, windows-1252 or windows-1251".into()),
        })?;
        Ok(CsvFile {
            path: path.to_path_buf(),
            format,
            encoding,
        })
    }

    /// The file's name, for located problems.
    pub(crate) fn name(&self) -> String {
        super::file_name(&self.path)
    }

    /// A reader of the file's records (the header line included).
    pub(crate) fn reader(&self) -> Result<csv::Reader<std::fs::File>, SourceError> {
        let file = std::fs::File::open(&self.path).map_err(|e| file_error(&self.path, e))?;
        Ok(csv::ReaderBuilder::new()
            .delimiter(self.format.delimiter)
            .quote(self.format.quote)
            .has_headers(false)
            .flexible(true)
            .from_reader(file))
    }

    /// A field's bytes as UTF-8 (transcoded from the file's encoding; UTF-8 files as they are).
    pub(crate) fn decode<'a>(&self, bytes: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        match self.encoding {
            None => std::borrow::Cow::Borrowed(bytes),
            Some(enc) => match enc.decode_without_bom_handling(bytes).0 {
                std::borrow::Cow::Borrowed(s) => std::borrow::Cow::Borrowed(s.as_bytes()),
                std::borrow::Cow::Owned(s) => std::borrow::Cow::Owned(s.into_bytes()),
            },
        }
    }

    /// Whether a decoded field is one of the texts that mean NULL.
    pub(crate) fn is_null(&self, field: &[u8]) -> bool {
        self.format.null.iter().any(|n| n.as_bytes() == field)
    }

    /// Column names from the header (or `column_1`, … without a header).
    pub(crate) fn header(&self) -> Result<Vec<String>, SourceError> {
        let mut rdr = self.reader()?;
        let mut rec = csv::ByteRecord::new();
        if !rdr
            .read_byte_record(&mut rec)
            .map_err(|e| file_error(&self.path, e))?
        {
            return Err(file_error(&self.path, "the file is empty: no header line"));
        }
        let mut names: Vec<String> = rec
            .iter()
            .map(|f| String::from_utf8_lossy(&self.decode(f)).trim().to_string())
            .collect();
        if let Some(first) = names.first_mut() {
            *first = first.trim_start_matches('\u{feff}').to_string();
        }
        if !self.format.header {
            names = (1..=names.len()).map(|i| format!("column_{i}")).collect();
        }
        Ok(names)
    }
}

impl Conn {
    fn connect(url: &str, opts: &CsvFormat, budget: usize) -> Result<Conn, SourceError> {
        let dir = folder(url, "csv")?;
        let encodings = std::iter::once(opts.encoding.as_deref())
            .chain(opts.files.iter().map(|(_, o)| o.encoding.as_deref()));
        for e in encodings {
            if let Err(message) = encoding_of(e) {
                return Err(SourceError::Connect {
                    url: crate::redact(url),
                    message,
                    hint: "use utf-8, latin-1, windows-1252 or windows-1251".into(),
                });
            }
        }
        Ok(Conn {
            query: super::query::Exports::new(&dir, Engine::Csv, opts, budget),
            dir,
            opts: opts.clone(),
        })
    }

    /// The files of a table: `name` (adding `.csv` when it has no extension) or a glob.
    fn files(&self, table: &str) -> Result<Vec<PathBuf>, SourceError> {
        matching_files(&self.dir, table, "csv")
    }
}

impl Connector for Conn {
    fn engine(&self) -> Engine {
        Engine::Csv
    }

    fn tables(&mut self) -> Result<Vec<String>, SourceError> {
        super::table_names(&self.dir, "csv")
    }

    fn estimate_rows(&mut self, table: &str) -> Option<u64> {
        // The files' sizes over the mean length of the first 64 KiB's lines.
        use std::io::Read as _;
        let mut rows = 0u64;
        for f in self.files(table).ok()? {
            let size = std::fs::metadata(&f).ok()?.len();
            let mut head = Vec::with_capacity(1 << 16);
            std::fs::File::open(&f)
                .ok()?
                .take(1 << 16)
                .read_to_end(&mut head)
                .ok()?;
            let lines = head.iter().filter(|&&b| b == b'\n').count().max(1) as u64;
            let estimate = size * lines / (head.len().max(1) as u64);
            let name = f.file_name().unwrap_or_default().to_string_lossy();
            let header = self.opts.for_file(&name).header;
            rows += estimate.saturating_sub(u64::from(header));
        }
        Some(rows)
    }

    fn describe(&mut self, table: &str) -> Result<Option<TableSchema>, SourceError> {
        let files = self.files(table)?;
        let Some(first) = files.first() else {
            return Ok(None);
        };
        let columns = CsvFile::new(first, &self.opts)?
            .header()?
            .into_iter()
            .map(|name| ColumnInfo::stored(name, "csv text", Kind::Text))
            .collect();
        Ok(Some(TableSchema {
            columns,
            primary_key: vec![],
        }))
    }

    fn read_sql(&self, req: &ReadRequest) -> String {
        if super::needs_sql(req) {
            return super::query::read_sql(req);
        }
        let files = self.files(&req.table).unwrap_or_default();
        let format = files.first().map_or_else(
            || self.opts.clone(),
            |f| {
                self.opts
                    .for_file(&f.file_name().unwrap_or_default().to_string_lossy())
            },
        );
        format!(
            "read {} in {} ({}, delimiter {:?}), sorted by key within {} KiB of memory",
            shown_files(&self.dir, &req.table, "csv"),
            self.dir.display(),
            format.encoding.as_deref().unwrap_or("utf-8"),
            (format.delimiter as char).to_string(),
            req.memory_budget >> 10
        )
    }

    fn sql(&mut self) -> Option<&mut dyn crate::SqlConnector> {
        Some(&mut self.query)
    }

    fn read(
        &mut self,
        req: &ReadRequest,
        sink: &mut dyn FnMut(Batch) -> bool,
    ) -> Result<(), SourceError> {
        if super::needs_sql(req) {
            return self.query.read(req, sink);
        }
        let files = self.files(&req.table)?;
        let mut sorter = Sorter::new(
            req.columns.len(),
            req.key_columns,
            req.batch_rows,
            req.memory_budget,
            None,
        );
        let mut scratch = Vec::new();
        for path in &files {
            let file = CsvFile::new(path, &self.opts)?;
            let file_name = file.name();
            let header = file.header()?;
            let index: Vec<usize> = req
                .columns
                .iter()
                .map(|c| {
                    header
                        .iter()
                        .position(|h| h.eq_ignore_ascii_case(&c.name))
                        .ok_or_else(|| {
                            file_error(
                                path,
                                format!(
                                    "has no column {} (its columns: {})",
                                    c.name,
                                    header.join(", ")
                                ),
                            )
                        })
                })
                .collect::<Result<_, _>>()?;
            let mut rdr = file.reader()?;
            let mut rec = csv::ByteRecord::new();
            let mut batch = req.new_batch();
            let mut first = file.format.header;
            while rdr
                .read_byte_record(&mut rec)
                .map_err(|e| file_error(path, e))?
            {
                if std::mem::take(&mut first) {
                    continue;
                }
                let line = rec.position().map_or(0, |p| p.line());
                if rec.len() != header.len() {
                    return Err(file_error(
                        path,
                        format!(
                            "line {line} has {} fields, the header has {}",
                            rec.len(),
                            header.len()
                        ),
                    ));
                }
                for (i, codec) in req.codecs.iter().enumerate() {
                    let raw = file.decode(&rec[index[i]]);
                    let cell = if file.is_null(&raw) {
                        Cell::Null
                    } else {
                        field_cell(&raw, codec.compare, &file.format, &mut scratch)
                    };
                    if req.push(&mut batch, i, cell) == Some(EncodeNote::NotConvertible)
                        && req.problems_left.take_one()
                    {
                        {
                            batch.add_problem(format!(
                                "{file_name} line {line}, column {}: {:?} is not a {}",
                                req.columns[i].name,
                                String::from_utf8_lossy(&raw),
                                codec.compare.name()
                            ));
                        }
                    }
                }
                if batch.len() >= req.batch_rows {
                    sorter.push(std::mem::replace(&mut batch, req.new_batch()))?;
                }
            }
            sorter.push(batch)?;
        }
        sorter.finish(sink)
    }
}

/// The cell of one field for the comparison kind, applying decimal comma and date formats.
fn field_cell<'a>(
    raw: &'a [u8],
    kind: Kind,
    opts: &CsvFormat,
    scratch: &'a mut Vec<u8>,
) -> Cell<'a> {
    match kind {
        Kind::Number | Kind::Float if opts.decimal_comma && raw.contains(&b',') => {
            scratch.clear();
            scratch.extend(raw.iter().map(|&b| if b == b',' { b'.' } else { b }));
            Cell::Text(scratch)
        }
        Kind::Date if opts.date_format.is_some() => {
            let fmt = opts.date_format.as_deref().unwrap_or_default();
            match std::str::from_utf8(raw)
                .ok()
                .and_then(|s| chrono::NaiveDate::parse_from_str(s.trim(), fmt).ok())
            {
                Some(d) => {
                    use chrono::Datelike;
                    Cell::Date(days_from_civil(d.year() as i64, d.month(), d.day()) as i32)
                }
                None => Cell::Text(raw),
            }
        }
        Kind::Timestamp if opts.timestamp_format.is_some() => {
            let fmt = opts.timestamp_format.as_deref().unwrap_or_default();
            match std::str::from_utf8(raw)
                .ok()
                .and_then(|s| chrono::NaiveDateTime::parse_from_str(s.trim(), fmt).ok())
            {
                Some(t) => {
                    let utc = t.and_utc();
                    Cell::Timestamp {
                        secs: utc.timestamp(),
                        nanos: utc.timestamp_subsec_nanos(),
                    }
                }
                None => Cell::Text(raw),
            }
        }
        _ => Cell::Text(raw),
    }
}

#[cfg(test)]
mod format_tests {
    use super::*;

    #[test]
    fn custom_timestamp_and_date_formats() {
        let opts = CsvFormat {
            date_format: Some("%d.%m.%Y".into()),
            timestamp_format: Some("%d.%m.%Y %H:%M:%S%.f".into()),
            ..CsvFormat::default()
        };
        let mut scratch = Vec::new();
        let c = field_cell(
            b"01.03.2024 10:00:00.654321",
            Kind::Timestamp,
            &opts,
            &mut scratch,
        );
        assert!(
            matches!(
                c,
                Cell::Timestamp {
                    nanos: 654_321_000,
                    ..
                }
            ),
            "{c:?}"
        );
        let c = field_cell(b"29.02.2024", Kind::Date, &opts, &mut scratch);
        assert!(matches!(c, Cell::Date(_)), "{c:?}");
    }
}

#[cfg(test)]
mod properties {
    use crate::{Endpoint, ReadRequest};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Whatever bytes an export holds, reading it ends in rows or an error, never a panic.
        #[test]
        fn any_bytes_in_a_csv_file_are_read_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..300), latin1 in any::<bool>(), delimiter in prop::sample::select(vec![b',', b';', b'\t'])) {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("t.csv"), &bytes).unwrap();
            let mut end = Endpoint::new(format!("csv://{}", dir.path().display()));
            end.csv.delimiter = delimiter;
            if latin1 {
                end.csv.encoding = Some("latin-1".into());
            }
            let mut conn = crate::open(&end).unwrap();
            if let Ok(Some(schema)) = conn.describe("t")
                && !schema.columns.is_empty()
            {
                let req = ReadRequest::new("t", schema.columns.clone(), 1);
                let mut rows = 0;
                let _ = conn.read(&req, &mut |b| {
                    rows += b.len();
                    true
                });
            }
        }
    }
}
