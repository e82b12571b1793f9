//! The Markdown report, for a wiki page or a merge request.

use crate::{Report, TableError, TableReport, show_changed, show_key};
use std::fmt::Write as _;

/// Text in a table cell or a line: HTML-escaped (Markdown viewers render inline HTML, and data
/// or names can hold `<script>`), with `|` escaped and line breaks folded.
fn cell(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace('\n', " ")
}

/// A changed value in a table cell: a real NULL is shown in italics, so it never looks like the
/// text `NULL`, and invisible characters are made visible.
fn changed(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "*NULL*".to_string(),
        other => cell(&show_changed(other)),
    }
}

pub(crate) fn render(r: &Report) -> String {
    let mut o = String::new();
    header(&mut o, r);
    history(&mut o, r);
    checklist(&mut o, r);
    sides(&mut o, r);
    tables_summary(&mut o, r);
    for t in &r.tables {
        table(&mut o, t);
    }
    rules(&mut o, r);
    o
}

/// The verdict, whether the run completed, and the totals.
fn header(o: &mut String, r: &Report) {
    let _ = writeln!(o, "# Migration check: {}\n", r.status);
    if let Some(line) = run_line(r) {
        let _ = writeln!(o, "{line}\n");
    }
    if !r.complete {
        let _ = writeln!(
            o,
            "> **Incomplete**: the run was interrupted; tables not checked are listed as interrupted.\n"
        );
    }
    let s = &r.summary;
    let _ = writeln!(
        o,
        "{} of {} tables match; {} differ; {} could not be checked. Rows read: {} on the source, {} on the target.\n",
        s.matched, s.tables, s.differ, s.failed, s.source_rows, s.target_rows
    );
}

/// `Run: rehearsal 3, started 2026-11-26T09:00:00Z.`
fn run_line(r: &Report) -> Option<String> {
    match (&r.run.label, &r.run.at) {
        (Some(l), Some(at)) => Some(format!("Run: {}, started {at}.", cell(l))),
        (Some(l), None) => Some(format!("Run: {}.", cell(l))),
        (None, Some(at)) => Some(format!("Run started {at}.")),
        (None, None) => None,
    }
}

/// What changed since the previous rehearsal.
fn history(o: &mut String, r: &Report) {
    if let Some(h) = &r.history {
        if let Some(prev) = &h.previous_label {
            let _ = writeln!(
                o,
                "### Since {prev} ({})\n",
                h.previous_at.as_deref().unwrap_or("")
            );
            if h.trends.is_empty() {
                let _ = writeln!(o, "No change.");
            } else {
                let _ = writeln!(
                    o,
                    "| subject | metric | before | after | trend |\n|---|---|---:|---:|---|"
                );
                for t in &h.trends {
                    let _ = writeln!(
                        o,
                        "| {} | {} | {} | {} | {} |",
                        cell(&t.subject),
                        t.metric,
                        t.before,
                        t.after,
                        t.verdict
                    );
                }
            }
        }
        let _ = writeln!(o);
    }
}

/// The go-live checklist: each item, its status and its evidence.
fn checklist(o: &mut String, r: &Report) {
    let _ = writeln!(o, "## Go-live checklist: initial solution content\n");
    let _ = writeln!(o, "| item | status | evidence |\n|---|---|---|");
    for item in &r.checklist {
        let evidence = if item.failed.is_empty() {
            format!("{} checks", item.checks.len())
        } else {
            format!("failed: {}", item.failed.join(", "))
        };
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            cell(&item.title),
            item.status,
            cell(&evidence)
        );
    }
    let _ = writeln!(o);
}

/// The two sides and the tool.
fn sides(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "- Source: {} (`{}`), {}",
        r.source.engine, r.source.url, r.source.transport
    );
    let _ = writeln!(
        o,
        "- Target: {} (`{}`), {}",
        r.target.engine, r.target.url, r.target.transport
    );
    let _ = writeln!(
        o,
        "- Tool: {}, report format {}\n",
        r.tool, r.format_version
    );
}

/// One line per table with its counts.
fn tables_summary(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "| table | status | source rows | target rows | matched | missing | extra | changed | duplicate keys |"
    );
    let _ = writeln!(o, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for t in &r.tables {
        let figures: Vec<String> = match &t.counts {
            Some(c) => c.summary_row().iter().map(u64::to_string).collect(),
            None => vec![String::new(); 7],
        };
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            cell(&t.name),
            t.status,
            figures.join(" | ")
        );
    }
}

