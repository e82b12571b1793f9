//! Configured SQL cannot escape the read-only session: escape payloads in every place that takes
//! SQL, on PostgreSQL and MariaDB, each refused or failed with a message, and the data unchanged
//! (a checksum taken before and after). Sessions pin their settings and time out on locks, and
//! a SELECT-only role is enough to run a check.

use crate::common::*;
use cutover_check::{RuleStatus, TableStatus};
use cutover_config::{ColumnSource, ColumnSpec, RuleFile};
use cutover_rules::Sides;

const PG_DATA: &str = "
CREATE TABLE victim (id int PRIMARY KEY, v text);
INSERT INTO victim SELECT g, 'v' || g FROM generate_series(1, 20) g;
CREATE TABLE victim2 (id int PRIMARY KEY, v text);
INSERT INTO victim2 SELECT g, 'w' || g FROM generate_series(1, 20) g;
CREATE SEQUENCE s;
CREATE FUNCTION evil() RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN DELETE FROM victim2; RETURN true; END $$;
";

const PG_STATE: &str = "SELECT md5(string_agg(id || ':' || v, ',' ORDER BY id))
    || '/' || (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')
    || '/' || (SELECT last_value FROM s) || '/' || (SELECT count(*) FROM victim) FROM victim2";

const MY_DATA: &str = "
CREATE TABLE victim (id int PRIMARY KEY, v varchar(20));
INSERT INTO victim VALUES (1, 'v1'), (2, 'v2'), (3, 'v3');
CREATE TABLE victim2 (id int PRIMARY KEY, v varchar(20));
INSERT INTO victim2 VALUES (1, 'w1'), (2, 'w2'), (3, 'w3');
";

const MY_STATE: &str = "SELECT CONCAT(MD5(GROUP_CONCAT(id, ':', v ORDER BY id)), '/',
    (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()), '/',
    (SELECT COUNT(*) FROM victim)) FROM victim2";

/// Escape payloads for places that take one expression.
const EXPRESSIONS: &[&str] = &[
    "id > 0) ORDER BY \"id\") TO STDOUT (FORMAT binary); COMMIT; BEGIN READ WRITE; DELETE FROM victim2; COMMIT; COPY (SELECT \"id\",\"v\" FROM \"victim\" WHERE (true",
    "true); DELETE FROM victim2; SELECT (1",
    "id > 0 --",
    "id > 0 /* ) */",
    "true) OR (true",
    "(SELECT count(*) FROM victim2 FOR UPDATE) >= 0",
    "(WITH d AS (DELETE FROM victim2 RETURNING id) SELECT count(*) FROM d) >= 0",
    "nextval('s') > 0",
    "set_config('default_transaction_read_only', 'off', false) IS NOT NULL",
    "pg_terminate_backend(pg_backend_pid())",
    // Passes the checks (an unknown function) and fails in the read-only transaction.
    "evil()",
];

/// Escape payloads for places that take one query (columns id and v).
const QUERIES: &[&str] = &[
    "SELECT id, v FROM victim; DELETE FROM victim2",
    "SELECT id, v FROM victim2 FOR UPDATE",
    "WITH d AS (DELETE FROM victim2 RETURNING id, v) SELECT id, v FROM d",
    "SELECT id, v FROM victim WHERE evil()",
    "SELECT id, v INTO copied FROM victim",
];

const MY_EXPRESSIONS: &[&str] = &[
    "1=1; DELETE FROM victim2",
    "id > 0 # x",
    "id > 0 -- x",
    "(SELECT COUNT(*) FROM victim2 FOR UPDATE) >= 0",
    "(SELECT COUNT(*) FROM victim2 LOCK IN SHARE MODE) >= 0",
    "GET_LOCK('cutover', 1) = 1",
    "LOAD_FILE('/etc/passwd') IS NULL",
];

const MY_QUERIES: &[&str] = &[
    "SELECT id, v FROM victim2 INTO OUTFILE '/tmp/cutover_escape'",
    "SELECT id, v FROM victim; DELETE FROM victim2",
    "SELECT id, v FROM victim2 FOR UPDATE",
];

