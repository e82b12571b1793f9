//! Every rule type against the real servers (PostgreSQL target, MariaDB source, a CSV export),
//! with exact violation counts; a rule that cannot run is an error, never a pass.

use crate::common::*;
use cutover_check::RuleStatus;
use cutover_config::{RuleConfig, RuleFile};
use cutover_rules::{RuleResult, Sides};

const TARGET: &str = "
CREATE TABLE customers (id int PRIMARY KEY, login text, country text);
INSERT INTO customers SELECT g, 'u' || g, CASE WHEN g % 2 = 0 THEN 'DE' ELSE 'CZ' END FROM generate_series(1, 100) g;
UPDATE customers SET login = 'u49' WHERE id = 50;
CREATE TABLE orders (id int PRIMARY KEY, customer_id int, status text, currency text, total numeric(10,2));
INSERT INTO orders SELECT g, (g % 100) + 1, CASE WHEN g % 2 = 0 THEN 'OPEN' ELSE 'PAID' END,
    CASE WHEN g % 3 = 0 THEN 'USD' ELSE 'EUR' END, g FROM generate_series(1, 300) g;
INSERT INTO orders VALUES (301, 999, 'OPEN', 'EUR', 1), (302, 998, 'OPEN', 'EUR', 1), (303, NULL, 'X', 'CZK', 1);
CREATE TABLE currencies (code text PRIMARY KEY, name text);
INSERT INTO currencies VALUES ('EUR', 'Euro'), ('USD', 'US Dollar'), ('GBP', 'Pound Sterling');
CREATE TABLE departments (id int PRIMARY KEY, parent_id int);
INSERT INTO departments SELECT g, CASE WHEN g = 1 THEN NULL ELSE 1 END FROM generate_series(1, 10) g;
INSERT INTO departments VALUES (11, 13), (12, 11), (13, 12), (14, 99), (15, 15);
CREATE TABLE employees (id int PRIMARY KEY, manager_id int);
INSERT INTO employees SELECT g, CASE WHEN g = 1 THEN NULL ELSE (g / 2) END FROM generate_series(1, 50) g;
UPDATE employees SET manager_id = 3 WHERE id = 40;
";

const SOURCE: &str = "
CREATE TABLE CURR (CD char(3) PRIMARY KEY, NM varchar(30));
INSERT INTO CURR VALUES ('EUR', 'Euro'), ('USD', 'US Dollar'), ('GBP', 'Pound'), ('CZK', 'Koruna');
CREATE TABLE ORD (ID int PRIMARY KEY, CUR char(3), TOTAL decimal(10,2));
INSERT INTO ORD WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 300)
    SELECT g, IF(g % 3 = 0, 'USD', 'EUR'), g FROM s;
UPDATE ORD SET TOTAL = TOTAL + 5 WHERE ID = 3;
INSERT INTO ORD VALUES (900, 'CZK', 10);
CREATE TABLE EMP (ID int PRIMARY KEY, MGR int);
INSERT INTO EMP WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 50)
    SELECT g, IF(g = 1, NULL, g DIV 2) FROM s;
";

const RULES: &str = r#"
[[rule]]
id = "orders-have-customers"
type = "foreign_key"
table = "orders"
columns = ["customer_id"]
parent_table = "customers"
parent_columns = ["id"]

[[rule]]
id = "orders-have-customers-strict"
type = "foreign_key"
table = "orders"
columns = ["customer_id"]
parent_table = "customers"
parent_columns = ["id"]
nulls = "violation"
severity = "warn"

[[rule]]
id = "legacy-orders-currencies-migrated"
type = "foreign_key"
side = "source"
table = "ORD"
columns = ["CUR"]
parent_side = "target"
parent_table = "currencies"
parent_columns = ["code"]

[[rule]]
id = "customer-countries-known"
type = "foreign_key"
table = "customers"
columns = ["country"]
parent_url = "csv://PLACEHOLDER"
parent_table = "countries"
parent_columns = ["iso"]

[[rule]]
id = "logins-unique"
type = "unique"
table = "customers"
columns = ["login"]

[[rule]]
id = "orders-have-customer"
type = "not_null"
table = "orders"
columns = ["customer_id"]

[[rule]]
id = "order-status-known"
type = "accepted_values"
table = "orders"
columns = ["status"]
values = ["OPEN", "PAID"]

[[rule]]
id = "order-currency-in-book"
type = "accepted_values"
table = "orders"
columns = ["currency"]
values_table = "currencies"
values_column = "code"

[[rule]]
id = "currencies-complete"
type = "reference_complete"
table = "currencies"
key = ["code"]
label = "name"
source_table = "CURR"
source_key = ["CD"]
source_label = "NM"
used_by = [{ table = "orders", columns = ["currency"] }]

[[rule]]
id = "departments-tree"
type = "hierarchy"
table = "departments"
parent = "parent_id"

[[rule]]
id = "same-managers"
type = "hierarchy_match"
table = "employees"
key = ["id"]
parent = "manager_id"
source_table = "EMP"
source_key = ["ID"]
source_parent = "MGR"

[[rule]]
id = "totals-per-currency"
type = "aggregate_match"
table = "orders"
group_by = ["currency"]
aggregate = "sum(total)"
source_table = "ORD"
source_group_by = ["CUR"]
source_aggregate = "sum(TOTAL)"
tolerance = 0.01