/// One table's section.
fn table(o: &mut String, t: &TableReport) {
    table_head(o, t);
    if let Some(e) = &t.error {
        table_error(o, e);
        return;
    }
    table_facts(o, t);
    table_schema(o, t);
    table_columns(o, t);
    table_diagnosis(o, t);
    table_value_problems(o, t);
    table_samples(o, t);
}

/// What a table compares: its source, normalisations and computed columns.
fn table_head(o: &mut String, t: &TableReport) {
    let _ = writeln!(o, "\n## {}: {}\n", cell(&t.name), t.status);
    if let Some(u) = &t.source_url {
        let _ = writeln!(o, "Source: `{u}`.");
    }
    match &t.source_query {
        Some(q) => {
            let _ = writeln!(
                o,
                "Source query: `{}`.",
                q.replace('`', "'").replace('\n', " ")
            );
        }
        None if t.source_name != t.name => {
            let _ = writeln!(o, "Source table: `{}`.", t.source_name);
        }
        None => {}
    }
    for c in t.columns.iter().filter(|c| !c.normalizations.is_empty()) {
        let _ = writeln!(
            o,
            "Column {} is compared with: {}.",
            cell(&c.name),
            c.normalizations.join(", ")
        );
    }
    if let Some(c) = t.counts.as_ref().filter(|c| c.matched_within_tolerance > 0) {
        let _ = writeln!(
            o,
            "{} matched rows differ only within a numeric tolerance.",
            c.matched_within_tolerance
        );
    }
    for c in t
        .columns
        .iter()
        .filter(|c| c.source_expr.is_some() || c.value_map_entries.is_some())
    {
        if let Some(e) = &c.source_expr {
            let _ = writeln!(
                o,
                "Column {} is computed on the source as `{}`.",
                cell(&c.name),
                e.replace('`', "'")
            );
        }
        if let Some(n) = c.value_map_entries {
            let _ = writeln!(
                o,
                "Column {} translates source codes through a value map of {n} entries.",
                cell(&c.name)
            );
        }
    }
}

/// Why a table could not be checked, and what to do.
fn table_error(o: &mut String, e: &TableError) {
    let _ = writeln!(o, "**Could not be checked:** {}\n", cell(&e.message));
    if let Some(h) = &e.hint {
        let _ = writeln!(o, "Hint: {}", cell(h));
    }
}

/// Key, depth, fingerprints, and columns left out.
fn table_facts(o: &mut String, t: &TableReport) {
    let _ = writeln!(
        o,
        "Key: {} (from the {}).",
        cell(&t.key.join(", ")),
        t.key_origin.as_deref().unwrap_or("config")
    );
    let _ = writeln!(
        o,
        "Depth: source {}; target {}.",
        depth(&t.source_where),
        depth(&t.target_where)
    );
    if let Some(how) = t.compared.as_ref().and_then(|c| c.summary()) {
        let _ = writeln!(o, "{}.", cell(&how));
    }
    if let Some(fp) = &t.fingerprint {
        let same = if fp.source == fp.target {
            "equal"
        } else {
            "different"
        };
        let _ = writeln!(
            o,
            "Fingerprints: source `{}`, target `{}` ({same}).",
            fp.source, fp.target
        );
    }
    if !t.ignored_columns.is_empty() {
        let _ = writeln!(
            o,
            "Ignored target columns: {}.",
            cell(&t.ignored_columns.join(", "))
        );
    }
    if !t.unmapped_source_columns.is_empty() {
        let _ = writeln!(
            o,
            "Source columns not compared (no target column maps to them): {}.",
            cell(&t.unmapped_source_columns.join(", "))
        );
    }
}

/// The schema comparison, errors first.
fn table_schema(o: &mut String, t: &TableReport) {
    if t.schema.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "\n**Schema**\n\n| level | column | source | target | what it means |\n|---|---|---|---|---|"
    );
    for f in &t.schema {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} |",
            f.level,
            cell(f.column.as_deref().unwrap_or("")),
            cell(f.source.as_deref().unwrap_or("—")),
            cell(f.target.as_deref().unwrap_or("—")),
            cell(&f.message)
        );
    }
}

