//! The rehearsal history as the report sees it: this run as a record, and the trend against
//! the previous run.

use crate::{HistoryReport, Report, RunInfo, Trend};
use cutover_check::outcome::{RuleRecord, RunRecord, TableRecord};

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
        self.run = RunInfo {
            label: Some(label.to_string()),
            at: Some(at.to_string()),
        };
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
