//! Every rule type with its stable code and documentation, as `cutover explain` prints it. The
//! documentation lives in each type's module; this is the list.

use crate::RuleDoc;

/// All rule types, by code.
pub const RULES: &[&RuleDoc] = &[
    &crate::foreign_key::DOC,
    &crate::unique::DOC,
    &crate::not_null::DOC,
    &crate::accepted_values::DOC,
    &crate::reference_complete::DOC,
    &crate::hierarchy::DOC,
    &crate::hierarchy_match::DOC,
    &crate::aggregate_match::DOC,
    &crate::row_count::DOC,
    &crate::sql::DOC,
];

/// The documentation of a code (`CO101`) or type name (`foreign_key`), case-insensitively.
pub fn find(code_or_name: &str) -> Option<&'static RuleDoc> {
    RULES
        .iter()
        .find(|r| {
            r.code.eq_ignore_ascii_case(code_or_name) || r.name.eq_ignore_ascii_case(code_or_name)
        })
        .copied()
}

/// The explanation as `cutover explain` prints it.
pub fn explain(doc: &RuleDoc) -> String {
    format!(
        "{code} {name}\n\nWhat it checks:\n  {checks}\n\nWhy it matters:\n  {why}\n\nExample:\n{example}\n\nHow to fix:\n  {fix}\n\nCommon keys: severity = \"error\" | \"warn\", checklist = \"…\", max_count, max_fraction, description.\n",
        code = doc.code,
        name = doc.name,
        checks = doc.checks,
        why = doc.why,
        example = doc
            .example
            .lines()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
        fix = doc.fix,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_in_order_and_examples_parse() {
        for (i, doc) in RULES.iter().enumerate() {
            assert_eq!(doc.code, format!("CO{}", 101 + i), "{}", doc.name);
            let rules = cutover_config::RuleFile::parse(doc.example, "example")
                .unwrap_or_else(|e| panic!("{}: {e}", doc.name))
                .rules;
            assert_eq!(rules[0].spec.type_name(), doc.name);
            assert_eq!(find(doc.name).map(|d| d.code), Some(doc.code));
        }
    }
}
