//! The builder: a run's outcome and rule results into the report model, with the checklist
//! and the verdict (from [`cutover_check::outcome::verdict`]).

use crate::*;
use cutover_check::schema::SchemaLevel;
use cutover_check::{ChecklistStatus, Severity, TableDiff, TableStatus};
use cutover_run::{CheckedTable, Outcome, TableResult};
use serde_json::Value as Json;

fn value(v: &Option<String>) -> Json {
    v.as_ref().map_or(Json::Null, |s| Json::String(s.clone()))
}

fn named(names: &[String], values: &[Option<String>]) -> Ordered {
    Ordered(
        names
            .iter()
            .zip(values)
            .map(|(n, v)| (n.clone(), value(v)))
            .collect(),
    )
}

impl Report {
    /// Builds the report of a run without rules.
    pub fn from_outcome(outcome: &Outcome) -> Report {
        Report::build(outcome, &[], Severity::Error)
    }

    /// Builds the report of a run with its rules; rules of `fail_on` severity or worse block
    /// go-live. The verdict comes from [`cutover_check::outcome::verdict`].
    pub fn build(
        outcome: &Outcome,
        rules: &[cutover_rules::RuleResult],
        fail_on: Severity,
    ) -> Report {
        let tables: Vec<TableReport> = outcome.tables.iter().map(table_report).collect();
        let rules: Vec<RuleReport> = rules.iter().map(|r| rule_report(r, fail_on)).collect();
        let checklist = checklist(outcome, &tables, &rules, fail_on);
        let weights: Vec<_> = rules
            .iter()
            .map(|r| (r.status, r.severity))
            .chain(
                tables
                    .iter()
                    .flat_map(|t| &t.schema)
                    .filter_map(|f| f.level.weight()),
            )
            .collect();
        let status = cutover_check::outcome::verdict(
            outcome.complete,
            &outcome.statuses(),
            &weights,
            fail_on,
        );
        let mut summary = Summary {
            tables: tables.len(),
            ..Summary::default()
        };
        for t in &tables {
            match t.status {
                TableStatus::Match => summary.matched += 1,
                TableStatus::Differ => summary.differ += 1,
                TableStatus::Error | TableStatus::Interrupted => summary.failed += 1,
            }
            if let Some(c) = &t.counts {
                summary.source_rows += c.source_rows;
                summary.target_rows += c.target_rows;
            }
            for f in &t.schema {
                match f.level {
                    SchemaLevel::Error => summary.schema_errors += 1,
                    SchemaLevel::Warn => summary.schema_warnings += 1,
                    SchemaLevel::Info => {}
                }
            }
        }
        Report {
            format_version: FORMAT_VERSION,
            tool: format!("cutover {}", env!("CARGO_PKG_VERSION")),
            status,
            run: RunInfo::default(),
            checklist,
            fail_on,
            rules,
            history: None,
            complete: outcome.complete,
            elapsed_ms: outcome.elapsed.as_millis() as u64,
            source: Endpoint {
                url: outcome.source.url.clone(),
                engine: outcome.source.engine.to_string(),
                transport: outcome.source.transport.to_string(),
            },
            target: Endpoint {
                url: outcome.target.url.clone(),
                engine: outcome.target.engine.to_string(),
                transport: outcome.target.transport.to_string(),
            },
            summary,
            tables,
        }
    }
}

fn rule_report(r: &cutover_rules::RuleResult, fail_on: Severity) -> RuleReport {
    RuleReport {
        id: r.id.clone(),
        code: r.code.to_string(),
        kind: r.kind.to_string(),
        severity: r.severity,
        checklist: r.checklist.clone(),
        description: r.description.clone(),
        status: r.status,
        blocking: cutover_check::outcome::rule_blocks(r.status, r.severity, fail_on),
        violations: r.violations,
        checked: r.checked,
        threshold: r.threshold.clone(),
        message: r.message.clone(),
        sample: r
            .sample
            .iter()
            .map(|row| Ordered(row.iter().map(|(k, v)| (k.clone(), value(v))).collect()))
            .collect(),
        queries: r.queries.clone(),
    }
}

