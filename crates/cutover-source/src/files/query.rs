//! SQL over a folder of exports, by Apache DataFusion: a `csv://` or `parquet://` side runs the
//! same conditions, column expressions, source queries and rule statements as a database side.
//!
//! A table is registered the first time a statement names it: its name (or glob) matches files
//! as for a plain read, and our own providers read them ([`super::csv_table`] with the files'
//! encodings and formats, Parquet through arrow-rs), so undecodable bytes stay located
//! problems. Rows read for a comparison are sorted by DataFusion when each key column's type
//! orders as the key is compared (it measured faster than our sort), else by the same external
//! sort as a plain read ([`super::sort`]); DataFusion's operators (sorts, joins, aggregates)
//! spill under a memory pool of half the side's budget. Statements are planned with DDL, DML and `SET` refused: the
//! engine can only read the files.

use super::file_error;
use super::sort::Sorter;
use crate::dialect::{self, Fragment};
use crate::runtime::Runtime;
use crate::{ColumnInfo, CsvFormat, Engine, ReadRequest, SourceError, SqlConnector, TableSchema};
use arrow_array::{Array, RecordBatch};
use cutover_check::Batch;
use datafusion::common::Column;
use datafusion::dataframe::DataFrame;
use datafusion::execution::context::{SQLOptions, SessionConfig, SessionContext};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{Expr, SortExpr};
use datafusion::physical_plan::SendableRecordBatchStream;
use futures_util::StreamExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The memory DataFusion may use for joins, sorts and aggregates when the side sets none.
const DEFAULT_BUDGET: usize = 256 << 20;

/// SQL over one folder of exports. The engine starts on first use.
pub(crate) struct Exports {
    dir: PathBuf,
    engine: Engine,
    csv: CsvFormat,
    budget: usize,
    started: Option<Started>,
}

struct Started {
    runtime: Runtime,
    ctx: SessionContext,
    problems: Arc<super::csv_table::Problems>,
}

/// The statement a read through SQL runs, for reports: ordered by DataFusion, or, when a key's
/// type in the files does not order as the key is compared, sorted by cutover instead.
pub(crate) fn read_sql(req: &ReadRequest) -> String {
    format!(
        "{} (DataFusion over the files; when a key column's type in the files orders differently \
         from how it is compared, cutover sorts the rows instead, within {} KiB of memory)",
        dialect::select_sql(dialect::of(Engine::Csv), req),
        (req.memory_budget / 2).max(1 << 20) >> 10
    )
}

impl Exports {
    /// SQL over the files of `dir` (a `csv://` side reads them with `csv`).
    pub(crate) fn new(dir: &Path, engine: Engine, csv: &CsvFormat, budget: usize) -> Exports {
        Exports {
            dir: dir.to_path_buf(),
            engine,
            csv: csv.clone(),
            budget: if budget == 0 { DEFAULT_BUDGET } else { budget },
            started: None,
        }
    }

    fn start(&mut self) -> Result<&mut Started, SourceError> {
        if let Some(s) = self.started.take() {
            return Ok(self.started.insert(s));
        }
        let runtime = Runtime::new()?;
        let env = RuntimeEnvBuilder::new()
            // Half the reader's budget; the other half sorts the rows it reads.
            .with_memory_limit((self.budget / 2).max(16 << 20), 1.0)
            .build_arc()
            .map_err(|e| engine_error(&self.dir, e))?;
        let mut config = SessionConfig::new()
            .with_target_partitions(1)
            .with_information_schema(false);
        let options = config.options_mut();
        // Names are as the files write them (`ORD_ID`), as on a database side that quotes them.
        options.sql_parser.enable_ident_normalization = false;
        options.sql_parser.dialect = datafusion::config::Dialect::PostgreSQL;
        let ctx = SessionContext::new_with_config_rt(config, env);
        Ok(self.started.insert(Started {
            runtime,
            ctx,
            problems: Arc::new(super::csv_table::Problems::default()),
        }))
    }

