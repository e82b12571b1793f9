//! Test databases on the real servers: each test creates its own uniquely named database and
//! drops it afterwards, so tests run in parallel. When a server is unreachable the test is
//! skipped with a printed reason, unless `CUTOVER_REQUIRE_DB=1` (set by `.ci/run`), which makes
//! a missing server a failure.

use sqlx::Connection as _;
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Admin URL of the local PostgreSQL (override with `CUTOVER_TEST_PG`).
pub fn pg_admin() -> String {
    std::env::var("CUTOVER_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Admin URL of the local MariaDB/MySQL (override with `CUTOVER_TEST_MYSQL`).
pub fn mysql_admin() -> String {
    std::env::var("CUTOVER_TEST_MYSQL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".into())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Server {
    Postgres,
    MariaDb,
}

/// A database created for one test, dropped on drop.
pub struct TestDb {
    pub server: Server,
    pub name: String,
    pub url: String,
    admin: String,
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "cutover_t_{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

fn unavailable(server: Server, err: impl std::fmt::Display) -> Option<TestDb> {
    if std::env::var("CUTOVER_REQUIRE_DB").as_deref() == Ok("1") {
        panic!("{server:?} is required (CUTOVER_REQUIRE_DB=1) but not reachable: {err}");
    }
    eprintln!(
        "SKIPPED: {server:?} is not reachable ({err}); start it or set CUTOVER_TEST_PG / CUTOVER_TEST_MYSQL"
    );
    None
}

impl TestDb {
    /// A fresh PostgreSQL database, or `None` (test skipped) when the server is down.
    pub fn postgres(prefix: &str) -> Option<TestDb> {
        TestDb::postgres_with(prefix, "")
    }

    /// A fresh PostgreSQL database created with `options` (`ENCODING 'SQL_ASCII' …`).
    pub fn postgres_with(prefix: &str, options: &str) -> Option<TestDb> {
        let admin = pg_admin();
        let name = unique(prefix);
        let res = rt().block_on(async {
            let mut c = sqlx::PgConnection::connect(&admin).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE {name} {options}"
            )))
            .execute(&mut c)
            .await?;
            Ok::<_, sqlx::Error>(())
        });
        if let Err(e) = res {
            return unavailable(Server::Postgres, e);
        }
        let base = admin.rsplit_once('/').unwrap().0;
        Some(TestDb {
            server: Server::Postgres,
            url: format!("{base}/{name}"),
            name,
            admin,
        })
    }

    /// A handle on an existing PostgreSQL database (of another test's `TestDb`), not dropped by
    /// this handle.
    pub fn attach_postgres(url: &str, name: &str) -> TestDb {
        TestDb {
            server: Server::Postgres,
            name: name.to_string(),
            url: url.to_string(),
            admin: String::new(),
        }
    }

    /// A handle on an existing MariaDB database, not dropped by this handle.
    pub fn attach_mariadb(url: &str) -> TestDb {
        TestDb {
            server: Server::MariaDb,
            name: url.rsplit('/').next().unwrap_or_default().to_string(),
            url: url.to_string(),
            admin: String::new(),
        }
    }

    /// A fresh MariaDB database, or `None` (test skipped) when the server is down.
    pub fn mariadb(prefix: &str) -> Option<TestDb> {
        let admin = mysql_admin();
        let name = unique(prefix);
        let res = rt().block_on(async {
            let mut c = sqlx::MySqlConnection::connect(&admin).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE {name} CHARACTER SET utf8mb4"
            )))
            .execute(&mut c)
            .await?;
            Ok::<_, sqlx::Error>(())
        });
        if let Err(e) = res {
            return unavailable(Server::MariaDb, e);
        }
        let base = admin.rsplit_once('/').unwrap().0;
        Some(TestDb {
            server: Server::MariaDb,
            url: format!("{base}/{name}"),
            name,
            admin,
        })
    }

    /// Runs an SQL script (several statements) in this database.
    pub fn exec(&self, sql: &str) {
        rt().block_on(async {
            match self.server {
                Server::Postgres => {
                    let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
                    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                        .execute(&mut c)
                        .await
                        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
                }
                Server::MariaDb => {
                    let mut c = sqlx::MySqlConnection::connect(&self.url).await.unwrap();
                    sqlx::raw_sql("SET time_zone = '+00:00', max_recursive_iterations = 1000000")
                        .execute(&mut c)
                        .await
                        .unwrap();
                    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                        .execute(&mut c)
                        .await
                        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
                }
            }
        });
    }
}

