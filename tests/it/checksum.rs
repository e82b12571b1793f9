//! Checksum mode against the real servers: each engine's SQL renders every value exactly as the
//! canonical layer does, and a checksum compare finds what a full compare finds, with the same
//! counts, samples and diagnoses, while streaming only the differing key ranges.

use crate::common::*;
use cutover_config::CompareMode;
use cutover_source::checksum::{ChecksumSource, declared_scale};
use cutover_source::{Endpoint, ReadRequest};

const PG_VALUES: &str = r#"
CREATE TABLE t (
    id bigint PRIMARY KEY, i integer, d numeric(14,2), dn numeric, b boolean, txt text,
    vc varchar(20), ch char(5), dt date, tm time(6), ts timestamp(6), tstz timestamptz,
    u uuid, by bytea, lat varchar(10)
);
INSERT INTO t VALUES
 (1, 42, 12.50, 1.500, true, 'Grüße 😀', 'a|b', 'ab', '2024-02-29', '13:45:30.123456',
  '2024-03-01 10:00:00.654321', '2024-03-01 10:00:00+02', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '\x00ff10', 'café'),
 (2, -2147483648, -0.01, 0, false, '', 'trailing ', 'x', '1900-01-01', '00:00:00',
  '1969-12-31 23:59:59.999999', '1970-01-01 00:00:00+00', '00000000-0000-0000-0000-000000000000',
  '\x', ''),
 (3, 0, 0, -123456789.000100, NULL, '<null>', 'N', NULL, NULL, '23:59:59.5', '2000-01-01 00:00:00',
  NULL, NULL, NULL, NULL),
 (4, NULL, 100, 100, true, '3:abc', '', 'a b', '2000-01-01', NULL, '2000-01-01 00:00:00.1',
  '2000-01-01 00:00:00.1+00', NULL, '\x2c', 'ÿ|'),
 (9223372036854775807, NULL, 123456789012.34, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL);
"#;

const MY_VALUES: &str = r#"
CREATE TABLE t (
    id bigint PRIMARY KEY, i int, d decimal(14,2), dn decimal(30,6), b tinyint(1), txt text,
    vc varchar(20), ch char(5), dt date, tm time(6), ts datetime(6), tstz timestamp(6) NULL,
    u uuid, `by` blob, lat varchar(10) CHARACTER SET latin1
) CHARSET utf8mb4;
INSERT INTO t VALUES
 (1, 42, 12.50, 1.500, 1, 'Grüße 😀', 'a|b', 'ab', '2024-02-29', '13:45:30.123456',
  '2024-03-01 10:00:00.654321', '2024-03-01 08:00:00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  x'00ff10', 'café'),
 (2, -2147483648, -0.01, 0, 0, '', 'trailing ', 'x', '1900-01-01', '00:00:00',
  '1969-12-31 23:59:59.999999', '1970-01-01 00:00:01', '00000000-0000-0000-0000-000000000000',
  x'', ''),
 (3, 0, 0, -123456789.000100, NULL, '<null>', 'N', NULL, NULL, '23:59:59.5', '2000-01-01 00:00:00',
  NULL, NULL, NULL, NULL),
 (4, NULL, 100, 100, 1, '3:abc', '', 'a b', '2000-01-01', NULL, '2000-01-01 00:00:00.1',
  '2000-01-01 00:00:00.1', NULL, x'2c', 'ÿ|'),
 (9223372036854775807, NULL, 123456789012.34, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL);
"#;

const SQLITE_VALUES: &str = r#"
CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, txt TEXT, vc VARCHAR(20), by BLOB);
INSERT INTO t VALUES
 (1, 42, 'Grüße 😀', 'a|b', x'00ff10'),
 (2, -2147483648, '', 'trailing ', x''),
 (3, 0, '<null>', 'N', NULL),
 (4, NULL, '3:abc', '', x'2c'),
 (9223372036854775807, NULL, NULL, NULL, NULL);
"#;