/// The table configs that put `payload` into each place of a table comparison.
fn table_places(payload: &str, query: bool) -> Vec<(String, cutover_config::TableConfig)> {
    let mut out = Vec::new();
    if query {
        let mut t = table("victim", None);
        t.source_query = Some(payload.into());
        out.push(("source_query".into(), t));
        return out;
    }
    let mut t = table("victim", None);
    t.source_where = Some(payload.into());
    out.push(("source_where".into(), t));
    let mut t = table("victim", None);
    t.target_where = Some(payload.into());
    out.push(("target_where".into(), t));
    let mut t = table("victim", None);
    t.columns.insert(
        "v".into(),
        ColumnSource::Spec(Box::new(ColumnSpec {
            expr: Some(payload.into()),
            ..Default::default()
        })),
    );
    out.push(("expr".into(), t));
    out
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Rules that put `payload` into each place of a rule that takes SQL.
fn rule_places(payload: &str, query: bool) -> String {
    let p = toml_str(payload);
    if query {
        return format!(
            "[[rule]]\nid = \"q\"\ntype = \"sql\"\nquery = {p}\n\n\
             [[rule]]\nid = \"scalars\"\ntype = \"sql\"\nsource_query = {p}\ntarget_query = {p}\n"
        );
    }
    format!(
        "[[rule]]\nid = \"filter\"\ntype = \"not_null\"\ntable = \"victim\"\ncolumns = [\"v\"]\nfilter = {p}\n\n\
         [[rule]]\nid = \"unique\"\ntype = \"unique\"\ntable = \"victim\"\ncolumns = [\"v\"]\nfilter = {p}\n\n\
         [[rule]]\nid = \"fk\"\ntype = \"foreign_key\"\ntable = \"victim\"\ncolumns = [\"id\"]\nparent_table = \"victim2\"\nfilter = {p}\n\n\
         [[rule]]\nid = \"tree\"\ntype = \"hierarchy\"\ntable = \"victim\"\nparent = \"id\"\nkey = [\"id\"]\nfilter = {p}\n\n\
         [[rule]]\nid = \"group\"\ntype = \"aggregate_match\"\ntable = \"victim\"\naggregate = \"count(*)\"\ngroup_by = [{p}]\n\n\
         [[rule]]\nid = \"agg\"\ntype = \"aggregate_match\"\ntable = \"victim\"\naggregate = {p}\n\n\
         [[rule]]\nid = \"where\"\ntype = \"aggregate_match\"\ntable = \"victim\"\naggregate = \"count(*)\"\nsource_where = {p}\n\n\
         [[rule]]\nid = \"count\"\ntype = \"row_count\"\ntable = \"victim\"\ntarget_where = {p}\n"
    )
}

/// Runs every place with every payload against `db` (both sides) and checks that each failed
/// with a message and that the data did not change.
fn escape_battery(db: &TestDb, state: &str, expressions: &[&str], queries: &[&str]) {
    let before = db.scalar(state);
    let mut tried = 0;
    for (payloads, query) in [(expressions, false), (queries, true)] {
        for payload in payloads {
            for (place, t) in table_places(payload, query) {
                let o = check(&db.url, &db.url, vec![t]);
                let status = o.tables[0].status();
                assert_eq!(status, TableStatus::Error, "{place} = {payload}: {status}");
                let cutover_run::TableResult::Failed(f) = &o.tables[0] else {
                    unreachable!()
                };
                assert!(!f.message.is_empty(), "{place} = {payload}");
                tried += 1;
            }
            let rules = RuleFile::parse(&rule_places(payload, query), "escape.toml")
                .unwrap_or_else(|e| panic!("{payload}: {e}"))
                .rules;
            let sides = Sides {
                source: cutover_source::Endpoint::new(&db.url),
                target: cutover_source::Endpoint::new(&db.url),
                sample_size: 5,
                batch_rows: 100,
                memory_budget: 1 << 20,
            };
            let results =
                cutover_rules::evaluate(&rules, &sides, &std::sync::atomic::AtomicBool::new(false));
            for r in &results {
                assert_eq!(
                    r.status,
                    RuleStatus::Error,
                    "rule {} with {payload}: {}",
                    r.id,
                    r.message
                );
                assert!(r.message.starts_with("could not run: "), "{}", r.message);
                tried += 1;
            }
            assert_eq!(db.scalar(state), before, "after {payload}");
        }
    }
    assert_eq!(db.scalar(state), before);
    assert!(tried > 50, "{tried} attempts");
}

#[test]
fn configured_sql_cannot_escape_on_postgres() {
    let Some(db) = TestDb::postgres("escape") else {
        return;
    };
    db.exec(PG_DATA);
    escape_battery(&db, PG_STATE, EXPRESSIONS, QUERIES);
    // The refusal names the place and the reason.
    let o = check(
        &db.url,
        &db.url,
        table_places(EXPRESSIONS[0], false)
            .remove(0)
            .1
            .into_iter_one(),
    );
    let cutover_run::TableResult::Failed(f) = &o.tables[0] else {
        panic!("not refused")
    };
    assert!(
        f.message.contains("table victim: source_where: holds `;`"),
        "{}",
        f.message
    );
    // The SECURITY DEFINER function runs, and the read-only transaction stops its write.
    let mut t = table("victim", None);
    t.source_where = Some("evil()".into());
    let o = check(&db.url, &db.url, vec![t]);
    let cutover_run::TableResult::Failed(f) = &o.tables[0] else {
        panic!("evil() was not stopped")
    };
    assert!(f.message.contains("read-only transaction"), "{}", f.message);
}

#[test]
fn configured_sql_cannot_escape_on_mariadb() {
    let Some(db) = TestDb::mariadb("escape") else {
        return;
    };
    db.exec(MY_DATA);
    escape_battery(&db, MY_STATE, MY_EXPRESSIONS, MY_QUERIES);
    assert!(!std::path::Path::new("/tmp/cutover_escape").exists());
}

trait IntoIterOne {
    fn into_iter_one(self) -> Vec<cutover_config::TableConfig>;
}

impl IntoIterOne for cutover_config::TableConfig {
    fn into_iter_one(self) -> Vec<cutover_config::TableConfig> {
        vec![self]
    }
}

#[test]
fn session_settings_of_a_database_do_not_change_the_answer() {
    let (Some(a), Some(b)) = (TestDb::postgres("pin_a"), TestDb::postgres("pin_b")) else {
        return;
    };
    for db in [&a, &b] {
        db.exec(
            "CREATE TABLE t (id int PRIMARY KEY, i interval, d date, f float8, b bytea);
             INSERT INTO t VALUES (1, '1 day 02:03:04', '2024-02-29', 0.1, '\\x00ff'),
                                  (2, '-3 months', '1999-12-31', 1e-300, '\\x');",
        );
    }
    b.exec(&format!(
        "ALTER DATABASE {0} SET IntervalStyle = 'sql_standard';
         ALTER DATABASE {0} SET DateStyle = 'German, DMY';
         ALTER DATABASE {0} SET extra_float_digits = -3;
         ALTER DATABASE {0} SET bytea_output = 'escape';
         ALTER DATABASE {0} SET TimeZone = 'Pacific/Chatham';",
        b.name
    ));
    let o = check(&a.url, &b.url, vec![table("t", None)]);
    let d = &checked(&o, 0).diff;
    assert!(d.is_match(), "{:#?}", d.samples);
}

#[test]
fn a_check_does_not_wait_behind_a_lock() {
    let Some(db) = TestDb::postgres("lock") else {
        return;
    };
    db.exec("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);");
    // Another session holds an exclusive lock (a migration step altering the table).
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let url = db.url.clone();
    let holder = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                use sqlx::Connection as _;
                let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
                sqlx::raw_sql("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE;")
                    .execute(&mut c)
                    .await
                    .unwrap();
                locked_tx.send(()).unwrap();
                let _ = release_rx.recv_timeout(std::time::Duration::from_secs(60));
                sqlx::raw_sql("ROLLBACK").execute(&mut c).await.unwrap();
            });
    });
    locked_rx.recv().unwrap();
    let mut s = settings(&db.url, &db.url, vec![table("t", None)]);
    s.session.lock_timeout_secs = 1;
    let started = std::time::Instant::now();
    let o = run(&s);
    let waited = started.elapsed();
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(o.tables[0].status(), TableStatus::Error);
    let cutover_run::TableResult::Failed(f) = &o.tables[0] else {
        unreachable!()
    };
    assert!(f.message.contains("lock timeout"), "{}", f.message);
    assert!(waited < std::time::Duration::from_secs(20), "{waited:?}");
}

