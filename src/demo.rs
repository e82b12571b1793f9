//! `cutover demo`: builds the bundled legacy and new ERP as SQLite files, checks them with the
//! bundled config, and verifies that the check found exactly the defects planted in the fixtures.

use crate::{CommonArgs, EXIT_GO, EXIT_NO_GO, resolve, run_and_report};
use anyhow::Context as _;
use cutover_check::RuleStatus;
use cutover_report::Report;
use std::path::{Path, PathBuf};

const LEGACY_SQL: &str = include_str!("../fixtures/demo/legacy.sql");
const MIGRATE_SQL: &str = include_str!("../fixtures/demo/migrate.sql");
const CONFIG: &str = include_str!("../fixtures/demo/cutover.toml");
/// The defect rehearsal 1 had on top of the others: the last ten customers were not migrated.
const REHEARSAL_1_DEFECT: &str = "DELETE FROM customers WHERE id > 990;";
/// The legacy's currency reference book as its export tool wrote it: Windows-1252, `;`.
const CURR_CSV: &[u8] = include_bytes!("../fixtures/demo/exports/CURR.csv");

/// A planted defect: the table, what the check must count, and the story behind it.
struct Expected {
    table: &'static str,
    missing: u64,
    extra: u64,
    changed: u64,
    duplicate_keys: u64,
    story: &'static str,
}

const EXPECTED: &[Expected] = &[
    Expected {
        table: "currencies",
        missing: 1,
        extra: 0,
        changed: 0,
        duplicate_keys: 0,
        story: "the reference book (a CSV export) lost CZK",
    },
    Expected {
        table: "departments",
        missing: 0,
        extra: 0,
        changed: 1,
        duplicate_keys: 0,
        story: "a department moved under its own sub-department",
    },
    Expected {
        table: "employees",
        missing: 0,
        extra: 0,
        changed: 2,
        duplicate_keys: 0,
        story: "two employees under the wrong manager",
    },
    Expected {
        table: "products",
        missing: 0,
        extra: 0,
        changed: 0,
        duplicate_keys: 0,
        story: "flags became booleans, nothing lost",
    },
    Expected {
        table: "customers",
        missing: 0,
        extra: 0,
        changed: 4,
        duplicate_keys: 0,
        story: "e-mails lower-cased, a name rewritten",
    },
    Expected {
        table: "orders",
        missing: 3,
        extra: 1,
        changed: 6,
        duplicate_keys: 0,
        story: "a failed batch, a test order, rounded totals, shifted times",
    },
    Expected {
        table: "order_lines",
        missing: 7,
        extra: 0,
        changed: 0,
        duplicate_keys: 1,
        story: "lines of the lost orders, a line entered twice in the legacy",
    },
];

pub fn run(dir: Option<&Path>, common: &CommonArgs) -> anyhow::Result<u8> {
    let dir: PathBuf = match dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            d.to_path_buf()
        }
        None => tempfile::Builder::new()
            .prefix("cutover-demo-")
            .tempdir()
            .context("cannot create a temporary folder")?
            .keep(),
    };
    let legacy = dir.join("legacy.db");
    let new = dir.join("new.db");
    for f in [&legacy, &new] {
        if f.exists() {
            std::fs::remove_file(f).with_context(|| format!("cannot replace {}", f.display()))?;
        }
    }
    cutover_store::fixtures::build_sqlite(&legacy, LEGACY_SQL, None)
        .and_then(|()| {
            // Rehearsal 1 is an earlier migration run that also lost the last ten customers.
            cutover_store::fixtures::build_sqlite(
                &new,
                &format!("{MIGRATE_SQL}\n{REHEARSAL_1_DEFECT}"),
                Some((&legacy, "legacy")),
            )
        })
        .context("cannot build the demo databases")?;
    let exports = dir.join("exports");
    std::fs::create_dir_all(&exports)
        .with_context(|| format!("cannot create {}", exports.display()))?;
    std::fs::write(exports.join("CURR.csv"), CURR_CSV)
        .context("cannot write the demo's CSV export")?;
    let config = dir.join("cutover.toml");
    std::fs::write(&config, CONFIG)
        .with_context(|| format!("cannot write {}", config.display()))?;
    if !common.quiet {
        eprintln!(
            "demo: built legacy.db (legacy), new.db (new) and cutover.toml\n      in {}",
            dir.display()
        );
    }
    let mut common = common.clone();
    if common.out.is_none() {
        common.out = Some(PathBuf::from("cutover-report"));
    }
    // Two rehearsals in one history, so the report shows the trend from the first to the second.
    if common.history.is_none() && !common.no_history {
        let history = dir.join("history.sqlite");
        if history.exists() {
            std::fs::remove_file(&history)
                .with_context(|| format!("cannot replace {}", history.display()))?;
        }
        common.history = Some(history);
    }
    let mut first = common.clone();
    first.label = Some("rehearsal 1".into());
    first.quiet = true;
    if !common.quiet {
        eprintln!("demo: rehearsal 1 (an earlier migration run that also lost ten customers)");
    }
    run_and_report(&resolve(&config, &first)?, true)?;
    std::fs::remove_file(&new).with_context(|| format!("cannot replace {}", new.display()))?;
    cutover_store::fixtures::build_sqlite(&new, MIGRATE_SQL, Some((&legacy, "legacy")))
        .context("cannot build the demo databases")?;
    if common.label.is_none() {
        common.label = Some("rehearsal 2".into());
    }
    if !common.quiet {
        eprintln!("demo: rehearsal 2 (the customers are back; the other defects remain)");
    }
    let resolved = resolve(&config, &common)?;
    let report = run_and_report(&resolved, common.quiet)?;
    let problems = verify(&report);
    if problems.is_empty() {
        println!(
            "demo: as designed: NO-GO, and the check found every planted defect\n      \
             ({} of {} tables differ).\n\
             demo: try it on your own data: copy {}\n      and edit the URLs and tables.",
            report.summary.differ,
            report.summary.tables,
            config.display()
        );
        if let Some(h) = &resolved.history {
            println!(
                "demo: the two rehearsals are recorded in {};\n      list them with \
                 `cutover history --history {}`",
                h.display(),
                h.display()
            );
        }
        Ok(EXIT_GO)
    } else {
        eprintln!("demo: the check did not find what was planted:");
        for p in &problems {
            eprintln!("  - {p}");
        }
        Ok(EXIT_NO_GO)
    }
}

