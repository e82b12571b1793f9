//! The report: the one place that defines serialised output. [`model`] is the versioned
//! shape; [`Report::build`] makes it from a run's outcome and rule results; each format renders
//! it, one module per format made of one function per section ([`Report::to_json`], schema
//! `docs/report.schema.json`; [`Report::to_markdown`], [`Report::to_html`],
//! [`Report::to_junit`], [`Report::to_terminal`]). [`export`] writes every difference of a
//! table (`--export-diffs`). Everything is in a deterministic order (tables in config order,
//! samples in key order).

mod build;
pub mod events;
pub mod export;
mod history;
pub mod model;
mod render;
#[cfg(test)]
mod tests;

pub use model::*;
use render::{html, junit, markdown, terminal};
use serde_json::Value as Json;

impl Report {
    /// True for GO.
    pub fn is_go(&self) -> bool {
        self.status.is_go()
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

/// Renders a JSON value for text reports: NULL for null, the string otherwise.
pub(crate) fn show(v: &Json) -> String {
    match v {
        Json::Null => "NULL".to_string(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Renders a changed value so that a difference hidden in invisible characters shows: a text
/// with white space at either end, or any tab, line break, non-breaking space, control or
/// zero-width character, is quoted with those characters escaped (`"Bob "`, `"a\u{a0}b"`);
/// an empty text is `""`.
pub(crate) fn show_changed(v: &Json) -> String {
    let Json::String(s) = v else {
        return show(v);
    };
    let invisible = |c: char| {
        (c.is_whitespace() && c != ' ')
            || c.is_control()
            || matches!(
                c,
                '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
            )
    };
    // An empty text is as invisible as white space: `""`, so it never reads as nothing.
    let edges =
        s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace);
    if !edges && !s.chars().any(invisible) {
        return s.clone();
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if invisible(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Renders a key map as `id=1, line=2`.
pub(crate) fn show_key(key: &Ordered) -> String {
    key.iter()
        .map(|(k, v)| format!("{k}={}", show(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// True when a finding of the schema comparison blocks go-live under `fail_on`.
pub(crate) fn schema_blocks(
    f: &cutover_check::schema::SchemaFinding,
    fail_on: cutover_check::Severity,
) -> bool {
    f.level
        .weight()
        .is_some_and(|(s, sev)| cutover_check::outcome::rule_blocks(s, sev, fail_on))
}
