//! The connectors against the real servers: every type, cross-engine equality, collation-proof
//! key order, every kind of difference, and order/batch/thread independence.

use crate::common::*;
use cutover_run::TableResult;

const PG_TYPES: &str = r#"
CREATE TABLE t (
    id bigint PRIMARY KEY, i integer, small smallint, d numeric(14,2), f double precision, r real,
    b boolean, txt text, vc varchar(20), ch char(5), dt date, tm time(6), ts timestamp(6),
    tstz timestamptz, u uuid, j jsonb, by bytea, n text
);
INSERT INTO t VALUES
 (1, 42, -7, 12.50, 0.1, 1.25, true, 'Grüße 😀', 'a', 'ab', '2024-02-29', '13:45:30.123456',
  '2024-03-01 10:00:00.654321', '2024-03-01 10:00:00+02', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"b": 1, "a": [1, 2]}', '\x00ff10', NULL),
 (2, -2147483648, 32767, -0.01, -1e300, -0.5, false, '', 'trailing ', 'x', '1900-01-01', '00:00:00',
  '1969-12-31 23:59:59.999999', '1970-01-01 00:00:00+00', '00000000-0000-0000-0000-000000000000',
  '[]', '\x', 'not null'),
 (9223372036854775807, NULL, NULL, 123456789012.34, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL);
"#;

const MY_TYPES: &str = r#"
CREATE TABLE t (
    id bigint PRIMARY KEY, i int, small smallint, d decimal(14,2), f double, r float,
    b tinyint(1), txt text, vc varchar(20), ch char(5), dt date, tm time(6), ts datetime(6),
    tstz timestamp(6) NULL, u uuid, j json, `by` blob, n text
);
INSERT INTO t VALUES
 (1, 42, -7, 12.50, 0.1, 1.25, 1, 'Grüße 😀', 'a', 'ab', '2024-02-29', '13:45:30.123456',
  '2024-03-01 10:00:00.654321', '2024-03-01 08:00:00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"a":[1,2],"b":1}', x'00ff10', NULL),
 (2, -2147483648, 32767, -0.01, -1e300, -0.5, 0, '', 'trailing ', 'x', '1900-01-01', '00:00:00',
  '1969-12-31 23:59:59.999999', '1970-01-01 00:00:01', '00000000-0000-0000-0000-000000000000',
  '[]', x'', 'not null'),
 (9223372036854775807, NULL, NULL, 123456789012.34, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL);
"#;

const SQLITE_TYPES: &str = r#"
CREATE TABLE t (
    id INTEGER PRIMARY KEY, i INTEGER, small SMALLINT, d DECIMAL(14,2), f DOUBLE, r REAL,
    b BOOLEAN, txt TEXT, vc VARCHAR(20), ch CHAR(5), dt DATE, tm TIME, ts DATETIME,
    tstz TIMESTAMP, u UUID, j JSON, by BLOB, n TEXT
);
INSERT INTO t VALUES
 (1, 42, -7, '12.50', 0.1, 1.25, 1, 'Grüße 😀', 'a', 'ab', '2024-02-29', '13:45:30.123456',
  '2024-03-01 10:00:00.654321', '2024-03-01T10:00:00+02:00', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
  '{"b":1,"a":[1,2]}', x'00ff10', NULL),
 (2, -2147483648, 32767, '-0.01', -1e300, -0.5, 0, '', 'trailing ', 'x', '1900-01-01', '00:00:00',
  '1969-12-31 23:59:59.999999', '1970-01-01 00:00:00', '00000000-0000-0000-0000-000000000000',
  '[]', x'', 'not null'),
 (9223372036854775807, NULL, NULL, '123456789012.34', 0, 0, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL);
"#;

