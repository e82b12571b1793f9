//! CO110 `sql`: a custom query returns no violating rows, or two scalar queries agree.

use crate::eval::{columns_of, sample};
use crate::{Context, Found, Rule, RuleDoc, RuleError};
use cutover_check::decimal::{Decimal, within};
use cutover_config::RuleConfig;
use cutover_source::{FragmentKind, dialect};

/// CO110 `sql`.
pub(crate) const DOC: RuleDoc = RuleDoc {
    code: "CO110",
    name: "sql",
    checks: "A custom query on `side` returns the violating rows (it passes when it returns none), or two scalar queries (source_query, target_query) return equal values.",
    why: "Every migration has business rules no generic check knows.",
    example: "[[rule]]\nid = \"no-future-orders\"\ntype = \"sql\"\nquery = \"SELECT id, order_date FROM orders WHERE order_date > CURRENT_DATE\"",
    fix: "As the rule's description says; the sample shows the rows the query returned.",
};

impl Rule for cutover_config::SqlRule {
    fn doc() -> &'static RuleDoc {
        &DOC
    }

    fn evaluate(&self, rule: &RuleConfig, cx: &Context<'_>) -> Result<Found, RuleError> {
        let place = |key: &str| format!("rule {}: {key}", rule.id);
        if let Some(query) = &self.query {
            let mut conn = cx.open(cx.side(rule.side))?;
            let query = conn.fragment(FragmentKind::Query, &place("query"), query)?;
            let count_sql = dialect::count_query_sql(&query);
            let violations = conn.require_sql("run an sql rule")?.count(&count_sql)?;
            let columns = columns_of(conn.as_mut(), None, Some(&query), &[])?;
            let n = columns.len();
            let req = cx.request("query", Some(query), columns, n, None);
            let rows = if violations > 0 {
                sample(conn.as_mut(), &req, cx.sides.sample_size)?
            } else {
                vec![]
            };
            return Ok(Found {
                violations,
                checked: None,
                message: format!("the query returned {violations} rows"),
                sample: rows,
                queries: vec![count_sql, conn.read_sql(&req)],
            });
        }
        // Two scalars, one per side.
        let mut values = Vec::new();
        let mut queries = Vec::new();
        for (at, key, q) in [
            (&cx.sides.source, "source_query", &self.source_query),
            (&cx.sides.target, "target_query", &self.target_query),
        ] {
            let q = q.clone().unwrap_or_default();
            let mut conn = cx.open(at)?;
            let query = conn.fragment(FragmentKind::Query, &place(key), &q)?;
            let columns = columns_of(conn.as_mut(), None, Some(&query), &[])?;
            let first = columns.into_iter().take(1).collect::<Vec<_>>();
            let req = cx.request("query", Some(query), first, 0, None);
            let rows = sample(conn.as_mut(), &req, 1)?;
            values.push(
                rows.first()
                    .and_then(|r| r.first())
                    .and_then(|(_, v)| v.clone()),
            );
            queries.push(q);
        }
        // Numbers are compared exactly, in decimal; anything else as text.
        let number = |v: &Option<String>| v.as_deref().and_then(Decimal::parse);
        let tolerance = |t: Option<f64>| Decimal::from_f64(t.unwrap_or(0.0));
        let equal = match (number(&values[0]), number(&values[1])) {
            (Some(a), Some(b)) => match (
                tolerance(self.tolerance),
                tolerance(self.relative_tolerance),
            ) {
                (Some(abs), Some(rel)) => within(&a, &b, &abs, &rel),
                _ => {
                    return Err(RuleError::Rule(
                        "a tolerance must be a finite number".into(),
                    ));
                }
            },
            _ => values[0] == values[1],
        };
        Ok(Found {
            violations: u64::from(!equal),
            checked: Some(1),
            message: format!("source {:?}, target {:?}", values[0], values[1]),
            sample: vec![vec![
                ("source".into(), values[0].clone()),
                ("target".into(), values[1].clone()),
            ]],
            queries,
        })
    }
}