    /// Plans `sql`, registering the tables it names; `order` may sort the planned rows.
    fn plan(
        &mut self,
        sql: &str,
        order: &dyn Fn(&DataFrame) -> Option<Vec<SortExpr>>,
    ) -> Result<(SendableRecordBatchStream, bool), SourceError> {
        let (dir, engine, csv) = (self.dir.clone(), self.engine, self.csv.clone());
        let s = self.start()?;
        let ctx = s.ctx.clone();
        let problems = s.problems.clone();
        s.runtime.block_on(async move {
            let state = ctx.state();
            let fail = |e: datafusion::error::DataFusionError| engine_error(&dir, e);
            let dialect = state.config().options().sql_parser.dialect;
            let statement = state.sql_to_statement(sql, &dialect).map_err(fail)?;
            for reference in state.resolve_table_references(&statement).map_err(fail)? {
                // As written: a `&str` would be parsed again, and lowercased.
                let bare = datafusion::common::TableReference::bare(reference.table());
                if !ctx.table_exist(bare.clone()).map_err(fail)? {
                    let provider = table(&dir, engine, &csv, reference.table(), &problems)?;
                    ctx.register_table(bare, provider).map_err(fail)?;
                }
            }
            let plan = state.statement_to_plan(statement).await.map_err(fail)?;
            SQLOptions::new()
                .with_allow_ddl(false)
                .with_allow_dml(false)
                .with_allow_statements(false)
                .verify_plan(&plan)
                .map_err(fail)?;
            let mut frame = ctx.execute_logical_plan(plan).await.map_err(fail)?;
            let sorted = match order(&frame) {
                Some(by) => {
                    frame = frame.sort(by).map_err(fail)?;
                    true
                }
                None => false,
            };
            Ok((frame.execute_stream().await.map_err(fail)?, sorted))
        })
    }

    /// Plans `sql`, registering the tables it names, and starts it.
    fn stream(&mut self, sql: &str) -> Result<SendableRecordBatchStream, SourceError> {
        Ok(self.plan(sql, &|_| None)?.0)
    }

    /// Hands each batch of `stream` to `each`.
    fn each_batch(
        &mut self,
        mut stream: SendableRecordBatchStream,
        each: &mut dyn FnMut(&RecordBatch) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let dir = self.dir.clone();
        let s = self.start()?;
        s.runtime.block_on(async {
            while let Some(batch) = stream.next().await {
                each(&batch.map_err(|e| engine_error(&dir, e))?)?;
            }
            Ok(())
        })
    }

