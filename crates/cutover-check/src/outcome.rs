//! The typed outcome of a check: the status of each table and rule, rule severity, and the one
//! function that decides the verdict. The exit code, every report format and the tests read the
//! verdict from [`verdict`]; nothing else decides it.

use serde::{Deserialize, Serialize};
use std::fmt;

pub use crate::schema::SchemaLevel;

/// GO: the migration may go live. NO-GO: it may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Every table matched and every rule passed.
    #[serde(rename = "GO")]
    Go,
    /// Every table matched and no rule blocks, but a rule that does not block (a `warn` rule)
    /// failed or could not run: go-live may proceed, and the warnings are to be read.
    #[serde(rename = "GO with warnings")]
    GoWithWarnings,
    /// Something differs, failed, could not be checked, or the run was incomplete.
    #[serde(rename = "NO-GO")]
    NoGo,
}

/// How a table comparison ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableStatus {
    /// Both sides hold exactly the same rows.
    Match,
    /// Rows are missing, extra, changed or duplicated.
    Differ,
    /// The table could not be compared.
    Error,
    /// The run was interrupted before or while the table was compared.
    Interrupted,
}

/// How a rule ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleStatus {
    /// Violations within the threshold.
    Pass,
    /// Violations beyond the threshold.
    Fail,
    /// The rule could not run (missing column, query error): never a pass.
    Error,
}

/// How much a failing rule weighs: `error` blocks go-live; `warn` is reported (and blocks with
/// `--fail-on warn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Blocks go-live.
    #[default]
    Error,
    /// Reported.
    Warn,
}

/// The state of one go-live checklist item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChecklistStatus {
    /// Every check mapped to it passed.
    #[serde(rename = "closed")]
    Closed,
    /// Nothing mapped to it blocks, but a warning rule mapped to it failed.
    #[serde(rename = "closed with warnings")]
    ClosedWithWarnings,
    /// A check mapped to it failed.
    #[serde(rename = "open")]
    Open,
    /// No check maps to it.
    #[serde(rename = "no evidence")]
    NoEvidence,
}

/// A kind of row difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    /// On the source only.
    Missing,
    /// On the target only.
    Extra,
    /// Same key, different values.
    Changed,
}

