//! CO108 `aggregate_match`: an aggregate per group computed by each side's engine, and the
//! groups compared across sides (a tolerance on the aggregate).

use crate::cross::{Judge, compare_reads, judge};
use crate::eval::{columns_of, configured};
use crate::{Context, Found, Rule, RuleDoc, RuleError};
use cutover_check::diff::Tolerance;
use cutover_config::RuleConfig;
use cutover_source::{Connector, Fragment, FragmentKind, dialect};

/// CO108 `aggregate_match`.
pub(crate) const DOC: RuleDoc = RuleDoc {
    code: "CO108",
    name: "aggregate_match",
    checks: "An aggregate (count(*), sum, min, max, count(distinct …)) per group is equal on both sides within tolerance / relative_tolerance; groups on one side only are reported.",
    why: "Totals per month and per department are what finance signs off; they catch a lost month or a wrong sign that row samples may not show.",
    example: "[[rule]]\nid = \"totals-per-currency\"\ntype = \"aggregate_match\"\ntable = \"orders\"\ngroup_by = [\"currency_code\"]\naggregate = \"sum(total)\"\nsource_table = \"ORD\"\nsource_group_by = [\"CURR_CD\"]\nsource_aggregate = \"sum(TOTAL)\"\ntolerance = 0.01",
    fix: "Drill into the listed groups with a table comparison.",
};

impl Rule for cutover_config::AggregateMatch {
    fn doc() -> &'static RuleDoc {
        &DOC
    }

    fn evaluate(&self, rule: &RuleConfig, cx: &Context<'_>) -> Result<Found, RuleError> {
        let source_table = self.source_table.as_deref().unwrap_or(&self.table);
        let what = "compute an aggregate_match";
        let mut src = cx.open(&cx.sides.source)?;
        let mut tgt = cx.open(&cx.sides.target)?;
        // Configured expressions, checked for the side that runs them.
        let exprs = |conn: &mut dyn Connector, key: &str, v: &[String]| {
            v.iter()
                .map(|e| {
                    conn.fragment(
                        FragmentKind::Expression,
                        &format!("rule {}: {key}", rule.id),
                        e,
                    )
                })
                .collect::<Result<Vec<Fragment>, _>>()
        };
        let group = exprs(tgt.as_mut(), "group_by", &self.group_by)?;
        let sgroup = exprs(
            src.as_mut(),
            "source_group_by",
            self.source_group_by.as_deref().unwrap_or(&self.group_by),
        )?;
        let agg = exprs(
            tgt.as_mut(),
            "aggregate",
            std::slice::from_ref(&self.aggregate),
        )?
        .remove(0);
        let sagg = exprs(
            src.as_mut(),
            "source_aggregate",
            std::slice::from_ref(self.source_aggregate.as_ref().unwrap_or(&self.aggregate)),
        )?
        .remove(0);
        let swhere = configured(
            src.as_mut(),
            rule,
            "source_where",
            self.source_where.as_deref(),
        )?;
        let twhere = configured(
            tgt.as_mut(),
            rule,
            "target_where",
            self.target_where.as_deref(),
        )?;
        let sq = dialect::aggregate_sql(
            src.require_sql(what)?.dialect(),
            source_table,
            &sgroup,
            &sagg,
            swhere.as_ref(),
        );
        let tq = dialect::aggregate_sql(
            tgt.require_sql(what)?.dialect(),
            &self.table,
            &group,
            &agg,
            twhere.as_ref(),
        );
        let scols = columns_of(src.as_mut(), None, Some(&sq), &[])?;
        let tcols = columns_of(tgt.as_mut(), None, Some(&tq), &[])?;
        let mut names: Vec<String> = self.group_by.clone();
        names.push(self.aggregate.clone());
        let n = self.group_by.len();
        let sreq = cx.request("query", Some(sq), scols, n, None);
        let treq = cx.request("query", Some(tq), tcols, n, None);
        let tolerance = match (self.tolerance, self.relative_tolerance) {
            (None, None) => None,
            (a, r) => Some(
                Tolerance::new(a.unwrap_or(0.0), r.unwrap_or(0.0))
                    .ok_or_else(|| RuleError::Rule("a tolerance must be a finite number".into()))?,
            ),
        };
        let mut tolerances: Vec<Option<Tolerance>> = vec![None; names.len()];
        tolerances[names.len() - 1] = tolerance;
        let (d, queries) = compare_reads(cx, (src, sreq), (tgt, treq), n, tolerances)?;
        Ok(judge(&d, &names, n, queries, Judge::AggregateMatch))
    }
}
