//! Read-only connectors that stream a table as key-ordered [`Batch`]es of canonical cells, and
//! the pipeline that reads two sides at once into the merge join.
//!
//! One contract for every side, chosen by URL scheme in one registry ([`open`]): a
//! [`Connector`] describes a table and reads rows in binary key order inside one consistent
//! snapshot; database connectors also offer SQL ([`SqlConnector`]), spoken through one
//! [`dialect::Dialect`] per engine. Configured SQL enters a statement only in [`dialect`].
//! This is the only crate that knows sqlx, tokio, csv and Parquet; its API is synchronous.

pub mod catalog;
pub mod checksum;
pub mod dialect;
mod error;
mod files;
pub mod pair;
pub mod runtime;
mod sql;
mod url_util;

pub use catalog::TableCatalog;
use cutover_check::{Batch, Cell, ColumnCodec, Kind};
pub use dialect::{Condition, Dialect, Fragment, FragmentError, FragmentKind};
pub use error::SourceError;
pub use files::{CsvFormat, CsvOverride, file_table, sniff_csv};
pub use url_util::{is_local, redact};

/// The engines cutover reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// SQLite, through the bundled library.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL and MariaDB.
    MySql,
    /// A folder of CSV files.
    Csv,
    /// A folder of Parquet files.
    Parquet,
}

type Opener = fn(&Endpoint) -> Result<Box<dyn Connector>, SourceError>;

/// The registry: every URL scheme cutover reads, its engine and how to open it. This is the
/// only list of schemes.
const REGISTRY: &[(&str, Engine, Opener)] = &[
    ("sqlite", Engine::Sqlite, sql::open_sqlite),
    ("postgres", Engine::Postgres, sql::open_postgres),
    ("postgresql", Engine::Postgres, sql::open_postgres),
    ("mysql", Engine::MySql, sql::open_mysql),
    ("mariadb", Engine::MySql, sql::open_mysql),
    ("csv", Engine::Csv, files::csv_files::open),
    ("parquet", Engine::Parquet, files::parquet_files::open),
];

/// How to write a URL of each kind, for hints.
pub const URL_HINT: &str = "use sqlite://path/to/file.db, postgres://user@host:5432/db, mysql://user@host:3306/db, csv://folder or parquet://folder";

impl Engine {
    /// The engine a URL names, by scheme.
    pub fn from_url(url: &str) -> Option<Engine> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        REGISTRY
            .iter()
            .find(|(s, _, _)| *s == scheme)
            .map(|(_, e, _)| *e)
    }

    /// Checks that a URL names a scheme cutover reads; the error says which.
    pub fn check_url(url: &str) -> Result<Engine, String> {
        match url.split_once(':') {
            None => Err("not a URL".into()),
            Some((s, _)) => Engine::from_url(url)
                .ok_or_else(|| format!("unsupported scheme `{}`", s.to_ascii_lowercase())),
        }
    }

    /// The name shown in reports.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "PostgreSQL",
            Engine::MySql => "MySQL/MariaDB",
            Engine::Csv => "CSV",
            Engine::Parquet => "Parquet",
        }
    }

    /// True for folders of exported files (their SQL is DataFusion's, over the files).
    pub fn is_file(self) -> bool {
        matches!(self, Engine::Csv | Engine::Parquet)
    }
}

/// Where a side is: its URL (may hold a password; never shown as is), how its CSV files are
/// read (a `csv://` side), and the limits of its database sessions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Endpoint {
    /// The URL.
    pub url: String,
    /// How CSV files are read.
    pub csv: CsvFormat,
    /// Timeouts of every database session.
    pub session: SessionLimits,
    /// Memory the SQL engine of a file side may use for joins, sorts and aggregates before it
    /// spills to disk; 0 is 256 MiB.
    pub memory_budget: usize,
}

/// Timeouts set on every database session, so a check never queues the migration's writers
/// behind its locks and never runs away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Longest wait for a lock, in seconds (PostgreSQL `lock_timeout`, MySQL
    /// `lock_wait_timeout`); 0 waits as the server's default says.
    pub lock_timeout_secs: u64,
    /// Longest run of one statement, in seconds (PostgreSQL `statement_timeout`, MySQL
    /// `max_execution_time`, MariaDB `max_statement_time`); 0 is no limit.
    pub statement_timeout_secs: u64,
}