#[test]
fn the_same_rows_fingerprint_identically_in_sqlite_postgres_and_mariadb() {
    let (Some(pg), Some(my)) = (TestDb::postgres("types"), TestDb::mariadb("types")) else {
        return;
    };
    pg.exec(PG_TYPES);
    // MariaDB's TIMESTAMP of row 2 is stored at 00:00:01 because 00:00:00 UTC is its zero value;
    // make the other sides agree on that row so the test is about encodings, not that quirk.
    pg.exec("UPDATE t SET tstz = '1970-01-01 00:00:01+00' WHERE id = 2");
    my.exec(MY_TYPES);
    let lite = TestSqlite::new(&SQLITE_TYPES.replace(
        "'1970-01-01 00:00:00', '0000",
        "'1970-01-01 00:00:01', '0000",
    ));

    let a = check(&lite.url, &pg.url, vec![table("t", None)]);
    let b = check(&pg.url, &my.url, vec![table("t", None)]);
    let c = check(&my.url, &lite.url, vec![table("t", None)]);
    for o in [&a, &b, &c] {
        let t = checked(o, 0);
        assert!(
            t.diff.is_match(),
            "{:?}\n{:#?}",
            t.plan
                .columns
                .iter()
                .map(|c| (&c.target.name, c.compare))
                .collect::<Vec<_>>(),
            t.diff.samples
        );
        assert_eq!(t.diff.source.rows, 3);
        assert_eq!(t.diff.source.fingerprint, t.diff.target.fingerprint);
    }
    // One fingerprint for all three engines.
    assert_eq!(
        checked(&a, 0).diff.target.fingerprint,
        checked(&b, 0).diff.source.fingerprint
    );
    assert_eq!(
        checked(&b, 0).diff.target.fingerprint,
        checked(&c, 0).diff.source.fingerprint
    );
}

#[test]
fn text_keys_are_compared_in_byte_order_whatever_the_collation() {
    let (Some(pg), Some(my)) = (TestDb::postgres("coll"), TestDb::mariadb("coll")) else {
        return;
    };
    let keys = ["a", "B", "_", "é", "A", "b", "Z", "aa", "a b", "ä"];
    let values: Vec<String> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| format!("('{k}', {i})"))
        .collect();
    pg.exec(&format!(
        "CREATE TABLE k (code text COLLATE \"en-x-icu\" PRIMARY KEY, v int); INSERT INTO k VALUES {};",
        values.join(", ")
    ));
    my.exec(&format!(
        "CREATE TABLE k (code varchar(10) COLLATE utf8mb4_bin PRIMARY KEY, v int) ; INSERT INTO k VALUES {};
         CREATE TABLE k_ci (code varchar(10) COLLATE utf8mb4_general_ci PRIMARY KEY, v int);
         INSERT INTO k_ci SELECT * FROM k WHERE code NOT IN ('A', 'b', 'ä');",
        values.join(", ")
    ));
    let o = check(&pg.url, &my.url, vec![table("k", None)]);
    let t = checked(&o, 0);
    assert!(t.diff.is_match(), "{:#?}", t.diff.samples);
    assert_eq!(t.diff.matched, keys.len() as u64);

    // A case-insensitive target that could not hold some keys: exactly those are missing.
    let mut k = table("k_ci", None);
    k.source_name = Some("k".into());
    let o = check(&pg.url, &my.url, vec![k]);
    let t = checked(&o, 0);
    assert_eq!(
        (t.diff.missing, t.diff.extra, t.diff.changed),
        (3, 0, 0),
        "{:#?}",
        t.diff.samples
    );
}

#[test]
fn every_kind_of_difference_is_found_with_exact_counts() {
    let (Some(pg), Some(my)) = (TestDb::postgres("diff"), TestDb::mariadb("diff")) else {
        return;
    };
    pg.exec(
        "CREATE TABLE orders (id int, total numeric(10,2), note text);
         INSERT INTO orders SELECT g, g * 1.5, 'n' || g FROM generate_series(1, 1000) g;
         INSERT INTO orders VALUES (500, 750.00, 'n500');",
    );
    my.exec(
        "CREATE TABLE orders (id int, total decimal(10,2), note text);
         INSERT INTO orders WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 1000)
            SELECT g, g * 1.5, CONCAT('n', g) FROM s WHERE g NOT IN (10, 20, 30);
         INSERT INTO orders VALUES (2000, 1, 'extra'), (2001, 2, 'extra');
         UPDATE orders SET total = total + 0.01 WHERE id IN (100, 200);
         UPDATE orders SET note = NULL WHERE id = 300;
         INSERT INTO orders VALUES (700, 1050.00, 'n700');",
    );
    let o = check(&pg.url, &my.url, vec![table("orders", Some(&["id"]))]);
    let d = &checked(&o, 0).diff;
    assert_eq!(d.source.rows, 1001);
    assert_eq!(d.target.rows, 1000);
    assert_eq!(d.missing, 3 + 1, "10, 20, 30 and the second 500");
    assert_eq!(d.extra, 2 + 1, "2000, 2001 and the second 700");
    assert_eq!(d.changed, 3);
    assert_eq!((d.source.duplicate_keys, d.target.duplicate_keys), (1, 1));
    assert_eq!(d.changed_by_column, vec![0, 2, 1]);
    let first = &d.samples.changed[0];
    assert_eq!(first.key, vec![Some("100".to_string())]);
    assert_eq!(
        first.columns,
        vec![(1, Some("150".to_string()), Some("150.01".to_string()))]
    );
    let null_change = &d.samples.changed[2];
    assert_eq!(
        null_change.columns,
        vec![(2, Some("n300".to_string()), None)]
    );
    assert_eq!(d.samples.missing[0].key, vec![Some("10".to_string())]);
    assert!(!o.is_go());
}