/// Each row of `table` as the engine renders its checksum text, and as the canonical layer
/// renders the values the connector read; with `scaled`, decimals of a declared scale are
/// printed with it.
fn renderings(url: &str, table: &str, scaled: bool) -> (Vec<String>, Vec<String>) {
    let mut conn = cutover_source::open(&Endpoint::new(url)).unwrap();
    let schema = conn.describe(table).unwrap().expect("the table");
    let columns = schema.columns.clone();
    let d = conn.sql().unwrap().dialect();
    let scales: Vec<Option<u32>> = columns
        .iter()
        .map(|c| scaled.then(|| declared_scale(&c.type_name)).flatten())
        .collect();
    let source = ChecksumSource {
        table,
        filter: None,
        key: &columns[0],
        columns: columns
            .iter()
            .zip(&scales)
            .map(|(c, s)| (c, c.kind, *s))
            .collect(),
        hash: cutover_source::checksum::RowHash::Md5Sum,
        key_primary: false,
    };
    let row = source.row_sql(d).unwrap();
    // MariaDB's row text is a binary string; read it as text here.
    let row = if d.engine() == cutover_source::Engine::MySql {
        format!("CAST({row} AS CHAR)")
    } else {
        row
    };
    let sql = format!(
        "SELECT {row} FROM {} ORDER BY {}",
        d.quote_name(table),
        d.quote_ident(&columns[0].name)
    );
    let from_sql: Vec<String> = conn
        .sql()
        .unwrap()
        .text_rows(&sql, None)
        .unwrap()
        .into_iter()
        .map(|r| r[0].clone().expect("a row text is never NULL"))
        .collect();
    let mut from_rust = Vec::new();
    conn.read(&ReadRequest::new(table, columns.clone(), 1), &mut |batch| {
        for r in 0..batch.len() {
            let mut text = Vec::new();
            for (c, scale) in scales.iter().enumerate() {
                assert!(cutover_check::canonical::checksum_text_scaled(
                    batch.cell(r, c),
                    *scale,
                    &mut text
                ));
            }
            from_rust.push(String::from_utf8(text).unwrap());
        }
        true
    })
    .unwrap();
    (from_sql, from_rust)
}

#[test]
fn every_engine_renders_checksum_text_byte_for_byte_as_cutover_does() {
    let (Some(pg), Some(my)) = (TestDb::postgres("cktext"), TestDb::mariadb("cktext")) else {
        return;
    };
    pg.exec(PG_VALUES);
    my.exec(MY_VALUES);
    let lite = TestSqlite::new(SQLITE_VALUES);
    for scaled in [true, false] {
        let (pg_sql, pg_rust) = renderings(&pg.url, "t", scaled);
        assert_eq!(pg_sql, pg_rust, "PostgreSQL");
        let (my_sql, my_rust) = renderings(&my.url, "t", scaled);
        assert_eq!(my_sql, my_rust, "MariaDB");
        let (lite_sql, lite_rust) = renderings(&lite.url, "t", scaled);
        assert_eq!(lite_sql, lite_rust, "SQLite");
    }
    let (pg_sql, _) = renderings(&pg.url, "t", false);
    let (my_sql, _) = renderings(&my.url, "t", false);
    let (pg_scaled, _) = renderings(&pg.url, "t", true);
    assert!(
        pg_scaled[0].starts_with("1,42,12.50,1.5,"),
        "{}",
        pg_scaled[0]
    );
    // The same values on PostgreSQL and MariaDB give the same text, except the one timestamp
    // that differs on purpose (1970-01-01 00:00:00 vs 00:00:01, in row 2).
    assert_eq!(pg_sql.len(), 5);
    for (i, (p, m)) in pg_sql.iter().zip(&my_sql).enumerate() {
        if i == 1 {
            assert_ne!(p, m);
        } else {
            assert_eq!(p, m, "row {i}");
        }
    }
    // NULL, an empty text, the text `<null>` and `N` all differ; `a|b` keeps its length.
    assert!(pg_sql[0].contains("3:a|b"));
    assert!(pg_sql[2].contains("6:<null>1:N"));
    assert_eq!(
        pg_sql[4],
        "9223372036854775807,N123456789012.34,NNNNNNNNNNNN"
    );
    // A latin1 column is hashed as UTF-8, as PostgreSQL's text is.
    assert!(pg_sql[0].ends_with("5:café"), "{}", pg_sql[0]);
    assert!(my_sql[3].ends_with("3:ÿ|"), "{}", my_sql[3]);
}

