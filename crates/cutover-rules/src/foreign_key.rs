//! CO101 `foreign_key`: no orphans. On one database it runs as one `NOT EXISTS` query there;
//! across sides, or with a file on either end, the distinct child keys and the parent keys are
//! streamed in key order and anti-joined in bounded memory.

use crate::eval::{columns_of, conditions, configured, count_and_sample};
use crate::{Context, Found, Rule, RuleDoc, RuleError};
use cutover_check::{DiffOptions, Kind};
use cutover_config::{NullPolicy, RuleConfig};
use cutover_source::{Condition, dialect};

/// CO101 `foreign_key`.
pub(crate) const DOC: RuleDoc = RuleDoc {
    code: "CO101",
    name: "foreign_key",
    checks: "Every child row's columns exist as a key in the parent table (no orphans). Composite keys are allowed. NULL child values are ignored, or counted as violations with nulls = \"violation\". Parent and child may be on different sides, or the parent may be a file (parent_url = \"csv://exports\"). With both tables on one database it runs as one NOT EXISTS query there; otherwise both key streams are read in key order and anti-joined with bounded memory.",
    why: "A migration that loads facts before their masters, or filters masters by a different depth, leaves orders without customers: the new system then shows broken screens or silently drops the rows.",
    example: "[[rule]]\nid = \"orders-have-customers\"\ntype = \"foreign_key\"\ntable = \"orders\"\ncolumns = [\"customer_id\"]\nparent_table = \"customers\"\nparent_columns = [\"id\"]",
    fix: "Migrate the missing parents (check their migration depth), or delete or re-link the orphans; the sample lists the orphan keys.",
};

impl Rule for cutover_config::ForeignKey {
    fn doc() -> &'static RuleDoc {
        &DOC
    }

    fn evaluate(&self, rule: &RuleConfig, cx: &Context<'_>) -> Result<Found, RuleError> {
        let table = &self.table;
        let cols = &self.columns;
        let parent = &self.parent_table;
        let pcols = self.parent_columns.clone().unwrap_or_else(|| cols.clone());
        let nulls_violate = self.nulls == NullPolicy::Violation;
        let parent_side = self.parent_side.unwrap_or(rule.side);
        let child_at = cx.side(rule.side);
        let parent_at = match &self.parent_url {
            Some(url) => cx.side(parent_side).with_url(url),
            None => cx.side(parent_side).clone(),
        };
        let mut child = cx.open(child_at)?;
        let filter = configured(child.as_mut(), rule, "filter", self.filter.as_deref())?;
        let same_database =
            self.parent_url.is_none() && parent_side == rule.side && child.sql().is_some();
        if same_database {
            let what = "evaluate a foreign_key rule";
            let cond = conditions(child.as_mut(), table, what)?.orphan(
                cols,
                parent,
                &pcols,
                nulls_violate,
            );
            let mut found =
                count_and_sample(cx, child.as_mut(), table, cols, cond, filter.as_ref(), what)?;
            found.message = format!(
                "{} of {} rows of {table} have no parent in {parent}",
                found.violations,
                found.checked.unwrap_or(0)
            );
            return Ok(found);
        }
        // Across sides or files: distinct child keys against parent keys, both in key order.
        let child_cols = columns_of(child.as_mut(), Some(table), None, cols)?;
        // A database child is read as its distinct keys; a file child is read whole (a filter
        // on it is refused by the file connector rather than ignored).
        let (child_query, child_filter) = match child.sql() {
            Some(sql) => (
                Some(dialect::distinct_keys_sql(
                    sql.dialect(),
                    table,
                    cols,
                    filter.as_ref(),
                )),
                None,
            ),
            None => (None, filter.map(Condition::Configured)),
        };
        let mut parent_conn = cx.open(&parent_at)?;
        let parent_cols = columns_of(parent_conn.as_mut(), Some(parent), None, &pcols)?;
        // Compare each key column as the kind both sides agree on.
        let kinds: Vec<Kind> = child_cols
            .iter()
            .zip(&parent_cols)
            .map(|(a, b)| Kind::unify(a.kind, b.kind).unwrap_or(b.kind))
            .collect();
        let mut creq = cx.request(table, child_query, child_cols, cols.len(), child_filter);
        let mut preq = cx.request(parent, None, parent_cols, pcols.len(), None);
        for (i, k) in kinds.iter().enumerate() {
            creq.codecs[i].compare = *k;
            preq.codecs[i].compare = *k;
        }
        let queries = vec![child.read_sql(&creq), parent_conn.read_sql(&preq)];
        drop((child, parent_conn));
        let opts = DiffOptions {
            columns: cols.len(),
            key_columns: cols.len(),
            sample_size: cx.sides.sample_size,
            tolerances: vec![],
        };
        let d = cx.diff((child_at, creq), (&parent_at, preq), &opts)?;
        let nulls_note = if nulls_violate {
            " (NULL keys are not counted across sides)"
        } else {
            ""
        };
        Ok(Found {
            violations: d.missing,
            checked: Some(d.source.rows),
            message: format!(
                "{} of {} distinct keys of {table} have no parent in {parent}{nulls_note}",
                d.missing, d.source.rows
            ),
            sample: d
                .samples
                .missing
                .iter()
                .map(|r| cols.iter().cloned().zip(r.key.iter().cloned()).collect())
                .collect(),
            queries,
        })
    }
}
