//! The report: the one place that defines serialised output. [`Report::from_outcome`] builds the
//! versioned model from a run's [`Outcome`]; each format renders that model: [`Report::to_json`]
//! (schema: `docs/report.schema.json`), [`Report::to_markdown`] and [`Report::to_terminal`].
//! Everything is in a deterministic order (tables in config order, samples in key order).

pub mod export;
mod render;

use render::{html, junit, markdown, terminal};

use cutover_check::outcome::{RuleRecord, RunRecord, TableRecord};
use cutover_check::{ChecklistStatus, RuleStatus, Severity, TableDiff, TableStatus, Verdict};
use cutover_run::{CheckedTable, Outcome, TableResult};
use serde::Serialize;
use serde_json::Value as Json;

/// The version of the JSON report format; bumped on every incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// The whole report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// Report format version.
    pub format_version: u32,
    /// `cutover <version>`.
    pub tool: String,
    /// `GO` or `NO-GO`, from [`cutover_check::outcome::verdict`].
    pub status: Verdict,
    /// False when the run was interrupted: the report then holds what was checked so far.
    pub complete: bool,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
    /// The legacy side.
    pub source: Endpoint,
    /// The new side.
    pub target: Endpoint,
    /// Totals over all tables.
    pub summary: Summary,
    /// The go-live checklist ("Initial solution content"): each item, the checks that close
    /// it, and its status.
    pub checklist: Vec<ChecklistItem>,
    /// `error` (default) or `warn`: the lowest rule severity that blocks go-live.
    pub fail_on: Severity,
    /// One entry per configured table.
    pub tables: Vec<TableReport>,
    /// One entry per rule.
    pub rules: Vec<RuleReport>,
    /// This run's place in the rehearsal history, and what changed since the previous run.
    pub history: Option<HistoryReport>,
}

/// The rehearsal history as the report shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistoryReport {
    /// This run's label (`--label`, or `run N`).
    pub label: String,
    /// When this run started, RFC 3339 UTC.
    pub at: String,
    /// The previous run's label, if there was one.
    pub previous_label: Option<String>,
    /// When the previous run started.
    pub previous_at: Option<String>,
    /// What changed since the previous run (unchanged results are left out).
    pub trends: Vec<Trend>,
}

/// One change since the previous run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Trend {
    /// `table orders` or `rule orders-have-customers`.
    pub subject: String,
    /// `missing`, `extra`, `changed`, `duplicate keys`, `violations` or `status`.
    pub metric: String,
    /// The previous value.
    pub before: String,
    /// This run's value.
    pub after: String,
    /// `improved`, `worse`, `new failure`, `fixed`, `new` or `gone`.
    pub verdict: String,
}

impl Report {
    /// This run as the history records it.
    pub fn to_record(&self, label: &str, at: &str) -> RunRecord {
        RunRecord {
            id: 0,
            at: at.to_string(),
            label: label.to_string(),
            verdict: self.status,
            tables: self
                .tables
                .iter()
                .map(|t| {
                    let c = t.counts.as_ref();
                    TableRecord {
                        name: t.name.clone(),
                        status: t.status,
                        missing: c.map_or(0, |c| c.missing),
                        extra: c.map_or(0, |c| c.extra),
                        changed: c.map_or(0, |c| c.changed),
                        duplicate_keys: c
                            .map_or(0, |c| c.source_duplicate_keys + c.target_duplicate_keys),
                    }
                })
                .collect(),
            rules: self
                .rules
                .iter()
                .map(|r| RuleRecord {
                    id: r.id.clone(),
                    status: r.status,
                    violations: r.violations,
                })
                .collect(),
        }
    }

