//! The report's own tests, from one shared outcome fixture: the builder (verdict, checklist,
//! trend) and a snapshot per format (`src/snapshots/`, reviewed like code; regenerate with
//! `INSTA_UPDATE=always cargo test -p cutover-report` after an intended change).

use crate::Report;
use cutover_check::canonical::Norm;
use cutover_check::outcome::{RuleRecord, RunRecord, TableRecord};
use cutover_check::schema::{SchemaFinding, SchemaKind, SchemaLevel};
use cutover_check::{
    Batch, Cell, ColumnCodec, DiffOptions, Kind, RuleStatus, Severity, TableStatus, Verdict,
};
use cutover_run::{
    CheckedTable, ColumnPlan, EndpointInfo, FailedTable, Outcome, TablePlan, TableResult,
};
use cutover_source::ColumnInfo;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// The diff of two lists of (id, name) rows.
fn diff(source: &[(i64, &str)], target: &[(i64, &str)]) -> cutover_check::TableDiff {
    let codecs = [
        ColumnCodec::new(Kind::Number, Kind::Number),
        ColumnCodec::new(Kind::Text, Kind::Text),
    ];
    let side = |rows: &[(i64, &str)]| {
        let mut b = Batch::new(2);
        for (id, name) in rows {
            b.push(Cell::Int(*id), codecs[0]);
            b.push(Cell::Text(name.as_bytes()), codecs[1]);
        }
        vec![Ok::<_, String>(b.hash(1))].into_iter()
    };
    let opts = DiffOptions {
        columns: 2,
        key_columns: 1,
        sample_size: 20,
        tolerances: vec![],
    };
    cutover_check::diff(side(source), side(target), &opts, &AtomicBool::new(false)).unwrap()
}

fn plan(name: &str, source_name: &str, checklist: &str) -> TablePlan {
    let column = |n: &str, t: &str, kind| ColumnInfo::stored(n, t, kind);
    TablePlan {
        name: name.into(),
        source_name: source_name.into(),
        source_query: None,
        source_url: None,
        source_url_shown: None,
        columns: vec![
            ColumnPlan {
                target: column("id", "integer", Kind::Number),
                source: column("ID", "INTEGER", Kind::Number),
                compare: Kind::Number,
                incompatible: false,
                map: None,
                source_norm: Norm::NONE,
                target_norm: Norm::NONE,
                tolerance: None,
            },
            ColumnPlan {
                target: column("name", "text", Kind::Text),
                source: column("NM", "VARCHAR(40)", Kind::Text),
                compare: Kind::Text,
                incompatible: false,
                map: None,
                source_norm: Norm::NONE,
                target_norm: Norm::NONE,
                tolerance: None,
            },
        ],
        key_len: 1,
        key_origin: "primary key",
        source_where: Some(
            cutover_source::dialect::fragment(
                None,
                cutover_source::FragmentKind::Expression,
                "test",
                "ID > 0",
            )
            .unwrap(),
        ),
        target_where: None,
        ignored: vec![],
        unmapped_source: vec!["LEGACY_FLAG".into()],
        checklist: checklist.into(),
        source_sql: format!(
            "SELECT \"ID\", \"NM\" FROM \"{source_name}\" WHERE (ID > 0) ORDER BY \"ID\""
        ),
        target_sql: format!("SELECT \"id\", \"name\" FROM \"{name}\" ORDER BY \"id\""),
        schema: vec![],
        estimated_rows: None,
        mode: None,
        key_unique: true,
        key_primary: [false; 2],
    }
}

fn finding(level: SchemaLevel, kind: SchemaKind, column: &str, s: &str, t: &str) -> SchemaFinding {
    SchemaFinding {
        level,
        kind,
        column: Some(column.into()),
        source: (!s.is_empty()).then(|| s.into()),
        target: (!t.is_empty()).then(|| t.into()),
        message: format!("{kind:?} of {column}"),
    }
}

fn checked(plan: TablePlan, diff: cutover_check::TableDiff) -> TableResult {
    TableResult::Checked(Box::new(CheckedTable {
        plan,
        diff,
        source_sql: String::new(),
        target_sql: String::new(),
        elapsed: Duration::from_millis(250),
        compared: Default::default(),
    }))
}

