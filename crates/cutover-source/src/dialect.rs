//! One SQL dialect per engine, and the statement builders. This module is **the one place**
//! where SQL text from the config (filters, depth conditions, column expressions, source
//! queries, rule queries, group-by and aggregate expressions) enters a statement: such text is a
//! [`Fragment`], and only the builders here render fragments into statements. Everything else a
//! statement holds is built from identifiers quoted by the engine's [`Dialect`].

use crate::checksum::{self, BucketSql, ValueSql};
use crate::{ColumnInfo, Engine, ReadRequest, SessionLimits, SourceError};
use cutover_check::Kind;

/// SQL text written by the user in a config or rule file: an expression, a condition or a
/// query. It is made only by [`fragment`], which checks it in the engine's dialect, and enters a
/// statement only through the builders of this module, as one part of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fragment(String);

impl Fragment {
    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Text cutover built itself from quoted identifiers (never configured text).
    fn built(text: String) -> Fragment {
        Fragment(text)
    }
}

/// What a configured fragment must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FragmentKind {
    /// One expression: a condition, a computed column, a group-by or aggregate expression.
    Expression,
    /// One read-only query (`source_query`, a rule's query).
    Query,
}

/// Configured SQL that is not one read-only part of one statement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {reason}")]
pub struct FragmentError {
    /// Where it was configured: `table orders: source_where`.
    pub place: String,
    /// Why it was refused.
    pub reason: String,
}

/// Functions that act outside the query (end sessions, take locks, read or write files, change
/// settings, advance sequences, run SQL given as text): refused in configured SQL on every
/// engine. A function that only takes time (`pg_sleep`) is bounded by the statement timeout.
const SIDE_EFFECTS: &[&str] = &[
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_promote",
    "pg_switch_wal",
    "pg_create_restore_point",
    "set_config",
    "nextval",
    "setval",
    "lo_import",
    "lo_export",
    "lo_unlink",
    "lo_create",
    "lo_from_bytea",
    "lo_put",
    "dblink",
    "dblink_exec",
    "dblink_connect",
    "dblink_send_query",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_dir",
    "pg_stat_file",
    "pg_file_write",
    "pg_advisory_lock",
    "pg_advisory_lock_shared",
    "pg_advisory_xact_lock",
    "pg_advisory_xact_lock_shared",
    "pg_try_advisory_lock",
    "pg_try_advisory_lock_shared",
    "pg_try_advisory_xact_lock",
    "pg_try_advisory_xact_lock_shared",
    "pg_notify",
    "query_to_xml",
    "query_to_xml_and_xmlschema",
    "query_to_xmlschema",
    "cursor_to_xml",
    "get_lock",
    "release_lock",
    "release_all_locks",
    "load_file",
    "master_pos_wait",
    "source_pos_wait",
    "sys_exec",
    "sys_eval",
    "load_extension",
    "writefile",
    "readfile",
    "edit",
];

/// Keywords that write, lock or leave the query, which a read never needs: refused anywhere in
/// configured SQL (a data-modifying `WITH … AS (DELETE …)`, `SELECT … INTO`, `INTO OUTFILE`,
/// `LOCK IN SHARE MODE`). Statements such as `COMMIT` or `SET` need a statement of their own,
/// which the single-statement check already refuses.
const REFUSED_KEYWORDS: &[&str] = &[
    "INTO", "OUTFILE", "DUMPFILE", "INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "DROP",
    "ALTER", "CREATE", "GRANT", "REVOKE", "LOCK",
];

/// The sqlparser dialect of an engine (PostgreSQL's for sides without SQL of their own).
fn parser_dialect(engine: Option<Engine>) -> Box<dyn sqlparser::dialect::Dialect> {
    use sqlparser::dialect::{MySqlDialect, PostgreSqlDialect, SQLiteDialect};
    match engine {
        Some(Engine::MySql) => Box::new(MySqlDialect {}),
        Some(Engine::Sqlite) => Box::new(SQLiteDialect {}),
        _ => Box::new(PostgreSqlDialect {}),
    }
}

/// Checks configured SQL for the engine that will run it, and makes it a [`Fragment`]. It must
/// be one expression (or one read-only query) with no statement separator, no comment, nothing
/// that writes, locks or leaves the query, and no function with side effects. `place` names it
/// in the error (`table orders: source_where`). `engine` is `None` for sides that run no SQL
/// (their connector refuses fragments with a message of its own).
pub fn fragment(
    engine: Option<Engine>,
    kind: FragmentKind,
    place: &str,
    text: &str,
) -> Result<Fragment, FragmentError> {
    check_fragment(engine, kind, text).map_err(|reason| FragmentError {
        place: place.to_string(),
        reason,
    })?;
    Ok(Fragment(text.to_string()))
}

