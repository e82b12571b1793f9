//! One migration spec against one legacy in three forms (SQLite, a folder of CSV exports with
//! mixed encodings and delimiters, a folder of Parquet files), each checked against the same
//! PostgreSQL target through the CLI: the reports have the same counts, samples and rule
//! results. The spec uses what a file side once refused: a depth filter, a column expression,
//! a source query joining two exports, value maps, and rules with conditions and aggregates.

use crate::cli::{cutover, validate_report};
use crate::common::*;
use arrow_array::{ArrayRef, Date32Array, Decimal128Array, Int64Array, RecordBatch, StringArray};
use std::path::Path;
use std::sync::Arc;

/// The legacy's rows: departments, employees, contacts, orders.
struct Legacy {
    dept: Vec<(i64, &'static str, Option<i64>)>,
    emp: Vec<(i64, &'static str, &'static str, i64, i128)>,
    contact: Vec<(i64, &'static str)>,
    /// id, emp, status code, amount in cents, days since 2019-01-01.
    ord: Vec<(i64, i64, &'static str, i128, i32)>,
}

fn legacy() -> Legacy {
    let mut ord = Vec::new();
    for id in 1..=60i64 {
        let status = ["A", "C", "X"][(id % 3) as usize];
        // Orders 1..=20 fall in 2019, before the migration depth (2020-01-01).
        let day = if id <= 20 {
            id as i32 * 10
        } else {
            365 + id as i32 * 9
        };
        ord.push((id, 1 + id % 4, status, 1000 + id as i128 * 125, day));
    }
    Legacy {
        dept: vec![
            (1, "Head office", None),
            (2, "Sales", Some(1)),
            (3, "Lager Süd", Some(1)),
        ],
        emp: vec![
            (1, "Jörg", "Müller", 1, 450000),
            (2, "Anna", "Svensson", 2, 380050),
            (3, "Zoë", "Brontë", 3, 299999),
            (4, "Ivan", "Petrov", 2, 310000),
        ],
        contact: vec![
            (1, "jm@example.com"),
            (2, "as@example.com"),
            (3, "zb@example.com"),
            (4, "ip@example.com"),
        ],
        ord,
    }
}

fn date_text(days_since_2019: i32) -> String {
    let d = chrono::NaiveDate::from_ymd_opt(2019, 1, 1).unwrap()
        + chrono::Duration::days(days_since_2019 as i64);
    d.format("%Y-%m-%d").to_string()
}

fn money(cents: i128, comma: bool) -> String {
    let s = format!("{}.{:02}", cents / 100, cents % 100);
    if comma { s.replace('.', ",") } else { s }
}

fn sqlite_legacy(l: &Legacy) -> TestSqlite {
    let mut sql = String::from(
        "CREATE TABLE DEPT (ID INTEGER PRIMARY KEY, NAME TEXT, PARENT_ID INTEGER);
         CREATE TABLE EMP (ID INTEGER PRIMARY KEY, FIRST TEXT, LAST TEXT, DEPT_ID INTEGER, SALARY DECIMAL(12,2));
         CREATE TABLE CONTACT (EMP_ID INTEGER PRIMARY KEY, EMAIL TEXT);
         CREATE TABLE ORD (ID INTEGER PRIMARY KEY, EMP_ID INTEGER, STAT TEXT, AMOUNT DECIMAL(12,2), ORDERED DATE);\n",
    );
    for (id, name, parent) in &l.dept {
        let p = parent.map_or("NULL".into(), |p| p.to_string());
        sql.push_str(&format!("INSERT INTO DEPT VALUES ({id}, '{name}', {p});\n"));
    }
    for (id, first, last, dept, salary) in &l.emp {
        sql.push_str(&format!(
            "INSERT INTO EMP VALUES ({id}, '{first}', '{last}', {dept}, '{}');\n",
            money(*salary, false)
        ));
    }
    for (id, email) in &l.contact {
        sql.push_str(&format!("INSERT INTO CONTACT VALUES ({id}, '{email}');\n"));
    }
    for (id, emp, stat, amount, day) in &l.ord {
        sql.push_str(&format!(
            "INSERT INTO ORD VALUES ({id}, {emp}, '{stat}', '{}', '{}');\n",
            money(*amount, false),
            date_text(*day)
        ));
    }
    TestSqlite::new(&sql)
}

/// The exports: EMP.csv in Windows-1252 with `;` and decimal commas (its own options), the
/// rest UTF-8 with `,`.
fn csv_legacy(l: &Legacy, dir: &Path) {
    let mut emp = String::from("ID;FIRST;LAST;DEPT_ID;SALARY\r\n");
    for (id, first, last, dept, salary) in &l.emp {
        emp.push_str(&format!(
            "{id};{first};{last};{dept};{}\r\n",
            money(*salary, true)
        ));
    }
    std::fs::write(
        dir.join("EMP.csv"),
        encoding_rs::WINDOWS_1252.encode(&emp).0,
    )
    .unwrap();
    let mut dept = String::from("ID,NAME,PARENT_ID\n");
    for (id, name, parent) in &l.dept {
        let p = parent.map_or(String::new(), |p| p.to_string());
        dept.push_str(&format!("{id},{name},{p}\n"));
    }
    std::fs::write(dir.join("DEPT.csv"), dept).unwrap();
    let mut contact = String::from("EMP_ID,EMAIL\n");
    for (id, email) in &l.contact {
        contact.push_str(&format!("{id},{email}\n"));
    }
    std::fs::write(dir.join("CONTACT.csv"), contact).unwrap();
    // Orders in two files by year, matched by a glob.
    for (year, range) in [(2019, 1..=20), (2020, 21..=60)] {
        let mut ord = String::from("ID,EMP_ID,STAT,AMOUNT,ORDERED\n");
        for (id, emp, stat, amount, day) in l.ord.iter().filter(|o| range.contains(&o.0)) {
            ord.push_str(&format!(
                "{id},{emp},{stat},{},{}\n",
                money(*amount, false),
                date_text(*day)
            ));
        }
        std::fs::write(dir.join(format!("ORD_{year}.csv")), ord).unwrap();
    }
}

fn parquet_legacy(l: &Legacy, dir: &Path) {
    let write = |name: &str, columns: Vec<(&str, ArrayRef)>| {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let file = std::fs::File::create(dir.join(name)).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    };
    let money = |v: Vec<i128>| -> ArrayRef {
        Arc::new(
            Decimal128Array::from(v)
                .with_precision_and_scale(12, 2)
                .unwrap(),
        )
    };
    write(
        "DEPT.parquet",
        vec![
            (
                "ID",
                Arc::new(Int64Array::from_iter_values(l.dept.iter().map(|d| d.0))) as ArrayRef,
            ),
            (
                "NAME",
                Arc::new(StringArray::from_iter_values(l.dept.iter().map(|d| d.1))),
            ),
            (
                "PARENT_ID",
                Arc::new(Int64Array::from(
                    l.dept.iter().map(|d| d.2).collect::<Vec<_>>(),
                )),
            ),
        ],
    );
    write(
        "EMP.parquet",
        vec![
            (
                "ID",
                Arc::new(Int64Array::from_iter_values(l.emp.iter().map(|e| e.0))) as ArrayRef,
            ),
            (
                "FIRST",
                Arc::new(StringArray::from_iter_values(l.emp.iter().map(|e| e.1))),
            ),
            (
                "LAST",
                Arc::new(StringArray::from_iter_values(l.emp.iter().map(|e| e.2))),
            ),
            (
                "DEPT_ID",
                Arc::new(Int64Array::from_iter_values(l.emp.iter().map(|e| e.3))),
            ),
            ("SALARY", money(l.emp.iter().map(|e| e.4).collect())),
        ],
    );
    write(
        "CONTACT.parquet",
        vec![
            (
                "EMP_ID",
                Arc::new(Int64Array::from_iter_values(l.contact.iter().map(|c| c.0))) as ArrayRef,
            ),
            (
                "EMAIL",
                Arc::new(StringArray::from_iter_values(l.contact.iter().map(|c| c.1))),
            ),
        ],
    );
    let epoch_2019 = 17897; // 2019-01-01 in days since 1970-01-01
    write(
        "ORD.parquet",
        vec![
            (
                "ID",
                Arc::new(Int64Array::from_iter_values(l.ord.iter().map(|o| o.0))) as ArrayRef,
            ),
            (
                "EMP_ID",
                Arc::new(Int64Array::from_iter_values(l.ord.iter().map(|o| o.1))),
            ),
            (
                "STAT",
                Arc::new(StringArray::from_iter_values(l.ord.iter().map(|o| o.2))),
            ),
            ("AMOUNT", money(l.ord.iter().map(|o| o.3).collect())),
            (
                "ORDERED",
                Arc::new(Date32Array::from_iter_values(
                    l.ord.iter().map(|o| epoch_2019 + o.4),
                )),
            ),
        ],
    );
}

/// The migrated target, with planted defects: order 26 missing, order 99 extra, order 30's
/// amount changed, employee 3's name changed, an order whose employee does not exist.
fn target_sql(l: &Legacy) -> String {
    let mut sql = String::from(
        "CREATE TABLE departments (id bigint PRIMARY KEY, name text, parent_id bigint);
         CREATE TABLE employees (id bigint PRIMARY KEY, full_name text, dept_id bigint, salary numeric(12,2));
         CREATE TABLE contacts (id bigint PRIMARY KEY, email text);
         CREATE TABLE orders (id bigint PRIMARY KEY, emp_id bigint, status text, amount numeric(12,2), ordered date);\n",
    );
    for (id, name, parent) in &l.dept {
        let p = parent.map_or("NULL".into(), |p| p.to_string());
        sql.push_str(&format!(
            "INSERT INTO departments VALUES ({id}, '{name}', {p});\n"
        ));
    }
    for (id, first, last, dept, salary) in &l.emp {
        let name = if *id == 3 {
            "Zoe Bronte".to_string()
        } else {
            format!("{first} {last}")
        };
        sql.push_str(&format!(
            "INSERT INTO employees VALUES ({id}, '{name}', {dept}, {});\n",
            money(*salary, false)
        ));
    }
    for (id, email) in &l.contact {
        sql.push_str(&format!("INSERT INTO contacts VALUES ({id}, '{email}');\n"));
    }
    for (id, emp, stat, amount, day) in l.ord.iter().filter(|o| o.0 > 20 && o.0 != 26) {
        let status = match *stat {
            "A" => "ACTIVE",
            "C" => "CLOSED",
            _ => "CANCELLED",
        };
        let amount = if *id == 30 { amount + 1 } else { *amount };
        sql.push_str(&format!(
            "INSERT INTO orders VALUES ({id}, {emp}, '{status}', {}, '{}');\n",
            money(amount, false),
            date_text(*day)
        ));
    }
    sql.push_str("INSERT INTO orders VALUES (99, 7, 'ACTIVE', 1.00, '2021-06-01');\n");
    sql
}

/// The one spec; `orders` names its source files by a glob on the CSV side.
fn spec(source: &str, target: &str, orders_source: &str) -> String {
    format!(
        r#"
[source]
url = "{source}"
[source.csv.files."EMP*"]
delimiter = ";"
encoding = "windows-1252"
decimal_comma = true

[target]
url = "{target}"

[[table]]
name = "departments"
source_name = "DEPT"
checklist = "org-structure"
[table.columns]
id = "ID"
name = "NAME"
parent_id = "PARENT_ID"

[[table]]
name = "employees"
source_name = "EMP"
checklist = "org-structure"
[table.columns]
id = "ID"
full_name = {{ expr = "FIRST || ' ' || LAST" }}
dept_id = "DEPT_ID"
salary = "SALARY"

[[table]]
name = "contacts"
source_query = "SELECT e.ID AS id, c.EMAIL AS email FROM EMP e JOIN CONTACT c ON c.EMP_ID = e.ID"

[[table]]
name = "orders"
source_name = "{orders_source}"
source_where = "ORDERED >= '2020-01-01'"
[table.columns]
id = "ID"
emp_id = "EMP_ID"
status = {{ name = "STAT", map = {{ A = "ACTIVE", C = "CLOSED", X = "CANCELLED" }} }}
amount = "AMOUNT"
ordered = "ORDERED"

[[rule]]
id = "orders-in-depth"
type = "row_count"
table = "orders"
source_table = "{orders_source}"
source_where = "ORDERED >= '2020-01-01' AND STAT <> 'X'"
target_where = "status <> 'CANCELLED'"

[[rule]]
id = "monthly-amounts"
type = "aggregate_match"
table = "orders"
source_table = "{orders_source}"
aggregate = "SUM(amount)"
source_aggregate = "SUM(AMOUNT)"
group_by = ["substr(CAST(ordered AS TEXT), 1, 7)"]
source_group_by = ["substr(CAST(ORDERED AS TEXT), 1, 7)"]
source_where = "ORDERED >= '2020-01-01'"

[[rule]]
id = "orders-have-employees"
type = "foreign_key"
side = "source"
table = "{orders_source}"
columns = ["EMP_ID"]
parent_table = "EMP"
parent_columns = ["ID"]

[[rule]]
id = "target-orders-have-employees"
type = "foreign_key"
table = "orders"
columns = ["emp_id"]
parent_table = "employees"
parent_columns = ["id"]

[[rule]]
id = "departments-tree"
type = "hierarchy"
side = "source"
table = "DEPT"
parent = "PARENT_ID"
key = ["ID"]
max_roots = 1

[[rule]]
id = "high-salaries"
type = "sql"
side = "source"
query = "SELECT ID FROM EMP WHERE SALARY > 4000"

[[rule]]
id = "order-ids-unique"
type = "unique"
side = "source"
table = "{orders_source}"
columns = ["ID"]

[[rule]]
id = "employees-have-departments"
type = "not_null"
side = "source"
table = "EMP"
columns = ["DEPT_ID"]

[[rule]]
id = "known-status-codes"
type = "accepted_values"
side = "source"
table = "{orders_source}"
columns = ["STAT"]
values = ["A", "C"]
filter = "ORDERED >= '2020-01-01'"

[[rule]]
id = "departments-book-complete"
type = "reference_complete"
table = "departments"
source_table = "DEPT"
key = ["id"]
source_key = ["ID"]

[[rule]]
id = "departments-tree-moved"
type = "hierarchy_match"
table = "departments"
parent = "parent_id"
source_table = "DEPT"
key = ["id"]
source_key = ["ID"]
source_parent = "PARENT_ID"
"#
    )
}

/// What a report says, without where it was read from: per table the counts and samples, per
/// rule its status, violations and rows checked.
fn essence(report: &serde_json::Value) -> serde_json::Value {
    let tables: Vec<serde_json::Value> = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            serde_json::json!({
                "name": t["name"],
                "status": t["status"],
                "error": t["error"],
                "counts": t["counts"],
                "samples": t["samples"],
            })
        })
        .collect();
    let rules: Vec<serde_json::Value> = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r["id"],
                "status": r["status"],
                "message": r["message"].as_str().filter(|m| m.starts_with("could not run")),
                "violations": r["violations"],
                "checked": r["checked"],
            })
        })
        .collect();
    serde_json::json!({ "tables": tables, "rules": rules })
}

