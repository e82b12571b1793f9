//! Read-only connectors that stream a table as key-ordered [`Batch`]es of canonical cells.
//!
//! One contract for every engine, chosen by URL scheme: [`Connection::connect`] opens a
//! read-only session, [`Connection::describe`] returns a table's columns and primary key, and
//! [`Connection::read`] streams rows in binary key order inside one consistent snapshot.
//! This is the only crate that knows sqlx and tokio; callers drive it on a runtime of their own.

mod csv_files;
mod files;
pub mod fixtures;
pub mod history;
mod mysql;
mod parquet_files;
mod postgres;
mod sort;
mod sqlite;
mod url_util;

use cutover_check::{Batch, Cell, ColumnCodec, Kind};
pub use url_util::redact;

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

impl Engine {
    /// The engine a URL names, by scheme.
    pub fn from_url(url: &str) -> Option<Engine> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        Some(match scheme.as_str() {
            "sqlite" => Engine::Sqlite,
            "postgres" | "postgresql" => Engine::Postgres,
            "mysql" | "mariadb" => Engine::MySql,
            "csv" => Engine::Csv,
            "parquet" => Engine::Parquet,
            _ => return None,
        })
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
    /// An SQL expression computed by the engine instead of a stored column (read as text).
    pub expr: Option<String>,
}

impl ColumnInfo {
    /// A stored column.
    pub fn stored(name: impl Into<String>, type_name: impl Into<String>, kind: Kind) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            type_name: type_name.into(),
            kind,
            expr: None,
        }
    }

    /// A column computed by the engine from `expr`, named `name` in reports. Its value is read
    /// as text and converted to the other side's kind in the canonical layer.
    pub fn computed(name: impl Into<String>, expr: impl Into<String>) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            type_name: "expression".into(),
            kind: Kind::Text,
            expr: Some(expr.into()),
        }
    }

    /// The SQL that reads this column: the quoted name, or the expression in parentheses.
    fn sql(&self, quote: fn(&str) -> String) -> String {
        match &self.expr {
            Some(e) => format!("({e})"),
            None => quote(&self.name),
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
}

/// What to read from one side.
#[derive(Debug, Clone)]
pub struct ReadRequest {
    /// The table (`name` or `schema.name`), or a label when `query` is set.
    pub table: String,
    /// A query whose result is read instead of a table (`source_query`).
    pub query: Option<String>,
    /// Per column: translated codes applied to the values read, if any.
    pub maps: Vec<Option<std::sync::Arc<ValueMap>>>,
    /// Columns to select, in order; the first `key_columns` are the key.
    pub columns: Vec<ColumnInfo>,
    /// How each column is encoded.
    pub codecs: Vec<ColumnCodec>,
    /// How many leading columns form the key.
    pub key_columns: usize,
    /// An SQL condition, if any.
    pub filter: Option<String>,
    /// Rows per batch.
    pub batch_rows: usize,
    /// A snapshot exported by [`Connection::export_snapshot`] to read in (PostgreSQL), so every
    /// table of a side is read from the same snapshot.
    pub snapshot: Option<String>,
    /// Memory for sorting rows of an unordered source (files) before spilling to disk.
    pub memory_budget: usize,
    /// How many more located problems this read records (the rest are only counted).
    pub problems_left: ProblemBudget,
}

impl ReadRequest {
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

    /// Hands `batch` to `sink` when it is full, or with `last` when it holds any row, and starts
    /// a new one; fails with [`SourceError::Stopped`] when the consumer stopped reading.
    fn flush(
        &self,
        batch: &mut Batch,
        sink: &mut dyn FnMut(Batch) -> bool,
        last: bool,
    ) -> Result<(), SourceError> {
        // A batch is full by rows, or by bytes for wide rows.
        let full = batch.len() >= self.batch_rows || batch.byte_len() >= 32 << 20;
        if (full || last) && !batch.is_empty() && !sink(std::mem::replace(batch, self.new_batch()))
        {
            return Err(SourceError::Stopped);
        }
        Ok(())
    }
}

/// A failure to connect or read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The server could not be reached, refused the login, or the database does not exist.
    #[error("cannot connect to {url}: {message}\nhint: {hint}")]
    Connect {
        /// The URL with the password hidden.
        url: String,
        /// The driver's message.
        message: String,
        /// What to check.
        hint: String,
    },
    /// A statement failed.
    #[error("{message}\n  while running: {sql}")]
    Query {
        /// The statement.
        sql: String,
        /// The server's message.
        message: String,
    },
    /// A value could not be read.
    #[error("column {column}: {message}")]
    Decode {
        /// The column.
        column: String,
        /// What was wrong.
        message: String,
    },
    /// The consumer stopped reading.
    #[error("reading stopped")]
    Stopped,
}