fn rule(
    id: &str,
    kind: &str,
    severity: Severity,
    status: RuleStatus,
    violations: u64,
) -> cutover_rules::RuleResult {
    let doc = cutover_rules::catalogue::find(kind).expect("a rule type");
    cutover_rules::RuleResult {
        id: id.into(),
        code: doc.code,
        kind: doc.name,
        severity,
        checklist: "completeness".into(),
        description: Some(format!("{id} <checked>")),
        status,
        violations,
        checked: Some(100),
        threshold: "0".into(),
        message: match status {
            RuleStatus::Error => "could not run: column x does not exist".into(),
            _ => format!("{violations} of 100 rows violate the rule"),
        },
        sample: (0..violations.min(2))
            .map(|i| {
                vec![
                    ("id".to_string(), Some(format!("{}", 7 + i))),
                    ("note".into(), None),
                ]
            })
            .collect(),
        queries: vec![format!(
            "SELECT COUNT(*) FROM \"t\" WHERE /* {id} */ x IS NULL"
        )],
    }
}

/// The shared fixture: a table that differs (every kind of difference), one that matches, one
/// that could not be checked; a blocking, a warning, a passing and an erroring rule; a trend.
pub(crate) fn report() -> Report {
    let mut report = Report::build(&outcome(), &rules(), Severity::Error);
    report.attach_history("rehearsal 2", "2026-11-26T09:00:00Z", Some(&previous()));
    report
}

fn outcome() -> Outcome {
    Outcome {
        source: EndpointInfo {
            url: "postgres://migrator:***@legacy:5432/erp?sslmode=verify-full".into(),
            engine: "PostgreSQL",
            transport: "TLS, server certificate and host name verified",
        },
        target: EndpointInfo {
            url: "mysql://root@new:3306/erp".into(),
            engine: "MySQL/MariaDB",
            transport: "unencrypted",
        },
        tables: vec![
            checked(
                TablePlan {
                    schema: vec![
                        finding(
                            SchemaLevel::Info,
                            SchemaKind::MissingColumn,
                            "LEGACY_FLAG",
                            "CHAR(1)",
                            "",
                        ),
                        finding(
                            SchemaLevel::Warn,
                            SchemaKind::Narrowed,
                            "name",
                            "VARCHAR(40)",
                            "text",
                        ),
                    ],
                    ..plan("customers", "CUST", "historical-data")
                },
                diff(
                    &[(1, "Ann"), (2, "Bob "), (3, "Cy"), (5, "<b>Ed</b>")],
                    &[(1, "Ann"), (2, "Bob"), (4, "Di"), (5, "<script>x</script>")],
                ),
            ),
            checked(
                plan("currencies", "CURR", "reference-books"),
                diff(&[(1, "EUR"), (2, "CZK")], &[(1, "EUR"), (2, "CZK")]),
            ),
            TableResult::Failed(FailedTable {
                name: "orders".into(),
                source_name: "ORD".into(),
                checklist: "historical-data".into(),
                message: "table ORD does not exist on the source".into(),
                hint: Some("check the name, or set source_name".into()),
                interrupted: false,
            }),
        ],
        complete: true,
        elapsed: Duration::from_millis(1234),
        checklist: vec![],
    }
}

fn rules() -> Vec<cutover_rules::RuleResult> {
    vec![
        rule(
            "orders-have-customers",
            "foreign_key",
            Severity::Error,
            RuleStatus::Fail,
            2,
        ),
        rule(
            "totals-per-currency",
            "aggregate_match",
            Severity::Warn,
            RuleStatus::Fail,
            1,
        ),
        rule(
            "logins-unique",
            "unique",
            Severity::Error,
            RuleStatus::Pass,
            0,
        ),
        rule("broken", "sql", Severity::Warn, RuleStatus::Error, 0),
    ]
}

fn previous() -> RunRecord {
    RunRecord {
        id: 1,
        at: "2026-11-20T10:00:00Z".into(),
        label: "rehearsal 1".into(),
        verdict: Verdict::NoGo,
        tables: vec![
            TableRecord {
                name: "customers".into(),
                status: TableStatus::Differ,
                missing: 10,
                extra: 1,
                changed: 1,
                duplicate_keys: 0,
            },
            TableRecord {
                name: "employees".into(),
                status: TableStatus::Match,
                missing: 0,
                extra: 0,
                changed: 0,
                duplicate_keys: 0,
            },
        ],
        rules: vec![RuleRecord {
            id: "logins-unique".into(),
            status: RuleStatus::Fail,
            violations: 3,
        }],
    }
}

