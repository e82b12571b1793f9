//! The database connectors. [`Database`] is written once: it opens the session with the
//! dialect's setup, and its read loop (begin the snapshot, stream rows into batches, flush,
//! commit) serves every engine. An engine ([`SqlEngine`]) only connects, describes, and turns
//! its wire rows into cells.

use crate::SessionLimits;
use crate::dialect::{self, Dialect, Fragment};
use crate::error::query_error;
use crate::{
    BatchWriter, Connector, Endpoint, ReadRequest, SourceError, SqlConnector, TableSchema,
};
use cutover_check::Batch;

mod catalog;
mod mysql;
mod postgres;
mod sqlite;

/// What differs between database engines below the dialect: the driver's connection, the
/// catalogue queries, and the decoding of wire rows.
pub(crate) trait SqlEngine: Sized + Send + 'static {
    /// The engine's dialect.
    fn dialect() -> &'static dyn Dialect;
    /// Opens a connection (the dialect's session setup runs after it).
    async fn connect(url: &str, limits: &SessionLimits) -> Result<Self, SourceError>;
    /// Runs one of cutover's own statements.
    async fn execute(&mut self, sql: &str) -> Result<(), SourceError>;
    /// Runs a statement that returns one integer.
    async fn count(&mut self, sql: &str) -> Result<i64, SourceError>;
    /// Runs a statement that returns one text.
    async fn text(&mut self, sql: &str) -> Result<String, SourceError>;
    /// Runs a catalogue statement whose columns are all text, with bound text parameters.
    async fn text_rows(
        &mut self,
        sql: &str,
        params: &[Option<String>],
    ) -> Result<Vec<Vec<Option<String>>>, SourceError>;
    /// The warnings of the session's last statement, on engines that warn instead of failing
    /// when a value is cut short (MySQL's `CONCAT` past `max_allowed_packet` is NULL, and
    /// `GROUP_CONCAT` past `group_concat_max_len` is cut): a statement cutover builds to compute
    /// exactly fails on any warning.
    async fn warnings(&mut self) -> Result<Vec<String>, SourceError> {
        Ok(Vec::new())
    }
    /// Describes a table from the catalogue.
    async fn describe(&mut self, table: &str) -> Result<Option<TableSchema>, SourceError>;
    /// Describes a query's result columns without running it.
    async fn describe_query(&mut self, query: &str) -> Result<TableSchema, SourceError>;
    /// Whether this connection is encrypted, and what its URL asked to verify.
    async fn transport(&mut self, url: &str) -> Result<crate::Transport, SourceError>;
    /// Streams the rows of `sql` (built for `req`) into `w`.
    async fn stream(
        &mut self,
        sql: &str,
        req: &ReadRequest,
        w: &mut BatchWriter<'_>,
    ) -> Result<(), SourceError>;
}

/// The statements every sqlx engine runs the same way on its `conn` field: cutover's own
/// statements, and prepared single statements that return one integer or one text.
macro_rules! sqlx_statements {
    () => {
        async fn execute(&mut self, sql: &str) -> Result<(), SourceError> {
            super::execute(&mut self.conn, sql).await
        }

        async fn count(&mut self, sql: &str) -> Result<i64, SourceError> {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_one(&mut self.conn)
                .await
                .map_err(|e| query_error(sql, e))
        }

        async fn text(&mut self, sql: &str) -> Result<String, SourceError> {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_one(&mut self.conn)
                .await
                .map_err(|e| query_error(sql, e))
        }

        async fn text_rows(
            &mut self,
            sql: &str,
            params: &[Option<String>],
        ) -> Result<Vec<Vec<Option<String>>>, SourceError> {
            use sqlx::Row as _;
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
            for p in params {
                query = query.bind(p.clone());
            }
            let rows = query
                .fetch_all(&mut self.conn)
                .await
                .map_err(|e| query_error(sql, e))?;
            rows.iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| r.try_get::<Option<String>, _>(i))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| query_error(sql, e))
                })
                .collect()
        }
    };
}
use sqlx_statements;

/// A read-only database session: a connection and the runtime that drives it.
pub(crate) struct Database<E> {
    rt: crate::runtime::Runtime,
    engine: E,
    transport: crate::Transport,
}

