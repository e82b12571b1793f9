//! Values that once compared equal although they differ: each gives NO-GO now, against the real
//! servers.

use crate::common::*;
use cutover_config::{ColumnSource, ColumnSpec, Normalize};

#[test]
fn json_numbers_beyond_double_precision_differ() {
    let (Some(a), Some(b)) = (TestDb::postgres("json_a"), TestDb::postgres("json_b")) else {
        return;
    };
    a.exec(
        "CREATE TABLE t (id int PRIMARY KEY, j jsonb);
         INSERT INTO t VALUES (1, '123456789012345678901234'), (2, '{\"x\": 0.1000000000000000001}'),
                              (3, '[1.0, 1e2]'), (4, '{\"x\": 1}');",
    );
    b.exec(
        "CREATE TABLE t (id int PRIMARY KEY, j jsonb);
         INSERT INTO t VALUES (1, '123456789012345678901235'), (2, '{\"x\": 0.1}'),
                              (3, '[1, 100]'), (4, '{\"x\": 1.00}');",
    );
    let o = check(&a.url, &b.url, vec![table("t", None)]);
    let d = &checked(&o, 0).diff;
    // PostgreSQL's own `=` says 1 and 2 differ; 3 and 4 are the same numbers written otherwise.
    assert_eq!((d.changed, d.matched), (2, 2), "{:#?}", d.samples);
    assert!(!o.is_go());
}

#[test]
fn a_tolerance_is_applied_in_exact_decimal_arithmetic() {
    let (Some(a), Some(b)) = (TestDb::postgres("tol_a"), TestDb::postgres("tol_b")) else {
        return;
    };
    a.exec(
        "CREATE TABLE t (id int PRIMARY KEY, amount numeric(20,2));
         INSERT INTO t VALUES (1, 12345678901234567.89), (2, 1.005), (3, 100.00);",
    );
    b.exec(
        "CREATE TABLE t (id int PRIMARY KEY, amount numeric(20,3));
         INSERT INTO t VALUES (1, 12345678901234567.80), (2, 1.015), (3, 100.011);",
    );
    let mut t = table("t", None);
    t.columns.insert(
        "amount".into(),
        ColumnSource::Spec(Box::new(ColumnSpec {
            normalize: Normalize {
                tolerance: Some(0.01),
                ..Default::default()
            },
            ..Default::default()
        })),
    );
    let o = check(&a.url, &b.url, vec![t]);
    let d = &checked(&o, 0).diff;
    // 0.09 apart: a difference, though f64 cannot tell the two apart. 0.01 apart: within.
    // 0.011 apart: a difference.
    assert_eq!(d.changed, 2, "{:#?}", d.samples);
    assert_eq!(d.matched_within_tolerance, 1);
    let keys: Vec<_> = d.samples.changed.iter().map(|c| c.key[0].clone()).collect();
    assert_eq!(keys, [Some("1".to_string()), Some("3".to_string())]);
}

