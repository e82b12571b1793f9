//! Every rule type with its stable code and its documentation, as `cutover explain` prints it.

use cutover_config::RuleKind;

/// The documentation of one rule type.
pub struct RuleDoc {
    /// Stable code, e.g. `CO101`.
    pub code: &'static str,
    /// The kind.
    pub kind: RuleKind,
    /// The `type` key's value.
    pub name: &'static str,
    /// What it checks.
    pub checks: &'static str,
    /// Why it matters for a migration.
    pub why: &'static str,
    /// A config example.
    pub example: &'static str,
    /// How to fix a failure.
    pub fix: &'static str,
}

/// All rule types, by code.
pub const RULES: &[RuleDoc] = &[
    RuleDoc {
        code: "CO101",
        kind: RuleKind::ForeignKey,
        name: "foreign_key",
        checks: "Every child row's columns exist as a key in the parent table (no orphans). Composite keys are allowed. NULL child values are ignored, or counted as violations with nulls = \"violation\". Parent and child may be on different sides, or the parent may be a file (parent_url = \"csv://exports\"). With both tables on one database it runs as one NOT EXISTS query there; otherwise both key streams are read in key order and anti-joined with bounded memory.",
        why: "A migration that loads facts before their masters, or filters masters by a different depth, leaves orders without customers: the new system then shows broken screens or silently drops the rows.",
        example: "[[rule]]\nid = \"orders-have-customers\"\ntype = \"foreign_key\"\ntable = \"orders\"\ncolumns = [\"customer_id\"]\nparent_table = \"customers\"\nparent_columns = [\"id\"]",
        fix: "Migrate the missing parents (check their migration depth), or delete or re-link the orphans; the sample lists the orphan keys.",
    },
    RuleDoc {
        code: "CO102",
        kind: RuleKind::Unique,
        name: "unique",
        checks: "No two rows share the same values in the columns (rows with a NULL in them are not compared).",
        why: "Legacy systems often had no constraint; a duplicated login or code breaks lookups in the new system or makes a later unique index fail.",
        example: "[[rule]]\nid = \"logins-unique\"\ntype = \"unique\"\ntable = \"users\"\ncolumns = [\"login\"]",
        fix: "Merge or rename the duplicates in the source, or deduplicate in the migration; the sample lists duplicated rows.",
    },
    RuleDoc {
        code: "CO103",
        kind: RuleKind::NotNull,
        name: "not_null",
        checks: "None of the columns is NULL.",
        why: "Mandatory fields left empty by a mapping gap pass a row count but break the business process that needs them.",
        example: "[[rule]]\nid = \"orders-have-currency\"\ntype = \"not_null\"\ntable = \"orders\"\ncolumns = [\"currency_code\"]",
        fix: "Map the column, or supply the agreed default in the migration.",
    },
    RuleDoc {
        code: "CO104",
        kind: RuleKind::AcceptedValues,
        name: "accepted_values",
        checks: "A column's values come from a list (values = [...]) or from a reference table (values_table, values_column). NULL passes.",
        why: "Translated codes that fell through a mapping gap keep their legacy value, which the new system does not know.",
        example: "[[rule]]\nid = \"order-status-known\"\ntype = \"accepted_values\"\ntable = \"orders\"\ncolumns = [\"status\"]\nvalues = [\"OPEN\", \"PAID\", \"SHIPPED\", \"CLOSED\"]",
        fix: "Add the missing translation to the value map, or the value to the reference table.",
    },
    RuleDoc {
        code: "CO105",
        kind: RuleKind::ReferenceComplete,
        name: "reference_complete",
        checks: "The target reference book (table) holds every entry of the legacy one (source_table) by key, optionally with the same label; and every code used by the fact tables in used_by exists in it.",
        why: "An incomplete reference book (a currency, a country, a unit missing) makes every fact that uses the entry invalid, and is invisible in row counts of the fact tables.",
        example: "[[rule]]\nid = \"currencies-complete\"\ntype = \"reference_complete\"\ntable = \"currencies\"\nkey = [\"code\"]\nsource_table = \"CURR\"\nsource_key = [\"CURR_CD\"]\nused_by = [{ table = \"orders\", columns = [\"currency_code\"] }]",
        fix: "Migrate the missing entries; the sample lists them.",
    },
    RuleDoc {
        code: "CO106",
        kind: RuleKind::Hierarchy,
        name: "hierarchy",
        checks: "A self-referencing table (departments, employees and managers) is a tree: no node is its own parent, every parent exists, there are no cycles (the cycle's members are reported), at most max_roots roots (default 1) and, if set, no deeper than max_depth levels.",
        why: "A broken organisation structure breaks approval chains, access rights and reports that walk the tree; a cycle can hang them.",
        example: "[[rule]]\nid = \"departments-tree\"\ntype = \"hierarchy\"\ntable = \"departments\"\nkey = [\"id\"]\nparent = \"parent_id\"\nmax_depth = 6",
        fix: "Correct the parent of the listed nodes in the source or the migration.",
    },
    RuleDoc {
        code: "CO107",
        kind: RuleKind::HierarchyMatch,
        name: "hierarchy_match",
        checks: "Every node has the same parent on both sides, through the key mapping (source_table, source_key, source_parent).",
        why: "An employee moved under another manager, or a department under another division, is a silent change of the organisation.",
        example: "[[rule]]\nid = \"same-managers\"\ntype = \"hierarchy_match\"\ntable = \"employees\"\nkey = [\"id\"]\nparent = \"manager_id\"\nsource_table = \"EMP\"\nsource_key = [\"EMP_ID\"]\nsource_parent = \"MGR_ID\"",
        fix: "Correct the parent mapping; the sample lists nodes with both parents.",
    },
    RuleDoc {
        code: "CO108",
        kind: RuleKind::AggregateMatch,
        name: "aggregate_match",
        checks: "An aggregate (count(*), sum, min, max, count(distinct …)) per group is equal on both sides within tolerance / relative_tolerance; groups on one side only are reported.",
        why: "Totals per month and per department are what finance signs off; they catch a lost month or a wrong sign that row samples may not show.",
        example: "[[rule]]\nid = \"totals-per-currency\"\ntype = \"aggregate_match\"\ntable = \"orders\"\ngroup_by = [\"currency_code\"]\naggregate = \"sum(total)\"\nsource_table = \"ORD\"\nsource_group_by = [\"CURR_CD\"]\nsource_aggregate = \"sum(TOTAL)\"\ntolerance = 0.01",
        fix: "Drill into the listed groups with a table comparison.",
    },
    RuleDoc {
        code: "CO109",
        kind: RuleKind::RowCount,
        name: "row_count",
        checks: "The row counts of the two sides agree within tolerance (rows) or relative_tolerance, for tables that are not compared row by row.",
        why: "Large logs and histories may be out of scope for row comparison, but losing half of them is still a defect.",
        example: "[[rule]]\nid = \"audit-log-count\"\ntype = \"row_count\"\ntable = \"audit_log\"\nsource_table = \"AUDIT\"\nrelative_tolerance = 0.001",
        fix: "Find the missing range with source_where / target_where, then compare it row by row.",
    },
    RuleDoc {
        code: "CO110",
        kind: RuleKind::Sql,
        name: "sql",
        checks: "A custom query on `side` returns the violating rows (it passes when it returns none), or two scalar queries (source_query, target_query) return equal values.",
        why: "Every migration has business rules no generic check knows.",
        example: "[[rule]]\nid = \"no-future-orders\"\ntype = \"sql\"\nquery = \"SELECT id, order_date FROM orders WHERE order_date > CURRENT_DATE\"",
        fix: "As the rule's description says; the sample shows the rows the query returned.",
    },
];

/// The documentation of a code (`CO101`) or type name (`foreign_key`), case-insensitively.
pub fn find(code_or_name: &str) -> Option<&'static RuleDoc> {
    RULES.iter().find(|r| {
        r.code.eq_ignore_ascii_case(code_or_name) || r.name.eq_ignore_ascii_case(code_or_name)
    })
}

/// The documentation of a kind.
pub fn of(kind: RuleKind) -> &'static RuleDoc {
    RULES
        .iter()
        .find(|r| r.kind == kind)
        .expect("every kind is documented")
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
