//! Rehearsal history: every run recorded in a SQLite file of cutover's own (never a checked
//! database), so a report can show the trend against the previous rehearsal and
//! `cutover history` can list the runs.

use crate::{StoreError, query_error};
pub use cutover_check::outcome::{RuleRecord, RunRecord, TableRecord};
use cutover_check::{RuleStatus, TableStatus, Verdict};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection as _, Row};
use std::path::Path;

/// The headline counts of one recorded run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Tables compared.
    pub tables: u64,
    /// Tables that matched.
    pub matched: u64,
    /// Rows missing, over all tables.
    pub missing: u64,
    /// Rows extra, over all tables.
    pub extra: u64,
    /// Rows changed, over all tables.
    pub changed: u64,
    /// Rules evaluated.
    pub rules: u64,
    /// Rules that did not pass.
    pub rules_failed: u64,
}

/// The history file.
pub struct History {
    /// The runtime (made by the connector crate, the one place runtimes are made) and the file.
    rt_conn: (cutover_source::runtime::Runtime, SqliteConnection),
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, at TEXT NOT NULL, label TEXT NOT NULL, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS table_results (run INTEGER NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
    missing INTEGER NOT NULL, extra INTEGER NOT NULL, changed INTEGER NOT NULL, duplicate_keys INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rule_results (run INTEGER NOT NULL, id TEXT NOT NULL, status TEXT NOT NULL, violations INTEGER NOT NULL);
";

fn verdict_of(s: &str) -> Verdict {
    [Verdict::Go, Verdict::GoWithWarnings]
        .into_iter()
        .find(|v| v.as_str() == s)
        .unwrap_or(Verdict::NoGo)
}

impl History {
    /// Opens (or creates) the history file.
    pub fn open(path: &Path) -> Result<History, StoreError> {
        let open_error = |e: &dyn std::fmt::Display| StoreError::Open {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open_error(&e))?;
        }
        let rt = cutover_source::runtime::Runtime::new()?;
        let conn = rt.block_on(async {
            let opts = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true);
            let mut conn = SqliteConnection::connect_with(&opts)
                .await
                .map_err(|e| open_error(&e))?;
            sqlx::raw_sql(SCHEMA)
                .execute(&mut conn)
                .await
                .map_err(|e| query_error(SCHEMA, e))?;
            Ok::<_, StoreError>(conn)
        })?;
        Ok(History {
            rt_conn: (rt, conn),
        })
    }

    /// Every run, oldest first, without their details.
    pub fn runs(&mut self) -> Result<Vec<RunRecord>, StoreError> {
        let (rt, conn) = &mut self.rt_conn;
        let sql = "SELECT id, at, label, status FROM runs ORDER BY id";
        let rows = rt
            .block_on(sqlx::query(sql).fetch_all(conn))
            .map_err(|e| query_error(sql, e))?;
        Ok(rows
            .iter()
            .map(|r| RunRecord {
                id: r.get(0),
                at: r.get(1),
                label: r.get(2),
                verdict: verdict_of(r.get::<&str, _>(3)),
                tables: vec![],
                rules: vec![],
            })
            .collect())
    }

    /// Every run, oldest first, with the headline counts of its tables and rules.
    pub fn runs_with_counts(&mut self) -> Result<Vec<(RunRecord, RunCounts)>, StoreError> {
        let runs = self.runs()?;
        let (rt, conn) = &mut self.rt_conn;
        let sql =
            "SELECT run, COUNT(*), SUM(status = 'match'), SUM(missing), SUM(extra), SUM(changed)
            FROM table_results GROUP BY run";
        let tables = rt
            .block_on(sqlx::query(sql).fetch_all(&mut *conn))
            .map_err(|e| query_error(sql, e))?;
        let sql = "SELECT run, COUNT(*), SUM(status <> 'pass') FROM rule_results GROUP BY run";
        let rules = rt
            .block_on(sqlx::query(sql).fetch_all(&mut *conn))
            .map_err(|e| query_error(sql, e))?;
        let n = |r: &sqlx::sqlite::SqliteRow, i: usize| {
            r.get::<Option<i64>, _>(i).unwrap_or(0).max(0) as u64
        };
        Ok(runs
            .into_iter()
            .map(|run| {
                let mut c = RunCounts::default();
                if let Some(t) = tables.iter().find(|t| t.get::<i64, _>(0) == run.id) {
                    (c.tables, c.matched) = (n(t, 1), n(t, 2));
                    (c.missing, c.extra, c.changed) = (n(t, 3), n(t, 4), n(t, 5));
                }
                if let Some(r) = rules.iter().find(|r| r.get::<i64, _>(0) == run.id) {
                    (c.rules, c.rules_failed) = (n(r, 1), n(r, 2));
                }
                (run, c)
            })
            .collect())
    }