fn check_fragment(engine: Option<Engine>, kind: FragmentKind, text: &str) -> Result<(), String> {
    use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};
    if text.trim().is_empty() {
        return Err("is empty".into());
    }
    let d = parser_dialect(engine);
    let tokens = Tokenizer::new(d.as_ref(), text)
        .tokenize()
        .map_err(|e| format!("cannot be read as SQL ({e})"))?;
    let words: Vec<&Token> = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    if tokens.contains(&Token::SemiColon) {
        return Err(
            "holds `;`: configured SQL is one part of one statement, never several statements"
                .into(),
        );
    }
    // FOR UPDATE / FOR SHARE / FOR NO KEY UPDATE / FOR KEY SHARE lock rows.
    for pair in words.windows(2) {
        if let (Token::Word(a), Token::Word(b)) = (pair[0], pair[1])
            && a.value.eq_ignore_ascii_case("for")
            && ["update", "share", "no", "key"].contains(&b.value.to_ascii_lowercase().as_str())
        {
            return Err(format!(
                "uses FOR {}: a check never locks rows",
                b.value.to_ascii_uppercase()
            ));
        }
    }
    let mut depth = 0i64;
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Token::Whitespace(
                Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_),
            ) => {
                return Err(
                    "holds a comment, which could hide the rest of cutover's statement; remove it"
                        .into(),
                );
            }
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth < 0 {
                    return Err("closes a parenthesis it did not open".into());
                }
            }
            Token::Word(w) if w.quote_style.is_none() => {
                let upper = w.value.to_ascii_uppercase();
                if REFUSED_KEYWORDS.contains(&upper.as_str()) {
                    return Err(format!("uses {upper}: configured SQL may only read"));
                }
                let next = tokens[i + 1..]
                    .iter()
                    .find(|t| !matches!(t, Token::Whitespace(_)));
                if next == Some(&Token::LParen)
                    && SIDE_EFFECTS.contains(&w.value.to_ascii_lowercase().as_str())
                {
                    return Err(format!(
                        "calls {}(), which acts outside the query; configured SQL may only read",
                        w.value
                    ));
                }
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("leaves a parenthesis open".into());
    }
    let mut parser = sqlparser::parser::Parser::new(d.as_ref())
        .try_with_sql(text)
        .map_err(|e| format!("cannot be read as SQL ({e})"))?;
    match kind {
        FragmentKind::Expression => {
            parser
                .parse_expr()
                .map_err(|e| format!("is not one SQL expression ({e})"))?;
            if parser.peek_token().token != Token::EOF {
                return Err(format!(
                    "is not one SQL expression: `{}` follows it",
                    parser.peek_token().token
                ));
            }
        }
        FragmentKind::Query => {
            let statement = parser
                .parse_statement()
                .map_err(|e| format!("is not one SQL query ({e})"))?;
            if parser.peek_token().token != Token::EOF {
                return Err(format!(
                    "is not one SQL query: `{}` follows it",
                    parser.peek_token().token
                ));
            }
            if !matches!(statement, sqlparser::ast::Statement::Query(_)) {
                return Err("is not a query: configured SQL may only read".into());
            }
        }
    }
    Ok(())
}

/// A row condition: configured, built by cutover from quoted identifiers, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// A configured condition (`source_where`, a rule's `filter`).
    Configured(Fragment),
    /// A condition cutover built from quoted identifiers (a rule's violation test).
    Built(String),
    /// All of these, each in parentheses, joined with `AND`.
    All(Vec<Condition>),
}

impl Condition {
    /// The condition as SQL.
    pub fn render(&self) -> String {
        match self {
            Condition::Configured(f) => f.0.clone(),
            Condition::Built(s) => s.clone(),
            Condition::All(parts) => parts
                .iter()
                .map(|c| format!("({})", c.render()))
                .collect::<Vec<_>>()
                .join(" AND "),
        }
    }

    /// `filter` (if any) and `built`, as [`Condition::All`].
    pub fn filtered(filter: Option<&Fragment>, built: String) -> Condition {
        let mut parts: Vec<Condition> = filter
            .cloned()
            .map(Condition::Configured)
            .into_iter()
            .collect();
        parts.push(Condition::Built(built));
        Condition::All(parts)
    }
}

/// What differs between SQL engines: quoting, key order in byte order, casts, session setup
/// and snapshots.
pub trait Dialect: Send + Sync {
    /// The engine.
    fn engine(&self) -> Engine;

    /// An identifier quoted for this engine.
    fn quote_ident(&self, ident: &str) -> String;

    /// A string literal.
    fn literal(&self, text: &str) -> String {
        format!("'{}'", text.replace('\'', "''"))
    }

    /// A text key's value as a literal that means the same whatever the session's settings
    /// (`standard_conforming_strings`, `NO_BACKSLASH_ESCAPES`): checksum bounds come from the
    /// database, and enter SQL only this way.
    fn key_literal(&self, text: &str) -> String {
        self.literal(text)
    }

    /// A select-list item that reads column `c` in a form the connector decodes.
    fn select_column(&self, c: &ColumnInfo) -> String {
        column_sql(self, c)
    }

    /// An `ORDER BY` item that orders column `c` in binary key order, NULLs first.
    fn order_column(&self, c: &ColumnInfo) -> String;

    /// Statements that make a new session read-only, pin every setting that changes how values
    /// or configured SQL read, and set its timeouts.
    fn session_setup(&self, limits: &SessionLimits) -> Vec<String>;

