//! Normalisation options against the real servers: strict by default (every legitimate-looking
//! difference is reported), equal once the matching option is set, and still a difference
//! beyond it.

use crate::common::*;
use cutover_config::Normalize;

fn setup() -> Option<(TestDb, TestDb)> {
    let (pg, my) = (TestDb::postgres("norm_src")?, TestDb::mariadb("norm_tgt")?);
    pg.exec(
        "CREATE TABLE t (id int PRIMARY KEY, name text, note text, amount numeric(10,3), price numeric(10,2),
                         ratio real, stamp timestamp(6), local_ts timestamp);
         INSERT INTO t VALUES
           (1, ' Anna ', '', 1.005, 10.00, 0.1, '2024-03-01 10:00:00.123456', '2024-07-01 12:00:00'),
           (2, 'BERG',   NULL, 2.5, 20.00, 0.25, '2024-03-01 10:00:00', '2024-01-15 12:00:00'),
           (3, 'x',      'n', 3, 30.00, 1, '2024-03-01 10:00:00', '2024-01-15 12:00:00');",
    );
    my.exec(
        "CREATE TABLE t (id int PRIMARY KEY, name varchar(20), note varchar(20), amount decimal(10,2), price decimal(10,3),
                         ratio double, stamp datetime(3), local_ts timestamp NULL);
         INSERT INTO t VALUES
           (1, 'anna', NULL, 1.01, 10.006, 0.1, '2024-03-01 10:00:00.123', '2024-07-01 10:00:00'),
           (2, 'berg', NULL, 2.5, 20.00, 0.25, '2024-03-01 10:00:00', '2024-01-15 11:00:00'),
           (3, 'x',    'n', 3, 30.02, 1, '2024-03-01 10:00:00', '2024-01-15 11:00:00');",
    );
    Some((pg, my))
}

#[test]
fn strict_by_default_every_difference_is_reported() {
    let Some((pg, my)) = setup() else { return };
    let o = check(&pg.url, &my.url, vec![table("t", None)]);
    let d = &checked(&o, 0).diff;
    assert_eq!(d.changed, 3);
    // name, note, amount, price, ratio (float32 0.1 is not the double 0.1), stamp, local_ts
    assert_eq!(
        d.changed_by_column,
        vec![0, 2, 1, 1, 2, 1, 1, 3],
        "{:#?}",
        d.samples
    );
}

#[test]
fn each_option_makes_exactly_its_difference_equal() {
    let Some((pg, my)) = setup() else { return };
    let mut t = table("t", None);
    t.normalize = Normalize {
        trim: Some(true),
        case_insensitive: Some(true),
        null_equals_empty: Some(true),
        decimal_scale: Some(2),
        float_digits: Some(6),
        timestamp_precision: Some(cutover_config::TimePrecision::Millis),
        ..Normalize::default()
    };
    // The legacy wrote local_ts in Berlin wall-clock time; the new system stores instants.
    t.columns.insert(
        "local_ts".into(),
        cutover_config::ColumnSource::Spec(Box::new(cutover_config::ColumnSpec {
            normalize: Normalize {
                source_timezone: Some("Europe/Berlin".into()),
                ..Normalize::default()
            },
            ..Default::default()
        })),
    );
    t.columns.insert(
        "price".into(),
        cutover_config::ColumnSource::Spec(Box::new(cutover_config::ColumnSpec {
            normalize: Normalize {
                tolerance: Some(0.01),
                ..Normalize::default()
            },
            ..Default::default()
        })),
    );
    let o = check(&pg.url, &my.url, vec![t]);
    let c = checked(&o, 0);
    let d = &c.diff;
    // Only row 3's price (30.00 vs 30.02) is beyond the tolerance.
    assert_eq!((d.matched, d.changed), (2, 1), "{:#?}", d.samples);
    assert_eq!(d.changed_by_column, vec![0, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(
        d.matched_within_tolerance, 1,
        "row 1: 10.00 vs 10.006, rounded to 10.01"
    );
    assert_eq!(
        d.samples.changed[0].columns,
        vec![(4, Some("30".into()), Some("30.02".into()))]
    );
    let price = &c.plan.columns[4];
    assert!(
        price.tolerance.is_some() && price.source_norm.trim,
        "column options add to the table's"
    );
    // The zone applies to the naive source column, never to MariaDB's TIMESTAMP (an instant).
    assert!(
        c.plan.columns[7].source_norm.zone.is_some()
            && c.plan.columns[7].target_norm.zone.is_none()
    );
}

#[test]
fn an_unknown_time_zone_fails_the_table_with_a_hint() {
    let Some((pg, my)) = setup() else { return };
    let mut t = table("t", None);
    t.normalize.source_timezone = Some("Europe/Atlantis".into());
    let o = check(&pg.url, &my.url, vec![t]);
    let cutover_run::TableResult::Failed(f) = &o.tables[0] else {
        panic!("should fail")
    };
    assert!(
        f.message.contains("unknown time zone \"Europe/Atlantis\""),
        "{}",
        f.message
    );
}