#[test]
fn the_builder_decides_the_verdict_and_the_checklist() {
    let r = report();
    assert_eq!(r.status, Verdict::NoGo);
    let statuses: Vec<TableStatus> = r.tables.iter().map(|t| t.status).collect();
    assert_eq!(
        statuses,
        [TableStatus::Differ, TableStatus::Match, TableStatus::Error]
    );
    let c = r.tables[0].counts.as_ref().unwrap();
    assert_eq!((c.matched, c.missing, c.extra, c.changed), (1, 1, 1, 2));
    // Only the error-severity failure blocks; a failing warn rule and an erroring warn rule do not.
    let blocking: Vec<&str> = r
        .rules
        .iter()
        .filter(|x| x.blocking)
        .map(|x| x.id.as_str())
        .collect();
    assert_eq!(blocking, ["orders-have-customers"]);
    let item = |id: &str| r.checklist.iter().find(|i| i.id == id).unwrap();
    assert_eq!(
        item("reference-books").status,
        cutover_check::ChecklistStatus::Closed
    );
    assert_eq!(
        item("historical-data").status,
        cutover_check::ChecklistStatus::Open
    );
    assert_eq!(
        item("org-structure").status,
        cutover_check::ChecklistStatus::NoEvidence
    );
    assert_eq!(r.summary.failed, 1);
    let trends: Vec<String> = r
        .history
        .as_ref()
        .unwrap()
        .trends
        .iter()
        .map(|t| format!("{} {} {}", t.subject, t.metric, t.verdict))
        .collect();
    assert!(
        trends.contains(&"table customers missing improved".to_string()),
        "{trends:?}"
    );
    assert!(
        trends.contains(&"rule logins-unique status fixed".to_string()),
        "{trends:?}"
    );
    assert!(
        trends.contains(&"table employees status gone".to_string()),
        "{trends:?}"
    );
    assert!(
        trends.contains(&"table orders status new".to_string()),
        "{trends:?}"
    );
}

#[test]
fn warn_rules_block_only_when_asked() {
    let r = report();
    let mut warn = r.clone();
    for rule in &mut warn.rules {
        rule.blocking =
            cutover_check::outcome::rule_blocks(rule.status, rule.severity, Severity::Warn);
    }
    assert_eq!(warn.rules.iter().filter(|x| x.blocking).count(), 3);
}

#[test]
fn schema_findings_weigh_as_rules_do() {
    let mut o = outcome();
    o.tables.retain(|t| t.status() == TableStatus::Match);
    let with = |o: &Outcome, level: SchemaLevel| {
        let mut o = Outcome {
            tables: vec![],
            ..o.clone()
        };
        let mut p = plan("currencies", "CURR", "reference-books");
        p.schema = vec![finding(
            level,
            SchemaKind::Narrowed,
            "code",
            "char(3)",
            "char(2)",
        )];
        o.tables
            .push(checked(p, diff(&[(1, "EUR")], &[(1, "EUR")])));
        o
    };
    let item = |r: &Report| {
        r.checklist
            .iter()
            .find(|i| i.id == "reference-books")
            .map(|i| i.status)
    };
    let info = Report::build(&with(&o, SchemaLevel::Info), &[], Severity::Error);
    assert_eq!(info.status, Verdict::Go);
    let warn = Report::build(&with(&o, SchemaLevel::Warn), &[], Severity::Error);
    assert_eq!(warn.status, Verdict::GoWithWarnings);
    assert_eq!(
        item(&warn),
        Some(cutover_check::ChecklistStatus::ClosedWithWarnings)
    );
    assert_eq!(warn.summary.schema_warnings, 1);
    let strict = Report::build(&with(&o, SchemaLevel::Warn), &[], Severity::Warn);
    assert_eq!(strict.status, Verdict::NoGo);
    let error = Report::build(&with(&o, SchemaLevel::Error), &[], Severity::Error);
    assert_eq!(error.status, Verdict::NoGo);
    assert_eq!(item(&error), Some(cutover_check::ChecklistStatus::Open));
}