    /// Statements that open the read-only snapshot transaction of one read (in an exported
    /// snapshot, where the engine has them).
    fn begin_read(&self, snapshot: Option<&str>) -> Result<Vec<String>, SourceError>;

    /// Statements that open a snapshot and return its id, for engines whose snapshots other
    /// sessions can share (PostgreSQL): (begin, select the id).
    fn export_snapshot(&self) -> Option<(&'static str, &'static str)> {
        None
    }

    /// The SQL text of a non-NULL value of stored column `c` compared as `compare`, equal byte
    /// for byte to [`cutover_check::canonical::checksum_text`] (without its length prefix or
    /// `,`), or why this engine cannot render it so.
    /// `scale`: the decimal scale both sides declare, printed as it is (see
    /// [`cutover_check::canonical::checksum_text_scaled`]).
    fn checksum_value(
        &self,
        c: &ColumnInfo,
        compare: Kind,
        scale: Option<u32>,
    ) -> Result<ValueSql, String>;

    /// Texts joined into one (each part is never NULL).
    fn checksum_concat(&self, parts: &[String]) -> String {
        parts.join(" || ")
    }

    /// A text's length in bytes, as text.
    fn checksum_length(&self, text: &str) -> String {
        format!("octet_length({text})::text")
    }

    /// The statement that sums the md5 slices of the rows' texts per bucket, or `None` when the
    /// engine has no md5 in SQL.
    fn checksum_buckets(&self, q: &BucketSql) -> Option<String> {
        let _ = q;
        None
    }

    /// The statement that returns every `every`-th key in key order, as text.
    fn checksum_quantiles(&self, key: &str, from: &str, filter: &str, every: u64) -> String {
        checksum::quantiles(key, from, filter, every, "CAST(k AS TEXT)")
    }

    /// The statement that returns the smallest and the largest key, as text.
    fn checksum_key_span(&self, key: &str, from: &str, filter: &str) -> String {
        format!("SELECT CAST(MIN({key}) AS TEXT), CAST(MAX({key}) AS TEXT) FROM {from}{filter}")
    }

    /// A table name, `schema.table` quoted part by part.
    fn quote_name(&self, name: &str) -> String {
        match split_name(name) {
            (Some(s), t) => format!("{}.{}", self.quote_ident(s), self.quote_ident(t)),
            (None, t) => self.quote_ident(t),
        }
    }
}

/// The dialect of an engine.
pub fn of(engine: Engine) -> &'static dyn Dialect {
    match engine {
        Engine::Postgres => &Postgres,
        Engine::MySql => &MySql,
        Engine::Csv => &Files(Engine::Csv),
        Engine::Parquet => &Files(Engine::Parquet),
        Engine::Sqlite => &Sqlite,
    }
}

/// Splits `schema.table` into its parts.
pub fn split_name(table: &str) -> (Option<&str>, &str) {
    match table.split_once('.') {
        Some((s, t)) => (Some(s), t),
        None => (None, table),
    }
}

/// The column as read: the quoted name, or the configured expression in parentheses.
fn column_sql<D: Dialect + ?Sized>(d: &D, c: &ColumnInfo) -> String {
    match &c.expr {
        Some(e) => format!("({})", e.0),
        None => d.quote_ident(&c.name),
    }
}

fn text_key(kind: Kind) -> bool {
    matches!(kind, Kind::Text | Kind::Char | Kind::Uuid | Kind::Json)
}

/// PostgreSQL.
pub struct Postgres;
/// MySQL and MariaDB.
pub struct MySql;
/// SQLite.
pub struct Sqlite;

