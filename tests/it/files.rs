//! CSV sources against the real servers: cross-format fingerprints, legacy encodings and
//! formats, renamed columns, globbed files, unparseable values, and sorting that spills.

use crate::common::*;
use cutover_config::CsvOptions;

const PG: &str = r#"
CREATE TABLE t (
    id bigint PRIMARY KEY, i integer, d numeric(14,2), f double precision, r real, b boolean,
    txt text, ch char(5), dt date, ts timestamp(6), tstz timestamptz, u uuid, j jsonb, n text
);
INSERT INTO t VALUES
 (1, 42, 12.50, 0.1, 1.25, true, 'Grüße, "quoted"', 'ab', '2024-02-29', '2024-03-01 10:00:00.654321',
  '2024-03-01 10:00:00+02', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": 1, "a": [1, 2]}', NULL),
 (2, -7, -0.01, -1e300, -0.5, false, 'plain', 'x', '1900-01-01', '1969-12-31 23:59:59.999999',
  '1970-01-01 00:00:00+00', '00000000-0000-0000-0000-000000000000', '[]', 'not null'),
 (9223372036854775807, NULL, 123456789012.34, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
"#;

const MY: &str = r#"
CREATE TABLE t (
    id bigint PRIMARY KEY, i int, d decimal(14,2), f double, r float, b tinyint(1),
    txt text, ch char(5), dt date, ts datetime(6), tstz datetime(6), u uuid, j json, n text
);
INSERT INTO t VALUES
 (1, 42, 12.50, 0.1, 1.25, 1, 'Grüße, "quoted"', 'ab', '2024-02-29', '2024-03-01 10:00:00.654321',
  '2024-03-01 08:00:00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a":[1,2],"b":1}', NULL),
 (2, -7, -0.01, -1e300, -0.5, 0, 'plain', 'x', '1900-01-01', '1969-12-31 23:59:59.999999',
  '1970-01-01 00:00:00', '00000000-0000-0000-0000-000000000000', '[]', 'not null'),
 (9223372036854775807, NULL, 123456789012.34, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
"#;

const SQLITE: &str = r#"
CREATE TABLE t (
    id INTEGER PRIMARY KEY, i INTEGER, d DECIMAL(14,2), f DOUBLE, r REAL, b BOOLEAN,
    txt TEXT, ch CHAR(5), dt DATE, ts DATETIME, tstz TIMESTAMP, u UUID, j JSON, n TEXT
);
INSERT INTO t VALUES
 (1, 42, '12.50', 0.1, 1.25, 1, 'Grüße, "quoted"', 'ab', '2024-02-29', '2024-03-01 10:00:00.654321',
  '2024-03-01T10:00:00+02:00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b":1,"a":[1,2]}', NULL),
 (2, -7, '-0.01', -1e300, -0.5, 0, 'plain', 'x', '1900-01-01', '1969-12-31 23:59:59.999999',
  '1970-01-01 00:00:00', '00000000-0000-0000-0000-000000000000', '[]', 'not null'),
 (9223372036854775807, NULL, '123456789012.34', 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
"#;

const UTF8_CSV: &str = "id,i,d,f,r,b,txt,ch,dt,ts,tstz,u,j,n
2,-7,-0.01,-1e300,-0.5,false,plain,x,1900-01-01,1969-12-31 23:59:59.999999,1970-01-01T00:00:00Z,00000000-0000-0000-0000-000000000000,[],not null
9223372036854775807,,123456789012.34,0,0,,,,,,,,,
1,42,12.5,0.1,1.25,true,\"Grüße, \"\"quoted\"\"\",ab,2024-02-29,2024-03-01 10:00:00.654321,2024-03-01 10:00:00+02:00,A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11,\"{\"\"a\"\":[1,2],\"\"b\"\":1}\",
";

/// The same rows as a legacy export: `;`, Latin-1, decimal comma, German dates, `\N` for NULL.
fn latin1_csv() -> Vec<u8> {
    let text = "ID;I;D;F;R;B;TXT;CH;DT;TS;TSTZ;U;J;N
1;42;12,50;0,1;1,25;1;\"Grüße, \"\"quoted\"\"\";ab;29.02.2024;01.03.2024 10:00:00.654321;2024-03-01 08:00:00Z;a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11;\"{\"\"a\"\":[1,2],\"\"b\"\":1}\";\\N
2;-7;-0,01;-1e300;-0,5;0;plain;x;01.01.1900;31.12.1969 23:59:59.999999;1970-01-01 00:00:00Z;00000000-0000-0000-0000-000000000000;[];not null
9223372036854775807;\\N;123456789012,34;0;0;\\N;\\N;\\N;\\N;\\N;\\N;\\N;\\N;\\N
";
    encoding_rs::WINDOWS_1252.encode(text).0.into_owned()
}

fn latin1_options() -> CsvOptions {
    CsvOptions {
        delimiter: Some(";".into()),
        encoding: Some("latin-1".into()),
        decimal_comma: Some(true),
        null: Some(vec!["\\N".into()]),
        date_format: Some("%d.%m.%Y".into()),
        timestamp_format: Some("%d.%m.%Y %H:%M:%S%.f".into()),
        ..CsvOptions::default()
    }
}

#[test]
fn one_fingerprint_for_sqlite_postgres_mariadb_csv_latin1_and_parquet() {
    let Some(pg) = TestDb::postgres("csv_types") else {
        return;
    };
    pg.exec(PG);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("utf8")).unwrap();
    std::fs::create_dir(dir.path().join("latin1")).unwrap();
    std::fs::write(dir.path().join("utf8/t.csv"), UTF8_CSV).unwrap();
    std::fs::write(dir.path().join("latin1/T.CSV"), latin1_csv()).unwrap();

    let utf8 = run(&settings(
        &format!("csv://{}/utf8", dir.path().display()),
        &pg.url,
        vec![table("t", None)],
    ));
    let mut s = settings(
        &format!("csv://{}/latin1", dir.path().display()),
        &pg.url,
        vec![table("t", None)],
    );
    s.source_csv = latin1_options();
    let latin1 = run(&s);
    for o in [&utf8, &latin1] {
        let d = &checked(o, 0).diff;
        assert!(d.is_match(), "{:#?}\n{:?}", d.samples, d.source.problems);
        assert_eq!(d.source.fingerprint, d.target.fingerprint);
    }
    assert_eq!(
        checked(&utf8, 0).diff.source.fingerprint,
        checked(&latin1, 0).diff.source.fingerprint
    );

    std::fs::create_dir(dir.path().join("pq")).unwrap();
    write_parquet(&dir.path().join("pq/t.parquet"));
    let pq = run(&settings(
        &format!("parquet://{}/pq", dir.path().display()),
        &pg.url,
        vec![table("t", None)],
    ));
    let d = &checked(&pq, 0).diff;
    assert!(d.is_match(), "{:#?}", d.samples);
    assert_eq!(
        d.source.fingerprint,
        checked(&utf8, 0).diff.source.fingerprint,
        "Parquet, CSV and PostgreSQL agree"
    );
    // The same rows in MariaDB and SQLite: one fingerprint for all six.
    let Some(my) = TestDb::mariadb("csv_types") else {
        return;
    };
    my.exec(MY);
    let lite = TestSqlite::new(SQLITE);
    for url in [&my.url, &lite.url] {
        let o = run(&settings(url, &pg.url, vec![table("t", None)]));
        let d = &checked(&o, 0).diff;
        assert!(d.is_match(), "{url}: {:#?}", d.samples);
        assert_eq!(
            d.source.fingerprint,
            checked(&utf8, 0).diff.source.fingerprint,
            "{url}"
        );
    }
}

/// The PostgreSQL rows as a Parquet file with native Arrow types, rows in another order.
fn write_parquet(path: &std::path::Path) {
    use arrow_array::*;
    use arrow_schema::{Field, Schema};
    use std::sync::Arc;
    let days = |y, m, d| {
        (chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
            - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
        .num_days() as i32
    };
    let micros = |s: &str| {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
            .unwrap()
            .and_utc()
            .timestamp_micros()
    };
    let uuid = |s: &str| {
        let h: String = s.chars().filter(|c| *c != '-').collect();
        (0..16)
            .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
            .collect::<Vec<u8>>()
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "id",
            Arc::new(Int64Array::from(vec![9223372036854775807, 2, 1])),
        ),
        (
            "i",
            Arc::new(Int32Array::from(vec![None, Some(-7), Some(42)])),
        ),
        (
            "d",
            Arc::new(
                Decimal128Array::from(vec![12345678901234, -1, 1250])
                    .with_precision_and_scale(14, 2)
                    .unwrap(),
            ),
        ),
        ("f", Arc::new(Float64Array::from(vec![0.0, -1e300, 0.1]))),
        ("r", Arc::new(Float32Array::from(vec![0.0, -0.5, 1.25]))),
        (
            "b",
            Arc::new(BooleanArray::from(vec![None, Some(false), Some(true)])),
        ),
        (
            "txt",
            Arc::new(StringArray::from(vec![
                None,
                Some("plain"),
                Some("Grüße, \"quoted\""),
            ])),
        ),
        (
            "ch",
            Arc::new(StringArray::from(vec![None, Some("x"), Some("ab")])),
        ),
        (
            "dt",
            Arc::new(Date32Array::from(vec![
                None,
                Some(days(1900, 1, 1)),
                Some(days(2024, 2, 29)),
            ])),
        ),
        (
            "ts",
            Arc::new(TimestampMicrosecondArray::from(vec![
                None,
                Some(micros("1969-12-31 23:59:59.999999")),
                Some(micros("2024-03-01 10:00:00.654321")),
            ])),
        ),
        (
            "tstz",
            Arc::new(
                TimestampMicrosecondArray::from(vec![
                    None,
                    Some(0),
                    Some(micros("2024-03-01 08:00:00.0")),
                ])
                .with_timezone("UTC"),
            ),
        ),
        (
            "u",
            Arc::new(
                FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                    vec![
                        None,
                        Some(uuid("00000000-0000-0000-0000-000000000000")),
                        Some(uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
                    ]
                    .into_iter(),
                    16,
                )
                .unwrap(),
            ),
        ),
        (
            "j",
            Arc::new(StringArray::from(vec![
                None,
                Some("[]"),
                Some("{\"a\":[1,2],\"b\":1}"),
            ])),
        ),
        (
            "n",
            Arc::new(StringArray::from(vec![None, Some("not null"), None])),
        ),
    ];
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn a_latin1_export_against_renamed_postgres_columns_finds_real_defects() {
    let Some(pg) = TestDb::postgres("csv_legacy") else {
        return;
    };
    pg.exec(
        "CREATE TABLE customers (id int PRIMARY KEY, full_name text, balance numeric(10,2), joined date, status text);
         INSERT INTO customers SELECT g, 'Kunde Müller ' || g, g * 1.25, date '2020-01-01' + g,
             CASE WHEN g % 4 = 0 THEN 'INACTIVE' ELSE 'ACTIVE' END FROM generate_series(1, 3000) g;
         UPDATE customers SET full_name = 'Kunde Mueller 17' WHERE id = 17;
         DELETE FROM customers WHERE id = 2999;",
    );
    let dir = tempfile::tempdir().unwrap();
    // The legacy export is split over two files and written in Windows-1252 with a decimal comma.
    for (part, range) in [("1", 1..=1500), ("2", 1501..=3000)] {
        let mut text = String::from("KUNDE_NR;NAME;SALDO;SEIT;STAT\n");
        for g in range {
            let date = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Days::new(g);
            let saldo = if g == 123 {
                "12x,5".to_string()
            } else {
                format!("{:.2}", g as f64 * 1.25).replace('.', ",")
            };
            // Status codes were translated; code X (one customer) has no translation.
            let stat = if g == 2500 {
                "X"
            } else if g % 4 == 0 {
                "I"
            } else {
                "A"
            };
            text.push_str(&format!(
                "{g};Kunde Müller {g};{saldo};{};{stat}\n",
                date.format("%d.%m.%Y")
            ));
        }
        std::fs::write(
            dir.path().join(format!("KUNDEN_{part}.csv")),
            encoding_rs::WINDOWS_1252.encode(&text).0,
        )
        .unwrap();
    }
    let mut t = table("customers", None);
    t.source_name = Some("KUNDEN_*.csv".into());
    t.columns = [
        ("id", "KUNDE_NR"),
        ("full_name", "NAME"),
        ("balance", "SALDO"),
        ("joined", "SEIT"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.into()))
    .collect();
    t.columns.insert(
        "status".into(),
        cutover_config::ColumnSource::Spec(Box::new(cutover_config::ColumnSpec {
            name: Some("STAT".into()),
            map: Some(
                [("A", "ACTIVE"), ("I", "INACTIVE")]
                    .into_iter()
                    .map(|(a, b)| (a.into(), b.into()))
                    .collect(),
            ),
            ..Default::default()
        })),
    );
    let mut s = settings(&format!("csv://{}", dir.path().display()), &pg.url, vec![t]);
    s.source_csv = latin1_options();
    let o = run(&s);
    let d = &checked(&o, 0).diff;
    assert_eq!(d.source.rows, 3000);
    assert_eq!(
        (d.missing, d.extra, d.changed),
        (1, 0, 3),
        "{:#?}",
        d.samples
    );
    assert_eq!(d.samples.missing[0].key, vec![Some("2999".to_string())]);
    assert_eq!(
        d.samples.changed[0].columns,
        vec![(
            1,
            Some("Kunde Müller 17".into()),
            Some("Kunde Mueller 17".into())
        )]
    );
    assert_eq!(d.source.notes[2].not_convertible, 1);
    assert_eq!(
        d.source.problems,
        vec![
            r#"KUNDEN_1.csv line 124, column SALDO: "12x,5" is not a number"#.to_string(),
            r#"source column STAT: value "X" has no entry in the value map"#.to_string(),
        ]
    );
    assert!(!o.is_go());
}

#[test]
fn sorting_that_spills_to_disk_gives_the_same_result() {
    let Some(pg) = TestDb::postgres("csv_spill") else {
        return;
    };
    pg.exec(
        "CREATE TABLE big (k text PRIMARY KEY, v int);
         INSERT INTO big SELECT md5(g::text), g FROM generate_series(1, 40000) g WHERE g <> 77;",
    );
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("k,v\n");
    // Written in an order unrelated to the key.
    for g in 1..=40000u32 {
        text.push_str(&format!("{:x},{}\n", md5_like(g), g));
    }
    std::fs::write(dir.path().join("big.csv"), &text).unwrap();
    // The CSV's keys are not md5; compare the CSV with itself through PostgreSQL-free runs
    // and with PostgreSQL for a count check.
    let url = format!("csv://{}", dir.path().display());
    let roomy = run(&settings(&url, &url, vec![table("big", Some(&["k"]))]));
    let mut tight = settings(&url, &url, vec![table("big", Some(&["k"]))]);
    tight.memory_limit = 1 << 20;
    let tight = run(&tight);
    let (a, b) = (&checked(&roomy, 0).diff, &checked(&tight, 0).diff);
    assert_eq!(a, b);
    assert_eq!(a.matched, 40000);
    assert!(
        checked(&tight, 0).source_sql.contains("within 256 KiB"),
        "{}",
        checked(&tight, 0).source_sql
    );

    let o = run(&settings(
        &format!("postgres{}", &pg.url["postgres".len()..]),
        &url,
        vec![table("big", Some(&["k"]))],
    ));
    let d = &checked(&o, 0).diff;
    assert_eq!((d.source.rows, d.target.rows), (39999, 40000));
}

/// A cheap scrambler so rows are written in an order unrelated to their keys.
fn md5_like(g: u32) -> u64 {
    (g as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(17)
}

#[test]
fn two_csv_exports_compare_as_declared_types() {
    let dir = tempfile::tempdir().unwrap();
    for (side, text) in [
        ("old", "id,amount,day\n1,1.50,2024-01-31\n2,7,2024-02-01\n"),
        (
            "new",
            "id,amount,day\n1,1.5,31.01.2024\n2,7.00,01.02.2024\n",
        ),
    ] {
        std::fs::create_dir(dir.path().join(side)).unwrap();
        std::fs::write(dir.path().join(side).join("t.csv"), text).unwrap();
    }
    let urls = (
        format!("csv://{}/old", dir.path().display()),
        format!("csv://{}/new", dir.path().display()),
    );
    let mut s = settings(&urls.0, &urls.1, vec![table("t", Some(&["id"]))]);
    s.target_csv.date_format = Some("%d.%m.%Y".into());
    let as_text = run(&s);
    assert_eq!(
        checked(&as_text, 0).diff.changed,
        2,
        "as text, 1.50 is not 1.5"
    );
    let typed = |ty: &str| {
        cutover_config::ColumnSource::Spec(Box::new(cutover_config::ColumnSpec {
            type_name: Some(ty.into()),
            ..Default::default()
        }))
    };
    s.tables[0].columns.insert("amount".into(), typed("number"));
    s.tables[0].columns.insert("day".into(), typed("date"));
    let o = run(&s);
    assert!(o.is_go(), "{:#?}", checked(&o, 0).diff.samples);
}

#[test]
fn parquet_row_groups_are_read_in_parallel_and_agree_with_csv() {
    use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    for side in ["pq", "csv"] {
        std::fs::create_dir(dir.path().join(side)).unwrap();
    }
    let ids: Vec<i64> = (0..10_000).map(|i| (i * 7919) % 10_000).collect();
    let names: Vec<String> = ids.iter().map(|i| format!("name {i}")).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ids.clone())),
        Arc::new(StringArray::from(names.clone())),
    ];
    let batch = RecordBatch::try_from_iter(vec![
        ("id", columns[0].clone()),
        ("name", columns[1].clone()),
    ])
    .unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(1000))
        .build();
    let file = std::fs::File::create(dir.path().join("pq/t.parquet")).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    let meta = w.close().unwrap();
    assert_eq!(meta.num_row_groups(), 10);
    let mut csv = String::from("id,name\n");
    for (i, n) in ids.iter().zip(&names) {
        if *i != 4242 {
            csv.push_str(&format!("{i},{n}\n"));
        }
    }
    std::fs::write(dir.path().join("csv/t.csv"), csv).unwrap();
    let urls = (
        format!("parquet://{}/pq", dir.path().display()),
        format!("csv://{}/csv", dir.path().display()),
    );
    let o = run(&settings(&urls.0, &urls.1, vec![table("t", Some(&["id"]))]));
    let d = &checked(&o, 0).diff;
    assert_eq!((d.source.rows, d.matched, d.missing), (10_000, 9_999, 1));
    assert_eq!(d.samples.missing[0].key, vec![Some("4242".to_string())]);
}