impl<E: SqlEngine> Database<E> {
    fn open(e: &Endpoint) -> Result<Database<E>, SourceError> {
        let rt = crate::runtime::Runtime::new()?;
        let engine = rt.block_on(async {
            let mut engine = E::connect(&e.url, &e.session).await?;
            for sql in E::dialect().session_setup(&e.session) {
                engine.execute(&sql).await?;
            }
            let transport = engine.transport(&e.url).await?;
            Ok::<_, SourceError>((engine, transport))
        })?;
        let (engine, transport) = engine;
        Ok(Database {
            rt,
            engine,
            transport,
        })
    }
}

pub(crate) fn open_sqlite(e: &Endpoint) -> Result<Box<dyn Connector>, SourceError> {
    Ok(Box::new(Database::<sqlite::Sqlite>::open(e)?))
}

pub(crate) fn open_postgres(e: &Endpoint) -> Result<Box<dyn Connector>, SourceError> {
    Ok(Box::new(Database::<postgres::Postgres>::open(e)?))
}

pub(crate) fn open_mysql(e: &Endpoint) -> Result<Box<dyn Connector>, SourceError> {
    Ok(Box::new(Database::<mysql::MySql>::open(e)?))
}

impl<E: SqlEngine> Connector for Database<E> {
    fn engine(&self) -> crate::Engine {
        E::dialect().engine()
    }

    fn transport(&self) -> crate::Transport {
        self.transport
    }

    fn describe(&mut self, table: &str) -> Result<Option<TableSchema>, SourceError> {
        let Database { rt, engine, .. } = self;
        rt.block_on(engine.describe(table))
    }

    fn tables(&mut self) -> Result<Vec<String>, SourceError> {
        let Database { rt, engine, .. } = self;
        rt.block_on(catalog::tables(engine))
    }

    fn catalog(&mut self, table: &str) -> Result<Option<crate::TableCatalog>, SourceError> {
        let Database { rt, engine, .. } = self;
        rt.block_on(catalog::catalog(engine, table))
    }

    fn read(
        &mut self,
        req: &ReadRequest,
        sink: &mut dyn FnMut(Batch) -> bool,
    ) -> Result<(), SourceError> {
        self.read_until(req, sink, &std::sync::atomic::AtomicBool::new(false))
    }

    fn read_until(
        &mut self,
        req: &ReadRequest,
        sink: &mut dyn FnMut(Batch) -> bool,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<(), SourceError> {
        if req.needs_sort() {
            // The engine cannot deliver this key in canonical order: sort the rows here.
            let mut sorter = crate::files::sort::Sorter::new(
                req.columns.len(),
                req.key_columns,
                req.batch_rows,
                req.memory_budget,
                None,
            );
            let mut failed = None;
            let unsorted = ReadRequest {
                key_columns: 0,
                ..req.clone()
            };
            self.read_in_order(&unsorted, cancel, &mut |batch| match sorter.push(batch) {
                Ok(()) => true,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            })
            .map_err(|e| match (e, failed.take()) {
                (SourceError::Stopped, Some(e)) => e,
                (e, _) => e,
            })?;
            return sorter.finish(sink);
        }
        self.read_in_order(req, cancel, sink)
    }

    fn read_sql(&self, req: &ReadRequest) -> String {
        if req.needs_sort() {
            let unsorted = ReadRequest {
                key_columns: 0,
                ..req.clone()
            };
            return format!(
                "{}, sorted by key by cutover (the engine's order of this key is not the order it is compared in)",
                dialect::select_sql(E::dialect(), &unsorted)
            );
        }
        dialect::select_sql(E::dialect(), req)
    }

    fn sql(&mut self) -> Option<&mut dyn SqlConnector> {
        Some(self)
    }
}

impl<E: SqlEngine> Database<E> {
    /// Streams the rows in the engine's order of the request's key; stops when `cancel` is set.
    fn read_in_order(
        &mut self,
        req: &ReadRequest,
        cancel: &std::sync::atomic::AtomicBool,
        sink: &mut dyn FnMut(Batch) -> bool,
    ) -> Result<(), SourceError> {
        let sql = dialect::select_sql(E::dialect(), req);
        let begin = E::dialect().begin_read(req.snapshot.as_deref())?;
        let Database { rt, engine, .. } = self;
        let watch = async {
            while !cancel.load(std::sync::atomic::Ordering::Relaxed) {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        };
        let work = async {
            for statement in &begin {
                engine.execute(statement).await?;
            }
            let mut writer = BatchWriter::new(req, sink);
            let result = match engine.stream(&sql, req, &mut writer).await {
                Ok(()) => writer.finish(),
                Err(e) => Err(e),
            };
            // End the snapshot; after a failure, roll back so the session stays usable.
            let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
            let _ = engine.execute(end).await;
            result
        };
        rt.block_on(async {
            use futures_util::future::{Either, select};
            match select(std::pin::pin!(work), std::pin::pin!(watch)).await {
                Either::Left((result, _)) => result,
                // Cancelled while the server had not answered: the session is dropped with it.
                Either::Right(((), _)) => Err(SourceError::Stopped),
            }
        })
    }
}

impl<E: SqlEngine> SqlConnector for Database<E> {
    fn dialect(&self) -> &'static dyn Dialect {
        E::dialect()
    }