#[test]
fn go_needs_every_table_to_match_and_the_run_to_complete() {
    let mut o = outcome();
    o.tables.retain(|t| t.status() == TableStatus::Match);
    let passing: Vec<_> = rules()
        .into_iter()
        .filter(|r| r.status == RuleStatus::Pass)
        .collect();
    assert_eq!(
        Report::build(&o, &passing, Severity::Error).status,
        Verdict::Go
    );
    // A failing warn rule does not block by default: GO with warnings; with fail_on = warn it does.
    let warn: Vec<_> = rules()
        .into_iter()
        .filter(|r| r.severity == Severity::Warn)
        .take(1)
        .collect();
    let with_warnings = Report::build(&o, &warn, Severity::Error);
    assert_eq!(with_warnings.status, Verdict::GoWithWarnings);
    assert!(with_warnings.is_go());
    assert_eq!(
        with_warnings
            .checklist
            .iter()
            .find(|i| i.id == "completeness")
            .map(|i| i.status),
        Some(cutover_check::ChecklistStatus::ClosedWithWarnings)
    );
    assert_eq!(
        Report::build(&o, &warn, Severity::Warn).status,
        Verdict::NoGo
    );
    o.complete = false;
    assert_eq!(
        Report::build(&o, &passing, Severity::Error).status,
        Verdict::NoGo
    );
    o.tables.clear();
    o.complete = true;
    assert_eq!(
        Report::build(&o, &[], Severity::Error).status,
        Verdict::NoGo,
        "nothing checked"
    );
}

#[test]
fn json_snapshot() {
    insta::assert_snapshot!("json", report().to_json());
}

#[test]
fn markdown_snapshot() {
    let md = report().to_markdown();
    assert!(
        !md.contains("<script>") && !md.contains("<b>"),
        "data must not become HTML"
    );
    assert!(md.contains("&lt;script&gt;"), "{md}");
    insta::assert_snapshot!("markdown", md);
}

#[test]
fn html_snapshot() {
    insta::assert_snapshot!("html", report().to_html());
}

#[test]
fn junit_snapshot() {
    insta::assert_snapshot!("junit", report().to_junit());
}

#[test]
fn terminal_snapshot() {
    insta::assert_snapshot!("terminal", report().to_terminal(false));
    let colored = report().to_terminal(true);
    assert!(colored.contains("\x1b[31;1mNO-GO\x1b[0m"), "{colored}");
}

#[test]
fn invisible_characters_in_changed_values_are_made_visible() {
    use crate::show_changed;
    use serde_json::json;
    // A difference only in invisible characters must not look like two equal values.
    assert_eq!(show_changed(&json!("Bob ")), "\"Bob \"");
    assert_eq!(show_changed(&json!(" Bob")), "\" Bob\"");
    assert_eq!(show_changed(&json!("a\tb")), "\"a\\tb\"");
    assert_eq!(show_changed(&json!("a\u{a0}b")), "\"a\\u{a0}b\"");
    assert_eq!(show_changed(&json!("a\u{200b}b")), "\"a\\u{200b}b\"");
    assert_eq!(
        show_changed(&json!("")),
        "\"\"",
        "an empty text is not nothing"
    );
    assert_eq!(
        show_changed(&json!("say \"hi\"\n")),
        "\"say \\\"hi\\\"\\n\""
    );
    // Ordinary values stay as they are.
    assert_eq!(show_changed(&json!("Bob Smith")), "Bob Smith");
    assert_eq!(show_changed(&json!(12.5)), "12.5");
    assert_eq!(show_changed(&json!(null)), "NULL");
}

#[test]
fn the_terminal_summary_fits_80_columns() {
    let text = report().to_terminal(false);
    for line in text.lines() {
        assert!(
            line.chars().count() <= 80,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    // Colour codes take no columns: the wrapped lines break at the same words.
    let plain: Vec<&str> = text.lines().map(str::trim_end).collect();
    let colored = report().to_terminal(true);
    let stripped: String = {
        let mut out = String::new();
        let mut chars = colored.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for d in chars.by_ref() {
                    if d == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    };
    assert_eq!(
        plain,
        stripped.lines().map(str::trim_end).collect::<Vec<_>>()
    );
}
