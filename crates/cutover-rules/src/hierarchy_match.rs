//! CO107 `hierarchy_match`: every node has the same parent on both sides, streamed across
//! sides through the key mapping.

use crate::cross::{Judge, compare_keyed, judge};
use crate::{Context, Found, Rule, RuleDoc, RuleError};
use cutover_config::RuleConfig;

/// CO107 `hierarchy_match`.
pub(crate) const DOC: RuleDoc = RuleDoc {
    code: "CO107",
    name: "hierarchy_match",
    checks: "Every node has the same parent on both sides, through the key mapping (source_table, source_key, source_parent).",
    why: "An employee moved under another manager, or a department under another division, is a silent change of the organisation.",
    example: "[[rule]]\nid = \"same-managers\"\ntype = \"hierarchy_match\"\ntable = \"employees\"\nkey = [\"id\"]\nparent = \"manager_id\"\nsource_table = \"EMP\"\nsource_key = [\"EMP_ID\"]\nsource_parent = \"MGR_ID\"",
    fix: "Correct the parent mapping; the sample lists nodes with both parents.",
};

impl Rule for cutover_config::HierarchyMatch {
    fn doc() -> &'static RuleDoc {
        &DOC
    }

    fn evaluate(&self, _rule: &RuleConfig, cx: &Context<'_>) -> Result<Found, RuleError> {
        let key = self.key.clone().ok_or_else(|| {
            RuleError::Rule("set key = [\"…\"] (the target's key columns)".into())
        })?;
        let skey = self.source_key.clone().unwrap_or_else(|| key.clone());
        let source_table = self.source_table.as_deref().unwrap_or(&self.table);
        let source_parent = self
            .source_parent
            .clone()
            .unwrap_or_else(|| self.parent.clone());
        let (d, names, queries) = compare_keyed(
            cx,
            (source_table, &[skey, vec![source_parent]].concat()),
            (
                &self.table,
                &[key.clone(), vec![self.parent.clone()]].concat(),
            ),
            key.len(),
        )?;
        Ok(judge(&d, &names, key.len(), queries, Judge::HierarchyMatch))
    }
}