    fn describe_query(&mut self, query: &Fragment) -> Result<TableSchema, SourceError> {
        let Database { rt, engine, .. } = self;
        rt.block_on(engine.describe_query(query.as_str()))
    }

    fn count(&mut self, sql: &str) -> Result<u64, SourceError> {
        let Database { rt, engine, .. } = self;
        Ok(rt.block_on(engine.count(sql))?.max(0) as u64)
    }

    fn text_rows(
        &mut self,
        sql: &str,
        snapshot: Option<&str>,
    ) -> Result<Vec<Vec<Option<String>>>, SourceError> {
        let begin = E::dialect().begin_read(snapshot)?;
        let Database { rt, engine, .. } = self;
        rt.block_on(async {
            for statement in &begin {
                engine.execute(statement).await?;
            }
            let mut rows = engine.text_rows(sql, &[]).await;
            if rows.is_ok() {
                rows = match engine.warnings().await {
                    Ok(warnings) if warnings.is_empty() => rows,
                    Ok(warnings) => Err(warned(sql, &warnings)),
                    Err(e) => Err(e),
                };
            }
            let end = if rows.is_ok() { "COMMIT" } else { "ROLLBACK" };
            let _ = engine.execute(end).await;
            rows
        })
    }

    fn export_snapshot(&mut self) -> Result<Option<String>, SourceError> {
        let Some((begin, select)) = E::dialect().export_snapshot() else {
            return Ok(None);
        };
        let Database { rt, engine, .. } = self;
        rt.block_on(async {
            engine.execute(begin).await?;
            engine.text(select).await.map(Some)
        })
    }
}

/// A statement cutover built to compute exactly, failed because the server warned.
fn warned(sql: &str, warnings: &[String]) -> SourceError {
    let mut listed = warnings[..warnings.len().min(3)].join("; ");
    if warnings.len() > 3 {
        listed.push_str("; …");
    }
    SourceError::Query {
        sql: crate::error::shown_sql(sql),
        message: format!(
            "the server warned ({listed}), so the result may be cut short or converted"
        ),
    }
}

/// The value of a URL query parameter, compared case-insensitively.
pub(crate) fn url_param(url: &str, key: &str) -> Option<String> {
    url::Url::parse(url).ok().and_then(|u| {
        u.query_pairs()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.to_ascii_lowercase())
    })
}

/// Runs one of cutover's own statements on any sqlx connection.
async fn execute<'c, E: sqlx::Executor<'c>>(conn: E, sql: &str) -> Result<(), SourceError> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(|e| query_error(sql, e))
}

/// The result columns of `query` as sqlx describes them, with each type name mapped by `map`
/// to a column.
async fn describe_with<DB: sqlx::Database>(
    conn: &mut DB::Connection,
    query: &str,
    map: impl Fn(&str, &str) -> crate::ColumnInfo,
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
        .map(|c| map(c.name(), c.type_info().name()))
        .collect();
    Ok(TableSchema {
        columns,
        primary_key: vec![],
    })
}
