//! Rehearsal history: every run recorded in a SQLite file of cutover's own (never a checked
//! database), so a report can show the trend against the previous rehearsal and
//! `cutover history` can list the runs.

use crate::{SourceError, connect_error, query_error};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection as _, Row};
use std::path::Path;

/// One run, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// Row id in the history (0 before it is recorded).
    pub id: i64,
    /// When it ran, RFC 3339 UTC.
    pub at: String,
    /// The label given with `--label`, or the run number.
    pub label: String,
    /// `GO` or `NO-GO`.
    pub status: String,
    /// Per table: (name, status, missing, extra, changed, duplicate keys).
    pub tables: Vec<(String, String, u64, u64, u64, u64)>,
    /// Per rule: (id, status, violations).
    pub rules: Vec<(String, String, u64)>,
}

/// The history file.
pub struct History {
    conn: SqliteConnection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, at TEXT NOT NULL, label TEXT NOT NULL, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS table_results (run INTEGER NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
    missing INTEGER NOT NULL, extra INTEGER NOT NULL, changed INTEGER NOT NULL, duplicate_keys INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rule_results (run INTEGER NOT NULL, id TEXT NOT NULL, status TEXT NOT NULL, violations INTEGER NOT NULL);
";

impl History {
    /// Opens (or creates) the history file.
    pub async fn open(path: &Path) -> Result<History, SourceError> {
        let url = format!("sqlite://{}", path.display());
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| SourceError::Connect {
                url: url.clone(),
                message: e.to_string(),
                hint: "check the --history path".into(),
            })?;
        }
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        let mut conn = SqliteConnection::connect_with(&opts)
            .await
            .map_err(|e| connect_error(&url, e))?;
        sqlx::raw_sql(SCHEMA)
            .execute(&mut conn)
            .await
            .map_err(|e| query_error(SCHEMA, e))?;
        Ok(History { conn })
    }

    /// Every run, oldest first, without their details.
    pub async fn runs(&mut self) -> Result<Vec<RunRecord>, SourceError> {
        let sql = "SELECT id, at, label, status FROM runs ORDER BY id";
        let rows = sqlx::query(sql)
            .fetch_all(&mut self.conn)
            .await
            .map_err(|e| query_error(sql, e))?;
        Ok(rows
            .iter()
            .map(|r| RunRecord {
                id: r.get(0),
                at: r.get(1),
                label: r.get(2),
                status: r.get(3),
                tables: vec![],
                rules: vec![],
            })
            .collect())
    }

    /// The last run recorded, with its details.
    pub async fn last(&mut self) -> Result<Option<RunRecord>, SourceError> {
        let Some(mut run) = self.runs().await?.pop() else {
            return Ok(None);
        };
        let sql = "SELECT name, status, missing, extra, changed, duplicate_keys FROM table_results WHERE run = ? ORDER BY rowid";
        let rows = sqlx::query(sql)
            .bind(run.id)
            .fetch_all(&mut self.conn)
            .await
            .map_err(|e| query_error(sql, e))?;
        run.tables = rows
            .iter()
            .map(|r| {
                (
                    r.get(0),
                    r.get(1),
                    r.get::<i64, _>(2) as u64,
                    r.get::<i64, _>(3) as u64,
                    r.get::<i64, _>(4) as u64,
                    r.get::<i64, _>(5) as u64,
                )
            })
            .collect();
        let sql = "SELECT id, status, violations FROM rule_results WHERE run = ? ORDER BY rowid";
        let rows = sqlx::query(sql)
            .bind(run.id)
            .fetch_all(&mut self.conn)
            .await
            .map_err(|e| query_error(sql, e))?;
        run.rules = rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get::<i64, _>(2) as u64))
            .collect();
        Ok(Some(run))
    }

    /// Records a run; returns its id.
    pub async fn record(&mut self, run: &RunRecord) -> Result<i64, SourceError> {
        let mut tx = self
            .conn
            .begin()
            .await
            .map_err(|e| query_error("BEGIN", e))?;
        let sql = "INSERT INTO runs (at, label, status) VALUES (?, ?, ?)";
        let id = sqlx::query(sql)
            .bind(&run.at)
            .bind(&run.label)
            .bind(&run.status)
            .execute(&mut *tx)
            .await
            .map_err(|e| query_error(sql, e))?
            .last_insert_rowid();
        for (name, status, missing, extra, changed, dups) in &run.tables {
            let sql = "INSERT INTO table_results VALUES (?, ?, ?, ?, ?, ?, ?)";
            sqlx::query(sql)
                .bind(id)
                .bind(name)
                .bind(status)
                .bind(*missing as i64)
                .bind(*extra as i64)
                .bind(*changed as i64)
                .bind(*dups as i64)
                .execute(&mut *tx)
                .await
                .map_err(|e| query_error(sql, e))?;
        }
        for (rule, status, violations) in &run.rules {
            let sql = "INSERT INTO rule_results VALUES (?, ?, ?, ?)";
            sqlx::query(sql)
                .bind(id)
                .bind(rule)
                .bind(status)
                .bind(*violations as i64)
                .execute(&mut *tx)
                .await
                .map_err(|e| query_error(sql, e))?;
        }
        tx.commit().await.map_err(|e| query_error("COMMIT", e))?;
        Ok(id)
    }
}