/// The checklist: every item, the table comparisons and rules mapped to it, and its status.
fn checklist(
    outcome: &Outcome,
    tables: &[TableReport],
    rules: &[RuleReport],
    fail_on: Severity,
) -> Vec<ChecklistItem> {
    let items: Vec<(String, String)> = if outcome.checklist.is_empty() {
        cutover_config::CHECKLIST_ITEMS
            .iter()
            .map(|(k, t)| (k.to_string(), t.to_string()))
            .collect()
    } else {
        outcome.checklist.clone()
    };
    items
        .iter()
        .map(|(id, title)| {
            let mut checks = Vec::new();
            let mut failed = Vec::new();
            let mut blocked = false;
            for (result, t) in outcome.tables.iter().zip(tables) {
                if result.checklist() == *id {
                    checks.push(format!("table {}", t.name));
                    if !t.status.is_ok() {
                        blocked = true;
                        failed.push(format!("table {} ({})", t.name, t.status));
                    }
                    let weights: Vec<_> =
                        t.schema.iter().filter_map(|f| f.level.weight()).collect();
                    if !weights.is_empty() {
                        let blocks = weights
                            .iter()
                            .any(|&(s, sev)| cutover_check::outcome::rule_blocks(s, sev, fail_on));
                        blocked |= blocks;
                        failed.push(format!(
                            "schema of table {} ({})",
                            t.name,
                            if blocks { "blocks" } else { "warnings" }
                        ));
                    }
                }
            }
            for r in rules.iter().filter(|r| r.checklist == *id) {
                checks.push(format!("rule {}", r.id));
                if !r.status.is_ok() {
                    blocked |= r.blocking;
                    failed.push(format!("rule {} ({}, {})", r.id, r.status, r.severity));
                }
            }
            let status = if checks.is_empty() {
                ChecklistStatus::NoEvidence
            } else if blocked {
                ChecklistStatus::Open
            } else if failed.is_empty() {
                ChecklistStatus::Closed
            } else {
                ChecklistStatus::ClosedWithWarnings
            };
            ChecklistItem {
                id: id.to_string(),
                title: title.to_string(),
                status,
                checks,
                failed,
            }
        })
        .collect()
}

fn table_report(result: &TableResult) -> TableReport {
    match result {
        TableResult::Failed(f) => TableReport {
            name: f.name.clone(),
            source_name: f.source_name.clone(),
            source_query: None,
            source_url: None,
            status: result.status(),
            error: Some(TableError {
                message: f.message.clone(),
                hint: f.hint.clone(),
            }),
            key: vec![],
            key_origin: None,
            source_where: None,
            target_where: None,
            columns: vec![],
            ignored_columns: vec![],
            unmapped_source_columns: vec![],
            schema: vec![],
            counts: None,
            fingerprint: None,
            samples: None,
            queries: None,
            value_problems: None,
            diagnosis: vec![],
            elapsed_ms: None,
            compared: None,
        },
        TableResult::Checked(c) => checked_report(c, result.status()),
    }
}

fn compared(c: &cutover_run::checksum::Compared) -> ComparedReport {
    ComparedReport {
        mode: c.mode().to_string(),
        note: c.note.clone(),
        checksum: c.checksum.as_ref().map(|s| ChecksumReport {
            chunks: s.chunks as u64,
            buckets: s.buckets as u64,
            differing_buckets: s.differing_buckets as u64,
            rows_checksummed: SidePair {
                source: s.rows_checksummed[0],
                target: s.rows_checksummed[1],
            },
            rows_streamed: SidePair {
                source: s.rows_streamed[0],
                target: s.rows_streamed[1],
            },
            streamed_all: s.streamed_all,
            hash: s.hash.to_string(),
        }),
    }
}

