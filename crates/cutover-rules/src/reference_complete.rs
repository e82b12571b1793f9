//! CO105 `reference_complete`: the new reference book holds every legacy entry (streamed
//! across sides), and every code the fact tables use (a foreign key on the target).

use crate::cross::{Judge, compare_keyed, judge};
use crate::{Context, Found, Rule, RuleDoc, RuleError};
use cutover_config::{ForeignKey, NullPolicy, RuleConfig, RuleSide};

/// CO105 `reference_complete`.
pub(crate) const DOC: RuleDoc = RuleDoc {
    code: "CO105",
    name: "reference_complete",
    checks: "The target reference book (table) holds every entry of the legacy one (source_table) by key, optionally with the same label; and every code used by the fact tables in used_by exists in it.",
    why: "An incomplete reference book (a currency, a country, a unit missing) makes every fact that uses the entry invalid, and is invisible in row counts of the fact tables.",
    example: "[[rule]]\nid = \"currencies-complete\"\ntype = \"reference_complete\"\ntable = \"currencies\"\nkey = [\"code\"]\nsource_table = \"CURR\"\nsource_key = [\"CURR_CD\"]\nused_by = [{ table = \"orders\", columns = [\"currency_code\"] }]",
    fix: "Migrate the missing entries; the sample lists them.",
};

impl Rule for cutover_config::ReferenceComplete {
    fn doc() -> &'static RuleDoc {
        &DOC
    }

    fn evaluate(&self, rule: &RuleConfig, cx: &Context<'_>) -> Result<Found, RuleError> {
        let key = self.key.clone().ok_or_else(|| {
            RuleError::Rule("set key = [\"…\"] (the target's key columns)".into())
        })?;
        let skey = self.source_key.clone().unwrap_or_else(|| key.clone());
        let (extra, sextra) = match &self.label {
            Some(l) => (
                vec![l.clone()],
                vec![self.source_label.clone().unwrap_or_else(|| l.clone())],
            ),
            None => (vec![], vec![]),
        };
        let (d, names, queries) = compare_keyed(
            cx,
            (&self.source_table, &[skey, sextra].concat()),
            (&self.table, &[key.clone(), extra].concat()),
            key.len(),
        )?;
        let mut found = judge(&d, &names, key.len(), queries, Judge::ReferenceComplete);
        // Every code the fact tables use exists in the new reference book.
        for used in self.used_by.clone().unwrap_or_default() {
            let fk = ForeignKey {
                table: used.table.clone(),
                columns: used.columns.clone(),
                parent_table: self.table.clone(),
                parent_columns: Some(key.clone()),
                parent_side: None,
                parent_url: None,
                nulls: NullPolicy::Ignore,
                filter: None,
            };
            let fk_rule = RuleConfig {
                side: RuleSide::Target,
                ..rule.clone()
            };
            let orphans = fk.evaluate(&fk_rule, cx)?;
            found.violations += orphans.violations;
            found.message.push_str(&format!("; {}", orphans.message));
            found
                .sample
                .extend(orphans.sample.into_iter().map(|mut row| {
                    row.push((
                        "finding".into(),
                        Some(format!("used by {} but not in {}", used.table, self.table)),
                    ));
                    row
                }));
            found.queries.extend(orphans.queries);
        }
        Ok(found)
    }
}