#[test]
fn same_report_for_any_row_order_batch_size_and_thread_count() {
    let (Some(pg), Some(my)) = (TestDb::postgres("order"), TestDb::mariadb("order")) else {
        return;
    };
    pg.exec(
        "CREATE TABLE a (id int PRIMARY KEY, v text); INSERT INTO a SELECT g, md5(g::text) FROM generate_series(1, 3000) g ORDER BY random();
         CREATE TABLE b (k1 text, k2 int, v numeric, PRIMARY KEY (k1, k2));
         INSERT INTO b SELECT 'k' || (g % 37), g, g / 7.0 FROM generate_series(1, 2000) g ORDER BY random();",
    );
    my.exec(
        "CREATE TABLE a (id int PRIMARY KEY, v text);
         INSERT INTO a WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 3000) SELECT g, md5(g) FROM s ORDER BY rand();
         UPDATE a SET v = 'changed' WHERE id % 97 = 0; DELETE FROM a WHERE id % 101 = 0;
         CREATE TABLE b (k1 varchar(10), k2 int, v decimal(30,10), PRIMARY KEY (k1, k2));
         INSERT INTO b WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 2000)
           SELECT CONCAT('k', g % 37), g, g / 7.0 FROM s ORDER BY rand();",
    );
    let run = |jobs, batch| {
        let o = check_with(
            &pg.url,
            &my.url,
            vec![table("a", None), table("b", None)],
            jobs,
            batch,
        );
        let mut json: serde_json::Value =
            serde_json::from_str(&cutover_report::Report::from_outcome(&o).to_json()).unwrap();
        strip_times(&mut json);
        json
    };
    let reference = run(1, 8192);
    assert_eq!(
        reference["tables"][0]["counts"]["changed"], 30,
        "{reference:#}"
    );
    for (jobs, batch) in [(2, 1), (4, 7), (1, 1000)] {
        assert_eq!(run(jobs, batch), reference, "jobs {jobs}, batch {batch}");
    }
}

fn strip_times(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.remove("elapsed_ms");
            m.values_mut().for_each(strip_times);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_times),
        _ => {}
    }
}

#[test]
fn a_table_that_cannot_be_checked_fails_alone() {
    let Some(pg) = TestDb::postgres("err") else {
        return;
    };
    pg.exec(
        "CREATE TABLE good (id int PRIMARY KEY); INSERT INTO good VALUES (1);
         CREATE TABLE nokey (id int); CREATE TABLE cols (id int PRIMARY KEY, extra text);",
    );
    let mut bad_col = table("good", None);
    bad_col.columns.insert("id".into(), "NOPE".into());
    let mut bad_filter = table("good", None);
    bad_filter.name = "GOOD".into();
    bad_filter.source_name = Some("good".into());
    bad_filter.source_where = Some("no_such_column > 1".into());
    let o = check(
        &pg.url,
        &pg.url,
        vec![
            table("good", None),
            table("missing", None),
            table("nokey", None),
            table("cols", None),
            bad_filter,
        ],
    );
    assert_eq!(o.tables[0].status(), cutover_check::TableStatus::Match);
    let msg = |i: usize| match &o.tables[i] {
        TableResult::Failed(f) => format!("{} / {}", f.message, f.hint.clone().unwrap_or_default()),
        TableResult::Checked(_) => panic!("table {i} should fail"),
    };
    assert!(
        msg(1).contains("table missing does not exist on the target"),
        "{}",
        msg(1)
    );
    assert!(
        msg(2).contains("no primary key") && msg(2).contains("set key"),
        "{}",
        msg(2)
    );
    assert!(msg(4).contains("no_such_column"), "{}", msg(4));
    assert!(!o.is_go());

    let o = check(&pg.url, &pg.url, vec![bad_col]);
    let TableResult::Failed(f) = &o.tables[0] else {
        panic!("should fail")
    };
    assert!(
        f.message.contains("maps to source column NOPE"),
        "{}",
        f.message
    );
}