fn checked_report(c: &CheckedTable, status: TableStatus) -> TableReport {
    let p = &c.plan;
    let d: &TableDiff = &c.diff;
    let names: Vec<String> = p.columns.iter().map(|c| c.target.name.clone()).collect();
    let key_names = &names[..p.key_len];
    let columns = p
        .columns
        .iter()
        .enumerate()
        .map(|(i, col)| ColumnReport {
            name: col.target.name.clone(),
            source_name: col.source.name.clone(),
            source_expr: col.source.expr.as_ref().map(|e| e.as_str().to_string()),
            value_map_entries: col.map.as_ref().map(|m| m.map.len()),
            source_type: col.source.type_name.clone(),
            target_type: col.target.type_name.clone(),
            compare_as: col.compare.name().to_string(),
            incompatible: col.incompatible,
            normalizations: normalizations(col),
            changed_rows: d.changed_by_column[i],
            fingerprint_differs: d.source.fingerprint.columns[i] != d.target.fingerprint.columns[i],
            invalid_utf8: SidePair {
                source: d.source.notes[i].invalid_utf8,
                target: d.target.notes[i].invalid_utf8,
            },
            not_convertible: SidePair {
                source: d.source.notes[i].not_convertible,
                target: d.target.notes[i].not_convertible,
            },
        })
        .collect();
    let row = |r: &cutover_check::diff::SampleRow| SampleRow {
        key: named(key_names, &r.key),
        values: named(&names, &r.values),
    };
    TableReport {
        name: p.name.clone(),
        source_name: p.source_name.clone(),
        source_query: p.source_query.as_ref().map(|q| q.as_str().to_string()),
        source_url: p.source_url_shown.clone(),
        status,
        error: None,
        key: key_names.to_vec(),
        key_origin: Some(p.key_origin.to_string()),
        source_where: p.source_where.as_ref().map(|f| f.as_str().to_string()),
        target_where: p.target_where.as_ref().map(|f| f.as_str().to_string()),
        columns,
        ignored_columns: p.ignored.clone(),
        unmapped_source_columns: p.unmapped_source.clone(),
        schema: {
            let mut s = p.schema.clone();
            s.sort_by_key(|f| f.level);
            s
        },
        counts: Some(Counts {
            source_rows: d.source.rows,
            target_rows: d.target.rows,
            matched: d.matched,
            matched_within_tolerance: d.matched_within_tolerance,
            missing: d.missing,
            extra: d.extra,
            changed: d.changed,
            source_duplicate_keys: d.source.duplicate_keys,
            target_duplicate_keys: d.target.duplicate_keys,
        }),
        // In checksum mode only the differing ranges were read: no fingerprint of the table.
        fingerprint: c.compared.checksum.is_none().then(|| SidePair {
            source: d.source.fingerprint.table_hex(),
            target: d.target.fingerprint.table_hex(),
        }),
        samples: Some(SampleReport {
            missing: d.samples.missing.iter().map(row).collect(),
            extra: d.samples.extra.iter().map(row).collect(),
            changed: d
                .samples
                .changed
                .iter()
                .map(|ch| ChangedSample {
                    key: named(key_names, &ch.key),
                    columns: ch
                        .columns
                        .iter()
                        .map(|(i, s, t)| ChangedValue {
                            column: names[*i].clone(),
                            source: value(s),
                            target: value(t),
                        })
                        .collect(),
                })
                .collect(),
            duplicates: d
                .samples
                .duplicates
                .iter()
                .map(|dup| DuplicateSample {
                    side: dup.side.name().to_string(),
                    key: named(key_names, &dup.key),
                    rows: dup.rows,
                })
                .collect(),
        }),
        diagnosis: p
            .columns
            .iter()
            .zip(&d.diagnosis)
            .flat_map(|(col, diag)| {
                diag.findings().into_iter().map(|f| DiagnosisReport {
                    column: col.target.name.clone(),
                    class: f.class,
                    count: f.count,
                    what: f.what,
                    suggestion: f.suggestion,
                })
            })
            .collect(),
        value_problems: Some(SidePair {
            source: d.source.problems.clone(),
            target: d.target.problems.clone(),
        }),
        queries: Some(SidePair {
            source: c.source_sql.clone(),
            target: c.target_sql.clone(),
        }),
        elapsed_ms: Some(c.elapsed.as_millis() as u64),
        compared: Some(compared(&c.compared)),
    }
}

/// The normalisations of a column, in words: `trim`, `tolerance 0.01`, `source zone Europe/Berlin`.
fn normalizations(c: &cutover_run::ColumnPlan) -> Vec<String> {
    let mut out = Vec::new();
    let n = &c.source_norm;
    for (on, name) in [
        (n.trim, "trim"),
        (n.case_insensitive, "case-insensitive"),
        (n.null_equals_empty, "NULL = empty"),
    ] {
        if on {
            out.push(name.to_string());
        }
    }
    if let Some(s) = n.decimal_scale {
        out.push(format!("decimal scale {s}"));
    }
    if let Some(d) = n.float_digits {
        out.push(format!("float digits {d}"));
    }
    if let Some(u) = n.time_unit_nanos {
        let unit = match u {
            1_000_000_000 => "s",
            1_000_000 => "ms",
            1_000 => "us",
            _ => "ns",
        };
        out.push(format!("timestamp precision {unit}"));
    }
    if let Some(t) = &c.tolerance {
        out.push(format!(
            "tolerance {} / relative {}",
            t.absolute, t.relative
        ));
    }
    if let Some(z) = c.source_norm.zone {
        out.push(format!("source zone {z}"));
    }
    if let Some(z) = c.target_norm.zone {
        out.push(format!("target zone {z}"));
    }
    out
}