    /// Adds this run's label and its trends against the previous run.
    pub fn attach_history(&mut self, label: &str, at: &str, previous: Option<&RunRecord>) {
        let mut trends = Vec::new();
        if let Some(prev) = previous {
            let status_trend = |subject: String,
                                (before, before_ok): (&str, bool),
                                (after, after_ok): (&str, bool)|
             -> Option<Trend> {
                let verdict = match (before_ok, after_ok) {
                    (true, false) => "new failure",
                    (false, true) => "fixed",
                    _ => return None,
                };
                Some(Trend {
                    subject,
                    metric: "status".into(),
                    before: before.into(),
                    after: after.into(),
                    verdict: verdict.into(),
                })
            };
            let current = self.to_record(label, at);
            for t in &self.tables {
                let Some(now) = current.tables.iter().find(|x| x.name == t.name) else {
                    continue;
                };
                match prev.tables.iter().find(|p| p.name == t.name) {
                    None => trends.push(Trend {
                        subject: format!("table {}", t.name),
                        metric: "status".into(),
                        before: "-".into(),
                        after: t.status.to_string(),
                        verdict: "new".into(),
                    }),
                    Some(p) => {
                        trends.extend(status_trend(
                            format!("table {}", t.name),
                            (p.status.as_str(), p.status.is_ok()),
                            (now.status.as_str(), now.status.is_ok()),
                        ));
                        for (metric, before, after) in [
                            ("missing", p.missing, now.missing),
                            ("extra", p.extra, now.extra),
                            ("changed", p.changed, now.changed),
                            ("duplicate keys", p.duplicate_keys, now.duplicate_keys),
                        ] {
                            if before != after {
                                trends.push(Trend {
                                    subject: format!("table {}", t.name),
                                    metric: metric.into(),
                                    before: before.to_string(),
                                    after: after.to_string(),
                                    verdict: if after < before { "improved" } else { "worse" }
                                        .into(),
                                });
                            }
                        }
                    }
                }
            }
            for r in &self.rules {
                match prev.rules.iter().find(|p| p.id == r.id) {
                    None => trends.push(Trend {
                        subject: format!("rule {}", r.id),
                        metric: "status".into(),
                        before: "-".into(),
                        after: r.status.to_string(),
                        verdict: "new".into(),
                    }),
                    Some(p) => {
                        trends.extend(status_trend(
                            format!("rule {}", r.id),
                            (p.status.as_str(), p.status.is_ok()),
                            (r.status.as_str(), r.status.is_ok()),
                        ));
                        if p.violations != r.violations {
                            trends.push(Trend {
                                subject: format!("rule {}", r.id),
                                metric: "violations".into(),
                                before: p.violations.to_string(),
                                after: r.violations.to_string(),
                                verdict: if r.violations < p.violations {
                                    "improved"
                                } else {
                                    "worse"
                                }
                                .into(),
                            });
                        }
                    }
                }
            }
            for p in &prev.tables {
                if !self.tables.iter().any(|t| t.name == p.name) {
                    trends.push(Trend {
                        subject: format!("table {}", p.name),
                        metric: "status".into(),
                        before: p.status.to_string(),
                        after: "-".into(),
                        verdict: "gone".into(),
                    });
                }
            }
        }
        self.history = Some(HistoryReport {
            label: label.to_string(),
            at: at.to_string(),
            previous_label: previous.map(|p| p.label.clone()),
            previous_at: previous.map(|p| p.at.clone()),
            trends,
        });
    }
}

/// One checklist item.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChecklistItem {
    /// Stable id: `historical-data`, `completeness`, `reference-books`, `org-structure`.
    pub id: String,
    /// The item as the checklist words it.
    pub title: String,
    /// `closed` (every check passed), `open` (a check failed) or `no evidence` (no check maps to it).
    pub status: ChecklistStatus,
    /// The checks that close it: `table orders`, `rule orders-have-customers`.
    pub checks: Vec<String>,
    /// The checks that failed.
    pub failed: Vec<String>,
}

/// One rule's result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuleReport {
    /// The rule's id.
    pub id: String,
    /// The rule type's code (`cutover explain CODE`).
    pub code: String,
    /// The rule type.
    #[serde(rename = "type")]
    pub kind: String,
    /// `error` or `warn`.
    pub severity: Severity,
    /// The checklist item it closes.
    pub checklist: String,
    /// The rule's description.
    pub description: Option<String>,
    /// `pass`, `fail` or `error` (could not run).
    pub status: RuleStatus,
    /// True when this result blocks go-live.
    pub blocking: bool,
    /// Exact count of violations.
    pub violations: u64,
    /// Rows, entries or groups checked, when known.
    pub checked: Option<u64>,
    /// The threshold.
    pub threshold: String,
    /// What was found, in words.
    pub message: String,
    /// Failing rows: column → value.
    pub sample: Vec<Ordered>,
    /// The queries it ran.
    pub queries: Vec<String>,
}

/// A side, with its password hidden.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Endpoint {
    /// URL with the password replaced by `***`.
    pub url: String,
    /// Engine name.
    pub engine: String,
}

/// Totals.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Summary {
    /// Tables configured.
    pub tables: usize,
    /// Tables that matched exactly.
    pub matched: usize,
    /// Tables with differences.
    pub differ: usize,
    /// Tables that could not be checked.
    pub failed: usize,
    /// Rows read on the source.
    pub source_rows: u64,
    /// Rows read on the target.
    pub target_rows: u64,
}

