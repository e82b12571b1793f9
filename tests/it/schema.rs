//! The schema comparison against the real servers: a MariaDB legacy and a PostgreSQL target
//! whose declarations narrow, reject NULLs, lose a default, a unique key and a foreign key; the
//! findings in `cutover schema`, in every report and in the verdict.

use crate::cli::{cutover, validate_junit, validate_report, write_config};
use crate::common::*;
use predicates::prelude::*;

const LEGACY: &str = r#"
CREATE TABLE dept (id int PRIMARY KEY, name varchar(30) NOT NULL);
CREATE TABLE emp (
    id int PRIMARY KEY,
    name varchar(60),
    salary decimal(14,2),
    hired datetime(6),
    state varchar(10) DEFAULT 'active',
    login varchar(20) NOT NULL,
    dept_id int,
    legacy_flag tinyint,
    UNIQUE KEY emp_login (login),
    FOREIGN KEY (dept_id) REFERENCES dept (id)
);
INSERT INTO dept VALUES (1, 'HQ');
INSERT INTO emp VALUES (1, 'Ann', 1200.50, '2020-01-01 09:00:00', 'active', 'ann', 1, 0),
                       (2, NULL, 900.00, '2021-05-01 10:00:00', 'active', 'bob', 1, 0);
"#;

const NEW: &str = r#"
CREATE TABLE dept (id int PRIMARY KEY, name varchar(30) NOT NULL);
CREATE TABLE emp (
    id int PRIMARY KEY,
    full_name varchar(40) NOT NULL,
    salary numeric(12,1),
    hired timestamp(0),
    state varchar(10),
    login varchar(20) NOT NULL,
    dept_id int
);
INSERT INTO dept VALUES (1, 'HQ');
INSERT INTO emp VALUES (1, 'Ann', 1200.5, '2020-01-01 09:00:00', 'active', 'ann', 1),
                       (2, '', 900.0, '2021-05-01 10:00:00', 'active', 'bob', 1);
"#;

#[test]
fn narrowing_rejected_nulls_and_lost_constraints_are_found_before_rows() {
    let (Some(my), Some(pg)) = (
        TestDb::mariadb("schema_src"),
        TestDb::postgres("schema_tgt"),
    ) else {
        return;
    };
    my.exec(LEGACY);
    pg.exec(NEW);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n\n[[table]]\nname = \"dept\"\n\n[[table]]\nname = \"emp\"\ncolumns = {{ full_name = \"name\" }}\n",
            my.url, pg.url
        ),
    );
    let out = cutover()
        .args(["schema", "--no-history", "-c"])
        .arg(&config)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    for expected in [
        "table dept ← dept: the same",
        "table emp ← emp: 1 error, 7 warnings",
        "error  full_name: NULL → NOT NULL: the target is NOT NULL, and the source holds 1 NULL",
        "warn   full_name: varchar(60) → character varying(40): narrower on the target: texts longer than 40 characters do not fit",
        "warn   salary: decimal(14,2) → numeric(12,1): narrower on the target: numbers of more than 11 digits before the point do not fit",
        "warn   hired: datetime(6) → timestamp(0) without time zone: narrower on the target: fractions of a second are lost",
        "warn   state: DEFAULT 'active' (source only)",
        "warn   legacy_flag: tinyint(4) (source only): no target column takes this source column",
        "warn   UNIQUE (login) (source only): the target does not enforce this uniqueness",
        "warn   FOREIGN KEY (dept_id) REFERENCES dept (id) (source only)",
        "schema: 1 error, 7 warnings, 0 tables not compared",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }

    // The same findings in a check: the verdict blocks, every report shows them.
    let report_dir = dir.path().join("report");
    let check = || {
        cutover()
            .args(["check", "--no-history", "-c"])
            .arg(&config)
            .arg("--out")
            .arg(&report_dir)
            .assert()
    };
    check()
        .code(1)
        .stdout(predicate::str::contains("schema: 1 error, 7 warnings"))
        .stdout(predicate::str::contains(
            "emp: schema error: full_name: NULL → NOT NULL",
        ));
    let report = validate_report(&report_dir.join("report.json"));
    assert_eq!(report["summary"]["schema_errors"], 1);
    assert_eq!(report["summary"]["schema_warnings"], 7);
    let emp = &report["tables"][1]["schema"];
    assert_eq!(emp[0]["kind"], "nulls_rejected");
    assert_eq!(emp[0]["level"], "error");
    let junit = validate_junit(&report_dir.join("report.junit.xml"));
    assert!(
        junit.contains("1 schema finding blocking go-live"),
        "{junit}"
    );
    let md = std::fs::read_to_string(report_dir.join("report.md")).unwrap();
    assert!(
        md.contains("| error | full_name | NULL | NOT NULL |"),
        "{md}"
    );
    let html = std::fs::read_to_string(report_dir.join("report.html")).unwrap();
    assert!(html.contains("<p><b>Schema</b></p>"));
    assert!(html.contains("texts longer than 40 characters do not fit"));

    // Once the target accepts the source's values, what is left are warnings: GO with
    // warnings, exit 0 (the rows themselves differ in full_name, so that NULL is fixed too).
    pg.exec("ALTER TABLE emp ALTER COLUMN full_name DROP NOT NULL; UPDATE emp SET full_name = NULL WHERE id = 2");
    check()
        .code(0)
        .stdout(predicate::str::contains("GO with warnings"));
}