#[test]
fn sqlite_text_that_is_not_utf8_is_flagged_not_a_panic() {
    let a = TestSqlite::new(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, CAST(x'636166e9' AS TEXT)), (2, 'ok');",
    );
    let b = TestSqlite::new(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'café'), (2, 'ok');",
    );
    let o = check(&a.url, &b.url, vec![table("t", None)]);
    let d = &checked(&o, 0).diff;
    assert_eq!(d.changed, 1);
    assert_eq!(d.source.notes[1].invalid_utf8, 1);
    assert_eq!(
        d.samples.changed[0].columns[0].1.as_deref(),
        Some("caf\\xE9")
    );
}

#[test]
fn every_postgres_table_of_a_side_is_read_in_one_snapshot() {
    let (Some(src), Some(tgt)) = (TestDb::postgres("snap_s"), TestDb::postgres("snap_t")) else {
        return;
    };
    for db in [&src, &tgt] {
        db.exec("CREATE TABLE slow (id int PRIMARY KEY); INSERT INTO slow VALUES (1); CREATE TABLE later (id int PRIMARY KEY); INSERT INTO later VALUES (1);");
    }
    // Table `slow` takes two seconds to read; `later` is read after it (one job). A row written
    // to the source's `later` while `slow` is read must not be seen: the run's snapshot is older.
    let mut slow = table("slow", None);
    slow.source_where = Some("pg_sleep(2) IS NOT NULL".into());
    let writer = {
        let url = src.url.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(1000));
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    use sqlx::Connection as _;
                    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
                    sqlx::raw_sql("INSERT INTO later VALUES (2)")
                        .execute(&mut c)
                        .await
                        .unwrap();
                });
        })
    };
    let o = check_with(
        &src.url,
        &tgt.url,
        vec![slow, table("later", None)],
        1,
        8192,
    );
    writer.join().unwrap();
    assert_eq!(o.tables[0].status(), cutover_check::TableStatus::Match);
    let later = checked(&o, 1);
    assert_eq!(
        later.diff.source.rows, 1,
        "the row written after the run started was read"
    );
    assert!(o.is_go());
}

/// The same table of 600,000 rows on two PostgreSQL databases (two key ranges of 250,000 rows
/// or more), with differences at both ends and on both sides of the middle: 4 missing, 2 extra,
/// 9 changed.
fn big_pair(name: &str) -> Option<(TestDb, TestDb)> {
    let (src, tgt) = (TestDb::postgres(name)?, TestDb::postgres(name)?);
    let rows = 600_000;
    let create = format!(
        "CREATE TABLE t (id bigint PRIMARY KEY, v numeric(12,2), s text);
         INSERT INTO t SELECT g, g / 4.0, 'r' || g FROM generate_series(1, {rows}) g;
         ANALYZE t;"
    );
    src.exec(&create);
    tgt.exec(&create);
    tgt.exec(
        "DELETE FROM t WHERE id IN (1, 299000, 300000, 590000);
         INSERT INTO t VALUES (0, 0, 'extra'), (999999999, 1, 'extra');
         UPDATE t SET v = v + 1 WHERE id IN (2, 350500, 599999);
         UPDATE t SET s = 'R' || id WHERE id % 100000 = 7;",
    );
    Some((src, tgt))
}