#[test]
fn a_select_only_role_is_enough() {
    let Some(db) = TestDb::postgres("role") else {
        return;
    };
    let role = format!("{}_ro", db.name);
    db.exec(&format!(
        "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b');
         CREATE ROLE {role} LOGIN;
         GRANT CONNECT ON DATABASE {0} TO {role};
         GRANT USAGE ON SCHEMA public TO {role};
         GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};",
        db.name
    ));
    let url = db.url.replacen("postgres@", &format!("{role}@"), 1);
    assert_ne!(url, db.url, "the test URL names the postgres user");
    let o = check(&url, &url, vec![table("t", None)]);
    let result = o.tables[0].status();
    db.exec(&format!(
        "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role};
         REVOKE ALL ON SCHEMA public FROM {role};
         REVOKE ALL ON DATABASE {0} FROM {role};",
        db.name
    ));
    crate::common::drop_role(&role);
    assert_eq!(result, TableStatus::Match);
}

/// Terminates cutover's sessions that are reading `table`, once they are.
fn terminate_readers_of(db: &TestDb, table: &str) {
    for _ in 0..100 {
        let n = db.scalar(&format!(
            "SELECT count(pg_terminate_backend(pid))::text FROM pg_stat_activity
             WHERE application_name = 'cutover' AND query LIKE 'COPY%{table}%' AND pid <> pg_backend_pid()"
        ));
        if n != "0" {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("no reader of {table} to terminate");
}

#[test]
fn a_session_ended_mid_table_fails_that_table_alone() {
    let Some(db) = TestDb::postgres("fault") else {
        return;
    };
    db.exec(
        "CREATE TABLE big (id int PRIMARY KEY, v text);
         INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 300000) g;
         CREATE TABLE small (id int PRIMARY KEY); INSERT INTO small VALUES (1), (2);",
    );
    let mut big = table("big", None);
    // Slow enough that the reader is still in its COPY when it is terminated.
    big.source_where = Some("pg_sleep(0.00001) IS NOT NULL".into());
    let killer = {
        let url = db.url.clone();
        let name = db.name.clone();
        std::thread::spawn(move || {
            let db = TestDb::attach_postgres(&url, &name);
            terminate_readers_of(&db, "big");
        })
    };
    let o = check_with(&db.url, &db.url, vec![big, table("small", None)], 1, 256);
    killer.join().unwrap();
    assert_eq!(o.tables[0].status(), TableStatus::Error);
    let cutover_run::TableResult::Failed(f) = &o.tables[0] else {
        unreachable!()
    };
    assert!(
        f.message.contains("the connection was lost"),
        "{}",
        f.message
    );
    assert!(!f.message.contains(" at line "), "{}", f.message);
    assert!(
        f.hint
            .as_deref()
            .is_some_and(|h| h.contains("ended the session")),
        "{:?}",
        f.hint
    );
    assert_eq!(
        o.tables[1].status(),
        TableStatus::Match,
        "the other table is reported"
    );
    assert!(!o.is_go());
}

#[test]
fn a_mariadb_session_killed_mid_table_fails_that_table_alone() {
    let Some(db) = TestDb::mariadb("kill") else {
        return;
    };
    db.exec(
        "CREATE TABLE big (id int PRIMARY KEY, v varchar(40));
         INSERT INTO big SELECT seq, MD5(seq) FROM seq_1_to_200000;
         CREATE TABLE small (id int PRIMARY KEY); INSERT INTO small VALUES (1), (2);",
    );
    let mut big = table("big", None);
    big.source_where = Some("SLEEP(0.00001) = 0".into());
    let killer = {
        let url = db.url.clone();
        std::thread::spawn(move || {
            let admin = TestDb::attach_mariadb(&url);
            for _ in 0..200 {
                let id = admin.scalar(
                    "SELECT CAST(COALESCE(MAX(ID), 0) AS CHAR) FROM information_schema.PROCESSLIST
                     WHERE INFO LIKE 'SELECT%`big`%SLEEP%' AND ID <> CONNECTION_ID()",
                );
                if id != "0" {
                    admin.exec(&format!("KILL {id}"));
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            panic!("no reader of big to kill");
        })
    };
    let o = check_with(&db.url, &db.url, vec![big, table("small", None)], 1, 256);
    killer.join().unwrap();
    assert_eq!(o.tables[0].status(), TableStatus::Error);
    let cutover_run::TableResult::Failed(f) = &o.tables[0] else {
        unreachable!()
    };
    assert!(
        f.message.contains("the connection was lost"),
        "{}",
        f.message
    );
    assert_eq!(o.tables[1].status(), TableStatus::Match);
    assert!(!o.is_go());
}