/// The catalogue of the same table in each engine: columns with nullability and defaults, the
/// primary key, indexes, foreign keys and the row estimate after the engine's ANALYZE.
#[test]
fn every_engine_describes_keys_indexes_foreign_keys_and_estimates() {
    let (Some(pg), Some(my)) = (TestDb::postgres("catalog"), TestDb::mariadb("catalog")) else {
        return;
    };
    let ddl = "CREATE TABLE dept (id int PRIMARY KEY);
        CREATE TABLE emp (id int NOT NULL, login varchar(20) NOT NULL, state varchar(10) DEFAULT 'active',
            dept_id int REFERENCES dept (id), PRIMARY KEY (id));
        CREATE UNIQUE INDEX emp_login ON emp (login);
        CREATE INDEX emp_dept ON emp (dept_id);
        INSERT INTO dept VALUES (1);
        INSERT INTO emp VALUES (1, 'ann', 'active', 1), (2, 'bob', NULL, 1), (3, 'cy', 'x', NULL);";
    pg.exec(&format!("{ddl} ANALYZE emp;"));
    my.exec(&format!("{ddl} ANALYZE TABLE emp;"));
    let lite = TestSqlite::new(&format!("{ddl} ANALYZE;"));
    for url in [pg.url.as_str(), my.url.as_str(), lite.url.as_str()] {
        let mut side = cutover_source::open(&cutover_source::Endpoint::new(url)).unwrap();
        let names = side.tables().unwrap();
        assert!(names.contains(&"emp".to_string()), "{url}: {names:?}");
        let c = side.catalog("emp").unwrap().expect("emp exists");
        assert_eq!(c.primary_key, ["id"], "{url}");
        let col = |n: &str| c.column(n).unwrap_or_else(|| panic!("{url}: {n}"));
        assert!(!col("login").nullable && col("state").nullable, "{url}");
        assert!(
            col("state")
                .default
                .as_deref()
                .is_some_and(|d| d.contains("active")),
            "{url}: {:?}",
            col("state").default
        );
        assert!(col("login").default.is_none(), "{url}");
        let unique: Vec<_> = c.indexes.iter().filter(|i| i.unique).collect();
        assert!(
            unique.iter().any(|i| i.columns == ["login"]),
            "{url}: {:?}",
            c.indexes
        );
        assert!(
            c.indexes
                .iter()
                .any(|i| !i.unique && i.columns == ["dept_id"]),
            "{url}: {:?}",
            c.indexes
        );
        assert_eq!(c.foreign_keys.len(), 1, "{url}: {:?}", c.foreign_keys);
        let fk = &c.foreign_keys[0];
        assert_eq!(
            (fk.columns.as_slice(), fk.ref_columns.as_slice()),
            (&["dept_id".to_string()][..], &["id".to_string()][..]),
            "{url}"
        );
        assert!(fk.table.contains("dept"), "{url}: {}", fk.table);
        assert_eq!(c.unique_key(), Some(&["id".to_string()][..]), "{url}");
        assert_eq!(c.estimated_rows, Some(3), "{url}: the engine's statistics");
        assert!(side.catalog("nope").unwrap().is_none(), "{url}");
    }
}