    /// The last run recorded, with its details.
    pub fn last(&mut self) -> Result<Option<RunRecord>, StoreError> {
        let Some(mut run) = self.runs()?.pop() else {
            return Ok(None);
        };
        let (rt, conn) = &mut self.rt_conn;
        let sql = "SELECT name, status, missing, extra, changed, duplicate_keys FROM table_results WHERE run = ? ORDER BY rowid";
        let rows = rt
            .block_on(sqlx::query(sql).bind(run.id).fetch_all(&mut *conn))
            .map_err(|e| query_error(sql, e))?;
        let count = |r: &sqlx::sqlite::SqliteRow, i: usize| r.get::<i64, _>(i).max(0) as u64;
        run.tables = rows
            .iter()
            .map(|r| TableRecord {
                name: r.get(0),
                // A status this version does not know reads as an error, never as a match.
                status: TableStatus::parse(r.get(1)).unwrap_or(TableStatus::Error),
                missing: count(r, 2),
                extra: count(r, 3),
                changed: count(r, 4),
                duplicate_keys: count(r, 5),
            })
            .collect();
        let sql = "SELECT id, status, violations FROM rule_results WHERE run = ? ORDER BY rowid";
        let rows = rt
            .block_on(sqlx::query(sql).bind(run.id).fetch_all(&mut *conn))
            .map_err(|e| query_error(sql, e))?;
        run.rules = rows
            .iter()
            .map(|r| RuleRecord {
                id: r.get(0),
                status: RuleStatus::parse(r.get(1)).unwrap_or(RuleStatus::Error),
                violations: count(r, 2),
            })
            .collect();
        Ok(Some(run))
    }

    /// Records a run; returns its id.
    pub fn record(&mut self, run: &RunRecord) -> Result<i64, StoreError> {
        let (rt, conn) = &mut self.rt_conn;
        rt.block_on(async {
            let mut tx = conn.begin().await.map_err(|e| query_error("BEGIN", e))?;
            let sql = "INSERT INTO runs (at, label, status) VALUES (?, ?, ?)";
            let id = sqlx::query(sql)
                .bind(&run.at)
                .bind(&run.label)
                .bind(run.verdict.as_str())
                .execute(&mut *tx)
                .await
                .map_err(|e| query_error(sql, e))?
                .last_insert_rowid();
            for t in &run.tables {
                let sql = "INSERT INTO table_results VALUES (?, ?, ?, ?, ?, ?, ?)";
                sqlx::query(sql)
                    .bind(id)
                    .bind(&t.name)
                    .bind(t.status.as_str())
                    .bind(t.missing as i64)
                    .bind(t.extra as i64)
                    .bind(t.changed as i64)
                    .bind(t.duplicate_keys as i64)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| query_error(sql, e))?;
            }
            for r in &run.rules {
                let sql = "INSERT INTO rule_results VALUES (?, ?, ?, ?)";
                sqlx::query(sql)
                    .bind(id)
                    .bind(&r.id)
                    .bind(r.status.as_str())
                    .bind(r.violations as i64)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| query_error(sql, e))?;
            }
            tx.commit().await.map_err(|e| query_error("COMMIT", e))?;
            Ok(id)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(label: &str, status: TableStatus, missing: u64) -> RunRecord {
        RunRecord {
            id: 0,
            at: "2026-11-26T10:00:00Z".into(),
            label: label.into(),
            verdict: if status == TableStatus::Match {
                Verdict::Go
            } else {
                Verdict::NoGo
            },
            tables: vec![TableRecord {
                name: "orders".into(),
                status,
                missing,
                extra: 1,
                changed: 2,
                duplicate_keys: 3,
            }],
            rules: vec![RuleRecord {
                id: "fk".into(),
                status: RuleStatus::Fail,
                violations: 4,
            }],
        }
    }

    #[test]
    fn runs_are_recorded_and_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/history.sqlite");
        let mut h = History::open(&path).unwrap();
        assert_eq!(h.last().unwrap(), None);
        let first = h
            .record(&run("rehearsal 1", TableStatus::Differ, 10))
            .unwrap();
        let second = h
            .record(&run("rehearsal 2", TableStatus::Match, 0))
            .unwrap();
        assert!(second > first);
        drop(h);
        let mut h = History::open(&path).unwrap();
        let runs = h.runs().unwrap();
        let labels: Vec<&str> = runs.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["rehearsal 1", "rehearsal 2"]);
        let mut expected = run("rehearsal 2", TableStatus::Match, 0);
        expected.id = second;
        assert_eq!(h.last().unwrap(), Some(expected));
    }
}