macro_rules! names {
    ($ty:ty { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            /// The name reports and the history use.
            pub fn as_str(self) -> &'static str {
                match self { $(<$ty>::$variant => $name),* }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

names!(Verdict { Go => "GO", GoWithWarnings => "GO with warnings", NoGo => "NO-GO" });
names!(TableStatus { Match => "match", Differ => "differ", Error => "error", Interrupted => "interrupted" });
names!(RuleStatus { Pass => "pass", Fail => "fail", Error => "error" });
names!(Severity { Error => "error", Warn => "warn" });
names!(ChecklistStatus { Closed => "closed", ClosedWithWarnings => "closed with warnings", Open => "open", NoEvidence => "no evidence" });
names!(DiffKind { Missing => "missing", Extra => "extra", Changed => "changed" });

impl TableStatus {
    /// True for a table that matched exactly.
    pub fn is_ok(self) -> bool {
        self == TableStatus::Match
    }

    /// The status of a name as [`TableStatus::as_str`] gives it (history files).
    pub fn parse(name: &str) -> Option<TableStatus> {
        [Self::Match, Self::Differ, Self::Error, Self::Interrupted]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

impl RuleStatus {
    /// True for a rule that passed.
    pub fn is_ok(self) -> bool {
        self == RuleStatus::Pass
    }

    /// The status of a name as [`RuleStatus::as_str`] gives it (history files).
    pub fn parse(name: &str) -> Option<RuleStatus> {
        [Self::Pass, Self::Fail, Self::Error]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// One run, as the rehearsal history records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// Row id in the history (0 before it is recorded).
    pub id: i64,
    /// When it ran, RFC 3339 UTC.
    pub at: String,
    /// The label given with `--label`, or the run number.
    pub label: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Per table, in report order.
    pub tables: Vec<TableRecord>,
    /// Per rule, in report order.
    pub rules: Vec<RuleRecord>,
}

/// One table of a recorded run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRecord {
    /// The target table.
    pub name: String,
    /// How its comparison ended.
    pub status: TableStatus,
    /// Rows on the source only.
    pub missing: u64,
    /// Rows on the target only.
    pub extra: u64,
    /// Rows that differ.
    pub changed: u64,
    /// Duplicated keys, both sides.
    pub duplicate_keys: u64,
}

/// One rule of a recorded run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRecord {
    /// The rule's id.
    pub id: String,
    /// How it ended.
    pub status: RuleStatus,
    /// Violations.
    pub violations: u64,
}

/// True when a rule with this status and severity blocks go-live, given the lowest severity
/// that blocks (`fail_on`).
pub fn rule_blocks(status: RuleStatus, severity: Severity, fail_on: Severity) -> bool {
    status != RuleStatus::Pass && (severity == Severity::Error || fail_on == Severity::Warn)
}

/// The verdict of a run: GO only when it completed, checked something, every table matched and
/// no rule blocks. A table's schema findings weigh as rules do ([`SchemaLevel::weight`]): an
/// error as a failing `error` rule, a warning as a failing `warn` rule. Anything that could not be checked is NO-GO: never a GO by omission.
pub fn verdict(
    complete: bool,
    tables: &[TableStatus],
    rules: &[(RuleStatus, Severity)],
    fail_on: Severity,
) -> Verdict {
    let go = complete
        && !(tables.is_empty() && rules.is_empty())
        && tables.iter().all(|t| t.is_ok())
        && !rules.iter().any(|&(s, sev)| rule_blocks(s, sev, fail_on));
    if !go {
        Verdict::NoGo
    } else if rules.iter().any(|(s, _)| !s.is_ok()) {
        Verdict::GoWithWarnings
    } else {
        Verdict::Go
    }
}

impl Verdict {
    /// True when go-live may proceed (GO, with or without warnings): exit code 0.
    pub fn is_go(self) -> bool {
        self != Verdict::NoGo
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RuleStatus::*;
    use Severity::{Error as E, Warn as W};

    #[test]
    fn go_needs_a_complete_run_with_evidence_and_nothing_blocking() {
        let m = TableStatus::Match;
        assert_eq!(verdict(true, &[m], &[], E), Verdict::Go);
        assert_eq!(verdict(false, &[m], &[], E), Verdict::NoGo, "interrupted");
        assert_eq!(verdict(true, &[], &[], E), Verdict::NoGo, "nothing checked");
        assert_eq!(
            verdict(true, &[], &[(Pass, E)], E),
            Verdict::Go,
            "rules only"
        );
        for bad in [
            TableStatus::Differ,
            TableStatus::Error,
            TableStatus::Interrupted,
        ] {
            assert_eq!(verdict(true, &[m, bad], &[], E), Verdict::NoGo, "{bad}");
        }
        assert_eq!(
            verdict(true, &[m], &[(Fail, W)], E),
            Verdict::GoWithWarnings
        );
        assert_eq!(verdict(true, &[m], &[(Fail, W)], W), Verdict::NoGo);
        assert_eq!(verdict(true, &[m], &[(Error, E)], E), Verdict::NoGo);
        assert_eq!(
            verdict(true, &[m], &[(Error, W)], E),
            Verdict::GoWithWarnings
        );
        assert!(Verdict::GoWithWarnings.is_go() && !Verdict::NoGo.is_go());
    }

    #[test]
    fn names_round_trip() {
        for s in [
            TableStatus::Match,
            TableStatus::Differ,
            TableStatus::Error,
            TableStatus::Interrupted,
        ] {
            assert_eq!(TableStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in [Pass, Fail, Error] {
            assert_eq!(RuleStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(serde_json::to_value(Verdict::NoGo).unwrap(), "NO-GO");
        assert_eq!(
            serde_json::to_value(ChecklistStatus::NoEvidence).unwrap(),
            "no evidence"
        );
    }
}