/// One table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TableReport {
    /// Target table.
    pub name: String,
    /// Source table (`query` when a source query is compared).
    pub source_name: String,
    /// The source query compared instead of a table.
    pub source_query: Option<String>,
    /// The table's own source (password hidden), when not the run's source.
    pub source_url: Option<String>,
    /// `match`, `differ`, `error` or `interrupted`.
    pub status: TableStatus,
    /// Why the table could not be checked.
    pub error: Option<TableError>,
    /// Key columns (target names).
    pub key: Vec<String>,
    /// `config` or `primary key`.
    pub key_origin: Option<String>,
    /// Migration depth on the source.
    pub source_where: Option<String>,
    /// Filter on the target.
    pub target_where: Option<String>,
    /// Compared columns, key first.
    pub columns: Vec<ColumnReport>,
    /// Target columns left out with `ignore`.
    pub ignored_columns: Vec<String>,
    /// Source columns that no target column maps to.
    pub unmapped_source_columns: Vec<String>,
    /// Exact counts.
    pub counts: Option<Counts>,
    /// Table fingerprints (hex of the 128-bit sum of row digests).
    pub fingerprint: Option<SidePair<String>>,
    /// Sample rows.
    pub samples: Option<SampleReport>,
    /// The statements each side ran.
    pub queries: Option<SidePair<String>>,
    /// Why values differ, per column: classified with exact counts and a suggestion.
    pub diagnosis: Vec<DiagnosisReport>,
    /// Values a side could not read as their type, with file, line and column (first 50).
    pub value_problems: Option<SidePair<Vec<String>>>,
    /// Wall time in milliseconds.
    pub elapsed_ms: Option<u64>,
}

/// One diagnosis of a column's changed values.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DiagnosisReport {
    /// The target column.
    pub column: String,
    /// The class: `whitespace`, `letter case`, `NULL vs empty`, `rounding`, `constant offset`,
    /// `constant factor`, `time-zone shift`, `fraction truncated`, `text truncated`, `mojibake`,
    /// `code mapping`, `numbers` or `other`.
    pub class: String,
    /// Changed values in this class (exact).
    pub count: u64,
    /// What they have in common, in words.
    pub what: String,
    /// The option or fix that explains or repairs it.
    pub suggestion: String,
}

/// A value per side.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SidePair<T> {
    /// Source.
    pub source: T,
    /// Target.
    pub target: T,
}

/// Why a table could not be checked.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TableError {
    /// What went wrong.
    pub message: String,
    /// What to do.
    pub hint: Option<String>,
}

/// One compared column.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ColumnReport {
    /// Target column.
    pub name: String,
    /// Source column (the target name for an expression).
    pub source_name: String,
    /// The SQL expression the source computes for this column.
    pub source_expr: Option<String>,
    /// Entries of the value map that translates source codes, if any.
    pub value_map_entries: Option<usize>,
    /// Source type as the engine names it.
    pub source_type: String,
    /// Target type.
    pub target_type: String,
    /// The canonical kind values are compared as.
    pub compare_as: String,
    /// True when no source value can equal a target value (types that cannot be reconciled).
    pub incompatible: bool,
    /// The normalisations applied to this column (empty: strict).
    pub normalizations: Vec<String>,
    /// Changed rows in which this column differs.
    pub changed_rows: u64,
    /// True when the column fingerprints differ.
    pub fingerprint_differs: bool,
    /// Values that are not valid UTF-8 (kept as bytes).
    pub invalid_utf8: SidePair<u64>,
    /// Values that could not be converted to `compare_as` (kept as they were).
    pub not_convertible: SidePair<u64>,
}

/// Exact counts of one table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Counts {
    /// Rows on the source.
    pub source_rows: u64,
    /// Rows on the target.
    pub target_rows: u64,
    /// Rows equal on both sides (including those equal within a numeric tolerance).
    pub matched: u64,
    /// Of the matched rows, those that differ only within a numeric tolerance.
    pub matched_within_tolerance: u64,
    /// Source rows missing on the target.
    pub missing: u64,
    /// Target rows not on the source.
    pub extra: u64,
    /// Rows with the same key and different values.
    pub changed: u64,
    /// Keys that occur more than once on the source.
    pub source_duplicate_keys: u64,
    /// Keys that occur more than once on the target.
    pub target_duplicate_keys: u64,
}

impl Counts {
    /// The per-table summary figures, in the order every text format shows them: source rows,
    /// target rows, matched, missing, extra, changed, duplicate keys (both sides).
    pub fn summary_row(&self) -> [u64; 7] {
        [
            self.source_rows,
            self.target_rows,
            self.matched,
            self.missing,
            self.extra,
            self.changed,
            self.source_duplicate_keys + self.target_duplicate_keys,
        ]
    }
}