/// Builds an `events`-like table with `rows` rows on a side (`pg`: PostgreSQL syntax).
fn events(pg: bool, rows: u32) -> String {
    let series = if pg {
        format!("generate_series(1, {rows}) AS s(g)")
    } else {
        format!(
            "(WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {rows}) SELECT g FROM s) AS s"
        )
    };
    let (text, ts) = if pg {
        (
            "'note ' || g",
            "TIMESTAMP '2020-01-01 00:00:00' + g * INTERVAL '1 second'",
        )
    } else {
        (
            "CONCAT('note ', g)",
            "TIMESTAMP '2020-01-01 00:00:00' + INTERVAL g SECOND",
        )
    };
    let create = if pg {
        "CREATE TABLE events (id bigint PRIMARY KEY, amount numeric(12,2), a text, b text, at timestamp(6), flag boolean, day date)"
    } else {
        "CREATE TABLE events (id bigint PRIMARY KEY, amount decimal(12,2), a text, b text, at datetime(6), flag tinyint(1), day date)"
    };
    format!(
        "{create};
         INSERT INTO events SELECT g, (g % 1000) / 4.0, {text}, NULL, {ts}, g % 2 = 0,
            DATE '2020-01-01' + {} FROM {series};",
        if pg {
            "(g % 300)"
        } else {
            "INTERVAL (g % 300) DAY"
        }
    )
}

/// The planted differences, the same on any target engine: missing, extra, changed values in
/// several columns, and changes reladiff's row text cannot see.
const PLANTED: &str = "
    DELETE FROM events WHERE id IN (1, 4000, 9999);
    INSERT INTO events (id, amount, a) VALUES (30000, 1, 'extra'), (30001, 2, 'extra');
    UPDATE events SET amount = amount + 0.01 WHERE id IN (500, 7000);
    UPDATE events SET a = NULL WHERE id = 800;
    UPDATE events SET a = '' WHERE id = 801;
    UPDATE events SET a = 'x|y', b = 'z' WHERE id = 5000;
    UPDATE events SET a = '<null>' WHERE id = 5001;
";

/// `buckets`: how many key ranges there are and how many differ, each within a range (the
/// engines' row estimates decide how keys are split).
fn compare_modes(
    source: &str,
    target: &str,
    hash: &str,
    buckets: [std::ops::RangeInclusive<usize>; 2],
) {
    let mut full = table("events", None);
    full.source_where = Some("id <= 15000".into());
    full.target_where = Some("id <= 15000 OR id >= 30000".into());
    let mut by_checksum = full.clone();
    by_checksum.mode = Some(CompareMode::Checksum);
    let f = check(source, target, vec![full]);
    let c = check(source, target, vec![by_checksum]);
    let (f, c) = (checked(&f, 0), checked(&c, 0));
    assert_eq!(f.compared.checksum, None);
    let stats = c
        .compared
        .checksum
        .as_ref()
        .unwrap_or_else(|| panic!("compared by checksums: {:?}", c.compared.note));
    assert_eq!(c.compared.note, None);
    let (fd, cd) = (&f.diff, &c.diff);
    assert_eq!(
        (fd.missing, fd.extra, fd.changed),
        (3, 2, 6),
        "the full compare finds every planted difference"
    );
    assert_eq!(
        (cd.source.rows, cd.target.rows, cd.matched),
        (fd.source.rows, fd.target.rows, fd.matched)
    );
    assert_eq!(
        (cd.missing, cd.extra, cd.changed),
        (fd.missing, fd.extra, fd.changed)
    );
    assert_eq!(cd.changed_by_column, fd.changed_by_column);
    assert_eq!(cd.samples, fd.samples);
    assert_eq!(cd.diagnosis, fd.diagnosis);
    assert_eq!(stats.rows_checksummed, [fd.source.rows, fd.target.rows]);
    assert_eq!(stats.hash, hash);
    assert!(
        buckets[0].contains(&stats.buckets) && buckets[1].contains(&stats.differing_buckets),
        "{stats:?}"
    );
    assert!(
        stats.rows_streamed[0] < fd.source.rows / 2,
        "only the differing ranges travel: {stats:?}"
    );
}

#[test]
fn checksums_find_what_the_full_compare_finds_postgres_to_postgres() {
    let (Some(src), Some(tgt)) = (TestDb::postgres("cksrc"), TestDb::postgres("cktgt")) else {
        return;
    };
    src.exec(&events(true, 20_000));
    tgt.exec(&events(true, 20_000));
    tgt.exec(PLANTED);
    // The same major version on both sides: PostgreSQL's own text hash.
    // No statistics yet: bounds at every 1024th source key. [..1024) holds 1, 500, 800 and 801;
    // then 4000, 5000-5001, 7000, 9999, and the last range the extra 30000-30001.
    compare_modes(&src.url, &tgt.url, "hashtextextended", [15..=15, 6..=6]);
}