/// The default lock timeout: 10 seconds.
pub const DEFAULT_LOCK_TIMEOUT_SECS: u64 = 10;

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            lock_timeout_secs: DEFAULT_LOCK_TIMEOUT_SECS,
            statement_timeout_secs: 0,
        }
    }
}

impl Endpoint {
    /// A side at `url`, with CSV files read as plain UTF-8 with commas.
    pub fn new(url: impl Into<String>) -> Endpoint {
        Endpoint {
            url: url.into(),
            ..Endpoint::default()
        }
    }

    /// Another URL read with the same CSV format and limits (a rule's `parent_url`).
    pub fn with_url(&self, url: impl Into<String>) -> Endpoint {
        Endpoint {
            url: url.into(),
            ..self.clone()
        }
    }
}

/// Opens a read-only session on a side, chosen by the URL's scheme. The error never contains
/// the password.
pub fn open(endpoint: &Endpoint) -> Result<Box<dyn Connector>, SourceError> {
    let scheme = endpoint
        .url
        .split_once(':')
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default();
    match REGISTRY.iter().find(|(s, _, _)| *s == scheme) {
        Some((_, _, open)) => open(endpoint),
        None => Err(SourceError::Connect {
            url: redact(&endpoint.url),
            message: "unsupported URL scheme".into(),
            hint: URL_HINT.into(),
        }),
    }
}

/// How a session reaches its data, as reports state it per side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Files on this machine (SQLite, CSV, Parquet).
    Local,
    /// A network connection without TLS.
    Unencrypted,
    /// TLS, the server's certificate not verified.
    Encrypted,
    /// TLS, the server's certificate verified against a CA.
    VerifiedCa,
    /// TLS, the server's certificate verified against a CA and the host name.
    VerifiedFull,
}

impl Transport {
    /// The words reports use.
    pub fn describe(self) -> &'static str {
        match self {
            Transport::Local => "local file",
            Transport::Unencrypted => "unencrypted",
            Transport::Encrypted => "TLS, server not verified",
            Transport::VerifiedCa => "TLS, server certificate verified",
            Transport::VerifiedFull => "TLS, server certificate and host name verified",
        }
    }
}

/// An open, read-only session on one side.
pub trait Connector: Send {
    /// The engine of this session.
    fn engine(&self) -> Engine;

    /// Whether the session is encrypted, and what was verified.
    fn transport(&self) -> Transport {
        Transport::Local
    }

    /// Describes a table, or returns `None` when it does not exist.
    fn describe(&mut self, table: &str) -> Result<Option<TableSchema>, SourceError>;

    /// The tables this side holds (database base tables, or the files' names without their
    /// extension), sorted by name.
    fn tables(&mut self) -> Result<Vec<String>, SourceError>;

    /// A table's catalogue (nullability, defaults, keys, indexes, foreign keys, estimated rows),
    /// or `None` when it does not exist. A file side knows only its columns: every column is
    /// nullable, and there are no keys, indexes or estimates.
    fn catalog(&mut self, table: &str) -> Result<Option<TableCatalog>, SourceError> {
        Ok(self.describe(table)?.map(|s| TableCatalog {
            name: table.to_string(),
            columns: s
                .columns
                .into_iter()
                .map(|c| catalog::CatalogColumn {
                    name: c.name,
                    type_name: c.type_name,
                    nullable: true,
                    default: None,
                })
                .collect(),
            primary_key: s.primary_key,
            estimated_rows: self.estimate_rows(table),
            ..TableCatalog::default()
        }))
    }

    /// A file side's estimate of a table's rows, from its files' sizes or metadata.
    fn estimate_rows(&mut self, _table: &str) -> Option<u64> {
        None
    }

    /// Streams the requested rows in binary key order, in one snapshot, to `sink`; `sink`
    /// returns false to stop early ([`SourceError::Stopped`]).
    fn read(
        &mut self,
        req: &ReadRequest,
        sink: &mut dyn FnMut(Batch) -> bool,
    ) -> Result<(), SourceError>;