/// Sample rows, in key order.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SampleReport {
    /// Source rows missing on the target.
    pub missing: Vec<SampleRow>,
    /// Target rows not on the source.
    pub extra: Vec<SampleRow>,
    /// Changed rows with their differing columns.
    pub changed: Vec<ChangedSample>,
    /// Duplicated keys.
    pub duplicates: Vec<DuplicateSample>,
}

/// A sample row: key and all values by column name.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SampleRow {
    /// Key values by key column.
    pub key: Ordered,
    /// All values by column.
    pub values: Ordered,
}

/// A changed row.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChangedSample {
    /// Key values by key column.
    pub key: Ordered,
    /// The columns that differ.
    pub columns: Vec<ChangedValue>,
}

/// One differing value.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChangedValue {
    /// Target column.
    pub column: String,
    /// Source value (`null` is NULL).
    pub source: Json,
    /// Target value.
    pub target: Json,
}

/// A duplicated key.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DuplicateSample {
    /// `source` or `target`.
    pub side: String,
    /// Key values.
    pub key: Ordered,
    /// Rows carrying it.
    pub rows: u64,
}

/// Values by column name, serialised as a JSON object in column order (key order for keys).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ordered(pub Vec<(String, Json)>);

impl Serialize for Ordered {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Ordered {
    /// Iterates over (column, value).
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Json)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

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
        let checklist = checklist(outcome, &tables, &rules);
        let status = cutover_check::outcome::verdict(
            outcome.complete,
            &outcome.statuses(),
            &rules
                .iter()
                .map(|r| (r.status, r.severity))
                .collect::<Vec<_>>(),
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
        }
        Report {
            format_version: FORMAT_VERSION,
            tool: format!("cutover {}", env!("CARGO_PKG_VERSION")),
            status,
            checklist,
            fail_on,
            rules,
            history: None,
            complete: outcome.complete,
            elapsed_ms: outcome.elapsed.as_millis() as u64,
            source: Endpoint {
                url: outcome.source.url.clone(),
                engine: outcome.source.engine.to_string(),
            },
            target: Endpoint {
                url: outcome.target.url.clone(),
                engine: outcome.target.engine.to_string(),
            },
            summary,
            tables,
        }
    }

    /// True for GO.
    pub fn is_go(&self) -> bool {
        self.status == Verdict::Go
    }

    /// The JSON report, pretty-printed.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serialises") + "\n"
    }

    /// The self-contained HTML report.
    pub fn to_html(&self) -> String {
        html::render(self)
    }

    /// The JUnit XML report: a test case per table comparison and per rule.
    pub fn to_junit(&self) -> String {
        junit::render(self)
    }

    /// The Markdown report.
    pub fn to_markdown(&self) -> String {
        markdown::render(self)
    }

    /// The terminal summary; `color` adds ANSI colours.
    pub fn to_terminal(&self, color: bool) -> String {
        terminal::render(self, color)
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
) -> Vec<ChecklistItem> {
    cutover_config::CHECKLIST_ITEMS
        .iter()
        .map(|(id, title)| {
            let mut checks = Vec::new();
            let mut failed = Vec::new();
            for (result, t) in outcome.tables.iter().zip(tables) {
                if result.checklist() == *id {
                    checks.push(format!("table {}", t.name));
                    if !t.status.is_ok() {
                        failed.push(format!("table {} ({})", t.name, t.status));
                    }
                }
            }
            for r in rules.iter().filter(|r| r.checklist == *id) {
                checks.push(format!("rule {}", r.id));
                if !r.status.is_ok() {
                    failed.push(format!("rule {} ({}, {})", r.id, r.status, r.severity));
                }
            }
            let status = if checks.is_empty() {
                ChecklistStatus::NoEvidence
            } else if failed.is_empty() {
                ChecklistStatus::Closed
            } else {
                ChecklistStatus::Open
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
            counts: None,
            fingerprint: None,
            samples: None,
            queries: None,
            value_problems: None,
            diagnosis: vec![],
            elapsed_ms: None,
        },
        TableResult::Checked(c) => checked_report(c, result.status()),
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
        fingerprint: Some(SidePair {
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

/// Renders a JSON value for text reports: NULL for null, the string otherwise.
pub(crate) fn show(v: &Json) -> String {
    match v {
        Json::Null => "NULL".to_string(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Renders a key map as `id=1, line=2`.
pub(crate) fn show_key(key: &Ordered) -> String {
    key.iter()
        .map(|(k, v)| format!("{k}={}", show(v)))
        .collect::<Vec<_>>()
        .join(", ")
}
