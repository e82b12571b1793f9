//! The short terminal summary: one line per table, the verdict, the first problems.

use crate::{Report, show_changed, show_key};
use cutover_check::schema::SchemaLevel;
use cutover_check::{ChecklistStatus, RuleStatus, TableStatus};
use std::fmt::Write as _;

fn paint(s: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// The terminal width the summary keeps within.
const WIDTH: usize = 80;

/// Writes `prefix` (which may hold colour codes; `prefix_width` is what it shows) then `text`,
/// wrapped at spaces within [`WIDTH`] columns, continuation lines indented by `indent`.
fn wrap(o: &mut String, prefix: &str, prefix_width: usize, text: &str, indent: usize) {
    o.push_str(prefix);
    let mut col = prefix_width;
    for (i, word) in text.split(' ').enumerate() {
        let len = word.chars().count();
        if i > 0 {
            if col + 1 + len > WIDTH && col > indent {
                o.push('\n');
                o.push_str(&" ".repeat(indent));
                col = indent;
            } else {
                o.push(' ');
                col += 1;
            }
        }
        o.push_str(word);
        col += len;
    }
    o.push('\n');
}

pub(crate) fn render(r: &Report, color: bool) -> String {
    let mut o = String::new();
    tables(&mut o, r, color);
    rules(&mut o, r, color);
    checklist(&mut o, r, color);
    let findings = findings(r);
    if !findings.is_empty() {
        let _ = writeln!(o, "\nfindings:");
        for f in findings.iter().take(12) {
            wrap(&mut o, "  - ", 4, f, 4);
        }
        if findings.len() > 12 {
            let _ = writeln!(o, "  … {} more in the report", findings.len() - 12);
        }
    }
    history(&mut o, r);
    verdict(&mut o, r, color);
    o
}

/// One line per table with its counts and status; each column as wide as its widest figure.
fn tables(o: &mut String, r: &Report, color: bool) {
    const HEADERS: [&str; 7] = [
        "source", "target", "matched", "missing", "extra", "changed", "dups",
    ];
    let rows: Vec<Vec<String>> = r
        .tables
        .iter()
        .map(|t| match &t.counts {
            Some(c) => c.summary_row().iter().map(u64::to_string).collect(),
            None => vec!["-".to_string(); 7],
        })
        .collect();
    let w = r
        .tables
        .iter()
        .map(|t| t.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let widths: Vec<usize> = HEADERS
        .iter()
        .enumerate()
        .map(|(i, h)| {
            rows.iter()
                .map(|r| r[i].len())
                .max()
                .unwrap_or(0)
                .max(h.len())
        })
        .collect();
    let _ = write!(o, "{:<w$}", "table");
    for (h, width) in HEADERS.iter().zip(&widths) {
        let _ = write!(o, "  {h:>width$}");
    }
    let _ = writeln!(o, "  status");
    for (t, figures) in r.tables.iter().zip(&rows) {
        let status = match t.status {
            TableStatus::Match => paint("match", "32", color),
            TableStatus::Differ => paint("DIFFER", "31", color),
            other => paint(&other.as_str().to_uppercase(), "31;1", color),
        };
        let _ = write!(o, "{:<w$}", t.name);
        for (f, width) in figures.iter().zip(&widths) {
            let _ = write!(o, "  {f:>width$}");
        }
        let _ = writeln!(o, "  {status}");
    }
}

/// One line per rule.
fn rules(o: &mut String, r: &Report, color: bool) {
    if !r.rules.is_empty() {
        let id_w = r
            .rules
            .iter()
            .map(|r| r.id.chars().count())
            .max()
            .unwrap_or(0);
        let kind_w = r.rules.iter().map(|r| r.kind.len()).max().unwrap_or(0);
        let count_w = r
            .rules
            .iter()
            .map(|r| r.violations.to_string().len())
            .max()
            .unwrap_or(1);
        let _ = writeln!(o, "\nrules:");
        for rule in &r.rules {
            let status = match rule.status {
                RuleStatus::Pass => paint("pass", "32", color),
                other if rule.blocking => paint(&other.as_str().to_uppercase(), "31;1", color),
                other => paint(other.as_str(), "33", color),
            };
            let _ = writeln!(
                o,
                "  {:<id_w$} {} {:<kind_w$} {:>count_w$} {:<10} {status}",
                rule.id,
                rule.code,
                rule.kind,
                rule.violations,
                if rule.violations == 1 {
                    "violation"
                } else {
                    "violations"
                }
            );
        }
    }
}

/// The go-live checklist, one line per item.
fn checklist(o: &mut String, r: &Report, color: bool) {
    let _ = writeln!(o, "\nchecklist:");
    for item in &r.checklist {
        let (word, code) = match item.status {
            ChecklistStatus::Closed => ("closed", "32"),
            ChecklistStatus::ClosedWithWarnings => ("closed with warnings", "33"),
            ChecklistStatus::Open => ("OPEN", "31;1"),
            other => (other.as_str(), "33"),
        };
        let prefix = format!("  {:<16} {}", item.id, paint(word, code, color));
        let width = 2 + item.id.len().max(16) + 1 + word.len();
        let failed = if item.failed.is_empty() {
            String::new()
        } else {
            format!(": {}", item.failed.join(", "))
        };
        // The failed evidence continues under the status, so a long list stays readable.
        wrap(
            o,
            &prefix,
            width,
            failed.trim_start_matches(' '),
            2 + item.id.len().max(16) + 1,
        );
    }
}

/// The top findings: errors, diagnoses, unreadable values and the first sample of each kind.
fn findings(r: &Report) -> Vec<String> {
    let mut findings = Vec::new();
    for t in &r.tables {
        if let Some(e) = &t.error {
            let mut line = format!("{}: {}", t.name, e.message.lines().next().unwrap_or(""));
            if let Some(h) = &e.hint {
                line.push_str(&format!(" (hint: {h})"));
            }
            findings.push(line);
        }
        if let Some(how) = t.compared.as_ref().and_then(|c| c.summary()) {
            findings.push(format!("{}: {how}", t.name));
        }

        // The diagnosis says which columns changed, how many values, and why.
        for d in &t.diagnosis {
            findings.push(format!(
                "{}.{}: {} {} {} → {}",
                t.name,
                d.column,
                d.count,
                if d.count == 1 { "value" } else { "values" },
                d.what,
                d.suggestion
            ));
        }
        if let Some(p) = &t.value_problems {
            for first in p.source.first().into_iter().chain(p.target.first()) {
                findings.push(format!("{}: {first}", t.name));
            }
        }
        if let Some(s) = &t.samples {
            if let Some(m) = s.missing.first() {
                findings.push(format!(
                    "{}: first missing row: {}",
                    t.name,
                    show_key(&m.key)
                ));
            }
            if let Some(x) = s.extra.first() {
                findings.push(format!("{}: first extra row: {}", t.name, show_key(&x.key)));
            }
            if let Some(c) = s.changed.first()
                && let Some(v) = c.columns.first()
            {
                findings.push(format!(
                    "{}: {} {}: {} -> {}",
                    t.name,
                    show_key(&c.key),
                    v.column,
                    show_changed(&v.source),
                    show_changed(&v.target)
                ));
            }
            if let Some(d) = s.duplicates.first() {
                findings.push(format!(
                    "{}: key {} occurs {} times on the {}",
                    t.name,
                    show_key(&d.key),
                    d.rows,
                    d.side
                ));
            }
        }
    }
    // The schema comparison comes after the differences: what the target cannot hold, and
    // what is not migrated (information stays in the reports).
    for t in &r.tables {
        for f in t.schema.iter().filter(|f| f.level != SchemaLevel::Info) {
            findings.push(format!("{}: schema {}: {}", t.name, f.level, f.line()));
        }
    }
    findings
}

/// What changed since the previous rehearsal.
fn history(o: &mut String, r: &Report) {
    if let Some(h) = &r.history
        && let Some(prev) = &h.previous_label
    {
        if h.trends.is_empty() {
            let _ = writeln!(o, "\nsince {prev}: no change");
        } else {
            let _ = writeln!(o, "\nsince {prev}:");
            for t in h.trends.iter().take(10) {
                let _ = writeln!(
                    o,
                    "  {} {}: {} → {} ({})",
                    t.subject, t.metric, t.before, t.after, t.verdict
                );
            }
            if h.trends.len() > 10 {
                let _ = writeln!(o, "  … {} more in the report", h.trends.len() - 10);
            }
        }
    }
}

/// The verdict line (the last line, which `--quiet` prints alone).
fn verdict(o: &mut String, r: &Report, color: bool) {
    let s = &r.summary;
    let (word, code) = match r.status {
        cutover_check::Verdict::Go => ("GO", "32;1"),
        cutover_check::Verdict::GoWithWarnings => ("GO with warnings", "33;1"),
        cutover_check::Verdict::NoGo => ("NO-GO", "31;1"),
    };
    let tables = format!(
        "{} of {} tables match, {} differ, {} not checked",
        s.matched, s.tables, s.differ, s.failed
    );
    let rules = if r.rules.is_empty() {
        String::new()
    } else {
        let failing = r.rules.iter().filter(|x| !x.status.is_ok()).count();
        let blocking = r.rules.iter().filter(|x| x.blocking).count();
        format!(
            "{} of {} rules pass, {failing} fail ({blocking} blocking)",
            r.rules.len() - failing,
            r.rules.len()
        )
    };
    let schema = match (s.schema_errors, s.schema_warnings) {
        (0, 0) => String::new(),
        (e, w) => format!(
            "; schema: {e} {}, {w} {}",
            if e == 1 { "error" } else { "errors" },
            if w == 1 { "warning" } else { "warnings" }
        ),
    };
    let incomplete = if r.complete {
        ""
    } else {
        " (INCOMPLETE: interrupted)"
    };
    let _ = write!(o, "\n{}: {tables}", paint(word, code, color));
    // Each further part goes on a line of its own when it does not fit on the current one.
    let mut line = word.len() + 2 + tables.len();
    for part in [rules.as_str(), schema.trim_start_matches("; ")] {
        if part.is_empty() {
            continue;
        }
        if line + 2 + part.len() + incomplete.len() > WIDTH {
            let _ = write!(o, ";\n  {part}");
            line = 2 + part.len();
        } else {
            let _ = write!(o, "; {part}");
            line += 2 + part.len();
        }
    }
    let _ = writeln!(o, "{incomplete}");
}