    /// [`Connector::read`] that also ends within about a tenth of a second of `cancel` being
    /// set, even while the server has not sent a row yet ([`SourceError::Stopped`]).
    fn read_until(
        &mut self,
        req: &ReadRequest,
        sink: &mut dyn FnMut(Batch) -> bool,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<(), SourceError> {
        let _ = cancel;
        self.read(req, sink)
    }

    /// What `read` does for `req` (the SQL it runs, or the files it reads), for reports.
    fn read_sql(&self, req: &ReadRequest) -> String;

    /// The SQL side of a database connector; `None` for files.
    fn sql(&mut self) -> Option<&mut dyn SqlConnector> {
        None
    }

    /// Configured SQL checked for this side's engine ([`dialect::fragment`]); `place` names it in
    /// the error. A side without SQL checks it as PostgreSQL does and refuses it when it reads.
    fn fragment(
        &mut self,
        kind: FragmentKind,
        place: &str,
        text: &str,
    ) -> Result<Fragment, FragmentError> {
        let engine = self.sql().map(|s| s.dialect().engine());
        dialect::fragment(engine, kind, place, text)
    }

    /// The SQL side, or an error that says this side cannot run SQL.
    fn require_sql(&mut self, what: &str) -> Result<&mut dyn SqlConnector, SourceError> {
        let engine = self.engine();
        self.sql().ok_or_else(|| SourceError::Unsupported {
            what: format!("a {} side cannot {what}", engine.name()),
            hint: "run it against a database side, or filter the export when it is made".into(),
        })
    }
}

/// What a database connector offers besides reading: its dialect, queries and snapshots.
pub trait SqlConnector {
    /// The engine's dialect.
    fn dialect(&self) -> &'static dyn Dialect;

    /// Describes the result columns of a configured query without running it.
    fn describe_query(&mut self, query: &Fragment) -> Result<TableSchema, SourceError>;

    /// Runs a statement built by [`dialect`] that returns one count, and returns it.
    fn count(&mut self, sql: &str) -> Result<u64, SourceError>;

    /// Opens a read-only snapshot and exports it so other sessions can read in it; it lives as
    /// long as this session stays open. `None` on engines without exportable snapshots (each
    /// table is then read in a snapshot of its own).
    fn export_snapshot(&mut self) -> Result<Option<String>, SourceError>;

    /// Runs a statement built by [`dialect`] whose columns are all text, in a read-only
    /// snapshot (the exported one, where given), and returns its rows.
    fn text_rows(
        &mut self,
        sql: &str,
        snapshot: Option<&str>,
    ) -> Result<Vec<Vec<Option<String>>>, SourceError>;
}

/// A column as the engine describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// The column's name as stored.
    pub name: String,
    /// The engine's type name, e.g. `numeric(14,2)`.
    pub type_name: String,
    /// How cutover reads it.
    pub kind: Kind,
    /// A configured expression computed by the engine instead of a stored column (read as text).
    pub expr: Option<Fragment>,
    /// A timestamp that holds an instant (a zone was applied when it was stored).
    pub zoned: bool,
    /// Read through a cast to text, because its wire form is not a plain value.
    pub read_as_text: bool,
    /// Ordered as text bytes when it is a key.
    pub text_order: bool,
    /// Known to hold no NULL (a key both sides declare unique): ordering it needs no rule for
    /// NULLs, so PostgreSQL can walk its index instead of sorting every row.
    pub not_null: bool,
    /// Text stored as UTF-8 bytes (MySQL's `utf8mb4`, `utf8mb3` and `ascii` character sets):
    /// its checksum rendering reads the bytes as stored, with no conversion.
    pub utf8: bool,
}

impl ColumnInfo {
    /// A stored column.
    pub fn stored(name: impl Into<String>, type_name: impl Into<String>, kind: Kind) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            type_name: type_name.into(),
            kind,
            expr: None,
            zoned: false,
            read_as_text: false,
            text_order: matches!(kind, Kind::Text | Kind::Char),
            not_null: false,
            utf8: false,
        }
    }

    /// A column computed by the engine from a configured expression, named `name` in reports.
    /// Its value is read as text and converted to the other side's kind in the canonical layer.
    pub fn computed(name: impl Into<String>, expr: Fragment) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            type_name: "expression".into(),
            kind: Kind::Text,
            expr: Some(expr),
            zoned: false,
            read_as_text: true,
            text_order: true,
            not_null: false,
            utf8: false,
        }
    }
}