fn quote_double(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

impl Dialect for Postgres {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }
    fn quote_ident(&self, ident: &str) -> String {
        quote_double(ident)
    }
    fn key_literal(&self, text: &str) -> String {
        // An escape string reads the same whether standard_conforming_strings is on or off.
        format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
    }
    fn select_column(&self, c: &ColumnInfo) -> String {
        let col = column_sql(self, c);
        match c.type_name.as_str() {
            // Money is a number; its text depends on lc_monetary ('$1,234.56').
            "money" => format!("{col}::numeric"),
            // inet's ::text adds /32 (or /128) to a host address; its output does not.
            "inet" => format!(
                "CASE WHEN masklen({col}) = CASE WHEN family({col}) = 4 THEN 32 ELSE 128 END THEN host({col}) ELSE {col}::text END"
            ),
            _ if c.read_as_text => format!("{col}::text"),
            _ => col,
        }
    }
    fn order_column(&self, c: &ColumnInfo) -> String {
        // NULLS FIRST is not the order of a default (ascending, NULLS LAST) index, so PostgreSQL
        // sorts every row to follow it: a column that holds no NULL is ordered without it, and
        // the primary key's index serves the order (a sort of 10M rows spilled to disk).
        let nulls = if c.not_null { "" } else { " NULLS FIRST" };
        if c.text_order {
            format!("{}::text COLLATE \"C\"{nulls}", column_sql(self, c))
        } else {
            format!("{}{nulls}", column_sql(self, c))
        }
    }
    fn session_setup(&self, limits: &SessionLimits) -> Vec<String> {
        vec![
            // Every transaction of this session is read-only.
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY".into(),
            // Renderings of values read as text, and how configured SQL reads, are the same
            // whatever the server or database says by default.
            "SET DateStyle = 'ISO, MDY'".into(),
            "SET IntervalStyle = 'postgres'".into(),
            "SET TimeZone = 'UTC'".into(),
            "SET extra_float_digits = 3".into(),
            "SET bytea_output = 'hex'".into(),
            "SET standard_conforming_strings = on".into(),
            // The session that holds the shared snapshot waits idle in its transaction.
            "SET idle_in_transaction_session_timeout = 0".into(),
            format!("SET lock_timeout = '{}s'", limits.lock_timeout_secs),
            format!(
                "SET statement_timeout = '{}s'",
                limits.statement_timeout_secs
            ),
        ]
    }
    fn begin_read(&self, snapshot: Option<&str>) -> Result<Vec<String>, SourceError> {
        let mut out = vec!["BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".to_string()];
        if let Some(id) = snapshot {
            // Snapshot ids are hex digits and dashes; anything else is not ours.
            if !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
                return Err(SourceError::Query {
                    sql: "SET TRANSACTION SNAPSHOT".into(),
                    message: format!("unexpected snapshot id {id:?}"),
                });
            }
            out.push(format!("SET TRANSACTION SNAPSHOT '{id}'"));
        }
        Ok(out)
    }
    fn checksum_value(
        &self,
        c: &ColumnInfo,
        compare: Kind,
        scale: Option<u32>,
    ) -> Result<ValueSql, String> {
        checksum::postgres_value(self, c, compare, scale)
    }
    fn checksum_buckets(&self, q: &BucketSql) -> Option<String> {
        Some(checksum::postgres_buckets(q))
    }
    fn export_snapshot(&self) -> Option<(&'static str, &'static str)> {
        Some((
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            "SELECT pg_export_snapshot()",
        ))
    }
}

impl Dialect for MySql {
    fn engine(&self) -> Engine {
        Engine::MySql
    }
    fn quote_ident(&self, ident: &str) -> String {
        format!("`{}`", ident.replace('`', "``"))
    }
    fn literal(&self, text: &str) -> String {
        // A backslash escapes in MySQL string literals unless NO_BACKSLASH_ESCAPES is set.
        format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
    }
    fn key_literal(&self, text: &str) -> String {
        // Hex digits under a character set introducer: no quote or backslash to escape, and
        // compared in the column's collation.
        let hex: String = text.bytes().map(|b| format!("{b:02X}")).collect();
        format!("_utf8mb4 X'{hex}'")
    }
    fn select_column(&self, c: &ColumnInfo) -> String {
        let col = column_sql(self, c);
        // bit(n) as its n binary digits, leading zeros kept, as PostgreSQL shows bit(n).
        if let Some(n) = c
            .type_name
            .strip_prefix("bit(")
            .and_then(|r| r.strip_suffix(')'))
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|_| c.expr.is_none())
        {
            return format!("LPAD(BIN({col}), {n}, '0')");
        }
        if c.read_as_text {
            format!("CAST({col} AS CHAR)")
        } else {
            col
        }
    }
    fn order_column(&self, c: &ColumnInfo) -> String {
        // NULLs sort first by default; CAST … AS BINARY orders by bytes, not by collation.
        if text_key(c.kind) {
            format!("CAST({} AS BINARY)", column_sql(self, c))
        } else {
            column_sql(self, c)
        }
    }
    fn session_setup(&self, limits: &SessionLimits) -> Vec<String> {
        let mut out = vec![
            "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY".to_string(),
            // A reader paused by backpressure must not be cut off by the server.
            "SET SESSION net_write_timeout = 3600".into(),
            // How values and configured SQL read: UTC, utf8mb4, and no sql_mode (so `||`,
            // double quotes and backslashes mean what the dialect assumes).
            "SET SESSION time_zone = '+00:00'".into(),
            "SET NAMES utf8mb4".into(),
            "SET SESSION sql_mode = ''".into(),
            // A bucket's rows joined for one md5 (checksums) are cut at this length (the
            // largest MariaDB takes; `max_allowed_packet` cuts sooner, with a warning).
            "SET SESSION group_concat_max_len = 1073741824".into(),
        ];
        if limits.lock_timeout_secs > 0 {
            out.push(format!(
                "SET SESSION lock_wait_timeout = {}",
                limits.lock_timeout_secs
            ));
            out.push(format!(
                "SET SESSION innodb_lock_wait_timeout = {}",
                limits.lock_timeout_secs
            ));
        }
        // The statement timeout differs between MySQL and MariaDB: the connector sets it.
        out
    }
    fn begin_read(&self, _snapshot: Option<&str>) -> Result<Vec<String>, SourceError> {
        Ok(vec![
            "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY".into(),
        ])
    }
    fn checksum_value(
        &self,
        c: &ColumnInfo,
        compare: Kind,
        scale: Option<u32>,
    ) -> Result<ValueSql, String> {
        checksum::mysql_value(self, c, compare, scale)
    }
    fn checksum_concat(&self, parts: &[String]) -> String {
        format!("CONCAT({})", parts.join(", "))
    }
    fn checksum_length(&self, text: &str) -> String {
        format!("LENGTH({text})")
    }
    fn checksum_buckets(&self, q: &BucketSql) -> Option<String> {
        Some(checksum::mysql_buckets(q))
    }
    fn checksum_quantiles(&self, key: &str, from: &str, filter: &str, every: u64) -> String {
        checksum::quantiles(key, from, filter, every, "CAST(k AS CHAR)")
    }
    fn checksum_key_span(&self, key: &str, from: &str, filter: &str) -> String {
        format!("SELECT CAST(MIN({key}) AS CHAR), CAST(MAX({key}) AS CHAR) FROM {from}{filter}")
    }
}

