//! CO104 `accepted_values`: a column's values come from a list or a reference table, counted in
//! the database.

use crate::eval::pushdown;
use crate::{Context, Found, Rule, RuleDoc, RuleError};
use cutover_config::RuleConfig;

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
        let column = &self.columns[0];
        pushdown(
            cx,
            rule,
            (&self.table, &self.columns),
            self.filter.as_deref(),
            "evaluate an accepted_values rule",
            |c, _| match (&self.values, &self.values_table) {
                (Some(values), _) => Ok(c.not_in_list(column, values)),
                (None, Some(vt)) => {
                    Ok(c.not_in_table(column, vt, self.values_column.as_deref().unwrap_or(column)))
                }
                (None, None) => Err(RuleError::Rule(
                    "accepted_values needs values or values_table".into(),
                )),
            },
        )
    }
}