    /// Reads a request that needs SQL (a condition, expressions or a query) through the engine,
    /// in key order: DataFusion sorts by the key when the key's type in the files orders as it
    /// is compared (an integer key compared as a number), cutover's external sort otherwise
    /// (the same key compared as text), as a database side does.
    pub(crate) fn read(
        &mut self,
        req: &ReadRequest,
        sink: &mut dyn FnMut(Batch) -> bool,
    ) -> Result<(), SourceError> {
        let sql = dialect::unordered_select_sql(self.dialect(), req);
        let (stream, sorted) = self.plan(&sql, &|frame| engine_order(frame, req))?;
        // Half the reader's budget sorts, half is the engine's (set when it started).
        let mut sorter = (!sorted).then(|| {
            Sorter::new(
                req.columns.len(),
                req.key_columns,
                req.batch_rows,
                (req.memory_budget / 2).max(1 << 20),
                None,
            )
        });
        let mut scratch = Vec::new();
        let mut text = String::new();
        let label = req
            .query
            .as_ref()
            .map_or(req.table.as_str(), |_| "source_query");
        let dir = self.dir.clone();
        let mut rows_seen = 0u64;
        let mut pass = |batch: Batch| match sorter.as_mut() {
            Some(s) => s.push(batch),
            None if sink(batch) => Ok(()),
            None => Err(SourceError::Stopped),
        };
        self.each_batch(stream, &mut |rb| {
            let mut batch = Batch::new(req.columns.len());
            for row in 0..rb.num_rows() {
                for i in 0..req.columns.len() {
                    let array = rb.column(i);
                    let cell = super::parquet_files::cell_at(array, row, &mut scratch, &mut text)
                        .map_err(|m| {
                        file_error(
                            &dir,
                            format!("{label}, column {}: {m}", req.columns[i].name),
                        )
                    })?;
                    let note = req.push(&mut batch, i, cell);
                    if note == Some(cutover_check::canonical::EncodeNote::NotConvertible)
                        && req.problems_left.take_one()
                    {
                        let shown = text_at(array.as_ref(), row).ok().flatten();
                        batch.add_problem(format!(
                            "{label} (through SQL), result row {}, column {}: {:?} is not a {}",
                            rows_seen + row as u64 + 1,
                            req.columns[i].name,
                            shown.unwrap_or_default(),
                            req.codecs[i].compare.name()
                        ));
                    }
                }
            }
            rows_seen += rb.num_rows() as u64;
            pass(batch)
        })?;
        // The last batch is always sent, even empty: it carries the readers' problems.
        let mut last = Batch::new(req.columns.len());
        if let Some(s) = &self.started {
            for p in s.problems.take() {
                if req.problems_left.take_one() {
                    last.add_problem(p);
                }
            }
        }
        match sorter {
            Some(mut s) => {
                s.push(last)?;
                s.finish(sink)
            }
            None if sink(last) => Ok(()),
            None => Err(SourceError::Stopped),
        }
    }
}

/// DataFusion's sort of the key columns, when each one's type in the result orders as the
/// kind it is compared as; `None` when cutover must sort the rows itself.
fn engine_order(frame: &DataFrame, req: &ReadRequest) -> Option<Vec<SortExpr>> {
    use arrow_schema::DataType as T;
    let schema = frame.schema();
    (0..req.key_columns)
        .map(|k| {
            let (qualifier, field) = schema.qualified_field(k);
            // Only types whose order DataFusion and the canonical key agree on.
            let trusted = matches!(
                field.data_type(),
                T::Int8
                    | T::Int16
                    | T::Int32
                    | T::Int64
                    | T::UInt8
                    | T::UInt16
                    | T::UInt32
                    | T::UInt64
                    | T::Decimal128(..)
                    | T::Decimal256(..)
                    | T::Utf8
                    | T::LargeUtf8
                    | T::Utf8View
                    | T::Date32
                    | T::Date64
            );
            let native = super::parquet_files::kind_of(field.data_type());
            (trusted && crate::orders_as(native, req.codecs[k].compare)).then(|| {
                Expr::Column(Column::new(qualifier.cloned(), field.name())).sort(true, true)
            })
        })
        .collect()
}

/// The provider of table `name`: its files in `dir`, read by our readers.
fn table(
    dir: &Path,
    engine: Engine,
    csv: &CsvFormat,
    name: &str,
    problems: &Arc<super::csv_table::Problems>,
) -> Result<Arc<dyn datafusion::catalog::TableProvider>, SourceError> {
    let files = super::table_files(dir, name, super::extension(engine))?;
    match engine {
        Engine::Csv => super::csv_table::provider(&files, csv, problems.clone()),
        _ => super::parquet_files::provider(&files),
    }
}

/// A DataFusion error, in the words of a file side.
fn engine_error(dir: &Path, e: impl std::fmt::Display) -> SourceError {
    let message = e.to_string();
    // Errors from our own readers arrive wrapped; show them as they were raised.
    let message = message
        .strip_prefix("External error: ")
        .unwrap_or(&message)
        .to_string();
    SourceError::File {
        path: dir.display().to_string(),
        message,
        hint: Some(
            "SQL over exports is DataFusion's dialect (close to PostgreSQL's; names as the files write them, double-quoted when they are not plain lowercase); see docs/exports-sql.md"
                .into(),
        ),
    }
}