/// An open, read-only session on one side.
pub enum Connection {
    /// SQLite.
    Sqlite(sqlite::Conn),
    /// PostgreSQL.
    Postgres(postgres::Conn),
    /// MySQL/MariaDB.
    MySql(mysql::Conn),
    /// A folder of CSV files.
    Csv(csv_files::Conn),
    /// A folder of Parquet files.
    Parquet(parquet_files::Conn),
}

impl Connection {
    /// Opens a read-only session. The error never contains the password.
    pub async fn connect(url: &str) -> Result<Connection, SourceError> {
        Self::connect_with(url, &cutover_config::CsvOptions::default()).await
    }

    /// Opens a read-only session; `csv` says how a `csv://` side's files are read.
    pub async fn connect_with(
        url: &str,
        csv: &cutover_config::CsvOptions,
    ) -> Result<Connection, SourceError> {
        match Engine::from_url(url) {
            Some(Engine::Sqlite) => sqlite::Conn::connect(url).await.map(Connection::Sqlite),
            Some(Engine::Postgres) => postgres::Conn::connect(url).await.map(Connection::Postgres),
            Some(Engine::MySql) => mysql::Conn::connect(url).await.map(Connection::MySql),
            Some(Engine::Csv) => csv_files::Conn::connect(url, csv).map(Connection::Csv),
            Some(Engine::Parquet) => parquet_files::Conn::connect(url).map(Connection::Parquet),
            None => Err(SourceError::Connect {
                url: redact(url),
                message: "unsupported URL scheme".into(),
                hint: "use sqlite://, postgres://, mysql://, csv:// or parquet://".into(),
            }),
        }
    }

    /// The engine of this session.
    pub fn engine(&self) -> Engine {
        match self {
            Connection::Sqlite(_) => Engine::Sqlite,
            Connection::Postgres(_) => Engine::Postgres,
            Connection::MySql(_) => Engine::MySql,
            Connection::Csv(_) => Engine::Csv,
            Connection::Parquet(_) => Engine::Parquet,
        }
    }

    /// Describes a table, or returns `None` when it does not exist.
    pub async fn describe(&mut self, table: &str) -> Result<Option<TableSchema>, SourceError> {
        match self {
            Connection::Sqlite(c) => c.describe(table).await,
            Connection::Postgres(c) => c.describe(table).await,
            Connection::MySql(c) => c.describe(table).await,
            Connection::Csv(c) => c.describe(table).await,
            Connection::Parquet(c) => c.describe(table).await,
        }
    }

    /// Runs a query that returns one integer (a count) and returns it.
    pub async fn count(&mut self, sql: &str) -> Result<u64, SourceError> {
        let q = sqlx::AssertSqlSafe(sql.to_string());
        let n: i64 = match self {
            Connection::Sqlite(c) => sqlx::query_scalar(q).fetch_one(c.conn()).await,
            Connection::Postgres(c) => sqlx::query_scalar(q).fetch_one(c.conn()).await,
            Connection::MySql(c) => sqlx::query_scalar(q).fetch_one(c.conn()).await,
            Connection::Csv(_) | Connection::Parquet(_) => {
                return Err(SourceError::Query {
                    sql: sql.to_string(),
                    message: "a file side cannot run a query".into(),
                });
            }
        }
        .map_err(|e| query_error(sql, e))?;
        Ok(n.max(0) as u64)
    }

    /// An identifier quoted for this engine; `schema.table` is quoted part by part.
    pub fn quote(&self, ident: &str) -> String {
        let q: fn(&str) -> String = match self {
            Connection::MySql(_) => |s| format!("`{}`", s.replace('`', "``")),
            _ => quote_double,
        };
        match split_name(ident) {
            (Some(s), t) => format!("{}.{}", q(s), q(t)),
            (None, t) => q(t),
        }
    }

    /// Describes the result columns of a query (`source_query`) without running it.
    pub async fn describe_query(&mut self, query: &str) -> Result<TableSchema, SourceError> {
        match self {
            Connection::Sqlite(c) => c.describe_query(query).await,
            Connection::Postgres(c) => c.describe_query(query).await,
            Connection::MySql(c) => c.describe_query(query).await,
            Connection::Csv(_) | Connection::Parquet(_) => Err(SourceError::Query {
                sql: query.to_string(),
                message: "a file side cannot run a query".into(),
            }),
        }
    }

    /// Streams the requested rows in binary key order, one snapshot, to `sink`; `sink` returns
    /// false to stop early. Opens the read-only snapshot transaction itself.
    pub async fn read(
        &mut self,
        req: &ReadRequest,
        sink: &mut dyn FnMut(Batch) -> bool,
    ) -> Result<(), SourceError> {
        match self {
            Connection::Sqlite(c) => c.read(req, sink).await,
            Connection::Postgres(c) => c.read(req, sink).await,
            Connection::MySql(c) => c.read(req, sink).await,
            Connection::Csv(c) => c.read(req, sink).await,
            Connection::Parquet(c) => c.read(req, sink).await,
        }
    }