#[test]
fn checksums_find_what_the_full_compare_finds_mariadb_to_postgres() {
    let (Some(src), Some(tgt)) = (TestDb::mariadb("cksrc"), TestDb::postgres("cktgt")) else {
        return;
    };
    src.exec(&events(false, 20_000));
    tgt.exec(&events(true, 20_000));
    tgt.exec(PLANTED);
    // MariaDB estimates about 20,000 rows for keys 1..=15,000: dense, split evenly into about 20
    // ranges of about 750 keys. [1, 751) holds 1 and 500, [751, 1501) 800 and 801; then 4000,
    // 5000-5001, 7000, 9999, and the last range 30000-30001.
    compare_modes(&src.url, &tgt.url, "md5-range", [18..=22, 6..=8]);
}

#[test]
fn equal_tables_match_by_checksums_without_streaming_a_row() {
    let (Some(src), Some(tgt)) = (TestDb::mariadb("ckeq"), TestDb::postgres("ckeq")) else {
        return;
    };
    src.exec(&events(false, 3_000));
    tgt.exec(&events(true, 3_000));
    let mut t = table("events", None);
    t.mode = Some(CompareMode::Checksum);
    let o = check(&src.url, &tgt.url, vec![t]);
    let c = checked(&o, 0);
    let stats = c.compared.checksum.as_ref().expect("by checksums");
    assert!(c.diff.is_match());
    assert_eq!((c.diff.source.rows, c.diff.matched), (3_000, 3_000));
    assert_eq!(stats.rows_streamed, [0, 0]);
    assert_eq!(stats.differing_buckets, 0);
    assert!(o.is_go());
}

#[test]
fn a_table_checksums_cannot_take_is_compared_in_full_and_says_why() {
    let (Some(src), Some(tgt)) = (TestDb::postgres("ckwhy"), TestDb::postgres("ckwhy")) else {
        return;
    };
    let ddl = "CREATE TABLE m (id int PRIMARY KEY, x double precision);
               INSERT INTO m VALUES (1, 0.5), (2, 1.5);
               CREATE TABLE nokey (id int, v text); INSERT INTO nokey VALUES (1, 'a'), (1, 'a');
               CREATE TABLE nullkey (id int UNIQUE, v text); INSERT INTO nullkey VALUES (1, 'a');";
    src.exec(ddl);
    tgt.exec(ddl);
    tgt.exec("UPDATE m SET x = 2.5 WHERE id = 2");
    // A unique index admits NULL keys, which no key range holds: such a key is not enough.
    tgt.exec("INSERT INTO nullkey VALUES (NULL, 'b')");
    let mut m = table("m", None);
    m.mode = Some(CompareMode::Checksum);
    let mut nokey = table("nokey", Some(&["id"]));
    nokey.mode = Some(CompareMode::Checksum);
    let mut auto = table("m", None);
    auto.mode = Some(CompareMode::Auto);
    let mut nullkey = table("nullkey", Some(&["id"]));
    nullkey.mode = Some(CompareMode::Checksum);
    let o = check(&src.url, &tgt.url, vec![m, nokey, auto, nullkey]);
    let m = checked(&o, 0);
    let note = m.compared.note.as_deref().unwrap_or("");
    assert!(m.compared.checksum.is_none());
    assert!(
        note.contains("column x") && note.contains("float"),
        "{note}"
    );
    assert_eq!(m.diff.changed, 1);
    let nokey = checked(&o, 1);
    let note = nokey.compared.note.as_deref().unwrap_or("");
    assert!(note.contains("declare unique"), "{note}");
    assert_eq!(
        nokey.diff.source.duplicate_keys, 1,
        "duplicates are still found"
    );
    // auto streams small or local tables without a note.
    let auto = checked(&o, 2);
    assert_eq!(auto.compared, Default::default());
    let nullkey = checked(&o, 3);
    let note = nullkey.compared.note.as_deref().unwrap_or("");
    assert!(note.contains("declare unique"), "{note}");
    assert_eq!(nullkey.diff.extra, 1, "the NULL-key row is found");
    assert!(!o.is_go());
}