/// Text of a cell of a result column (`None` is NULL).
fn text_at(array: &dyn Array, row: usize) -> Result<Option<String>, String> {
    if array.is_null(row) {
        return Ok(None);
    }
    let formatter = arrow_cast::display::ArrayFormatter::try_new(array, &Default::default())
        .map_err(|e| e.to_string())?;
    Ok(Some(formatter.value(row).to_string()))
}

impl SqlConnector for Exports {
    fn dialect(&self) -> &'static dyn dialect::Dialect {
        dialect::of(self.engine)
    }

    fn describe_query(&mut self, query: &Fragment) -> Result<TableSchema, SourceError> {
        let sql = format!("SELECT * FROM ({}) AS q LIMIT 0", query.as_str());
        let stream = self.stream(&sql)?;
        let columns = stream
            .schema()
            .fields()
            .iter()
            .map(|f| {
                ColumnInfo::stored(
                    f.name().clone(),
                    f.data_type().to_string(),
                    super::parquet_files::kind_of(f.data_type()),
                )
            })
            .collect();
        Ok(TableSchema {
            columns,
            primary_key: vec![],
        })
    }

    fn count(&mut self, sql: &str) -> Result<u64, SourceError> {
        let rows = self.text_rows(sql, None)?;
        let dir = self.dir.clone();
        rows.first()
            .and_then(|r| r.first())
            .cloned()
            .flatten()
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| file_error(&dir, format!("the count of `{sql}` is not a number")))
    }

    fn export_snapshot(&mut self) -> Result<Option<String>, SourceError> {
        Ok(None)
    }

    fn text_rows(
        &mut self,
        sql: &str,
        _snapshot: Option<&str>,
    ) -> Result<Vec<Vec<Option<String>>>, SourceError> {
        let mut rows = Vec::new();
        let dir = self.dir.clone();
        let stream = self.stream(sql)?;
        self.each_batch(stream, &mut |rb| {
            for row in 0..rb.num_rows() {
                let cells = rb
                    .columns()
                    .iter()
                    .map(|a| text_at(a.as_ref(), row).map_err(|m| file_error(&dir, m)))
                    .collect::<Result<Vec<_>, _>>()?;
                rows.push(cells);
            }
            Ok(())
        })?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use crate::{
        ColumnInfo, Condition, Endpoint, Engine, Fragment, ReadRequest, SqlConnector as _,
    };
    use cutover_check::Kind;

    fn folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("ORD.csv"),
            "ID,AMOUNT,ORDERED,CODE,NOTE\n1,12.50,2020-03-05,007,a\n2,-0.01,2021-12-31,010,\n3,100,2019-06-30,123,b\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("NUM.csv"), "ID,AMOUNT\n1,12x5\n2,3\n").unwrap();
        // Not UTF-8: Latin-1 bytes in a file read as UTF-8.
        std::fs::write(
            dir.path().join("BAD.csv"),
            b"ID,NAME\n1,M\xfcller\n".as_slice(),
        )
        .unwrap();
        dir
    }

    fn exports(dir: &tempfile::TempDir) -> super::Exports {
        super::Exports::new(
            dir.path(),
            crate::Engine::Csv,
            &crate::CsvFormat::default(),
            0,
        )
    }

    #[test]
    fn typed_csv_columns_answer_sql_as_a_database_would() {
        let dir = folder();
        let mut e = exports(&dir);
        let one = |e: &mut super::Exports, sql: &str| {
            e.text_rows(sql, None).unwrap()[0][0]
                .clone()
                .unwrap_or_default()
        };
        assert_eq!(
            one(&mut e, r#"SELECT COUNT(*) FROM "ORD" WHERE "AMOUNT" > 12"#),
            "2"
        );
        assert_eq!(
            one(
                &mut e,
                r#"SELECT SUM("AMOUNT") FROM "ORD" WHERE "ORDERED" >= '2020-01-01'"#
            ),
            "12.49"
        );
        // Leading zeros keep a column text, so codes keep their digits.
        assert_eq!(one(&mut e, r#"SELECT MIN("CODE") FROM "ORD""#), "007");
        assert_eq!(
            one(
                &mut e,
                r#"SELECT substr(CAST("ORDERED" AS TEXT), 1, 7) FROM "ORD" WHERE "ID" = 1"#
            ),
            "2020-03"
        );
        assert_eq!(
            e.count(r#"SELECT COUNT(*) FROM "ORD" WHERE "NOTE" IS NULL"#)
                .unwrap(),
            1
        );
        // The functions docs/exports-sql.md names.
        for (sql, want) in [
            (
                r#"SELECT "ORDERED"::text FROM "ORD" WHERE "ID" = 1"#,
                "2020-03-05",
            ),
            (
                r#"SELECT CAST(date_trunc('month', "ORDERED") AS DATE) FROM "ORD" WHERE "ID" = 1"#,
                "2020-03-01",
            ),
            (
                r#"SELECT EXTRACT(YEAR FROM "ORDERED") FROM "ORD" WHERE "ID" = 1"#,
                "2020",
            ),
            (
                r#"SELECT to_char("ORDERED", '%Y-%m') FROM "ORD" WHERE "ID" = 1"#,
                "2020-03",
            ),
            (
                r#"SELECT upper("NOTE") || '-' || "CODE" FROM "ORD" WHERE "NOTE" LIKE 'a%'"#,
                "A-007",
            ),
            (
                r#"SELECT COALESCE("NOTE", 'none') FROM "ORD" WHERE "ID" = 2"#,
                "none",
            ),
            (
                r#"SELECT CASE WHEN "AMOUNT" < 0 THEN 'neg' ELSE 'pos' END FROM "ORD" WHERE "ID" = 2"#,
                "neg",
            ),
        ] {
            assert_eq!(one(&mut e, sql), want, "{sql}");
        }
        // Unquoted names are taken as written, and a table matches its file case-insensitively.
        assert_eq!(one(&mut e, "SELECT MAX(ID) FROM ord"), "3");
        let schema = e
            .describe_query(&Fragment::new("SELECT ID, AMOUNT * 2 AS twice FROM ORD"))
            .unwrap();
        assert_eq!(schema.columns[0].kind, Kind::Number);
    }

    #[test]
    fn the_engine_only_reads() {
        let dir = folder();
        let mut e = exports(&dir);
        for sql in [
            "CREATE TABLE x AS SELECT 1",
            "COPY (SELECT 1) TO '/tmp/cutover-should-not-exist.csv'",
            "SET datafusion.execution.batch_size = 1",
            "INSERT INTO \"ORD\" VALUES (4, 1, '2020-01-01', '1', 'x')",
        ] {
            assert!(e.text_rows(sql, None).is_err(), "{sql}");
        }
        assert!(!std::path::Path::new("/tmp/cutover-should-not-exist.csv").exists());
        let err = e.text_rows("SELECT * FROM nowhere", None).unwrap_err();
        assert!(
            err.to_string()
                .contains("no .csv file matches table nowhere"),
            "{err}"
        );
    }

    #[test]
    fn undecodable_bytes_are_located_problems() {
        let dir = folder();
        let mut conn =
            crate::open(&Endpoint::new(format!("csv://{}", dir.path().display()))).unwrap();
        let mut req = ReadRequest::new(
            "BAD",
            vec![
                ColumnInfo::stored("ID", "csv text", Kind::Number),
                ColumnInfo::stored("NAME", "csv text", Kind::Text),
            ],
            1,
        );
        req.filter = Some(Condition::Configured(Fragment::new("\"ID\" > 0")));
        req.problems_left = crate::ProblemBudget::new(10);
        let (mut rows, mut problems) = (0, Vec::new());
        conn.read(&req, &mut |mut b| {
            rows += b.len();
            problems.extend(b.take_problems());
            true
        })
        .unwrap();
        assert_eq!(rows, 1);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("BAD.csv line 2, column NAME: bytes that are not utf-8"),
            "{problems:?}"
        );
    }

    #[test]
    fn values_that_are_not_of_the_compared_kind_are_located_problems() {
        let dir = folder();
        let mut conn =
            crate::open(&Endpoint::new(format!("csv://{}", dir.path().display()))).unwrap();
        let mut req = ReadRequest::new(
            "NUM",
            vec![
                ColumnInfo::stored("ID", "csv text", Kind::Number),
                ColumnInfo::stored("AMOUNT", "csv text", Kind::Text),
            ],
            1,
        );
        req.codecs[1] = cutover_check::ColumnCodec::new(Kind::Text, Kind::Number);
        req.filter = Some(Condition::Configured(Fragment::new("\"ID\" > 0")));
        req.problems_left = crate::ProblemBudget::new(10);
        let mut problems = Vec::new();
        conn.read(&req, &mut |mut b| {
            problems.extend(b.take_problems());
            true
        })
        .unwrap();
        assert_eq!(
            problems,
            ["NUM (through SQL), result row 1, column AMOUNT: \"12x5\" is not a number"]
        );
    }

    /// The key column of every row a read through SQL hands on, in order, as text.
    fn keys_read(conn: &mut Box<dyn crate::Connector>, req: &ReadRequest) -> Vec<String> {
        let mut keys = Vec::new();
        conn.read(req, &mut |b| {
            for r in 0..b.len() {
                keys.push(cutover_check::canonical::display(b.cell(r, 0)).unwrap_or_default());
            }
            true
        })
        .unwrap();
        keys
    }

    #[test]
    fn keys_come_in_the_order_they_are_compared_in() {
        let dir = folder();
        std::fs::write(
            dir.path().join("KEYS.csv"),
            "ID,CODE,REF\n10,b,010\n9,a,9\n2,ab,2\n100,B,100\n1,\u{e9},001\n",
        )
        .unwrap();
        let mut conn =
            crate::open(&Endpoint::new(format!("csv://{}", dir.path().display()))).unwrap();
        let read = |conn: &mut Box<dyn crate::Connector>, key: &str, other: &str, kind: Kind| {
            let mut req = ReadRequest::new(
                "KEYS",
                vec![
                    ColumnInfo::stored(key, "csv text", Kind::Text),
                    ColumnInfo::stored(other, "csv text", Kind::Text),
                ],
                1,
            );
            req.codecs[0] = cutover_check::ColumnCodec::new(Kind::Text, kind);
            req.filter = Some(Condition::Configured(Fragment::new("\"ID\" >= 0")));
            assert!(conn.read_sql(&req).contains("ORDER BY"));
            let sql = crate::dialect::unordered_select_sql(crate::dialect::of(Engine::Csv), &req);
            let (_, by_engine) = exports(&dir)
                .plan(&sql, &|f| super::engine_order(f, &req))
                .unwrap();
            (keys_read(conn, &req), by_engine)
        };
        let texts = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // An integer key compared as a number: DataFusion sorts it, numerically.
        assert_eq!(
            read(&mut conn, "ID", "CODE", Kind::Number),
            (texts(&["1", "2", "9", "10", "100"]), true)
        );
        // Numbers in a text column (leading zeros keep it text) compared as numbers, as with
        // an integer key on the other side: the engine's text order is not the numeric order,
        // so cutover sorts by the numbers.
        assert_eq!(
            read(&mut conn, "REF", "CODE", Kind::Number),
            (texts(&["1", "2", "9", "10", "100"]), false)
        );
        // A text key: byte order, upper case before lower case, ASCII before accents.
        assert_eq!(
            read(&mut conn, "CODE", "ID", Kind::Text),
            (texts(&["B", "a", "ab", "b", "\u{e9}"]), true)
        );
    }
}