/// Compares table `t` as one stream and in key ranges of 250,000 rows (each checkpointed as it
/// finishes), asserts both find every planted difference with the same diff, and returns how
/// many ranges were checkpointed.
fn ranges_give_the_diff_of_one_stream(source: &str, target: &str) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let one = settings(source, target, vec![table("t", None)]);
    let mut ranges = one.clone();
    ranges.checkpoints = Some(std::sync::Arc::new(
        cutover_run::checkpoint::Checkpoints::new(&dir.path().join("run.checkpoint")),
    ));
    ranges.checkpoint_rows = 250_000;
    let (a, b) = (run(&one), run(&ranges));
    let (a, b) = (checked(&a, 0), checked(&b, 0));
    assert_eq!((a.compared.ranges, b.compared.ranges), (0, 2));
    assert_eq!(
        (b.diff.missing, b.diff.extra, b.diff.changed),
        (4, 2, 9),
        "every planted difference"
    );
    assert_eq!(a.diff, b.diff);
    let text = std::fs::read_to_string(dir.path().join("run.checkpoint")).unwrap();
    text.lines().filter(|l| l.starts_with("D\t")).count()
}

/// A big table read in key ranges (so each can be checkpointed) gives exactly the diff of one
/// stream: counts, samples in key order, diagnosis and fingerprints.
#[test]
fn a_big_table_read_in_key_ranges_gives_the_diff_of_one_stream() {
    let Some((src, tgt)) = big_pair("ranges") else {
        return;
    };
    // The ranges' diffs were checkpointed as they finished.
    assert_eq!(ranges_give_the_diff_of_one_stream(&src.url, &tgt.url), 2);
}

/// A MariaDB side is read in key ranges too, each range in a snapshot of its own: the diff is
/// still exactly that of one stream.
#[test]
fn a_big_mariadb_table_read_in_key_ranges_gives_the_diff_of_one_stream() {
    let Some((_, tgt)) = big_pair("myranges") else {
        return;
    };
    let src = TestDb::mariadb("myranges").expect("MariaDB is up");
    src.exec(
        "CREATE TABLE t (id bigint PRIMARY KEY, v decimal(12,2), s text);
         INSERT INTO t SELECT seq, seq / 4.0, CONCAT('r', seq) FROM seq_1_to_600000;
         ANALYZE TABLE t;",
    );
    assert_eq!(ranges_give_the_diff_of_one_stream(&src.url, &tgt.url), 2);
}

/// Section 3 of part 7 for a full compare: a run killed once one key range is compared keeps
/// that range's diff in its checkpoint, and `--resume` compares only the other range and gives
/// the report of an uninterrupted run.
#[test]
fn a_full_compare_killed_midway_resumes_with_the_same_findings() {
    let Some((src, tgt)) = big_pair("fullres") else {
        return;
    };
    let run = crate::cli::Rehearsal::new("2");
    // Rows of the upper half cost the servers an md5 of 20 KB each, so the lower range is
    // compared long before the upper one, and the run is stopped between the two.
    let write_config = |extra: &str| {
        let cond = format!("id < 300000 OR md5(repeat(CAST(id AS text), 3000)) <> ''{extra}");
        run.write_config(&format!(
            "[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n[run]\ncheckpoint_rows = 250000\n[[table]]\nname = \"t\"\nsource_where = \"{cond}\"\ntarget_where = \"{cond}\"\n",
            src.url, tgt.url
        ));
    };
    write_config("");
    let whole = run.check("whole", false);
    assert_eq!(whole.status.code(), Some(1), "{whole:?}");
    assert!(
        !run.checkpoint().exists(),
        "a finished run removes its checkpoint"
    );
    let whole = run.report("whole");
    let w = &whole["tables"][0];
    assert_eq!(
        (
            &w["counts"]["missing"],
            &w["counts"]["extra"],
            &w["counts"]["changed"]
        ),
        (&4.into(), &2.into(), &9.into())
    );

    run.kill_once_checkpointed("D\t");
    assert_eq!(run.checkpointed("D\t").len(), 1, "the lower range only");

    // Another condition is another comparison: no resume, and the checkpoint stays.
    write_config(" OR id = 0");
    let refused = run.check("refused", true);
    assert_ne!(refused.status.code(), Some(0));
    let said = run.report("refused")["tables"][0]["error"].to_string();
    assert!(said.contains("cannot resume table t"), "{said}");
    assert!(run.checkpoint().exists());

    write_config("");
    let resumed = run.check("resumed", true);
    assert_eq!(resumed.status.code(), Some(1), "{resumed:?}");
    assert!(!run.checkpoint().exists());
    let resumed = run.report("resumed");
    let r = &resumed["tables"][0];
    for field in ["counts", "samples", "fingerprint", "diagnosis"] {
        assert_eq!(w[field], r[field], "{field}");
    }
    let note = r["compared"]["note"].as_str().unwrap_or_default();
    assert!(
        note.starts_with("Resumed an interrupted run: 1 of 2 key ranges (id < ")
            && note.contains(" were compared at ")
            && note.contains("the other 1 in this run, in a new snapshot"),
        "{note}"
    );
}

