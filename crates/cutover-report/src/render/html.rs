//! The HTML report: one self-contained file (no scripts, fonts or styles from outside), readable
//! offline or as an e-mail attachment. Summary first (the verdict and the checklist), then a chart
//! and a row per table and rule, each opening onto its sample rows with the differing columns
//! highlighted.

use crate::{Report, TableError, TableReport, show, show_changed};
use std::fmt::Write as _;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = r#"
:root { --go: #1a7f37; --nogo: #cf222e; --warn: #9a6700; --muted: #57606a; --line: #d0d7de; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; margin: 0; background: #fff; }
main { max-width: 1180px; margin: 0 auto; padding: 24px; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 32px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.verdict { display: inline-block; font-weight: 700; font-size: 22px; padding: 6px 18px; border-radius: 8px; color: #fff; }
.GO { background: var(--go); } .NO-GO { background: var(--nogo); } .GO-warn { background: #9a6700; }
.meta { color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; border-radius: 10px; padding: 1px 9px; font-size: 12px; font-weight: 600; color: #fff; }
.ok { background: var(--go); } .bad { background: var(--nogo); } .note { background: var(--warn); } .none { background: var(--muted); }
details { border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; padding: 0 12px; }
details[open] { padding-bottom: 10px; } summary { cursor: pointer; padding: 8px 0; font-weight: 600; }
.diff { background: #ffebe9; } .src { color: #82071e; } .tgt { color: #116329; }
code { background: var(--bg); padding: 1px 4px; border-radius: 4px; font-size: 13px; word-break: break-word; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 150px; }
.card b { display: block; font-size: 22px; }
.legend span { display: inline-block; margin-right: 14px; font-size: 13px; } .legend i { display: inline-block; width: 11px; height: 11px; margin-right: 5px; border-radius: 2px; }
"#;

fn badge(status: &str) -> String {
    let class = match status {
        "match" | "pass" | "closed" => "ok",
        "no evidence" | "info" => "none",
        "warn" | "closed with warnings" => "note",
        _ => "bad",
    };
    format!("<span class=\"badge {class}\">{}</span>", esc(status))
}

/// A rule's badge, the same in the table and in its details: a failure that does not block is
/// a warning.
fn rule_badge(rule: &crate::RuleReport) -> String {
    if !rule.status.is_ok() && !rule.blocking {
        badge("warn")
    } else {
        badge(rule.status.as_str())
    }
}

/// Colours of the chart: matched, missing, extra, changed.
const COLORS: [(&str, &str); 4] = [
    ("matched", "#2da44e"),
    ("missing", "#cf222e"),
    ("extra", "#bf8700"),
    ("changed", "#8250df"),
];

/// A horizontal stacked bar per table: matched / missing / extra / changed, on a log-free linear
/// scale of the larger side's rows.
fn chart(r: &Report) -> String {
    let rows: Vec<(&str, [u64; 4])> = r
        .tables
        .iter()
        .filter_map(|t| {
            t.counts
                .as_ref()
                .map(|c| (t.name.as_str(), [c.matched, c.missing, c.extra, c.changed]))
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let (label_w, bar_w, row_h) = (170.0, 760.0, 26.0);
    let height = rows.len() as f64 * row_h + 10.0;
    let mut s = format!(
        "<svg role=\"img\" aria-label=\"Rows per table: matched, missing, extra, changed\" width=\"{}\" height=\"{height}\" viewBox=\"0 0 {} {height}\" xmlns=\"http://www.w3.org/2000/svg\" font-family=\"system-ui, sans-serif\" font-size=\"12\">",
        label_w + bar_w + 120.0,
        label_w + bar_w + 120.0
    );
    for (i, (name, counts)) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let total: u64 = counts.iter().sum::<u64>().max(1);
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            label_w - 8.0,
            y + 14.0,
            esc(name)
        );
        let mut x = label_w;
        for (k, (what, color)) in COLORS.iter().enumerate() {
            if counts[k] == 0 {
                continue;
            }
            // Differences are rare against matches: give each kind at least 3 px so it shows.
            let w = (counts[k] as f64 / total as f64 * bar_w).max(3.0);
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"18\" fill=\"{color}\"><title>{}: {} {what}</title></rect>",
                esc(name),
                counts[k]
            );
            x += w;
        }
        let differences = counts[1] + counts[2] + counts[3];
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" fill=\"#57606a\">{}</text>",
            x + 6.0,
            y + 14.0,
            if differences == 0 {
                "all match".to_string()
            } else {
                format!("{differences} differ")
            }
        );
    }
    s.push_str("</svg>");
    let legend: String = COLORS
        .iter()
        .map(|(w, c)| format!("<span><i style=\"background:{c}\"></i>{w}</span>"))
        .collect();
    format!("<div class=\"legend\">{legend}</div>{s}")
}

pub(crate) fn render(r: &Report) -> String {
    let mut o = String::new();
    document_head(&mut o, r);
    title(&mut o, r);
    history(&mut o, r);
    checklist(&mut o, r);
    tables(&mut o, r);
    for t in &r.tables {
        table(&mut o, t);
    }
    rules(&mut o, r);
    o.push_str("</main></body></html>\n");
    o
}

/// The document head: title and the inline style (no external resource).
fn document_head(o: &mut String, r: &Report) {
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Migration check: {}</title><style>{STYLE}</style></head><body><main>",
        esc(r.status.as_str())
    );
}

/// The verdict, the sides, and the summary cards.
fn title(o: &mut String, r: &Report) {
    let s = &r.summary;
    let failing_rules = r.rules.iter().filter(|x| !x.status.is_ok()).count();
    let _ = write!(
        o,
        "<h1>Migration check <span class=\"verdict {class}\">{status}</span></h1><p class=\"meta\">{}{}{}source {} <code>{}</code> ({}) · target {} <code>{}</code> ({}) · {} · report format {}</p>",
        match (&r.run.label, &r.run.at) {
            (Some(l), Some(at)) => format!("<b>{}</b>, started {} · ", esc(l), esc(at)),
            (Some(l), None) => format!("<b>{}</b> · ", esc(l)),
            (None, Some(at)) => format!("started {} · ", esc(at)),
            (None, None) => String::new(),
        },
        if r.complete {
            ""
        } else {
            "<b>INCOMPLETE: the run was interrupted.</b> "
        },
        if r.fail_on == cutover_check::Severity::Warn {
            "warnings block go-live · "
        } else {
            ""
        },
        esc(&r.source.engine),
        esc(&r.source.url),
        esc(&r.source.transport),
        esc(&r.target.engine),
        esc(&r.target.url),
        esc(&r.target.transport),
        esc(&r.tool),
        r.format_version,
        status = esc(r.status.as_str()),
        class = match r.status {
            cutover_check::Verdict::Go => "GO",
            cutover_check::Verdict::GoWithWarnings => "GO-warn",
            cutover_check::Verdict::NoGo => "NO-GO",
        }
    );
    let _ = write!(
        o,
        "<div class=\"cards\"><div class=\"card\"><b>{} / {}</b>tables match</div><div class=\"card\"><b>{}</b>tables differ</div><div class=\"card\"><b>{}</b>not checked</div><div class=\"card\"><b>{} / {}</b>rules pass</div><div class=\"card\"><b>{}</b>rows read (source)</div>{}</div>",
        s.matched,
        s.tables,
        s.differ,
        s.failed,
        r.rules.len() - failing_rules,
        r.rules.len(),
        s.source_rows,
        match (s.schema_errors, s.schema_warnings) {
            (0, 0) => String::new(),
            (e, w) => format!("<div class=\"card\"><b>{e} / {w}</b>schema errors / warnings</div>"),
        }
    );
}

/// What changed since the previous rehearsal.
fn history(o: &mut String, r: &Report) {
    if let Some(h) = &r.history
        && let Some(prev) = &h.previous_label
    {
        let _ = write!(
            o,
            "<h2>Since {} <span class=\"meta\">{}</span></h2>",
            esc(prev),
            esc(h.previous_at.as_deref().unwrap_or(""))
        );
        if h.trends.is_empty() {
            o.push_str("<p>No change.</p>");
        } else {
            o.push_str("<table><tr><th>subject</th><th>metric</th><th class=\"n\">before</th><th class=\"n\">after</th><th>trend</th></tr>");
            for t in &h.trends {
                let class = match t.verdict.as_str() {
                    "improved" | "fixed" => "ok",
                    "worse" | "new failure" => "bad",
                    _ => "none",
                };
                let _ = write!(
                    o,
                    "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td><span class=\"badge {class}\">{}</span></td></tr>",
                    esc(&t.subject),
                    esc(&t.metric),
                    esc(&t.before),
                    esc(&t.after),
                    esc(&t.verdict)
                );
            }
            o.push_str("</table>");
        }
    }
}

/// The go-live checklist.
fn checklist(o: &mut String, r: &Report) {
    o.push_str("<h2>Go-live checklist: initial solution content</h2><table><tr><th>item</th><th>status</th><th>evidence</th></tr>");
    for item in &r.checklist {
        let evidence = if item.failed.is_empty() {
            esc(&item.checks.join(", "))
        } else {
            format!("failed: {}", esc(&item.failed.join(", ")))
        };
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{evidence}</td></tr>",
            esc(&item.title),
            badge(item.status.as_str())
        );
    }
    o.push_str("</table>");
}

/// The chart and one row per table.
fn tables(o: &mut String, r: &Report) {
    o.push_str("<h2>Tables</h2>");
    o.push_str(&chart(r));
    o.push_str("<table><tr><th>table</th><th>status</th><th class=\"n\">source</th><th class=\"n\">target</th><th class=\"n\">matched</th><th class=\"n\">missing</th><th class=\"n\">extra</th><th class=\"n\">changed</th><th class=\"n\">dup. keys</th></tr>");
    for t in &r.tables {
        let _ = write!(
            o,
            "<tr><td><a href=\"#t-{0}\">{0}</a></td><td>{1}</td>",
            esc(&t.name),
            badge(t.status.as_str())
        );
        match &t.counts {
            Some(c) => {
                for v in c.summary_row() {
                    let _ = write!(o, "<td class=\"n\">{v}</td>");
                }
            }
            None => o.push_str("<td colspan=\"7\"></td>"),
        }
        o.push_str("</tr>");
    }
    o.push_str("</table>");
}

/// One table's drill-down, open when it does not match.
fn table(o: &mut String, t: &TableReport) {
    let _ = write!(
        o,
        "<details id=\"t-{0}\"{1}><summary>{0} {2}</summary>",
        esc(&t.name),
        if t.status.is_ok()
            && t.schema
                .iter()
                .all(|f| f.level == cutover_check::schema::SchemaLevel::Info)
        {
            ""
        } else {
            " open"
        },
        badge(t.status.as_str())
    );
    if let Some(e) = &t.error {
        table_error(o, e);
    } else {
        table_meta(o, t);
        table_schema(o, t);
        table_columns(o, t);
        table_diagnosis(o, t);
        table_samples(o, t);
        table_value_problems(o, t);
    }
    o.push_str("</details>");
}

/// Why a table could not be checked.
fn table_error(o: &mut String, e: &TableError) {
    let _ = write!(o, "<p>{}</p>", esc(&e.message));
    if let Some(h) = &e.hint {
        let _ = write!(o, "<p class=\"meta\">hint: {}</p>", esc(h));
    }
}

/// Where a table's rows come from: source, key, depth.
fn table_meta(o: &mut String, t: &TableReport) {
    let _ = write!(
        o,
        "<p class=\"meta\">source <code>{}</code>{} · key {} · depth: {} / {}</p>",
        esc(t.source_query.as_deref().unwrap_or(&t.source_name)),
        t.source_url
            .as_ref()
            .map(|u| format!(" at <code>{}</code>", esc(u)))
            .unwrap_or_default(),
        esc(&t.key.join(", ")),
        esc(t.source_where.as_deref().unwrap_or("all rows")),
        esc(t.target_where.as_deref().unwrap_or("all rows"))
    );
    if let Some(how) = t.compared.as_ref().and_then(|c| c.summary()) {
        let _ = write!(o, "<p class=\"meta\">{}</p>", esc(&how));
    }
    // Columns left out of the comparison: a reader must see that they were not checked.
    for (what, cols) in [
        (
            "source columns not compared (no target column maps to them)",
            &t.unmapped_source_columns,
        ),
        ("target columns ignored", &t.ignored_columns),
    ] {
        if !cols.is_empty() {
            let shown: Vec<String> = cols
                .iter()
                .map(|c| format!("<code>{}</code>", esc(c)))
                .collect();
            let _ = write!(o, "<p class=\"meta\">{what}: {}</p>", shown.join(", "));
        }
    }
}

/// The schema comparison: what the target declares differently, errors first.
fn table_schema(o: &mut String, t: &TableReport) {
    if t.schema.is_empty() {
        return;
    }
    o.push_str("<p><b>Schema</b></p><table><tr><th>level</th><th>column</th><th>source</th><th>target</th><th>what it means</th></tr>");
    for f in &t.schema {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            badge(f.level.as_str()),
            esc(f.column.as_deref().unwrap_or("")),
            esc(f.source.as_deref().unwrap_or("—")),
            esc(f.target.as_deref().unwrap_or("—")),
            esc(&f.message)
        );
    }
    o.push_str("</table>");
}

/// The columns that differ or are normalised.
fn table_columns(o: &mut String, t: &TableReport) {
    let flagged: Vec<_> = t
        .columns
        .iter()
        .filter(|c| c.changed_rows > 0 || !c.normalizations.is_empty() || c.incompatible)
        .collect();
    if !flagged.is_empty() {
        o.push_str("<p><b>Columns</b> (those that differ, are normalised or cannot hold equal values)</p><table><tr><th>column</th><th>source</th><th>types</th><th>compared as</th><th class=\"n\">changed rows</th><th>normalised</th></tr>");
        for c in flagged {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{} → {}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                esc(&c.name),
                esc(c.source_expr.as_deref().unwrap_or(&c.source_name)),
                esc(&c.source_type),
                esc(&c.target_type),
                esc(&c.compare_as),
                c.changed_rows,
                esc(&c.normalizations.join(", "))
            );
        }
        o.push_str("</table>");
    }
}