    /// Opens a read-only snapshot and exports it so other sessions can read in it (PostgreSQL:
    /// `pg_export_snapshot()`); the snapshot lives as long as this session stays open.
    /// Returns `None` on engines without exportable snapshots (each table is then read in a
    /// snapshot of its own).
    pub async fn export_snapshot(&mut self) -> Result<Option<String>, SourceError> {
        match self {
            Connection::Postgres(c) => c.export_snapshot().await.map(Some),
            _ => Ok(None),
        }
    }

    /// The SQL `read` runs for `req`, for reports and error messages.
    pub fn read_sql(&self, req: &ReadRequest) -> String {
        match self {
            Connection::Sqlite(_) => sqlite::select_sql(req),
            Connection::Postgres(_) => postgres::select_sql(req),
            Connection::MySql(_) => mysql::select_sql(req),
            Connection::Csv(c) => c.describe_read(req),
            Connection::Parquet(c) => c.describe_read(req),
        }
    }
}

/// Splits `schema.table` into its parts.
fn split_name(table: &str) -> (Option<&str>, &str) {
    match table.split_once('.') {
        Some((s, t)) => (Some(s), t),
        None => (None, table),
    }
}

/// Builds a SELECT with quoted identifiers, a filter and a binary key order.
fn build_select(
    req: &ReadRequest,
    quote: fn(&str) -> String,
    select_col: &dyn Fn(&ColumnInfo) -> String,
    order_col: &dyn Fn(&ColumnInfo) -> String,
) -> String {
    let (schema, name) = split_name(&req.table);
    let table = match (&req.query, schema) {
        (Some(q), _) => format!("({q}) AS cutover_src"),
        (None, Some(s)) => format!("{}.{}", quote(s), quote(name)),
        (None, None) => quote(name),
    };
    let cols: Vec<String> = req.columns.iter().map(select_col).collect();
    let mut sql = format!("SELECT {} FROM {table}", cols.join(", "));
    if let Some(f) = &req.filter {
        sql.push_str(&format!(" WHERE ({f})"));
    }
    let order: Vec<String> = req.columns[..req.key_columns]
        .iter()
        .map(order_col)
        .collect();
    if !order.is_empty() {
        sql.push_str(&format!(" ORDER BY {}", order.join(", ")));
    }
    sql
}

/// The result columns of `query` as sqlx describes them, with each type name mapped by `map`
/// to (engine type name, kind).
async fn describe_with<DB: sqlx::Database>(
    conn: &mut DB::Connection,
    query: &str,
    map: impl Fn(&str) -> (String, Kind),
) -> Result<TableSchema, SourceError>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    use sqlx::{Column as _, Executor as _, SqlSafeStr as _, Statement as _, TypeInfo as _};
    let statement = conn
        .prepare(sqlx::AssertSqlSafe(query.to_string()).into_sql_str())
        .await
        .map_err(|e| query_error(query, e))?;
    let columns = statement
        .columns()
        .iter()
        .map(|c| {
            let (type_name, kind) = map(c.type_info().name());
            ColumnInfo::stored(c.name(), type_name, kind)
        })
        .collect();
    Ok(TableSchema {
        columns,
        primary_key: vec![],
    })
}

fn quote_double(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Runs one of cutover's own statements (session setup, transaction control).
async fn exec<'c, E: sqlx::Executor<'c>>(conn: E, sql: &str) -> Result<(), SourceError> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(|e| query_error(sql, e))
}

impl TableSchema {
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

fn query_error(sql: &str, e: impl std::fmt::Display) -> SourceError {
    SourceError::Query {
        sql: sql.to_string(),
        message: e.to_string(),
    }
}

/// Classifies a connection failure into a message with a hint.
fn connect_error(url: &str, e: sqlx::Error) -> SourceError {
    let message = e.to_string();
    let lower = message.to_lowercase();
    let hint = if lower.contains("refused")
        || lower.contains("timed out")
        || lower.contains("resolve")
        || lower.contains("no route")
    {
        "is the server running and reachable at this host and port?"
    } else if lower.contains("password")
        || lower.contains("access denied")
        || lower.contains("authentication")
        || lower.contains("role")
    {
        "check the user name and password (put the URL in an environment variable and use url_env)"
    } else if lower.contains("does not exist") || lower.contains("unknown database") {
        "check the database name at the end of the URL"
    } else if lower.contains("unable to open") || lower.contains("no such file") {
        "check the SQLite file path (relative paths are taken from the config file's folder)"
    } else {
        "check the URL, the server and the credentials"
    };
    SourceError::Connect {
        url: redact(url),
        message: redact_message(&message, url),
        hint: hint.into(),
    }
}

/// Removes the URL's password from a driver message, in case the driver echoed it.
fn redact_message(message: &str, url: &str) -> String {
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(str::to_string))
    {
        Some(p) if !p.is_empty() => message.replace(&p, "***"),
        _ => message.to_string(),
    }
}
