//! JUnit XML, so any CI server shows the results natively: one test case per table comparison
//! and per rule. A difference or a blocking rule is a `<failure>`, a table or rule that could
//! not run is an `<error>`, and a failing rule that does not block (`warn`) passes with its
//! finding in `<system-out>`.

use crate::{Report, RuleReport, TableReport, schema_blocks, show_changed, show_key};
use cutover_check::RuleStatus;
use std::fmt::Write as _;

/// Escapes text for XML attributes and content.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // Characters XML 1.0 cannot hold.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {
                o.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => o.push(c),
        }
    }
    o
}

struct Case {
    name: String,
    time: f64,
    outcome: Outcome,
    body: String,
}

enum Outcome {
    Pass,
    Failure(String, &'static str),
    Error(String),
    PassWithNote,
}

pub(crate) fn render(r: &Report) -> String {
    let tables: Vec<Case> = r.tables.iter().map(table_case).collect();
    let rules: Vec<Case> = r.rules.iter().map(rule_case).collect();
    let schema: Vec<Case> = r
        .tables
        .iter()
        .filter(|t| t.error.is_none())
        .map(|t| schema_case(t, r.fail_on))
        .collect();
    suites(
        r,
        &[("tables", &tables), ("schema", &schema), ("rules", &rules)],
    )
}

/// A table's schema comparison as a test case: a failure when a finding blocks, a note when
/// there are warnings, a pass otherwise.
fn schema_case(t: &TableReport, fail_on: cutover_check::Severity) -> Case {
    let shown: Vec<_> = t
        .schema
        .iter()
        .filter(|f| f.level != cutover_check::schema::SchemaLevel::Info)
        .collect();
    let mut body = String::new();
    for f in &shown {
        let _ = writeln!(body, "{}: {}", f.level, f.line());
    }
    let blocking = shown.iter().filter(|f| schema_blocks(f, fail_on)).count();
    let outcome = match (blocking, shown.len()) {
        (0, 0) => Outcome::Pass,
        (0, _) => Outcome::PassWithNote,
        (n, _) => Outcome::Failure(
            format!(
                "{n} schema {} blocking go-live",
                if n == 1 { "finding" } else { "findings" }
            ),
            "schema",
        ),
    };
    Case {
        name: t.name.clone(),
        time: 0.0,
        outcome,
        body,
    }
}

/// A table comparison as a test case: a failure when it differs, an error when it could not run.
fn table_case(t: &TableReport) -> Case {
    let time = t.elapsed_ms.unwrap_or(0) as f64 / 1000.0;
    match (&t.error, &t.counts) {
        (Some(e), _) => Case {
            name: t.name.clone(),
            time,
            outcome: Outcome::Error(e.message.lines().next().unwrap_or("").to_string()),
            body: format!(
                "{}{}",
                e.message,
                e.hint
                    .as_ref()
                    .map(|h| format!("\nhint: {h}"))
                    .unwrap_or_default()
            ),
        },
        (None, Some(c)) if !t.status.is_ok() => {
            let mut body = format!(
                "source {} rows, target {} rows: {} matched, {} missing, {} extra, {} changed, {} duplicate keys\n",
                c.source_rows,
                c.target_rows,
                c.matched,
                c.missing,
                c.extra,
                c.changed,
                c.source_duplicate_keys + c.target_duplicate_keys
            );
            if let Some(s) = &t.samples {
                for m in &s.missing {
                    let _ = writeln!(body, "missing: {}", show_key(&m.key));
                }
                for x in &s.extra {
                    let _ = writeln!(body, "extra: {}", show_key(&x.key));
                }
                for ch in &s.changed {
                    for v in &ch.columns {
                        let _ = writeln!(
                            body,
                            "changed: {} {}: {} -> {}",
                            show_key(&ch.key),
                            v.column,
                            show_changed(&v.source),
                            show_changed(&v.target)
                        );
                    }
                }
                for d in &s.duplicates {
                    let _ = writeln!(
                        body,
                        "duplicate key on the {}: {} ({} rows)",
                        d.side,
                        show_key(&d.key),
                        d.rows
                    );
                }
            }
            Case {
                name: t.name.clone(),
                time,
                outcome: Outcome::Failure(
                    format!(
                        "{} missing, {} extra, {} changed, {} duplicate keys",
                        c.missing,
                        c.extra,
                        c.changed,
                        c.source_duplicate_keys + c.target_duplicate_keys
                    ),
                    "differ",
                ),
                body,
            }
        }
        _ => Case {
            name: t.name.clone(),
            time,
            outcome: Outcome::Pass,
            body: String::new(),
        },
    }
}

/// A rule as a test case: a failure or an error when it blocks, a note when it fails as a warning.
fn rule_case(rule: &RuleReport) -> Case {
    let mut body = format!("{}\nthreshold: {}\n", rule.message, rule.threshold);
    for row in &rule.sample {
        let _ = writeln!(body, "  {}", show_key(row));
    }
    for q in &rule.queries {
        let _ = writeln!(body, "query: {q}");
    }
    let outcome = match (rule.status, rule.blocking) {
        (RuleStatus::Pass, _) => Outcome::Pass,
        (RuleStatus::Error, true) => Outcome::Error(rule.message.clone()),
        (_, true) => Outcome::Failure(
            format!(
                "{} violations (threshold {})",
                rule.violations, rule.threshold
            ),
            "rule",
        ),
        _ => Outcome::PassWithNote,
    };
    Case {
        name: format!(
            "{} ({} {}, {})",
            rule.id, rule.code, rule.kind, rule.severity
        ),
        time: 0.0,
        outcome,
        body,
    }
}

/// The document: a suite of table cases and a suite of rule cases, with their totals.
fn suites(r: &Report, groups: &[(&str, &[Case])]) -> String {
    let count =
        |cases: &[Case], f: fn(&Outcome) -> bool| cases.iter().filter(|c| f(&c.outcome)).count();
    let failures = |o: &Outcome| matches!(o, Outcome::Failure(..));
    let errors = |o: &Outcome| matches!(o, Outcome::Error(_));
    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let all: Vec<&Case> = groups.iter().flat_map(|(_, cases)| cases.iter()).collect();
    let total = |f: fn(&Outcome) -> bool| groups.iter().map(|(_, c)| count(c, f)).sum::<usize>();
    let _ = writeln!(
        o,
        "<testsuites name=\"cutover {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">",
        esc(r.status.as_str()),
        all.len(),
        total(failures),
        total(errors),
        r.elapsed_ms as f64 / 1000.0
    );
    for &(suite, cases) in groups {
        let time: f64 = cases.iter().map(|c| c.time).sum();
        let _ = writeln!(
            o,
            "  <testsuite name=\"cutover.{suite}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"{time:.3}\">",
            cases.len(),
            count(cases, failures),
            count(cases, errors)
        );
        for c in cases.iter() {
            let _ = write!(
                o,
                "    <testcase classname=\"cutover.{suite}\" name=\"{}\" time=\"{:.3}\"",
                esc(&c.name),
                c.time
            );
            match &c.outcome {
                Outcome::Pass => o.push_str("/>\n"),
                Outcome::Failure(message, kind) => {
                    let _ = writeln!(
                        o,
                        ">\n      <failure message=\"{}\" type=\"{kind}\">{}</failure>\n    </testcase>",
                        esc(message),
                        esc(&c.body)
                    );
                }
                Outcome::Error(message) => {
                    let _ = writeln!(
                        o,
                        ">\n      <error message=\"{}\" type=\"error\">{}</error>\n    </testcase>",
                        esc(message),
                        esc(&c.body)
                    );
                }
                Outcome::PassWithNote => {
                    let _ = writeln!(
                        o,
                        ">\n      <system-out>{}</system-out>\n    </testcase>",
                        esc(&c.body)
                    );
                }
            }
        }
        o.push_str("  </testsuite>\n");
    }
    o.push_str("</testsuites>\n");
    o
}