/// Runs table `t` read in storage order where it qualifies and in key order, asserts that both
/// give the same diff (counts, samples, diagnosis, fingerprints) and returns the first run's
/// table.
fn storage_order_gives_the_diff_of_key_order(
    source: &str,
    target: &str,
) -> cutover_run::CheckedTable {
    let mut heap = settings(source, target, vec![table("t", None)]);
    heap.sample_size = 3;
    heap.storage_order_rows = 1;
    let mut keyed = heap.clone();
    keyed.storage_order_rows = u64::MAX;
    let (a, b) = (run(&heap), run(&keyed));
    let (a, b) = (checked(&a, 0).clone(), checked(&b, 0));
    assert!(
        b.target_sql.contains("ORDER BY"),
        "the key-order run: {}",
        b.target_sql
    );
    assert_eq!(a.diff, b.diff);
    a
}

/// A PostgreSQL table whose heap holds its rows nearly in key order: rows updated after the
/// load (moved to the heap's end, some on both sides), a run of rows inserted into space freed
/// early in the heap, and planted differences among exactly those rows.
fn scrambled_heap(db: &TestDb, rows: u32) {
    db.exec("DELETE FROM t WHERE id BETWEEN 100 AND 400");
    db.exec("VACUUM t");
    db.exec(&format!(
        "INSERT INTO t SELECT g, g / 4.0, 'r' || g FROM generate_series({}, {}) g;
         INSERT INTO t SELECT g, g / 4.0, 'r' || g FROM generate_series(100, 150) g;
         UPDATE t SET v = v + 1 WHERE id % 1000 = 3;
         UPDATE t SET s = s WHERE id % 5000 = 11;
         UPDATE t SET v = v + 1 WHERE id % 7000 = 12;
         ANALYZE t;",
        rows + 1,
        rows + 150
    ));
}

/// A PostgreSQL side read in storage order (a heap scan, no `ORDER BY`) gives exactly the diff
/// of a read in key order, with rows out of key order on both sides among the differences.
#[test]
fn a_table_read_in_storage_order_gives_the_diff_of_a_read_in_key_order() {
    let (Some(src), Some(tgt)) = (TestDb::postgres("heap"), TestDb::postgres("heap")) else {
        return;
    };
    let create = "CREATE TABLE t (id bigint PRIMARY KEY, v numeric(12,2), s text);
         INSERT INTO t SELECT g, g / 4.0, 'r' || g FROM generate_series(1, 50000) g;";
    src.exec(create);
    tgt.exec(create);
    // Rows the source stores out of key order too, equal on both sides.
    src.exec("UPDATE t SET s = s WHERE id % 5000 = 11 OR id = 20000; ANALYZE t;");
    scrambled_heap(&tgt, 50_000);
    let a = storage_order_gives_the_diff_of_key_order(&src.url, &tgt.url);
    let d = &a.diff;
    assert_eq!(
        (d.missing, d.extra, d.changed),
        (250, 150, 50 + 8),
        "ids 151-400 missing, 50001-50150 extra, ids ending in 003 and multiples of 7000 + 12 changed"
    );
    assert!(!a.target_sql.contains("ORDER BY"), "{}", a.target_sql);
    assert!(!a.source_sql.contains("ORDER BY"), "{}", a.source_sql);
    let note = a.compared.note.clone().unwrap_or_default();
    assert!(note.contains("second read of their keys"), "{note}");

    // A heap in no order at all is read again in key order, and says so.
    tgt.exec(
        "CREATE TABLE u AS SELECT * FROM t ORDER BY md5(id::text);
         DROP TABLE t; ALTER TABLE u RENAME TO t; ALTER TABLE t ADD PRIMARY KEY (id); ANALYZE t;",
    );
    let a = storage_order_gives_the_diff_of_key_order(&src.url, &tgt.url);
    let note = a.compared.note.clone().unwrap_or_default();
    assert!(
        note.contains("Read again in key order") && note.contains("target side"),
        "{note}"
    );
}