/// How many more located problems a read records; shared by threads that decode in parallel.
#[derive(Debug, Default)]
pub struct ProblemBudget(std::sync::atomic::AtomicUsize);

impl ProblemBudget {
    /// A budget of `n` problems.
    pub fn new(n: usize) -> ProblemBudget {
        ProblemBudget(std::sync::atomic::AtomicUsize::new(n))
    }

    /// Takes one from the budget; false when it is spent.
    pub(crate) fn take_one(&self) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        self.0
            .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }
}

impl Clone for ProblemBudget {
    fn clone(&self) -> Self {
        ProblemBudget::new(self.0.load(std::sync::atomic::Ordering::Relaxed))
    }
}

/// Translated codes: source value (as text) to the value the target should hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueMap {
    /// The translations.
    pub map: std::collections::HashMap<Vec<u8>, Vec<u8>>,
}

/// A table's columns and primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSchema {
    /// Columns in table order.
    pub columns: Vec<ColumnInfo>,
    /// Primary key column names, in key order (empty if none).
    pub primary_key: Vec<String>,
}

impl TableSchema {
    /// The column with this name, compared case-insensitively.
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == name).or_else(|| {
            self.columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(name))
        })
    }

    /// A schema from columns and their position in the primary key (0: not in it).
    fn from_key_positions(columns: Vec<(ColumnInfo, i64)>) -> TableSchema {
        let mut pk: Vec<(i64, String)> = columns
            .iter()
            .filter(|(_, p)| *p > 0)
            .map(|(c, p)| (*p, c.name.clone()))
            .collect();
        pk.sort();
        TableSchema {
            columns: columns.into_iter().map(|(c, _)| c).collect(),
            primary_key: pk.into_iter().map(|(_, n)| n).collect(),
        }
    }
}

/// What to read from one side.
#[derive(Debug, Clone)]
pub struct ReadRequest {
    /// The table (`name` or `schema.name`), or a label when `query` is set.
    pub table: String,
    /// A configured query whose result is read instead of a table (`source_query`).
    pub query: Option<Fragment>,
    /// Per column: translated codes applied to the values read, if any.
    pub maps: Vec<Option<std::sync::Arc<ValueMap>>>,
    /// Columns to select, in order; the first `key_columns` are the key.
    pub columns: Vec<ColumnInfo>,
    /// How each column is encoded.
    pub codecs: Vec<ColumnCodec>,
    /// How many leading columns form the key.
    pub key_columns: usize,
    /// A row condition, if any.
    pub filter: Option<Condition>,
    /// Rows per batch.
    pub batch_rows: usize,
    /// A snapshot exported by [`SqlConnector::export_snapshot`] to read in, so every table of a
    /// side is read from the same snapshot.
    pub snapshot: Option<String>,
    /// Memory for sorting rows of an unordered source (files) before spilling to disk.
    pub memory_budget: usize,
    /// How many more located problems this read records (the rest are only counted).
    pub problems_left: ProblemBudget,
    /// Read in the table's storage order, without `ORDER BY` (PostgreSQL): a heap scan instead
    /// of an index scan. The rows come nearly in key order when the table was loaded in key
    /// order; the join sets the others aside ([`cutover_check::merge_join_unordered`]).
    pub in_storage_order: bool,
}

impl ReadRequest {
    /// A read of `columns` of `table`, each compared as its own kind, with no filter.
    pub fn new(table: &str, columns: Vec<ColumnInfo>, key_columns: usize) -> ReadRequest {
        ReadRequest {
            table: table.to_string(),
            query: None,
            maps: vec![None; columns.len()],
            codecs: columns
                .iter()
                .map(|c| ColumnCodec::new(c.kind, c.kind))
                .collect(),
            key_columns,
            columns,
            filter: None,
            batch_rows: 8192,
            snapshot: None,
            memory_budget: 64 << 20,
            problems_left: ProblemBudget::new(0),
            in_storage_order: false,
        }
    }

    /// True when a key column's order on the engine (its native kind) is not the order of the
    /// kind it is compared as (a text key holding numbers or mixed-case UUIDs): such a side is
    /// sorted by cutover, within the memory budget, instead of trusting the engine's order.
    pub fn needs_sort(&self) -> bool {
        self.codecs[..self.key_columns]
            .iter()
            .any(|c| !orders_as(c.native, c.compare))
    }