impl TestDb {
    /// The first column of the first row of a query, as text (NULL as an empty string).
    pub fn scalar(&self, sql: &str) -> String {
        rt().block_on(async {
            match self.server {
                Server::Postgres => {
                    let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
                    let v: Option<String> =
                        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
                            .fetch_one(&mut c)
                            .await
                            .unwrap_or_else(|e| panic!("{e}\n{sql}"));
                    v.unwrap_or_default()
                }
                Server::MariaDb => {
                    let mut c = sqlx::MySqlConnection::connect(&self.url).await.unwrap();
                    let v: Option<String> =
                        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
                            .fetch_one(&mut c)
                            .await
                            .unwrap_or_else(|e| panic!("{e}\n{sql}"));
                    v.unwrap_or_default()
                }
            }
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.admin.is_empty() {
            return;
        }
        let (admin, name, server) = (self.admin.clone(), self.name.clone(), self.server);
        let _ = rt().block_on(async move {
            match server {
                Server::Postgres => {
                    let mut c = sqlx::PgConnection::connect(&admin).await?;
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut c)
                    .await?;
                }
                Server::MariaDb => {
                    let mut c = sqlx::MySqlConnection::connect(&admin).await?;
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name}"
                    )))
                    .execute(&mut c)
                    .await?;
                }
            }
            Ok::<_, sqlx::Error>(())
        });
    }
}

/// A SQLite database file in a temporary folder, built from a script.
pub struct TestSqlite {
    pub dir: tempfile::TempDir,
    pub url: String,
}

impl TestSqlite {
    pub fn new(script: &str) -> TestSqlite {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        cutover_store::fixtures::build_sqlite(&path, script, None).unwrap();
        TestSqlite {
            url: format!("sqlite://{}", path.display()),
            dir,
        }
    }
}

/// A table config with the given name and key.
pub fn table(name: &str, key: Option<&[&str]>) -> cutover_config::TableConfig {
    cutover_config::TableConfig {
        name: name.to_string(),
        source_name: None,
        key: key.map(|k| k.iter().map(|s| s.to_string()).collect()),
        columns: Default::default(),
        ignore: vec![],
        drop: vec![],
        source_where: None,
        source_query: None,
        source_url: None,
        normalize: Default::default(),
        target_where: None,
        mode: None,
        csv: None,
        checklist: None,
    }
}

/// Runs a check between two URLs.
pub fn check(
    source: &str,
    target: &str,
    tables: Vec<cutover_config::TableConfig>,
) -> cutover_run::Outcome {
    check_with(source, target, tables, 2, 8192)
}

pub fn check_with(
    source: &str,
    target: &str,
    tables: Vec<cutover_config::TableConfig>,
    jobs: usize,
    batch_rows: usize,
) -> cutover_run::Outcome {
    let mut s = settings(source, target, tables);
    s.jobs = jobs;
    s.batch_rows = batch_rows;
    run(&s)
}

/// Settings with the defaults of the CLI.
pub fn settings(
    source: &str,
    target: &str,
    tables: Vec<cutover_config::TableConfig>,
) -> cutover_run::Settings {
    cutover_run::Settings {
        source_url: source.to_string(),
        target_url: target.to_string(),
        tables,
        jobs: 2,
        batch_rows: 8192,
        sample_size: 20,
        source_csv: Default::default(),
        target_csv: Default::default(),
        memory_limit: cutover_run::DEFAULT_MEMORY_LIMIT,
        defaults: Default::default(),
        session: Default::default(),
        checklist: Vec::new(),
        checkpoints: None,
        checkpoint_rows: cutover_run::ranges::CHECKPOINT_ROWS,
        checksum_statement_secs: cutover_run::checksum::STATEMENT_SECS,
        storage_order_rows: cutover_run::storage_order::STORAGE_ORDER_ROWS,
    }
}

/// Runs a check with the given settings.
pub fn run(settings: &cutover_run::Settings) -> cutover_run::Outcome {
    let cancel = std::sync::atomic::AtomicBool::new(false);
    cutover_run::run(settings, &cutover_run::NoProgress, &cancel).expect("both sides reachable")
}

/// The checked table at `i`, or a panic with the table's error.
pub fn checked(o: &cutover_run::Outcome, i: usize) -> &cutover_run::CheckedTable {
    match &o.tables[i] {
        cutover_run::TableResult::Checked(c) => c,
        cutover_run::TableResult::Failed(f) => panic!("table {} failed: {}", f.name, f.message),
    }
}

/// Drops a PostgreSQL role created by a test.
pub fn drop_role(role: &str) {
    let admin = pg_admin();
    let sql = format!("DROP ROLE IF EXISTS {role}");
    rt().block_on(async {
        let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut c)
            .await
            .unwrap();
    });
}