#[test]
fn the_cli_compares_by_checksums_and_every_report_says_so() {
    let (Some(src), Some(tgt)) = (TestDb::postgres("ckcli"), TestDb::postgres("ckcli")) else {
        return;
    };
    src.exec(&events(true, 5_000));
    tgt.exec(&events(true, 5_000));
    tgt.exec("UPDATE events SET b = 'changed' WHERE id = 2500");
    let dir = tempfile::tempdir().unwrap();
    let config = crate::cli::pair_config(
        dir.path(),
        &src.url,
        &tgt.url,
        "[run]\nmode = \"checksum\"\n[[table]]\nname = \"events\"\n",
    );
    let shown = crate::cli::plan_of(&config);
    assert!(
        shown.contains("compared by checksums in both databases"),
        "{shown}"
    );
    let out = dir.path().join("out");
    let run = crate::cli::check_into(&config, &out);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("events: Compared by checksums (hashtextextended)"),
        "{stdout}"
    );
    let report = crate::cli::validate_report(&out.join("report.json"));
    let t = &report["tables"][0];
    assert_eq!(t["compared"]["mode"], "checksum");
    assert_eq!(t["compared"]["checksum"]["differing_buckets"], 1);
    assert_eq!(
        t["compared"]["checksum"]["rows_checksummed"]["source"],
        5_000
    );
    assert_eq!(t["counts"]["changed"], 1);
    assert_eq!(t["fingerprint"], serde_json::Value::Null);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("in both databases: 1 of 5 key ranges differed"),
        "{md}"
    );
    // --mode overrides the config: the same check in full reads every row.
    let full = crate::cli::cutover()
        .args(["check", "--no-history", "--mode", "full", "-c"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(full.status.code(), Some(1));
    let report = crate::cli::validate_report(&out.join("report.json"));
    assert_eq!(report["tables"][0]["compared"]["mode"], "full");
    assert_eq!(report["tables"][0]["counts"]["changed"], 1);
}

/// Section 3 of part 7: a run killed midway leaves the key ranges it finished in its checkpoint,
/// and `--resume` checksums only the rest and finds exactly what an uninterrupted run finds.
#[test]
fn a_checksum_run_killed_midway_resumes_with_the_same_findings() {
    let (Some(src), Some(tgt)) = (TestDb::postgres("ckres"), TestDb::postgres("ckres")) else {
        return;
    };
    src.exec(&events(true, 29_000));
    tgt.exec(&events(true, 29_000));
    tgt.exec(PLANTED);
    let run = crate::cli::Rehearsal::new("1");
    // Every row's condition costs the server an md5 of 40 KB, so the run takes seconds, and one
    // session per side checksums one chunk after the other: the run is stopped with most of
    // its key ranges still to do.
    let write_config = |extra: &str| {
        let slow = "md5(repeat(CAST(id AS text), 8000)) <> ''";
        run.write_config(&format!(
            "[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n[run]\nmode = \"checksum\"\n[[table]]\nname = \"events\"\nsource_where = \"{slow}\"\ntarget_where = \"{slow}{extra}\"\n",
            src.url, tgt.url
        ));
    };
    write_config("");

    // The uninterrupted run: a finished run leaves no checkpoint.
    let whole = run.check("whole", false);
    assert_eq!(whole.status.code(), Some(1), "{whole:?}");
    assert!(!run.checkpoint().exists());
    let whole = run.report("whole");

    // The same run, killed (no chance to clean up) once its first chunk is checkpointed.
    run.kill_once_checkpointed("C\t");
    // The key ranges (buckets) of the finished chunks: each chunk line lists one sum per range.
    let finished: usize = run
        .checkpointed("C\t")
        .iter()
        .filter_map(|l| l.split('\t').nth(4))
        .map(|sums| sums.split(',').count())
        .sum();
    assert!(finished > 0);

    // A changed condition changes the table's checksum statements: no resume, and the
    // checkpoint is kept for the right config.
    write_config(" AND id > 0");
    let refused = run.check("refused", true);
    assert_ne!(refused.status.code(), Some(0));
    let said = run.report("refused")["tables"][0]["error"].to_string();
    assert!(
        said.contains("cannot resume table events") && said.contains("run without --resume"),
        "{said}"
    );
    assert!(run.checkpoint().exists());

    // Resumed with the config of the interrupted run.
    write_config("");
    let resumed = run.check("resumed", true);
    assert_eq!(resumed.status.code(), Some(1), "{resumed:?}");
    assert!(
        !run.checkpoint().exists(),
        "a finished run removes its checkpoint"
    );
    let resumed = run.report("resumed");
    let (w, r) = (&whole["tables"][0], &resumed["tables"][0]);
    assert_eq!(w["counts"], r["counts"]);
    assert_eq!(w["samples"], r["samples"]);
    assert_eq!(w["counts"]["missing"], 3);
    assert_eq!(w["counts"]["extra"], 2);
    assert_eq!(w["counts"]["changed"], 6);
    let note = r["compared"]["note"].as_str().unwrap_or_default();
    assert!(
        note.starts_with("Resumed an interrupted run: ")
            && note.contains(" in this run, in a new snapshot"),
        "{note}"
    );
    let (cw, cr) = (&w["compared"]["checksum"], &r["compared"]["checksum"]);
    assert_eq!(cw["rows_checksummed"], cr["rows_checksummed"]);
    assert_eq!(cw["buckets"], cr["buckets"]);
    assert_eq!(cw["differing_buckets"], cr["differing_buckets"]);
    let buckets = cw["buckets"].as_u64().unwrap() as usize;
    assert!(finished < buckets, "killed midway: {finished} of {buckets}");
    assert!(
        note.starts_with(&format!(
            "Resumed an interrupted run: {finished} of {buckets} key ranges ("
        )),
        "{note}"
    );
    // Resuming with nothing to resume says so.
    let nothing = run.check("nothing", true);
    assert_eq!(nothing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&nothing.stderr).contains("nothing to resume"),
        "{nothing:?}"
    );
}