[[rule]]
id = "order-count"
type = "row_count"
table = "orders"
source_table = "ORD"
tolerance = 5

[[rule]]
id = "order-count-exact"
type = "row_count"
table = "orders"
source_table = "ORD"

[[rule]]
id = "no-negative-totals"
type = "sql"
query = "SELECT id, total FROM orders WHERE total < 0"

[[rule]]
id = "big-orders"
type = "sql"
query = "SELECT id FROM orders WHERE total > 295"
max_count = 10

[[rule]]
id = "missing-column"
type = "not_null"
table = "orders"
columns = ["no_such_column"]
"#;

fn evaluate(source: &str, target: &str, rules: &[RuleConfig]) -> Vec<RuleResult> {
    let sides = Sides {
        source: cutover_source::Endpoint::new(source),
        target: cutover_source::Endpoint::new(target),
        sample_size: 20,
        batch_rows: 1000,
        memory_budget: 1 << 24,
    };
    cutover_rules::evaluate(rules, &sides, &std::sync::atomic::AtomicBool::new(false))
}

#[test]
fn every_rule_type_counts_its_violations_exactly() {
    let (Some(pg), Some(my)) = (TestDb::postgres("rules_t"), TestDb::mariadb("rules_s")) else {
        return;
    };
    pg.exec(TARGET);
    my.exec(SOURCE);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("countries.csv"), "iso,name\nDE,Germany\n").unwrap();
    let text = RULES.replace("PLACEHOLDER", &dir.path().display().to_string());
    let rules = RuleFile::parse(&text, "rules.toml").unwrap().rules;
    let results = evaluate(&my.url, &pg.url, &rules);
    let get = |id: &str| {
        results
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no result {id}"))
    };
    let expect = |id: &str, status: RuleStatus, violations: u64| {
        let r = get(id);
        assert_eq!(
            (r.status, r.violations),
            (status, violations),
            "{id}: {} {:?}",
            r.message,
            r.sample
        );
    };
    expect("orders-have-customers", RuleStatus::Fail, 2);
    expect("orders-have-customers-strict", RuleStatus::Fail, 3);
    expect("legacy-orders-currencies-migrated", RuleStatus::Fail, 1);
    expect("customer-countries-known", RuleStatus::Fail, 1);
    expect("logins-unique", RuleStatus::Fail, 2);
    expect("orders-have-customer", RuleStatus::Fail, 1);
    expect("order-status-known", RuleStatus::Fail, 1);
    expect("order-currency-in-book", RuleStatus::Fail, 1);
    expect("currencies-complete", RuleStatus::Fail, 3);
    expect("departments-tree", RuleStatus::Fail, 5);
    expect("same-managers", RuleStatus::Fail, 1);
    expect("totals-per-currency", RuleStatus::Fail, 3);
    expect("order-count", RuleStatus::Pass, 0);
    expect("order-count-exact", RuleStatus::Fail, 2);
    expect("no-negative-totals", RuleStatus::Pass, 0);
    expect("big-orders", RuleStatus::Pass, 5);
    assert_eq!(
        get("missing-column").status,
        RuleStatus::Error,
        "a rule that cannot run is never a pass"
    );
    assert!(get("missing-column").message.contains("no_such_column"));

    // The evidence: samples with the offending values, and the query that ran.
    let fk = get("orders-have-customers");
    assert_eq!(fk.code, "CO101");
    assert!(
        fk.sample
            .iter()
            .any(|row| row.contains(&("customer_id".to_string(), Some("999".to_string())))),
        "{:?}",
        fk.sample
    );
    assert!(fk.queries[0].contains("NOT EXISTS"), "{:?}", fk.queries);
    let tree = get("departments-tree");
    let problems: Vec<String> = tree.sample.iter().filter_map(|r| r[1].1.clone()).collect();
    assert!(
        problems.iter().any(|p| p.contains("cycle: 11 → 12 → 13")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("is its own parent")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("parent 99, which does not exist")),
        "{problems:?}"
    );
    let book = get("currencies-complete");
    assert!(
        book.sample
            .iter()
            .any(|r| r.contains(&("code".to_string(), Some("CZK".to_string())))),
        "{:?}",
        book.sample
    );
}

#[test]
fn rule_packs_under_rules_are_valid() {
    let mut n = 0;
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let rf = RuleFile::parse(&text, &path.display().to_string())
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(!rf.rules.is_empty(), "{} has no rule", path.display());
            n += 1;
        }
    }
    assert!(n >= 3, "the three packs are there");
}

#[test]
fn every_rule_type_is_explained() {
    for kind in [
        "foreign_key",
        "unique",
        "not_null",
        "accepted_values",
        "reference_complete",
        "hierarchy",
        "hierarchy_match",
        "aggregate_match",
        "row_count",
        "sql",
    ] {
        let doc = cutover_rules::catalogue::find(kind)
            .unwrap_or_else(|| panic!("{kind} is not documented"));
        let text = cutover_rules::catalogue::explain(doc);
        assert!(
            text.contains("Why it matters")
                && text.contains("Example")
                && text.contains("How to fix"),
            "{text}"
        );
        // The example parses as a rule.
        RuleFile::parse(doc.example, "example").unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(
            cutover_rules::catalogue::find(doc.code).map(|d| d.name),
            Some(kind)
        );
    }
}