#[test]
fn mariadb_zero_dates_are_values_of_their_own_never_null() {
    let (Some(my), Some(pg)) = (TestDb::mariadb("zero_s"), TestDb::postgres("zero_t")) else {
        return;
    };
    my.exec(
        "SET SESSION sql_mode = '';
         CREATE TABLE t (id int PRIMARY KEY, d date, ts datetime(6), tm time, z timestamp(3) NULL);
         INSERT INTO t VALUES (1, '0000-00-00', '0000-00-00 00:00:00', '00:00:00', '0000-00-00 00:00:00'),
                              (2, '2020-00-00', '2020-00-15 10:00:00.25', NULL, NULL),
                              (3, NULL, NULL, NULL, NULL),
                              (4, '2020-05-17', '2020-05-17 10:00:00.5', '00:00:00', '2020-05-17 10:00:00.125');",
    );
    pg.exec(
        "CREATE TABLE t (id int PRIMARY KEY, d date, ts timestamp(6), tm time, z timestamptz(3));
         INSERT INTO t VALUES (1, NULL, NULL, NULL, NULL), (2, NULL, NULL, NULL, NULL),
                              (3, NULL, NULL, NULL, NULL),
                              (4, '2020-05-17', '2020-05-17 10:00:00.5', '00:00:00', '2020-05-17 10:00:00.125+00');",
    );
    let o = check(&my.url, &pg.url, vec![table("t", None)]);
    let d = &checked(&o, 0).diff;
    assert_eq!((d.changed, d.matched), (2, 2), "{:#?}", d.samples);
    let first = &d.samples.changed[0];
    let shown: Vec<_> = first.columns.iter().map(|(_, s, _)| s.clone()).collect();
    assert_eq!(
        shown,
        [
            Some("0000-00-00".to_string()),
            Some("0000-00-00 00:00:00.000000".to_string()),
            Some("00:00:00".to_string()),
            Some("0000-00-00 00:00:00.000".to_string()),
        ]
    );
    // A partial date is shown as it is stored.
    let second: Vec<_> = d.samples.changed[1]
        .columns
        .iter()
        .map(|(_, s, _)| s.clone())
        .collect();
    assert_eq!(
        second,
        [
            Some("2020-00-00".to_string()),
            Some("2020-00-15 10:00:00.250000".to_string())
        ]
    );
    // Two partial dates that differ are a difference between MariaDB tables too.
    let (Some(a), Some(b)) = (TestDb::mariadb("zero_a"), TestDb::mariadb("zero_b")) else {
        return;
    };
    for (db, day) in [(&a, "15"), (&b, "16")] {
        db.exec(&format!(
            "SET SESSION sql_mode = '';
             CREATE TABLE t (id int PRIMARY KEY, ts datetime(2), d date);
             INSERT INTO t VALUES (1, '2020-00-{day} 10:00:00', '2020-00-{day}'),
                                  (2, '0000-00-00 00:00:00', '0000-00-00'),
                                  (3, '2020-01-{day} 10:00:00.5', '2020-01-{day}');"
        ));
    }
    let o = check(&a.url, &b.url, vec![table("t", None)]);
    let d = &checked(&o, 0).diff;
    assert_eq!((d.changed, d.matched), (2, 1), "{:#?}", d.samples);
    assert_eq!(
        d.samples.changed[0].columns[0].1.as_deref(),
        Some("2020-00-15 10:00:00.00")
    );
}

#[test]
fn keys_of_different_types_on_each_side_are_checked() {
    let (Some(my), Some(pg)) = (TestDb::mariadb("keys_s"), TestDb::postgres("keys_t")) else {
        return;
    };
    my.exec(
        "CREATE TABLE n (k varchar(10) PRIMARY KEY, v int);
         INSERT INTO n VALUES ('1', 1), ('10', 10), ('100', 100), ('2', 2), ('9', 9);
         CREATE TABLE u (k char(36) PRIMARY KEY, v int);
         INSERT INTO u VALUES ('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 1),
                              ('0aeebc99-9c0b-4ef8-bb6d-6bb9bd380a12', 2),
                              ('b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13', 3);",
    );
    pg.exec(
        "CREATE TABLE n (k int PRIMARY KEY, v int);
         INSERT INTO n VALUES (1, 1), (2, 2), (9, 9), (10, 10), (100, 101);
         CREATE TABLE u (k uuid PRIMARY KEY, v int);
         INSERT INTO u VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 1),
                              ('0aeebc99-9c0b-4ef8-bb6d-6bb9bd380a12', 2),
                              ('b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13', 3);",
    );
    let o = check(&my.url, &pg.url, vec![table("n", None), table("u", None)]);
    let n = &checked(&o, 0).diff;
    assert_eq!((n.matched, n.changed), (4, 1), "{:#?}", n.samples);
    assert_eq!(n.samples.changed[0].key, [Some("100".to_string())]);
    assert!(
        checked(&o, 0)
            .source_sql
            .contains("sorted by key by cutover")
    );
    let u = &checked(&o, 1).diff;
    assert!(u.is_match(), "{:#?}", u.samples);
}