impl Dialect for Sqlite {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }
    fn quote_ident(&self, ident: &str) -> String {
        quote_double(ident)
    }
    fn order_column(&self, c: &ColumnInfo) -> String {
        // NULLs sort first by default.
        if text_key(c.kind) {
            format!("{} COLLATE BINARY", column_sql(self, c))
        } else {
            column_sql(self, c)
        }
    }
    fn session_setup(&self, _limits: &SessionLimits) -> Vec<String> {
        vec![]
    }
    fn begin_read(&self, _snapshot: Option<&str>) -> Result<Vec<String>, SourceError> {
        Ok(vec!["BEGIN DEFERRED".into()])
    }
    fn checksum_value(
        &self,
        c: &ColumnInfo,
        compare: Kind,
        scale: Option<u32>,
    ) -> Result<ValueSql, String> {
        checksum::sqlite_value(self, c, compare, scale)
    }
    fn checksum_length(&self, text: &str) -> String {
        format!("CAST(length(CAST({text} AS BLOB)) AS TEXT)")
    }
}

/// Folders of exports, queried by DataFusion (close to PostgreSQL's dialect). A table's name
/// is one identifier, dots and globs included (`"ORD_*.csv"`).
pub struct Files(Engine);

impl Dialect for Files {
    fn engine(&self) -> Engine {
        self.0
    }
    fn quote_ident(&self, ident: &str) -> String {
        quote_double(ident)
    }
    fn quote_name(&self, name: &str) -> String {
        quote_double(name)
    }
    fn order_column(&self, c: &ColumnInfo) -> String {
        format!("{} NULLS FIRST", column_sql(self, c))
    }
    fn session_setup(&self, _limits: &SessionLimits) -> Vec<String> {
        vec![]
    }
    fn begin_read(&self, _snapshot: Option<&str>) -> Result<Vec<String>, SourceError> {
        Ok(vec![])
    }
    fn checksum_value(
        &self,
        _c: &ColumnInfo,
        _compare: Kind,
        _scale: Option<u32>,
    ) -> Result<ValueSql, String> {
        Err("a folder of exports computes no checksums; its rows are streamed".into())
    }
}

/// The table or the configured query a statement reads from.
fn from_sql(d: &dyn Dialect, table: &str, query: Option<&Fragment>) -> String {
    match query {
        Some(q) => format!("({}) AS cutover_src", q.0),
        None => d.quote_name(table),
    }
}

/// The SELECT of a read without its order: its columns and its filter (a reader that sorts
/// the rows itself runs it).
pub fn unordered_select_sql(d: &dyn Dialect, req: &ReadRequest) -> String {
    let cols: Vec<String> = req.columns.iter().map(|c| d.select_column(c)).collect();
    let mut sql = format!(
        "SELECT {} FROM {}",
        cols.join(", "),
        from_sql(d, &req.table, req.query.as_ref())
    );
    if let Some(f) = &req.filter {
        sql.push_str(&format!(" WHERE ({})", f.render()));
    }
    sql
}

/// The SELECT a read runs: its columns, its filter, its rows in binary key order (or in storage
/// order, for a request that asks for it).
pub fn select_sql(d: &dyn Dialect, req: &ReadRequest) -> String {
    let mut sql = unordered_select_sql(d, req);
    if req.in_storage_order {
        return sql;
    }
    let order: Vec<String> = req.columns[..req.key_columns]
        .iter()
        .map(|c| d.order_column(c))
        .collect();
    if !order.is_empty() {
        sql.push_str(&format!(" ORDER BY {}", order.join(", ")));
    }
    sql
}

/// `SELECT COUNT(*) FROM table [WHERE condition]`.
pub fn count_sql(d: &dyn Dialect, table: &str, cond: Option<&Condition>) -> String {
    let mut sql = format!("SELECT COUNT(*) FROM {}", d.quote_name(table));
    if let Some(c) = cond {
        sql.push_str(&format!(" WHERE {}", c.render()));
    }
    sql
}

/// A statement that types a configured expression without running it:
/// `SELECT (expr) AS cutover_expr FROM table` (or from the configured source query).
pub fn expression_probe_sql(
    d: &dyn Dialect,
    table: &str,
    query: Option<&Fragment>,
    expr: &Fragment,
) -> Fragment {
    Fragment::built(format!(
        "SELECT ({}) AS cutover_expr FROM {}",
        expr.0,
        from_sql(d, table, query)
    ))
}