/// A MariaDB source (read in key order, since InnoDB stores rows by primary key) against a
/// PostgreSQL target read in storage order.
#[test]
fn a_mariadb_source_against_a_target_read_in_storage_order() {
    let (Some(src), Some(tgt)) = (TestDb::mariadb("heapmy"), TestDb::postgres("heapmy")) else {
        return;
    };
    src.exec(
        "CREATE TABLE t (id bigint PRIMARY KEY, v decimal(12,2), s text);
         INSERT INTO t SELECT seq, seq / 4.0, CONCAT('r', seq) FROM seq_1_to_50000;
         ANALYZE TABLE t;",
    );
    tgt.exec(
        "CREATE TABLE t (id bigint PRIMARY KEY, v numeric(12,2), s text);
         INSERT INTO t SELECT g, g / 4.0, 'r' || g FROM generate_series(1, 50000) g;",
    );
    scrambled_heap(&tgt, 50_000);
    let a = storage_order_gives_the_diff_of_key_order(&src.url, &tgt.url);
    assert_eq!(
        (a.diff.missing, a.diff.extra, a.diff.changed),
        (250, 150, 58)
    );
    assert!(a.source_sql.contains("ORDER BY"), "{}", a.source_sql);
    assert!(!a.target_sql.contains("ORDER BY"), "{}", a.target_sql);
}

/// From the command line: `cutover plan` says which sides are read in storage order and shows
/// their statements, and the report's note and queries say what the check did.
#[test]
fn plan_and_report_show_a_read_in_storage_order() {
    let (Some(src), Some(tgt)) = (TestDb::postgres("heapcli"), TestDb::postgres("heapcli")) else {
        return;
    };
    let create = "CREATE TABLE t (id bigint PRIMARY KEY, v numeric(12,2), s text);
         INSERT INTO t SELECT g, g / 4.0, 'r' || g FROM generate_series(1, 120000) g;
         ANALYZE t;";
    src.exec(create);
    tgt.exec(create);
    scrambled_heap(&tgt, 120_000);
    let dir = tempfile::tempdir().unwrap();
    let config =
        crate::cli::pair_config(dir.path(), &src.url, &tgt.url, "[[table]]\nname = \"t\"\n");
    let shown = crate::cli::plan_of(&config);
    assert!(
        shown.contains("both sides read in storage order (a heap scan, no ORDER BY)"),
        "{shown}"
    );
    assert!(
        shown.contains("target runs: SELECT \"id\", \"v\", \"s\" FROM \"t\"\n"),
        "{shown}"
    );
    let out = dir.path().join("out");
    let run = crate::cli::check_into(&config, &out);
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let report = crate::cli::validate_report(&out.join("report.json"));
    let t = &report["tables"][0];
    assert_eq!(
        (
            &t["counts"]["missing"],
            &t["counts"]["extra"],
            &t["counts"]["changed"]
        ),
        (&250.into(), &150.into(), &(120 + 18).into())
    );
    let note = t["compared"]["note"].as_str().unwrap_or_default();
    assert!(
        note.contains("compared by a second read of their keys"),
        "{t}"
    );
    let queries = t["queries"].to_string();
    assert!(!queries.contains("ORDER BY"), "{queries}");

    // Turned off, every side reads in key order, by the primary key's index (no NULLS FIRST).
    let config = crate::cli::pair_config(
        dir.path(),
        &src.url,
        &tgt.url,
        "[run]\nstorage_order = false\n[[table]]\nname = \"t\"\n",
    );
    let shown = crate::cli::plan_of(&config);
    assert!(!shown.contains("storage order"), "{shown}");
    assert!(
        shown.contains("target runs: SELECT \"id\", \"v\", \"s\" FROM \"t\" ORDER BY \"id\"\n"),
        "{shown}"
    );
}