/// Compares the report with the planted defects; returns what does not agree.
/// The rules of the demo config and what each must find: (id, status, violations, story).
const EXPECTED_RULES: &[(&str, RuleStatus, u64, &str)] = &[
    (
        "orders-have-customers",
        RuleStatus::Fail,
        1,
        "the test order's customer does not exist",
    ),
    (
        "order-lines-have-orders",
        RuleStatus::Pass,
        0,
        "lines of lost orders were not migrated either",
    ),
    (
        "currencies-complete",
        RuleStatus::Fail,
        244,
        "CZK is missing, and 243 orders use it",
    ),
    (
        "order-status-known",
        RuleStatus::Pass,
        0,
        "statuses are the new codes",
    ),
    (
        "departments-tree",
        RuleStatus::Fail,
        2,
        "departments 2 and 10 form a cycle",
    ),
    (
        "same-managers",
        RuleStatus::Fail,
        2,
        "two employees under the wrong manager",
    ),
    ("logins-unique", RuleStatus::Pass, 0, "logins stayed unique"),
    (
        "totals-per-currency",
        RuleStatus::Fail,
        4,
        "lost orders, the test order and rounding change the totals (warn)",
    ),
];

/// The diagnoses the demo's defects must produce: (table, column, class, values).
const EXPECTED_DIAGNOSES: &[(&str, &str, &str, u64)] = &[
    ("customers", "email", "letter case", 3),
    ("orders", "total", "rounding", 2),
    ("orders", "created_at", "time-zone shift", 4),
];

fn verify(report: &Report) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(h) = &report.history
        && h.previous_label.as_deref() == Some("rehearsal 1")
        && !h.trends.iter().any(|t| {
            t.subject == "table customers"
                && t.metric == "missing"
                && t.before == "10"
                && t.after == "0"
        })
    {
        problems.push(
            "the history does not show the ten customers restored since rehearsal 1".to_string(),
        );
    }
    for (table, column, class, count) in EXPECTED_DIAGNOSES {
        let found = report
            .tables
            .iter()
            .filter(|t| t.name == *table)
            .flat_map(|t| &t.diagnosis)
            .any(|d| d.column == *column && d.class == *class && d.count == *count);
        if !found {
            problems.push(format!(
                "{table}.{column}: expected the diagnosis \"{class}\" for {count} values"
            ));
        }
    }
    for (id, status, violations, story) in EXPECTED_RULES {
        match report.rules.iter().find(|r| r.id == *id) {
            Some(r) if r.status == *status && r.violations == *violations => {}
            Some(r) => problems.push(format!(
                "rule {id} ({story}): expected {status} with {violations}, found {} with {}: {}",
                r.status, r.violations, r.message
            )),
            None => problems.push(format!("rule {id}: not in the report")),
        }
    }
    if report.is_go() {
        problems.push("the verdict is GO, but defects were planted".to_string());
    }
    for e in EXPECTED {
        let Some(t) = report.tables.iter().find(|t| t.name == e.table) else {
            problems.push(format!("{}: not in the report", e.table));
            continue;
        };
        let Some(c) = &t.counts else {
            problems.push(format!(
                "{}: not checked: {:?}",
                e.table,
                t.error.as_ref().map(|e| &e.message)
            ));
            continue;
        };
        let got = (
            c.missing,
            c.extra,
            c.changed,
            c.source_duplicate_keys + c.target_duplicate_keys,
        );
        let want = (e.missing, e.extra, e.changed, e.duplicate_keys);
        if got != want {
            problems.push(format!(
                "{} ({}): expected missing/extra/changed/duplicate keys {want:?}, found {got:?}",
                e.table, e.story
            ));
        }
    }
    problems
}