fn check_form(
    dir: &Path,
    name: &str,
    source: &str,
    target: &str,
    orders: &str,
) -> serde_json::Value {
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(&config, spec(source, target, orders)).unwrap();
    let out = dir.join(format!("{name}-report"));
    let assert = cutover()
        .arg("check")
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .assert();
    let output = assert.get_output();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{name}: NO-GO expected\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    essence(&validate_report(&out.join("report.json")))
}

#[test]
fn one_spec_gives_one_answer_from_sqlite_csv_and_parquet() {
    let Some(pg) = TestDb::postgres("exports_spec") else {
        return;
    };
    let l = legacy();
    pg.exec(&target_sql(&l));
    let dir = tempfile::tempdir().unwrap();
    let lite = sqlite_legacy(&l);
    std::fs::create_dir(dir.path().join("csv")).unwrap();
    csv_legacy(&l, &dir.path().join("csv"));
    std::fs::create_dir(dir.path().join("pq")).unwrap();
    parquet_legacy(&l, &dir.path().join("pq"));

    let from_sqlite = check_form(dir.path(), "sqlite", &lite.url, &pg.url, "ORD");
    let csv_url = format!("csv://{}", dir.path().join("csv").display());
    let from_csv = check_form(dir.path(), "csv", &csv_url, &pg.url, "ORD_*");
    let pq_url = format!("parquet://{}", dir.path().join("pq").display());
    let from_parquet = check_form(dir.path(), "parquet", &pq_url, &pg.url, "ORD");

    // What the SQLite legacy finds is what was planted.
    let tables = from_sqlite["tables"].as_array().unwrap();
    let counts = |name: &str| {
        tables
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t["counts"].clone())
            .unwrap()
    };
    assert_eq!(counts("departments")["matched"], 3, "{from_sqlite:#}");
    assert_eq!(counts("employees")["changed"], 1, "{from_sqlite:#}");
    assert_eq!(counts("contacts")["matched"], 4, "{from_sqlite:#}");
    let orders = counts("orders");
    assert_eq!(
        (
            &orders["matched"],
            &orders["missing"],
            &orders["extra"],
            &orders["changed"]
        ),
        (&38.into(), &1.into(), &1.into(), &1.into()),
        "{from_sqlite:#}"
    );
    let rule = |id: &str| {
        from_sqlite["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(rule("orders-in-depth")["status"], "fail", "{from_sqlite:#}");
    assert_eq!(rule("monthly-amounts")["status"], "fail", "{from_sqlite:#}");
    assert_eq!(
        rule("orders-have-employees")["status"],
        "pass",
        "{from_sqlite:#}"
    );
    assert_eq!(
        rule("target-orders-have-employees")["violations"],
        1,
        "{from_sqlite:#}"
    );
    assert_eq!(
        rule("departments-tree")["status"],
        "pass",
        "{from_sqlite:#}"
    );
    assert_eq!(rule("high-salaries")["violations"], 1, "{from_sqlite:#}");
    assert_eq!(
        rule("order-ids-unique")["status"],
        "pass",
        "{from_sqlite:#}"
    );
    assert_eq!(
        rule("employees-have-departments")["status"],
        "pass",
        "{from_sqlite:#}"
    );
    // Orders 21..=60 in depth; every third (id % 3 = 2) has the code X.
    assert_eq!(
        rule("known-status-codes")["violations"],
        13,
        "{from_sqlite:#}"
    );
    assert_eq!(
        rule("departments-book-complete")["status"],
        "pass",
        "{from_sqlite:#}"
    );
    assert_eq!(
        rule("departments-tree-moved")["status"],
        "pass",
        "{from_sqlite:#}"
    );
    for r in from_sqlite["rules"].as_array().unwrap() {
        assert_ne!(r["status"], "error", "{r:#}");
    }

    assert_eq!(from_csv, from_sqlite, "CSV exports and SQLite agree");
    assert_eq!(
        from_parquet, from_sqlite,
        "Parquet exports and SQLite agree"
    );
}

#[test]
fn validate_knows_what_a_folder_of_exports_holds_without_reading_rows() {
    let l = legacy();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("csv")).unwrap();
    csv_legacy(&l, &dir.path().join("csv"));
    let config = dir.path().join("cutover.toml");
    std::fs::write(
        &config,
        spec("csv://csv", "postgres://nobody@127.0.0.1:1/none", "ORD_*"),
    )
    .unwrap();
    let out = cutover()
        .arg("validate")
        .arg("--config")
        .arg(&config)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains(
            "table orders: source reads ORD_2019.csv, ORD_2020.csv (5 columns); runs source_where through SQL over the exports"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("table employees: source reads EMP.csv (5 columns); runs expr through SQL"),
        "{stdout}"
    );
    assert!(stdout.contains("table contacts: source csv://"), "{stdout}");

    // A glob that matches nothing and a mapped column the file lacks, both in one answer.
    let broken = spec(
        "csv://csv",
        "postgres://nobody@127.0.0.1:1/none",
        "ORDERS_*",
    )
    .replace("dept_id = \"DEPT_ID\"", "dept_id = \"DEPARTMENT\"");
    std::fs::write(&config, broken).unwrap();
    let out = cutover()
        .arg("validate")
        .arg("--config")
        .arg(&config)
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("table orders: source:")
            && stderr.contains("no .csv file matches table ORDERS_*"),
        "{stderr}"
    );
    assert!(
        stderr.contains("table employees, column dept_id: EMP.csv has no column DEPARTMENT"),
        "{stderr}"
    );
}
