//! CO109 `row_count`: the row counts of the two sides agree within a tolerance, counted in
//! each database.

use crate::eval::configured;
use crate::{Context, Found, Rule, RuleDoc, RuleError};
use cutover_config::RuleConfig;
use cutover_source::{Condition, dialect};

/// CO109 `row_count`.
pub(crate) const DOC: RuleDoc = RuleDoc {
    code: "CO109",
    name: "row_count",
    checks: "The row counts of the two sides agree within tolerance (rows) or relative_tolerance, for tables that are not compared row by row.",
    why: "Large logs and histories may be out of scope for row comparison, but losing half of them is still a defect.",
    example: "[[rule]]\nid = \"audit-log-count\"\ntype = \"row_count\"\ntable = \"audit_log\"\nsource_table = \"AUDIT\"\nrelative_tolerance = 0.001",
    fix: "Find the missing range with source_where / target_where, then compare it row by row.",
};

impl Rule for cutover_config::RowCount {
    fn doc() -> &'static RuleDoc {
        &DOC
    }

    fn evaluate(&self, rule: &RuleConfig, cx: &Context<'_>) -> Result<Found, RuleError> {
        let mut counts = Vec::new();
        let mut queries = Vec::new();
        for (at, table, key, filter) in [
            (
                &cx.sides.source,
                self.source_table.as_deref().unwrap_or(&self.table),
                "source_where",
                &self.source_where,
            ),
            (
                &cx.sides.target,
                self.table.as_str(),
                "target_where",
                &self.target_where,
            ),
        ] {
            let mut conn = cx.open(at)?;
            let cond = configured(conn.as_mut(), rule, key, filter.as_deref())?
                .map(|f| Condition::All(vec![Condition::Configured(f)]));
            let sql = conn.require_sql("count rows for a row_count rule")?;
            let count_sql = dialect::count_sql(sql.dialect(), table, cond.as_ref());
            counts.push(sql.count(&count_sql)?);
            queries.push(count_sql);
        }
        let diff = counts[0].abs_diff(counts[1]);
        let allowed = self
            .tolerance
            .unwrap_or(0.0)
            .max(self.relative_tolerance.unwrap_or(0.0) * counts[0].max(counts[1]) as f64);
        Ok(Found {
            violations: if diff as f64 <= allowed { 0 } else { diff },
            checked: Some(counts[0]),
            message: format!(
                "source {} rows, target {} rows (difference {diff}, allowed {allowed})",
                counts[0], counts[1]
            ),
            sample: vec![],
            queries,
        })
    }
}
