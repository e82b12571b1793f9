//! Consistency rules, beside the table comparisons. Each rule type is a module with its stable
//! code and documentation ([`RuleDoc`], printed by `cutover explain`) and its evaluation, behind
//! one trait ([`Rule`]) implemented for the type's spec. On one database a rule runs as SQL
//! there (built by the dialect, counted and sampled through the read-only connectors); across
//! sides or files it streams both sides through the two-sided read pipeline of
//! `cutover-source`, in bounded memory. A rule that cannot run is an error, never a pass.

mod accepted_values;
mod aggregate_match;
pub mod catalogue;
mod cross;
mod eval;
mod foreign_key;
mod hierarchy;
mod hierarchy_match;
mod not_null;
mod reference_complete;
mod row_count;
mod sql;
mod unique;

use cutover_check::{RuleStatus, Severity};
use cutover_config::{RuleConfig, RuleSpec};
use cutover_source::Endpoint;
use std::sync::atomic::AtomicBool;

/// The documentation of one rule type.
#[derive(Debug)]
pub struct RuleDoc {
    /// Stable code, e.g. `CO101`.
    pub code: &'static str,
    /// The `type` key's value.
    pub name: &'static str,
    /// What it checks.
    pub checks: &'static str,
    /// Why it matters for a migration.
    pub why: &'static str,
    /// A config example.
    pub example: &'static str,
    /// How to fix a failure.
    pub fix: &'static str,
}

/// A rule type: its documentation and its evaluation. Implemented for each type's spec.
pub(crate) trait Rule {
    /// The type's documentation, with its stable code.
    fn doc() -> &'static RuleDoc;
    /// Evaluates the rule (`rule` holds what every rule has: side, thresholds, …).
    fn evaluate(&self, rule: &RuleConfig, cx: &Context<'_>) -> Result<Found, RuleError>;
}

/// Where the sides are, and how rules read them.
#[derive(Debug, Clone)]
pub struct Sides {
    /// The source side.
    pub source: Endpoint,
    /// The target side.
    pub target: Endpoint,
    /// Samples kept per rule.
    pub sample_size: usize,
    /// Rows per batch.
    pub batch_rows: usize,
    /// Sort memory of a file reader.
    pub memory_budget: usize,
}

/// What an evaluation needs.
pub(crate) struct Context<'a> {
    pub(crate) sides: &'a Sides,
    pub(crate) cancel: &'a AtomicBool,
}

/// Why a rule could not run.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// A side could not be read.
    #[error(transparent)]
    Source(#[from] cutover_source::SourceError),
    /// A cross-side comparison failed.
    #[error(transparent)]
    Diff(#[from] cutover_check::DiffError<cutover_source::SourceError>),
    /// Configured SQL that is not one read-only part of one statement.
    #[error(transparent)]
    Fragment(#[from] cutover_source::FragmentError),
    /// The rule names something the side does not have, or lacks a key it needs here.
    #[error("{0}")]
    Rule(String),
}

/// The result of one rule.
#[derive(Debug, Clone)]
pub struct RuleResult {
    /// The rule's id.
    pub id: String,
    /// The rule type's code, e.g. `CO101`.
    pub code: &'static str,
    /// The rule type, e.g. `foreign_key`.
    pub kind: &'static str,
    /// `error` or `warn`.
    pub severity: Severity,
    /// The checklist item it closes.
    pub checklist: String,
    /// The rule's description.
    pub description: Option<String>,
    /// Pass, fail or error.
    pub status: RuleStatus,
    /// Exact count of violations.
    pub violations: u64,
    /// Rows (or entries, groups) checked, when known.
    pub checked: Option<u64>,
    /// The threshold in words: `0`, `≤ 5`, `≤ 0.1%`.
    pub threshold: String,
    /// What was found, in words.
    pub message: String,
    /// Sample of failing rows: column → value (`None` is NULL).
    pub sample: Vec<Vec<(String, Option<String>)>>,
    /// The queries it ran (or what it read).
    pub queries: Vec<String>,
}

/// What an evaluation found.
pub(crate) struct Found {
    pub(crate) violations: u64,
    pub(crate) checked: Option<u64>,
    pub(crate) message: String,
    pub(crate) sample: Vec<Vec<(String, Option<String>)>>,
    pub(crate) queries: Vec<String>,
}

/// The documentation and evaluation of a rule's type: the one dispatch on the type.
fn dispatch(rule: &RuleConfig, cx: &Context<'_>) -> (&'static RuleDoc, Result<Found, RuleError>) {
    fn go<R: Rule>(
        spec: &R,
        rule: &RuleConfig,
        cx: &Context<'_>,
    ) -> (&'static RuleDoc, Result<Found, RuleError>) {
        (R::doc(), spec.evaluate(rule, cx))
    }
    match &rule.spec {
        RuleSpec::ForeignKey(s) => go(s, rule, cx),
        RuleSpec::Unique(s) => go(s, rule, cx),
        RuleSpec::NotNull(s) => go(s, rule, cx),
        RuleSpec::AcceptedValues(s) => go(s, rule, cx),
        RuleSpec::ReferenceComplete(s) => go(s, rule, cx),
        RuleSpec::Hierarchy(s) => go(s, rule, cx),
        RuleSpec::HierarchyMatch(s) => go(s, rule, cx),
        RuleSpec::AggregateMatch(s) => go(s, rule, cx),
        RuleSpec::RowCount(s) => go(s, rule, cx),
        RuleSpec::Sql(s) => go(s, rule, cx),
    }
}

/// Evaluates every rule, in order.
pub fn evaluate(rules: &[RuleConfig], sides: &Sides, cancel: &AtomicBool) -> Vec<RuleResult> {
    evaluate_with(rules, sides, cancel, &|_, _| {})
}

/// [`evaluate`], calling `done(i, result)` as rule `i` (from 0) gets its result.
pub fn evaluate_with(
    rules: &[RuleConfig],
    sides: &Sides,
    cancel: &AtomicBool,
    done: &dyn Fn(usize, &RuleResult),
) -> Vec<RuleResult> {
    let cx = Context { sides, cancel };
    rules
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let (doc, found) = dispatch(rule, &cx);
            let threshold = match (rule.max_count, rule.max_fraction) {
                (Some(n), _) => format!("≤ {n}"),
                (None, Some(f)) => format!("≤ {}%", f * 100.0),
                (None, None) => "0".to_string(),
            };
            let (status, found) = match found {
                Err(e) => (
                    RuleStatus::Error,
                    Found {
                        violations: 0,
                        checked: None,
                        message: format!("could not run: {e}"),
                        sample: vec![],
                        queries: vec![],
                    },
                ),
                Ok(f) => {
                    let allowed = match (rule.max_count, rule.max_fraction, f.checked) {
                        (Some(n), _, _) => n,
                        (None, Some(frac), Some(total)) => (frac * total as f64).floor() as u64,
                        _ => 0,
                    };
                    let status = if f.violations <= allowed {
                        RuleStatus::Pass
                    } else {
                        RuleStatus::Fail
                    };
                    (status, f)
                }
            };
            let result = RuleResult {
                id: rule.id.clone(),
                code: doc.code,
                kind: doc.name,
                severity: rule.severity,
                checklist: rule.checklist_item().to_string(),
                description: rule.description.clone(),
                status,
                violations: found.violations,
                checked: found.checked,
                threshold,
                message: found.message,
                sample: found.sample,
                queries: found.queries,
            };
            done(i, &result);
            result
        })
        .collect()
}
