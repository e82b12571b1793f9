//! CO104 `accepted_values`: a column's values come from a list or a reference table, counted in
//! the database.

use crate::eval::{conditions, count_and_sample};
use crate::{Context, Found, Rule, RuleDoc, RuleError};
use cutover_config::RuleConfig;
use cutover_source::Fragment;

/// CO104 `accepted_values`.
pub(crate) const DOC: RuleDoc = RuleDoc {
    code: "CO104",
    name: "accepted_values",
    checks: "A column's values come from a list (values = [...]) or from a reference table (values_table, values_column). NULL passes.",
    why: "Translated codes that fell through a mapping gap keep their legacy value, which the new system does not know.",
    example: "[[rule]]\nid = \"order-status-known\"\ntype = \"accepted_values\"\ntable = \"orders\"\ncolumns = [\"status\"]\nvalues = [\"OPEN\", \"PAID\", \"SHIPPED\", \"CLOSED\"]",
    fix: "Add the missing translation to the value map, or the value to the reference table.",
};

impl Rule for cutover_config::AcceptedValues {
    fn doc() -> &'static RuleDoc {
        &DOC
    }

    fn evaluate(&self, rule: &RuleConfig, cx: &Context<'_>) -> Result<Found, RuleError> {
        let mut conn = cx.open(cx.side(rule.side))?;
        let what = "evaluate an accepted_values rule";
        let column = &self.columns[0];
        let c = conditions(conn.as_mut(), &self.table, what)?;
        let cond = match (&self.values, &self.values_table) {
            (Some(values), _) => c.not_in_list(column, values),
            (None, Some(vt)) => {
                c.not_in_table(column, vt, self.values_column.as_deref().unwrap_or(column))
            }
            (None, None) => {
                return Err(RuleError::Rule(
                    "accepted_values needs values or values_table".into(),
                ));
            }
        };
        let filter = self.filter.as_deref().map(Fragment::new);
        count_and_sample(
            cx,
            conn.as_mut(),
            &self.table,
            &self.columns,
            cond,
            filter.as_ref(),
            what,
        )
    }
}