/// Why values differ.
fn table_diagnosis(o: &mut String, t: &TableReport) {
    if !t.diagnosis.is_empty() {
        o.push_str("<p><b>Why values differ</b></p><table><tr><th>column</th><th>class</th><th class=\"n\">values</th><th>what they have in common</th><th>suggestion</th></tr>");
        for d in &t.diagnosis {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
                esc(&d.column),
                esc(&d.class),
                d.count,
                esc(&d.what),
                esc(&d.suggestion)
            );
        }
        o.push_str("</table>");
    }
}

/// Sample rows, with the differing values highlighted.
fn table_samples(o: &mut String, t: &TableReport) {
    if let Some(samples) = &t.samples {
        if !samples.changed.is_empty() {
            o.push_str("<p><b>Changed rows</b> (sample; differing values highlighted)</p><table><tr><th>key</th><th>column</th><th>source</th><th>target</th></tr>");
            for ch in &samples.changed {
                for v in &ch.columns {
                    let _ = write!(
                        o,
                        "<tr class=\"diff\"><td>{}</td><td>{}</td><td class=\"src\">{}</td><td class=\"tgt\">{}</td></tr>",
                        esc(&crate::show_key(&ch.key)),
                        esc(&v.column),
                        esc(&show_changed(&v.source)),
                        esc(&show_changed(&v.target))
                    );
                }
            }
            o.push_str("</table>");
        }
        for (title, rows) in [
            ("Missing on the target", &samples.missing),
            ("Extra on the target", &samples.extra),
        ] {
            if rows.is_empty() {
                continue;
            }
            let _ = write!(o, "<p><b>{title}</b> (sample)</p><table><tr>");
            for (k, _) in rows[0].values.iter() {
                let _ = write!(o, "<th>{}</th>", esc(k));
            }
            o.push_str("</tr>");
            for row in rows {
                o.push_str("<tr>");
                for (_, v) in row.values.iter() {
                    let _ = write!(o, "<td>{}</td>", esc(&show(v)));
                }
                o.push_str("</tr>");
            }
            o.push_str("</table>");
        }
        for d in &samples.duplicates {
            let _ = write!(
                o,
                "<p>Duplicate key on the {}: <code>{}</code> × {}</p>",
                esc(&d.side),
                esc(&crate::show_key(&d.key)),
                d.rows
            );
        }
    }
}