/// The number of rows a configured query returns.
pub fn count_query_sql(query: &Fragment) -> String {
    format!("SELECT COUNT(*) FROM ({}) AS cutover_q", query.0)
}

/// The rule conditions, built from quoted identifiers (and the rule's filter where it belongs).
pub struct Conditions<'a> {
    d: &'a dyn Dialect,
    table: String,
}

impl<'a> Conditions<'a> {
    /// Conditions on rows of `table`.
    pub fn new(d: &'a dyn Dialect, table: &str) -> Conditions<'a> {
        Conditions {
            d,
            table: d.quote_name(table),
        }
    }

    /// `table.column`.
    fn qualified(&self, column: &str) -> String {
        format!("{}.{}", self.table, self.d.quote_ident(column))
    }

    /// Any of the columns is NULL.
    pub fn any_null(&self, columns: &[String]) -> String {
        columns
            .iter()
            .map(|c| format!("{} IS NULL", self.qualified(c)))
            .collect::<Vec<_>>()
            .join(" OR ")
    }

    /// The columns' values occur in more than one row (rows with a NULL in them not compared).
    pub fn duplicated(&self, columns: &[String], filter: Option<&Fragment>) -> String {
        let qualified: Vec<String> = columns.iter().map(|c| self.qualified(c)).collect();
        let tuple = if qualified.len() == 1 {
            qualified[0].clone()
        } else {
            format!("({})", qualified.join(", "))
        };
        let plain: Vec<String> = columns.iter().map(|c| self.d.quote_ident(c)).collect();
        let not_null = plain
            .iter()
            .map(|c| format!("{c} IS NOT NULL"))
            .collect::<Vec<_>>()
            .join(" AND ");
        format!(
            "{tuple} IN (SELECT {cols} FROM {t} WHERE {not_null}{filter} GROUP BY {cols} HAVING COUNT(*) > 1)",
            cols = plain.join(", "),
            t = self.table,
            filter = filter
                .map(|f| format!(" AND ({})", f.0))
                .unwrap_or_default()
        )
    }

    /// The column holds a value that is not in `values`.
    pub fn not_in_list(&self, column: &str, values: &[String]) -> String {
        let list: Vec<String> = values.iter().map(|v| self.d.literal(v)).collect();
        format!(
            "{c} IS NOT NULL AND {c} NOT IN ({})",
            list.join(", "),
            c = self.qualified(column)
        )
    }

    /// The column holds a value that `values_table.values_column` does not.
    pub fn not_in_table(&self, column: &str, values_table: &str, values_column: &str) -> String {
        format!(
            "{c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {vt} v WHERE v.{vc} = {c})",
            c = self.qualified(column),
            vt = self.d.quote_name(values_table),
            vc = self.d.quote_ident(values_column)
        )
    }

    /// No row of `parent` has `parent_columns` equal to this row's `columns`. NULL child values
    /// are violations with `nulls_violate`, else they are not checked.
    pub fn orphan(
        &self,
        columns: &[String],
        parent: &str,
        parent_columns: &[String],
        nulls_violate: bool,
    ) -> String {
        let join: Vec<String> = columns
            .iter()
            .zip(parent_columns)
            .map(|(c, pc)| format!("p.{} = {}", self.d.quote_ident(pc), self.qualified(c)))
            .collect();
        let orphan = format!(
            "NOT EXISTS (SELECT 1 FROM {} p WHERE {})",
            self.d.quote_name(parent),
            join.join(" AND ")
        );
        let nulls = self.any_null(columns);
        if nulls_violate {
            format!("({nulls}) OR {orphan}")
        } else {
            format!("NOT ({nulls}) AND {orphan}")
        }
    }
}

/// `SELECT DISTINCT columns FROM table WHERE none is NULL [AND (filter)]`.
pub fn distinct_keys_sql(
    d: &dyn Dialect,
    table: &str,
    columns: &[String],
    filter: Option<&Fragment>,
) -> Fragment {
    let not_null: Vec<String> = columns
        .iter()
        .map(|c| format!("{} IS NOT NULL", d.quote_ident(c)))
        .collect();
    Fragment::built(format!(
        "SELECT DISTINCT {} FROM {} WHERE {}{}",
        columns
            .iter()
            .map(|c| d.quote_ident(c))
            .collect::<Vec<_>>()
            .join(", "),
        d.quote_name(table),
        not_null.join(" AND "),
        filter
            .map(|f| format!(" AND ({})", f.0))
            .unwrap_or_default()
    ))
}

/// `SELECT g0, …, aggregate AS agg FROM table [WHERE (filter)] [GROUP BY …]`, from configured
/// group-by and aggregate expressions.
pub fn aggregate_sql(
    d: &dyn Dialect,
    table: &str,
    group_by: &[Fragment],
    aggregate: &Fragment,
    filter: Option<&Fragment>,
) -> Fragment {
    let mut select: Vec<String> = group_by
        .iter()
        .enumerate()
        .map(|(i, e)| format!("{} AS g{i}", e.0))
        .collect();
    select.push(format!("{} AS agg", aggregate.0));
    let mut sql = format!("SELECT {} FROM {}", select.join(", "), d.quote_name(table));
    if let Some(f) = filter {
        sql.push_str(&format!(" WHERE ({})", f.0));
    }
    if !group_by.is_empty() {
        let groups: Vec<&str> = group_by.iter().map(|g| g.0.as_str()).collect();
        sql.push_str(&format!(" GROUP BY {}", groups.join(", ")));
    }
    Fragment::built(sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Fragment {
        /// A fragment for tests of the builders (checked elsewhere).
        pub(crate) fn new(text: &str) -> Fragment {
            Fragment(text.to_string())
        }
    }

    #[test]
    fn identifiers_are_quoted_per_engine() {
        assert_eq!(Postgres.quote_name("s.t\"x"), "\"s\".\"t\"\"x\"");
        assert_eq!(MySql.quote_name("db.t`x"), "`db`.`t``x`");
        assert_eq!(MySql.literal("a'b\\"), "'a''b\\\\'");
        assert_eq!(Sqlite.literal("a'b\\"), "'a''b\\'");
    }

    #[test]
    fn conditions_nest_configured_text_in_parentheses() {
        let f = Fragment::new("x > 1");
        let c = Condition::filtered(Some(&f), "y IS NULL".into());
        assert_eq!(c.render(), "(x > 1) AND (y IS NULL)");
        assert_eq!(
            count_sql(&Sqlite, "t", Some(&c)),
            "SELECT COUNT(*) FROM \"t\" WHERE (x > 1) AND (y IS NULL)"
        );
        assert_eq!(
            Condition::filtered(None, "y".into()).render(),
            "(y)",
            "a rule condition alone is still parenthesised"
        );
    }

    fn request() -> ReadRequest {
        let mut name = ColumnInfo::stored("name", "text", Kind::Text);
        name.text_order = true;
        let mut req = ReadRequest::new(
            "s.t",
            vec![
                name,
                ColumnInfo::stored("n", "integer", Kind::Number),
                ColumnInfo::computed("full", Fragment::new("a || b")),
            ],
            1,
        );
        req.filter = Some(Condition::Configured(Fragment::new("n > 1")));
        req
    }

    #[test]
    fn every_engine_reads_keys_in_byte_order() {
        assert_eq!(
            select_sql(&Postgres, &request()),
            "SELECT \"name\", \"n\", (a || b)::text FROM \"s\".\"t\" WHERE (n > 1) ORDER BY \"name\"::text COLLATE \"C\" NULLS FIRST"
        );
        assert_eq!(
            select_sql(&MySql, &request()),
            "SELECT `name`, `n`, CAST((a || b) AS CHAR) FROM `s`.`t` WHERE (n > 1) ORDER BY CAST(`name` AS BINARY)"
        );
        assert_eq!(
            select_sql(&Sqlite, &request()),
            "SELECT \"name\", \"n\", (a || b) FROM \"s\".\"t\" WHERE (n > 1) ORDER BY \"name\" COLLATE BINARY"
        );
        let mut q = request();
        q.query = Some(Fragment::new("SELECT 1 AS name"));
        q.filter = None;
        assert!(
            select_sql(&Sqlite, &q).contains("FROM (SELECT 1 AS name) AS cutover_src ORDER BY")
        );
        // A key that holds no NULL needs no NULLS FIRST, which would keep PostgreSQL from
        // walking the primary key's index; read in storage order, it has no ORDER BY at all.
        let mut q = ReadRequest::new(
            "t",
            vec![ColumnInfo::stored("id", "bigint", Kind::Number)],
            1,
        );
        assert!(select_sql(&Postgres, &q).ends_with("ORDER BY \"id\" NULLS FIRST"));
        q.columns[0].not_null = true;
        assert!(select_sql(&Postgres, &q).ends_with("FROM \"t\" ORDER BY \"id\""));
        q.in_storage_order = true;
        assert_eq!(select_sql(&Postgres, &q), "SELECT \"id\" FROM \"t\"");
    }

    #[test]
    fn rule_conditions_are_built_from_quoted_identifiers() {
        let c = Conditions::new(&MySql, "orders");
        assert_eq!(
            c.orphan(&["cust".into()], "customers", &["id".into()], false),
            "NOT (`orders`.`cust` IS NULL) AND NOT EXISTS (SELECT 1 FROM `customers` p WHERE p.`id` = `orders`.`cust`)"
        );
        assert_eq!(
            c.not_in_list("status", &["A".into(), "it's".into()]),
            "`orders`.`status` IS NOT NULL AND `orders`.`status` NOT IN ('A', 'it''s')"
        );
        assert_eq!(
            aggregate_sql(
                &Postgres,
                "o",
                &[Fragment::new("cur")],
                &Fragment::new("sum(t)"),
                None
            )
            .as_str(),
            "SELECT cur AS g0, sum(t) AS agg FROM \"o\" GROUP BY cur"
        );
    }

    fn check(engine: Engine, kind: FragmentKind, text: &str) -> Result<(), String> {
        fragment(Some(engine), kind, "here", text)
            .map(|_| ())
            .map_err(|e| e.reason)
    }

    #[test]
    fn what_users_write_is_accepted() {
        use FragmentKind::{Expression as E, Query as Q};
        for (engine, kind, text) in [
            (Engine::Postgres, E, "ORD_DT >= '2015-01-01'"),
            (
                Engine::Sqlite,
                E,
                "ORD_ID IN (SELECT ORD_ID FROM ORD WHERE ORD_DT >= '2015-01-01')",
            ),
            (
                Engine::Postgres,
                E,
                "TRIM(FIRST_NM) || ' ' || TRIM(LAST_NM)",
            ),
            (Engine::MySql, E, "CONCAT(first_name, ' ', last_name)"),
            (Engine::MySql, E, "REPLACE(code, 'x', 'y')"),
            (Engine::Postgres, E, "count(DISTINCT customer_id)"),
            (Engine::Postgres, E, "date_trunc('month', created_at)"),
            (
                Engine::Postgres,
                E,
                "CASE WHEN status = 'A' THEN 'ACTIVE' ELSE status END",
            ),
            (Engine::Postgres, E, "note = 'a;b -- not a comment'"),
            (Engine::Postgres, E, "\"start\" > 1 AND \"update\" IS NULL"),
            (Engine::Postgres, E, "pg_sleep(0) IS NOT NULL"),
            (
                Engine::Postgres,
                Q,
                "SELECT a.id, b.v FROM a JOIN b USING (id) WHERE a.x > 0",
            ),
            (
                Engine::MySql,
                Q,
                "SELECT id, SUM(total) FROM orders GROUP BY id",
            ),
            (
                Engine::Sqlite,
                Q,
                "WITH t AS (SELECT 1 AS x) SELECT x FROM t",
            ),
        ] {
            assert_eq!(check(engine, kind, text), Ok(()), "{engine:?} {text}");
        }
    }

    #[test]
    fn escapes_and_writes_are_refused_with_a_reason() {
        use FragmentKind::{Expression as E, Query as Q};
        for (engine, kind, text, why) in [
            (
                Engine::Postgres,
                E,
                "id > 0) ORDER BY \"id\") TO STDOUT (FORMAT binary); COMMIT; BEGIN READ WRITE; DELETE FROM victim2; COMMIT; COPY (SELECT \"id\",\"v\" FROM \"victim\" WHERE (true",
                "`;`",
            ),
            (Engine::Postgres, E, "1=1 --", "comment"),
            (Engine::MySql, E, "1=1 /* x */", "comment"),
            (Engine::MySql, E, "1=1 # x", "comment"),
            (Engine::Postgres, E, "id > 0)) OR ((1=1", "parenthesis"),
            (Engine::Postgres, E, "(id > 0", "parenthesis"),
            (Engine::Postgres, E, "id > 0 ORDER BY id", "follows"),
            (
                Engine::Postgres,
                E,
                "(SELECT count(*) FROM v FOR UPDATE) > 0",
                "FOR UPDATE",
            ),
            (
                Engine::MySql,
                E,
                "(SELECT count(*) FROM v LOCK IN SHARE MODE) > 0",
                "LOCK",
            ),
            (
                Engine::Postgres,
                Q,
                "SELECT * FROM victim FOR SHARE",
                "FOR SHARE",
            ),
            (
                Engine::MySql,
                Q,
                "SELECT * FROM victim INTO OUTFILE '/tmp/x'",
                "INTO",
            ),
            (
                Engine::Postgres,
                Q,
                "SELECT * INTO copy FROM victim",
                "INTO",
            ),
            (
                Engine::Postgres,
                E,
                "(WITH d AS (DELETE FROM v RETURNING id) SELECT count(*) FROM d) > 0",
                "DELETE",
            ),
            (Engine::Postgres, Q, "DELETE FROM victim", "DELETE"),
            (
                Engine::Postgres,
                E,
                "pg_terminate_backend(pg_backend_pid())",
                "pg_terminate_backend",
            ),
            (
                Engine::Postgres,
                E,
                "set_config('default_transaction_read_only', 'off', false) IS NOT NULL",
                "set_config",
            ),
            (Engine::Postgres, E, "nextval('s') > 0", "nextval"),
            (
                Engine::Postgres,
                E,
                "query_to_xml('SELECT 1', true, true, '') IS NOT NULL",
                "query_to_xml",
            ),
            (Engine::MySql, E, "GET_LOCK('x', 10) = 1", "GET_LOCK"),
            (
                Engine::MySql,
                E,
                "LOAD_FILE('/etc/passwd') IS NULL",
                "LOAD_FILE",
            ),
            (
                Engine::Sqlite,
                E,
                "load_extension('x') IS NULL",
                "load_extension",
            ),
            (Engine::Postgres, E, "", "empty"),
        ] {
            let err = check(engine, kind, text).expect_err(text);
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn postgres_rejects_a_foreign_snapshot_id() {
        assert!(Postgres.begin_read(Some("0000-1")).is_ok());
        assert!(Postgres.begin_read(Some("x'; DROP")).is_err());
    }
}
