//! CO102 `unique`: no two rows share the columns' values, counted in the database.

use crate::eval::pushdown;
use crate::{Context, Found, Rule, RuleDoc, RuleError};
use cutover_config::RuleConfig;

/// CO102 `unique`.
pub(crate) const DOC: RuleDoc = RuleDoc {
    code: "CO102",
    name: "unique",
    checks: "No two rows share the same values in the columns (rows with a NULL in them are not compared).",
    why: "Legacy systems often had no constraint; a duplicated login or code breaks lookups in the new system or makes a later unique index fail.",
    example: "[[rule]]\nid = \"logins-unique\"\ntype = \"unique\"\ntable = \"users\"\ncolumns = [\"login\"]",
    fix: "Merge or rename the duplicates in the source, or deduplicate in the migration; the sample lists duplicated rows.",
};

impl Rule for cutover_config::Unique {
    fn doc() -> &'static RuleDoc {
        &DOC
    }

    fn evaluate(&self, rule: &RuleConfig, cx: &Context<'_>) -> Result<Found, RuleError> {
        pushdown(
            cx,
            rule,
            (&self.table, &self.columns),
            self.filter.as_deref(),
            "evaluate a unique rule",
            |c, filter| Ok(c.duplicated(&self.columns, filter)),
        )
    }
}