/// A `codes` table keyed by text: `rows` rows whose keys are `key_sql` of `g` (1..=rows).
fn codes(pg: bool, rows: u32, key_sql: &str) -> String {
    let series = if pg {
        format!("generate_series(1, {rows}) AS s(g)")
    } else {
        format!(
            "(WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {rows}) SELECT g FROM s) AS s"
        )
    };
    // PostgreSQL compares the key in bytes ("C"), MariaDB in utf8mb4_general_ci (case-blind).
    let create = if pg {
        "CREATE TABLE codes (code varchar(20) COLLATE \"C\" PRIMARY KEY, n int, v text)"
    } else {
        "CREATE TABLE codes (code varchar(20) PRIMARY KEY, n int, v text) CHARSET utf8mb4 COLLATE utf8mb4_general_ci"
    };
    format!("{create}; INSERT INTO codes SELECT {key_sql}, g, 'v' FROM {series};")
}

/// A text key compares by checksums in each database's own collation: where both order the
/// keys alike, only the differing ranges travel; where they do not (case-blind against bytes),
/// the findings are still exactly the full compare's. The keys hold a quote and a backslash, so
/// every range bound does too.
#[test]
fn text_keys_checksum_in_each_collation_and_find_what_the_full_compare_finds() {
    let (Some(my), Some(pg)) = (TestDb::mariadb("cktext"), TestDb::postgres("cktext")) else {
        return;
    };
    let pg2 = TestDb::postgres("cktext2").expect("PostgreSQL is up");
    let my2 = TestDb::mariadb("cktext2").expect("MariaDB is up");
    let rows = 20_000;
    // o'\000001 …: the same order in bytes and case-blind.
    my.exec(&codes(false, rows, "CONCAT('o''\\\\', LPAD(g, 6, '0'))"));
    pg.exec(&codes(true, rows, "'o''\\' || lpad(g::text, 6, '0')"));
    // B000002, a000001 …: bytes put every B first, a case-blind collation every a first.
    let mixed_my = "CONCAT(IF(g % 2 = 0, 'B', 'a'), LPAD(g, 6, '0'))";
    let mixed_pg = "CASE WHEN g % 2 = 0 THEN 'B' ELSE 'a' END || lpad(g::text, 6, '0')";
    // Twice the rows, so that bound 16 (the end of the first statement) is in the first half.
    my.exec(&codes(false, 2 * rows, mixed_my).replace("codes", "mixed"));
    pg.exec(&codes(true, 2 * rows, mixed_pg).replace("codes", "mixed"));
    pg2.exec(&codes(true, rows, "'o''\\' || lpad(g::text, 6, '0')"));
    pg2.exec(&codes(true, 2 * rows, mixed_pg).replace("codes", "mixed"));
    my2.exec(&codes(false, 2 * rows, mixed_my).replace("codes", "mixed"));
    let plant = "DELETE FROM t WHERE n IN (1, 4000, 9999);
                 UPDATE t SET v = 'changed' WHERE n IN (500, 7000);
                 UPDATE t SET code = 'zz-extra' WHERE n = 12000;";
    // The sources (my, pg2) keep every row; the targets (pg, my2) have the planted changes.
    pg.exec(&plant.replace(" t ", " codes "));
    pg.exec(&plant.replace(" t ", " mixed "));
    my2.exec(&plant.replace(" t ", " mixed "));
    // `statement_secs`: the time target of a checksum statement; a tiny one makes a statement
    // of every key range after the first sixteen.
    let both = |source: &str, target: &str, name: &str, statement_secs: f64| {
        let mut full = table(name, None);
        full.mode = Some(CompareMode::Full);
        let mut by_checksum = full.clone();
        by_checksum.mode = Some(CompareMode::Checksum);
        let mut s = settings(source, target, vec![full, by_checksum]);
        s.checksum_statement_secs = statement_secs;
        let o = run(&s);
        assert!(!o.is_go());
        let (f, c) = (checked(&o, 0).clone(), checked(&o, 1).clone());
        assert_eq!(
            (f.diff.missing, f.diff.extra, f.diff.changed),
            (4, 1, 2),
            "{name}: the full compare finds every planted difference"
        );
        for (a, b) in [
            (f.diff.source.rows, c.diff.source.rows),
            (f.diff.target.rows, c.diff.target.rows),
            (f.diff.matched, c.diff.matched),
            (f.diff.missing, c.diff.missing),
            (f.diff.extra, c.diff.extra),
            (f.diff.changed, c.diff.changed),
        ] {
            assert_eq!(a, b, "{name}: {:?}", c.compared);
        }
        assert_eq!(f.diff.samples, c.diff.samples, "{name}");
        c
    };
    // MariaDB → PostgreSQL and PostgreSQL → PostgreSQL (its own hash), keys ordered alike.
    for (source, hash) in [(&my.url, "md5"), (&pg2.url, "hashtextextended")] {
        let c = both(source, &pg.url, "codes", 0.5);
        let stats = c
            .compared
            .checksum
            .as_ref()
            .unwrap_or_else(|| panic!("compared by checksums: {:?}", c.compared.note));
        assert_eq!(stats.hash, hash);
        assert!(stats.buckets >= 15, "{stats:?}");
        assert!(
            stats.rows_streamed[0] < 10_000 && !stats.streamed_all,
            "only the differing ranges travel: {stats:?}"
        );
    }
    // Ordered unlike each other: never a lost or doubled row, whichever side the bounds come
    // from. In two statements (the usual count here), (-inf, bound 16) and [bound 16, inf) split
    // any order in two, and buckets that differ only in where a collation puts a key are
    // streamed.
    for (source, target) in [(&my.url, &pg.url), (&pg2.url, &my2.url)] {
        let c = both(source, target, "mixed", 0.5);
        let note = c.compared.note.clone().unwrap_or_default();
        match &c.compared.checksum {
            Some(stats) => assert!(stats.differing_buckets > 6, "{stats:?}"),
            None => assert!(note.contains("collation orders the text key"), "{note}"),
        }
    }
    // In a statement per range, the other side's ranges overlap where its collation disagrees
    // with the bounds' order (a000001 < B000002 case-blind, B000002 < a000001 in bytes): a row
    // counted twice makes the table compared in full, and the report says why.
    for (source, target) in [(&my.url, &pg.url), (&pg2.url, &my2.url)] {
        let c = both(source, target, "mixed", 1e-9);
        let note = c.compared.note.clone().unwrap_or_default();
        assert!(c.compared.checksum.is_none(), "{:?}", c.compared);
        assert!(
            note.starts_with("Compared in full, not by checksums: the ")
                && note.contains("collation orders the text key"),
            "{note}"
        );
    }
}