    /// Narrows the read to the rows that also meet `cond` (a condition built by cutover, such
    /// as a key range), keeping the configured filter.
    pub fn and_where(&mut self, cond: String) {
        let mut parts: Vec<Condition> = self.filter.take().into_iter().collect();
        parts.push(Condition::Built(cond));
        self.filter = Some(Condition::All(parts));
    }

    fn new_batch(&self) -> Batch {
        Batch::new(self.columns.len())
    }

    /// Appends the value of column `col`, translated through the column's value map if it has
    /// one. A value the map does not know is kept as it is and recorded as a problem.
    /// Returns the note of [`Batch::push`].
    fn push(
        &self,
        batch: &mut Batch,
        col: usize,
        cell: Cell<'_>,
    ) -> Option<cutover_check::canonical::EncodeNote> {
        let codec = self.codecs[col];
        let Some(map) = self.maps.get(col).and_then(Option::as_ref) else {
            return batch.push(cell, codec);
        };
        let text: Option<std::borrow::Cow<'_, [u8]>> = match cell {
            Cell::Null => return batch.push(cell, codec),
            Cell::Text(b) | Cell::DecimalText(b) => Some(b.into()),
            Cell::Int(i) => Some(i.to_string().into_bytes().into()),
            Cell::UInt(i) => Some(i.to_string().into_bytes().into()),
            Cell::Bool(b) => Some(if b { &b"true"[..] } else { &b"false"[..] }.into()),
            _ => None,
        };
        match text.as_ref().and_then(|t| map.map.get(t.as_ref())) {
            Some(mapped) => batch.push(Cell::Text(mapped), codec),
            None => {
                if self.problems_left.take_one() {
                    let shown = text.map_or_else(
                        || format!("{cell:?}"),
                        |t| String::from_utf8_lossy(&t).into_owned(),
                    );
                    batch.add_problem(format!(
                        "source column {}: value {shown:?} has no entry in the value map",
                        self.columns[col].name
                    ));
                }
                batch.push(cell, codec)
            }
        }
    }
}

/// True when values of kind `native`, in their engine's order, are in the binary key order of
/// kind `compare` (an integer column compared as a number; not one compared as text).
pub(crate) fn orders_as(native: Kind, compare: Kind) -> bool {
    use Kind::*;
    native == compare
        || matches!(
            (native, compare),
            (Char, Text) | (Text, Char) | (Float, Number) | (Number, Float) | (Date, Timestamp)
        )
}

/// Fills batches from rows and hands them to the consumer: the one read loop every connector
/// shares (push cells, end rows, flush full batches, flush the last).
pub(crate) struct BatchWriter<'a> {
    req: &'a ReadRequest,
    batch: Batch,
    sink: &'a mut dyn FnMut(Batch) -> bool,
}

impl<'a> BatchWriter<'a> {
    pub(crate) fn new(req: &'a ReadRequest, sink: &'a mut dyn FnMut(Batch) -> bool) -> Self {
        BatchWriter {
            req,
            batch: req.new_batch(),
            sink,
        }
    }

    /// Appends column `col` of the current row (see [`ReadRequest::push`]).
    #[inline]
    pub(crate) fn cell(
        &mut self,
        col: usize,
        cell: Cell<'_>,
    ) -> Option<cutover_check::canonical::EncodeNote> {
        self.req.push(&mut self.batch, col, cell)
    }

    /// Ends a row: hands the batch on when it is full (by rows, or by bytes for wide rows).
    #[inline]
    pub(crate) fn end_row(&mut self) -> Result<(), SourceError> {
        if self.batch.len() >= self.req.batch_rows || self.batch.byte_len() >= 32 << 20 {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SourceError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        // The next batch starts with the room the last one needed, plus an eighth, so rows are
        // not copied again and again as its buffers grow.
        let next = Batch::with_capacity(
            self.req.columns.len(),
            self.batch.len(),
            self.batch.byte_len() + self.batch.byte_len() / 8,
        );
        if !(self.sink)(std::mem::replace(&mut self.batch, next)) {
            return Err(SourceError::Stopped);
        }
        Ok(())
    }

    /// Hands on the last rows.
    pub(crate) fn finish(mut self) -> Result<(), SourceError> {
        self.flush()
    }
}
