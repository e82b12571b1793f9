//! The JSON lines of `--format json`: one event per line, for machines that follow a run.

use crate::Report;
use serde_json::json;

/// A table's check started, with the rows the engines estimate.
pub fn table_started(table: &str, estimated_rows: Option<u64>) -> String {
    json!({"event": "table_started", "table": table, "estimated_rows": estimated_rows}).to_string()
}

/// A table's check ended: its counts, or why it could not be checked.
pub fn table_finished(result: &cutover_run::TableResult) -> String {
    use cutover_run::TableResult;
    match result {
        TableResult::Checked(c) => {
            let d = &c.diff;
            json!({
                "event": "table_finished",
                "table": result.name(),
                "status": result.status(),
                "source_rows": d.source.rows,
                "target_rows": d.target.rows,
                "missing": d.missing,
                "extra": d.extra,
                "changed": d.changed,
                "duplicate_keys": d.source.duplicate_keys + d.target.duplicate_keys,
                "elapsed_ms": c.elapsed.as_millis() as u64,
            })
        }
        TableResult::Failed(f) => json!({
            "event": "table_finished",
            "table": result.name(),
            "status": result.status(),
            "error": f.message,
            "hint": f.hint,
        }),
    }
    .to_string()
}

/// The rules phase started.
pub fn rules_started(rules: usize) -> String {
    json!({"event": "rules_started", "rules": rules}).to_string()
}

/// A rule has its result.
pub fn rule_finished(r: &cutover_rules::RuleResult) -> String {
    json!({
        "event": "rule_finished",
        "rule": r.id,
        "type": r.kind,
        "severity": r.severity,
        "status": r.status,
        "violations": r.violations,
    })
    .to_string()
}

/// Something to know that does not change the verdict.
pub fn warning(message: &str) -> String {
    json!({"event": "warning", "message": message}).to_string()
}

/// The verdict, the exit code, the totals and where the reports are.
pub fn verdict(report: &Report, exit_code: u8, reports: [(&str, &std::path::Path); 4]) -> String {
    let files: serde_json::Map<String, serde_json::Value> = reports
        .iter()
        .map(|(k, p)| (k.to_string(), json!(p.display().to_string())))
        .collect();
    json!({
        "event": "verdict",
        "status": report.status,
        "complete": report.complete,
        "exit_code": exit_code,
        "summary": report.summary,
        "reports": files,
    })
    .to_string()
}