/// MariaDB answers a text longer than `max_allowed_packet` with NULL and a warning (`CONCAT`,
/// `HEX`), and cuts a `GROUP_CONCAT` there with a warning: either would drop a row from a
/// checksum and hide a difference. A checksum statement fails on any warning: a key range's
/// joined rows too long for one md5 are hashed row by row instead, and a row too long for that
/// is compared in full. Both report the one changed row, never a GO.
#[test]
fn rows_longer_than_mariadb_returns_never_vanish_from_checksums() {
    let (Some(a), Some(b)) = (TestDb::mariadb("long_a"), TestDb::mariadb("long_b")) else {
        return;
    };
    let packet: u64 = a
        .scalar("SELECT CAST(@@max_allowed_packet AS CHAR)")
        .parse()
        .unwrap();
    // Three blobs whose hex, joined, outgrows a packet, each alone well within it (`wide`);
    // one blob whose hex alone outgrows it (`huge`). The target's last byte differs.
    let third = packet / 6 + 1000;
    let half = packet / 2 + 1000;
    for (db, last) in [(&a, "a"), (&b, "b")] {
        db.exec(&format!(
            "CREATE TABLE wide (id int PRIMARY KEY, body longblob);
             INSERT INTO wide VALUES (1, REPEAT('a', {third})), (2, REPEAT('c', {third})),
                                     (3, CONCAT(REPEAT('a', {third}), '{last}')), (4, 'x');
             CREATE TABLE huge (id int PRIMARY KEY, body longblob);
             INSERT INTO huge VALUES (1, 'x'), (2, CONCAT(REPEAT('a', {half}), '{last}')), (3, 'y');"
        ));
    }
    let by_checksum = |name: &str| {
        let mut t = table(name, None);
        t.mode = Some(CompareMode::Checksum);
        t
    };
    let o = check(
        &a.url,
        &b.url,
        vec![by_checksum("wide"), by_checksum("huge")],
    );
    assert!(!o.is_go());
    let huge = checked(&o, 1);
    assert_eq!(
        (huge.diff.changed, huge.diff.matched),
        (1, 2),
        "{:?}",
        huge.compared
    );
    assert_eq!(huge.compared.checksum, None);
    let note = huge.compared.note.clone().unwrap_or_default();
    assert!(
        note.starts_with("Compared in full: the checksums failed:")
            && note.contains("the server warned")
            && note.contains("max_allowed_packet"),
        "{note}"
    );
    let wide = checked(&o, 0);
    assert_eq!(
        (wide.diff.changed, wide.diff.matched),
        (1, 3),
        "{:?}",
        wide.compared
    );
    let stats = wide
        .compared
        .checksum
        .as_ref()
        .expect("compared by checksums");
    assert_eq!(stats.hash, "md5", "{:?}", wide.compared);
    let note = wide.compared.note.clone().unwrap_or_default();
    assert!(
        note.contains("the rows' md5 were summed instead") && note.contains("GROUP_CONCAT"),
        "{note}"
    );
}

