//! CO103 `not_null`: none of the columns is NULL, counted in the database.

use crate::eval::pushdown;
use crate::{Context, Found, Rule, RuleDoc, RuleError};
use cutover_config::RuleConfig;

/// CO103 `not_null`.
pub(crate) const DOC: RuleDoc = RuleDoc {
    code: "CO103",
    name: "not_null",
    checks: "None of the columns is NULL.",
    why: "Mandatory fields left empty by a mapping gap pass a row count but break the business process that needs them.",
    example: "[[rule]]\nid = \"orders-have-currency\"\ntype = \"not_null\"\ntable = \"orders\"\ncolumns = [\"currency_code\"]",
    fix: "Map the column, or supply the agreed default in the migration.",
};

impl Rule for cutover_config::NotNull {
    fn doc() -> &'static RuleDoc {
        &DOC
    }

    fn evaluate(&self, rule: &RuleConfig, cx: &Context<'_>) -> Result<Found, RuleError> {
        pushdown(
            cx,
            rule,
            (&self.table, &self.columns),
            self.filter.as_deref(),
            "evaluate a not_null rule",
            |c, _| Ok(c.any_null(&self.columns)),
        )
    }
}