#[test]
fn types_that_hold_the_same_values_on_both_engines_match() {
    let (Some(pg), Some(my)) = (TestDb::postgres("pairs_s"), TestDb::mariadb("pairs_t")) else {
        return;
    };
    pg.exec(
        "SET lc_monetary = 'C';
         CREATE TABLE t (id int PRIMARY KEY, price money, ip inet, net inet, flags bit(8), active boolean);
         INSERT INTO t VALUES (1, 1234.56, '10.0.0.1', '10.0.0.0/8', B'00000101', true),
                              (2, -0.5, '::1', '2001:db8::/32', B'10101010', false),
                              (3, NULL, NULL, NULL, NULL, NULL);",
    );
    my.exec(
        "CREATE TABLE t (id int PRIMARY KEY, price decimal(14,2), ip varchar(45), net varchar(45), flags bit(8), active bit(1));
         INSERT INTO t VALUES (1, 1234.56, '10.0.0.1', '10.0.0.0/8', b'00000101', b'1'),
                              (2, -0.50, '::1', '2001:db8::/32', b'10101010', b'0'),
                              (3, NULL, NULL, NULL, NULL, NULL);",
    );
    let o = check(&pg.url, &my.url, vec![table("t", None)]);
    let d = &checked(&o, 0).diff;
    assert!(d.is_match(), "{:#?}", d.samples);
    // And a real difference in each is still one.
    my.exec(
        "UPDATE t SET price = 1234.57, ip = '10.0.0.2', flags = b'00000100', active = b'0' WHERE id = 1;",
    );
    let o = check(&pg.url, &my.url, vec![table("t", None)]);
    let d = &checked(&o, 0).diff;
    assert_eq!(d.changed, 1);
    assert_eq!(d.samples.changed[0].columns.len(), 4, "{:#?}", d.samples);
}

#[test]
fn an_expression_over_a_real_column_keeps_float32_semantics() {
    let (Some(a), Some(b)) = (TestDb::postgres("real_s"), TestDb::postgres("real_t")) else {
        return;
    };
    a.exec("CREATE TABLE t (id int PRIMARY KEY, r real); INSERT INTO t VALUES (1, 0.1), (2, 3.4028235e38), (3, NULL);");
    b.exec("CREATE TABLE t (id int PRIMARY KEY, amount real); INSERT INTO t VALUES (1, 0.1), (2, 3.4028235e38), (3, NULL);");
    let mut t = table("t", None);
    t.columns.insert(
        "amount".into(),
        ColumnSource::Spec(Box::new(ColumnSpec {
            expr: Some("r * 1".into()),
            ..Default::default()
        })),
    );
    let o = check(&a.url, &b.url, vec![t]);
    let d = &checked(&o, 0).diff;
    assert!(d.is_match(), "{:#?}", d.samples);
    // Read as the float the engine computes, not as its text.
    assert_ne!(
        checked(&o, 0).plan.columns[1].source.type_name,
        "expression"
    );
}

#[test]
fn bytes_of_a_sql_ascii_database_are_read_as_values() {
    let options = "ENCODING 'SQL_ASCII' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'";
    let (Some(legacy), Some(new)) = (
        TestDb::postgres_with("ascii_s", options),
        TestDb::postgres("ascii_t"),
    ) else {
        return;
    };
    legacy.exec(
        "SET client_encoding = 'SQL_ASCII';
         CREATE TABLE t (id int PRIMARY KEY, v text);
         INSERT INTO t VALUES (1, E'M\\xFCller'), (2, 'plain');",
    );
    new.exec("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'Müller'), (2, 'plain');");
    let o = check(&legacy.url, &new.url, vec![table("t", None)]);
    let d = &checked(&o, 0).diff;
    // Latin-1 bytes are not the UTF-8 text: a difference, shown and counted, not a failure.
    assert_eq!((d.changed, d.matched), (1, 1), "{:#?}", d.samples);
    assert_eq!(
        d.samples.changed[0].columns[0].1.as_deref(),
        Some("M\\xFCller")
    );
    assert_eq!(d.source.notes[1].invalid_utf8, 1);
    // The same bytes on both sides match.
    let o = check(&legacy.url, &legacy.url, vec![table("t", None)]);
    assert!(checked(&o, 0).diff.is_match());
}
