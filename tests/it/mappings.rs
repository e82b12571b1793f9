//! Mappings real migrations need, against the real servers: a source query for a split table,
//! engine-computed column expressions, translated codes with a finding for an unmapped one,
//! and a natural key when surrogate keys were regenerated.

use crate::common::*;
use cutover_config::{ColumnSource, ColumnSpec};

fn spec(name: Option<&str>, expr: Option<&str>, map: &[(&str, &str)]) -> ColumnSource {
    ColumnSource::Spec(Box::new(ColumnSpec {
        name: name.map(str::to_string),
        expr: expr.map(str::to_string),
        map: (!map.is_empty()).then(|| {
            map.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        }),
        map_file: None,
        type_name: None,
        normalize: Default::default(),
    }))
}

#[test]
fn a_split_legacy_table_with_expressions_and_translated_codes() {
    let (Some(pg), Some(my)) = (TestDb::postgres("map_src"), TestDb::mariadb("map_tgt")) else {
        return;
    };
    pg.exec(
        "CREATE TABLE person (id int PRIMARY KEY, first_nm char(10), last_nm varchar(20), status_cd char(1));
         CREATE TABLE person_contact (id int PRIMARY KEY, email text);
         INSERT INTO person SELECT g, 'Anna', 'Berg ' || g, CASE WHEN g % 3 = 0 THEN 'I' ELSE 'A' END FROM generate_series(1, 300) g;
         INSERT INTO person_contact SELECT g, 'anna' || g || '@example.com' FROM generate_series(1, 300) g;
         UPDATE person SET status_cd = 'X' WHERE id = 42;",
    );
    my.exec(
        "CREATE TABLE users (id int PRIMARY KEY, full_name varchar(40), email varchar(60), status varchar(10));
         INSERT INTO users WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 300)
           SELECT g, CONCAT('Anna Berg ', g), CONCAT('anna', g, '@example.com'), IF(g % 3 = 0, 'INACTIVE', 'ACTIVE') FROM s;",
    );
    let mut t = table("users", None);
    t.source_query = Some("SELECT p.id, p.first_nm, p.last_nm, p.status_cd, c.email FROM person p JOIN person_contact c ON c.id = p.id".into());
    t.columns.insert(
        "full_name".into(),
        spec(None, Some("TRIM(first_nm) || ' ' || last_nm"), &[]),
    );
    t.columns.insert(
        "status".into(),
        spec(
            Some("status_cd"),
            None,
            &[("A", "ACTIVE"), ("I", "INACTIVE")],
        ),
    );
    let o = check(&pg.url, &my.url, vec![t]);
    let c = checked(&o, 0);
    let d = &c.diff;
    assert_eq!(
        (d.source.rows, d.matched, d.changed, d.missing, d.extra),
        (300, 299, 1, 0, 0),
        "{:#?}",
        d.samples
    );
    assert_eq!(d.samples.changed[0].key, vec![Some("42".to_string())]);
    assert_eq!(
        d.source.problems,
        vec![r#"source column status_cd: value "X" has no entry in the value map"#.to_string()]
    );
    assert!(
        c.source_sql.contains("FROM (SELECT p.id"),
        "{}",
        c.source_sql
    );
    assert!(
        c.source_sql
            .contains("(TRIM(first_nm) || ' ' || last_nm)::text"),
        "{}",
        c.source_sql
    );
    assert_eq!(c.plan.source_name, "query");
}

#[test]
fn a_natural_key_when_surrogate_keys_were_regenerated() {
    let (Some(pg), Some(my)) = (TestDb::postgres("nat_src"), TestDb::mariadb("nat_tgt")) else {
        return;
    };
    pg.exec("CREATE TABLE users (id int PRIMARY KEY, login text, dept int, hired date);
             INSERT INTO users SELECT g, 'user' || g, g % 7, date '2020-01-01' + g FROM generate_series(1, 500) g;");
    my.exec("CREATE TABLE users (id int PRIMARY KEY, login varchar(20), dept int, hired date);
             INSERT INTO users WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 500)
               SELECT 1000 + (g * 37) % 500, CONCAT('user', g), g % 7, DATE_ADD('2020-01-01', INTERVAL g DAY) FROM s;");
    let mut by_id = table("users", None);
    by_id.ignore = vec![];
    let o = check(&pg.url, &my.url, vec![by_id]);
    assert_eq!(
        checked(&o, 0).diff.matched,
        0,
        "the surrogate keys do not match at all"
    );
    let mut by_login = table("users", Some(&["login"]));
    by_login.ignore = vec!["id".into()];
    let o = check(&pg.url, &my.url, vec![by_login]);
    assert!(o.is_go(), "{:#?}", checked(&o, 0).diff.samples);
    assert_eq!(checked(&o, 0).diff.matched, 500);
}

#[test]
fn a_source_query_that_does_not_run_fails_its_table_with_the_reason() {
    let Some(pg) = TestDb::postgres("badq") else {
        return;
    };
    pg.exec("CREATE TABLE t (id int PRIMARY KEY);");
    let mut t = table("t", None);
    t.source_query = Some("SELECT id FROM no_such_table".into());
    let o = check(&pg.url, &pg.url, vec![t]);
    let cutover_run::TableResult::Failed(f) = &o.tables[0] else {
        panic!("should fail")
    };
    assert!(
        f.message.contains("source_query") && f.message.contains("no_such_table"),
        "{}",
        f.message
    );
}