/// The columns that differ or could not be read.
fn table_columns(o: &mut String, t: &TableReport) {
    let flagged: Vec<_> = t
        .columns
        .iter()
        .filter(|c| {
            c.changed_rows > 0
                || c.incompatible
                || c.invalid_utf8.source + c.invalid_utf8.target > 0
                || c.not_convertible.source + c.not_convertible.target > 0
        })
        .collect();
    if !flagged.is_empty() {
        let _ = writeln!(
            o,
            "\n| column | source column | source type | target type | compared as | changed rows | notes |"
        );
        let _ = writeln!(o, "|---|---|---|---|---|---:|---|");
        for c in flagged {
            let mut notes = Vec::new();
            if c.incompatible {
                notes.push("types cannot hold equal values".to_string());
            }
            if c.invalid_utf8.source + c.invalid_utf8.target > 0 {
                notes.push(format!(
                    "not UTF-8: {} source, {} target",
                    c.invalid_utf8.source, c.invalid_utf8.target
                ));
            }
            if c.not_convertible.source + c.not_convertible.target > 0 {
                notes.push(format!(
                    "not convertible: {} source, {} target",
                    c.not_convertible.source, c.not_convertible.target
                ));
            }
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell(&c.name),
                cell(&c.source_name),
                cell(&c.source_type),
                cell(&c.target_type),
                c.compare_as,
                c.changed_rows,
                notes.join("; ")
            );
        }
    }
}

/// Why values differ.
fn table_diagnosis(o: &mut String, t: &TableReport) {
    if !t.diagnosis.is_empty() {
        let _ = writeln!(
            o,
            "\nWhy values differ:\n\n| column | class | values | what | suggestion |\n|---|---|---:|---|---|"
        );
        for d in &t.diagnosis {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                cell(&d.column),
                d.class,
                d.count,
                cell(&d.what),
                cell(&d.suggestion)
            );
        }
    }
}

/// Values a side could not read as their type.
fn table_value_problems(o: &mut String, t: &TableReport) {
    if let Some(p) = &t.value_problems {
        for (side, list) in [("source", &p.source), ("target", &p.target)] {
            if !list.is_empty() {
                let _ = writeln!(o, "\nValues the {side} could not read as their type:\n");
                for line in list {
                    let _ = writeln!(o, "- {}", cell(line));
                }
            }
        }
    }
}

/// Sample rows of each kind of difference.
fn table_samples(o: &mut String, t: &TableReport) {
    if let Some(s) = &t.samples {
        if !s.missing.is_empty() {
            let _ = writeln!(
                o,
                "\nMissing on the target (sample): {}",
                s.missing
                    .iter()
                    .map(|r| format!("`{}`", show_key(&r.key)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if !s.extra.is_empty() {
            let _ = writeln!(
                o,
                "\nExtra on the target (sample): {}",
                s.extra
                    .iter()
                    .map(|r| format!("`{}`", show_key(&r.key)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if !s.duplicates.is_empty() {
            let _ = writeln!(
                o,
                "\nDuplicate keys (sample): {}",
                s.duplicates
                    .iter()
                    .map(|d| format!("`{}` ×{} on the {}", show_key(&d.key), d.rows, d.side))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if !s.changed.is_empty() {
            let _ = writeln!(
                o,
                "\nChanged rows (sample):\n\n| key | column | source | target |\n|---|---|---|---|"
            );
            for ch in &s.changed {
                for v in &ch.columns {
                    let _ = writeln!(
                        o,
                        "| {} | {} | {} | {} |",
                        cell(&show_key(&ch.key)),
                        cell(&v.column),
                        changed(&v.source),
                        changed(&v.target)
                    );
                }
            }
        }
    }
}

/// Every rule, then the failing ones with their findings.
fn rules(o: &mut String, r: &Report) {
    if !r.rules.is_empty() {
        let _ = writeln!(o, "\n## Rules\n");
        let _ = writeln!(
            o,
            "| rule | type | severity | status | violations | threshold | checklist |\n|---|---|---|---|---:|---|---|"
        );
        for rule in &r.rules {
            let _ = writeln!(
                o,
                "| {} | {} {} | {} | {}{} | {} | {} | {} |",
                cell(&rule.id),
                rule.code,
                rule.kind,
                rule.severity,
                rule.status,
                if rule.blocking { " (blocks)" } else { "" },
                rule.violations,
                cell(&rule.threshold),
                rule.checklist
            );
        }
        for rule in r.rules.iter().filter(|r| !r.status.is_ok()) {
            let _ = writeln!(o, "\n### {}: {}\n", cell(&rule.id), rule.status);
            let _ = writeln!(o, "{}", cell(&rule.message));
            if !rule.sample.is_empty() {
                let _ = writeln!(o);
                for row in &rule.sample {
                    let _ = writeln!(o, "- `{}`", show_key(row));
                }
            }
            for q in &rule.queries {
                let _ = writeln!(o, "\nQuery: `{}`", q.replace('`', "'").replace('\n', " "));
            }
        }
    }
}

fn depth(w: &Option<String>) -> String {
    match w {
        Some(w) => format!("`WHERE {w}`"),
        None => "all rows".to_string(),
    }
}