/// Values a side could not read as their type.
fn table_value_problems(o: &mut String, t: &TableReport) {
    if let Some(p) = &t.value_problems {
        for line in p.source.iter().chain(&p.target) {
            let _ = write!(o, "<p class=\"meta\">⚠ {}</p>", esc(line));
        }
    }
}

/// Every rule, and each one's drill-down.
fn rules(o: &mut String, r: &Report) {
    if !r.rules.is_empty() {
        o.push_str("<h2>Rules</h2><table><tr><th>rule</th><th>type</th><th>severity</th><th>status</th><th class=\"n\">violations</th><th>threshold</th><th>checklist</th></tr>");
        for rule in &r.rules {
            let status = rule_badge(rule);
            let _ = write!(
                o,
                "<tr><td><a href=\"#r-{0}\">{0}</a></td><td>{1} {2}</td><td>{3}</td><td>{status}</td><td class=\"n\">{4}</td><td>{5}</td><td>{6}</td></tr>",
                esc(&rule.id),
                esc(&rule.code),
                esc(&rule.kind),
                esc(rule.severity.as_str()),
                rule.violations,
                esc(&rule.threshold),
                esc(&rule.checklist)
            );
        }
        o.push_str("</table>");
        for rule in &r.rules {
            let _ = write!(
                o,
                "<details id=\"r-{0}\"{1}><summary>{0} {2}</summary>",
                esc(&rule.id),
                if rule.status.is_ok() { "" } else { " open" },
                rule_badge(rule)
            );
            if let Some(d) = &rule.description {
                let _ = write!(o, "<p>{}</p>", esc(d));
            }
            let _ = write!(o, "<p>{}</p>", esc(&rule.message));
            if !rule.sample.is_empty() {
                // Sample rows may differ in their columns (a reference book's own entries and
                // the codes its users hold): the header is every column, in order of appearance.
                let mut columns: Vec<&str> = Vec::new();
                for row in &rule.sample {
                    for (k, _) in row.iter() {
                        if !columns.contains(&k.as_str()) {
                            columns.push(k);
                        }
                    }
                }
                o.push_str("<table><tr>");
                for k in &columns {
                    let _ = write!(o, "<th>{}</th>", esc(k));
                }
                o.push_str("</tr>");
                for row in &rule.sample {
                    o.push_str("<tr class=\"diff\">");
                    for k in &columns {
                        match row.iter().find(|(name, _)| name.as_str() == *k) {
                            Some((_, v)) => {
                                let _ = write!(o, "<td>{}</td>", esc(&show(v)));
                            }
                            None => o.push_str("<td></td>"),
                        }
                    }
                    o.push_str("</tr>");
                }
                o.push_str("</table>");
            }
            for q in &rule.queries {
                let _ = write!(o, "<p class=\"meta\">query: <code>{}</code></p>", esc(q));
            }
            o.push_str("</details>");
        }
    }
}