/// On MySQL/MariaDB a key range's rows are joined as a scan of the primary key reads them; a
/// key that is only a unique index is sorted first. Here the legacy's primary key is a
/// surrogate stored in the opposite order of the migrated key: only the changed row's range
/// differs.
#[test]
fn a_unique_key_that_is_not_the_primary_key_is_joined_in_key_order() {
    let (Some(my), Some(pg)) = (TestDb::mariadb("uniq_s"), TestDb::postgres("uniq_t")) else {
        return;
    };
    my.exec(
        "CREATE TABLE u (pk int PRIMARY KEY, id int NOT NULL UNIQUE, v varchar(10));
         INSERT INTO u SELECT seq, 5001 - seq, CONCAT('v', seq % 7) FROM seq_1_to_5000;",
    );
    pg.exec(
        "CREATE TABLE u (id int PRIMARY KEY, v varchar(10));
         INSERT INTO u SELECT 5001 - g, 'v' || (g % 7) FROM generate_series(1, 5000) g;
         UPDATE u SET v = 'changed' WHERE id = 2500;",
    );
    let mut t = table("u", Some(&["id"]));
    t.drop = vec!["pk".into()];
    t.mode = Some(CompareMode::Checksum);
    let o = check(&my.url, &pg.url, vec![t]);
    let c = checked(&o, 0);
    let stats = c
        .compared
        .checksum
        .as_ref()
        .unwrap_or_else(|| panic!("compared by checksums: {:?}", c.compared));
    assert_eq!(stats.hash, "md5-range");
    assert_eq!((c.diff.changed, c.diff.matched), (1, 4999));
    assert_eq!(stats.differing_buckets, 1, "{stats:?}");
}
