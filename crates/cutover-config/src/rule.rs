//! The rule schema: what every rule has ([`RuleConfig`]'s own fields) and what each type needs
//! ([`RuleSpec`], one struct per type). Each type's struct denies unknown keys and requires its
//! own, so a typo or a missing key is reported per type, with the rule's id and line.

use crate::Severity;
use serde::Deserialize;

/// Which side a rule reads.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum RuleSide {
    /// The legacy side.
    Source,
    /// The new side (default).
    #[default]
    Target,
}

/// What a NULL child value means to a foreign key.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum NullPolicy {
    /// Not checked (default).
    #[default]
    Ignore,
    /// A violation.
    Violation,
}

/// A table whose codes must exist in a reference book.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UsedBy {
    /// The fact table (target).
    pub table: String,
    /// Its code columns, in the order of the reference book's key.
    pub columns: Vec<String>,
}

/// One rule: what every rule has, and its type's specification.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleConfig {
    /// A unique name, shown in reports.
    pub id: String,
    /// `error` (default) or `warn`.
    pub severity: Severity,
    /// The checklist item this rule closes (default by type).
    pub checklist: Option<String>,
    /// What the rule is for, in words.
    pub description: Option<String>,
    /// The side the rule reads (default `target`).
    pub side: RuleSide,
    /// Violations that still pass (default 0).
    pub max_count: Option<u64>,
    /// Violations, as a fraction of the rows checked, that still pass.
    pub max_fraction: Option<f64>,
    /// What the rule checks, by type.
    pub spec: RuleSpec,
}

/// The keys every rule may have, whatever its type.
pub const COMMON_KEYS: &[&str] = &[
    "id",
    "type",
    "severity",
    "checklist",
    "description",
    "side",
    "max_count",
    "max_fraction",
];

/// What a rule checks, one variant per type (`type = "foreign_key"`, …).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RuleSpec {
    /// Child columns must exist in the parent (no orphans).
    ForeignKey(ForeignKey),
    /// Columns are unique.
    Unique(Unique),
    /// Columns are never NULL.
    NotNull(NotNull),
    /// A column's values come from a list or a reference table.
    AcceptedValues(AcceptedValues),
    /// The target reference book holds every legacy entry, and every used code.
    ReferenceComplete(ReferenceComplete),
    /// A self-referencing table is a sane tree.
    Hierarchy(Hierarchy),
    /// Every node has the same parent on both sides.
    HierarchyMatch(HierarchyMatch),
    /// An aggregate per group is equal on both sides.
    AggregateMatch(AggregateMatch),
    /// Row counts agree within a tolerance.
    RowCount(RowCount),
    /// A custom query returns no violating rows, or two scalars agree.
    Sql(SqlRule),
}

/// `foreign_key`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ForeignKey {
    /// The child table.
    pub table: String,
    /// The child's columns.
    pub columns: Vec<String>,
    /// The parent table.
    pub parent_table: String,
    /// The parent's key columns (default: the child's column names).
    pub parent_columns: Option<Vec<String>>,
    /// The parent's side (default: the rule's side).
    pub parent_side: Option<RuleSide>,
    /// The parent lives elsewhere (`csv://exports` for a reference book export).
    pub parent_url: Option<String>,
    /// A NULL child value is `ignore`d (default) or a `violation`.
    #[serde(default)]
    pub nulls: NullPolicy,
    /// An SQL condition that selects the child rows checked.
    pub filter: Option<String>,
}

/// `unique`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Unique {
    /// The table.
    pub table: String,
    /// The columns whose values must be unique together.
    pub columns: Vec<String>,
    /// An SQL condition that selects the rows checked.
    pub filter: Option<String>,
}

/// `not_null`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NotNull {
    /// The table.
    pub table: String,
    /// The columns that must hold a value.
    pub columns: Vec<String>,
    /// An SQL condition that selects the rows checked.
    pub filter: Option<String>,
}

/// `accepted_values`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AcceptedValues {
    /// The table.
    pub table: String,
    /// The column (one).
    pub columns: Vec<String>,
    /// The accepted values.
    pub values: Option<Vec<String>>,
    /// A reference table whose `values_column` holds the accepted values.
    pub values_table: Option<String>,
    /// The column of `values_table` (default: the checked column's name).
    pub values_column: Option<String>,
    /// An SQL condition that selects the rows checked.
    pub filter: Option<String>,
}

/// `reference_complete`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReferenceComplete {
    /// The target reference book.
    pub table: String,
    /// The legacy reference book.
    pub source_table: String,
    /// The book's key columns (target).
    pub key: Option<Vec<String>>,
    /// The legacy key columns (default: `key`).
    pub source_key: Option<Vec<String>>,
    /// A label column compared too.
    pub label: Option<String>,
    /// The legacy label column (default: `label`).
    pub source_label: Option<String>,
    /// Fact tables whose codes must exist in the book.
    pub used_by: Option<Vec<UsedBy>>,
}

/// `hierarchy`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Hierarchy {
    /// The self-referencing table.
    pub table: String,
    /// The column that names the parent.
    pub parent: String,
    /// The key column (default: the primary key).
    pub key: Option<Vec<String>>,
    /// The most roots allowed (default 1).
    pub max_roots: Option<u64>,
    /// The deepest level allowed (a root is level 1).
    pub max_depth: Option<u64>,
    /// An SQL condition that selects the nodes checked.
    pub filter: Option<String>,
}

/// `hierarchy_match`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HierarchyMatch {
    /// The target table.
    pub table: String,
    /// The target's parent column.
    pub parent: String,
    /// The legacy table (default: `table`).
    pub source_table: Option<String>,
    /// The target's key columns.
    pub key: Option<Vec<String>>,
    /// The legacy key columns (default: `key`).
    pub source_key: Option<Vec<String>>,
    /// The legacy parent column (default: `parent`).
    pub source_parent: Option<String>,
}

/// `aggregate_match`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AggregateMatch {
    /// The target table.
    pub table: String,
    /// The aggregate, e.g. `sum(total)`, `count(*)`.
    pub aggregate: String,
    /// Group expressions on the target.
    #[serde(default)]
    pub group_by: Vec<String>,
    /// The legacy table (default: `table`).
    pub source_table: Option<String>,
    /// The legacy group expressions (default: `group_by`).
    pub source_group_by: Option<Vec<String>>,
    /// The legacy aggregate (default: `aggregate`).
    pub source_aggregate: Option<String>,
    /// A condition on the source.
    pub source_where: Option<String>,
    /// A condition on the target.
    pub target_where: Option<String>,
    /// Largest absolute difference that still passes.
    pub tolerance: Option<f64>,
    /// Largest relative difference that still passes.
    pub relative_tolerance: Option<f64>,
}

/// `row_count`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RowCount {
    /// The target table.
    pub table: String,
    /// The legacy table (default: `table`).
    pub source_table: Option<String>,
    /// A condition on the source.
    pub source_where: Option<String>,
    /// A condition on the target.
    pub target_where: Option<String>,
    /// Largest absolute difference that still passes.
    pub tolerance: Option<f64>,
    /// Largest relative difference that still passes.
    pub relative_tolerance: Option<f64>,
}

/// `sql`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SqlRule {
    /// A query on the rule's side that returns the violating rows.
    pub query: Option<String>,
    /// A scalar query on the source, compared with `target_query`.
    pub source_query: Option<String>,
    /// A scalar query on the target.
    pub target_query: Option<String>,
    /// Largest absolute difference of the scalars that still passes.
    pub tolerance: Option<f64>,
    /// Largest relative difference of the scalars that still passes.
    pub relative_tolerance: Option<f64>,
}

impl RuleSpec {
    /// The `type` key's value.
    pub fn type_name(&self) -> &'static str {
        match self {
            RuleSpec::ForeignKey(_) => "foreign_key",
            RuleSpec::Unique(_) => "unique",
            RuleSpec::NotNull(_) => "not_null",
            RuleSpec::AcceptedValues(_) => "accepted_values",
            RuleSpec::ReferenceComplete(_) => "reference_complete",
            RuleSpec::Hierarchy(_) => "hierarchy",
            RuleSpec::HierarchyMatch(_) => "hierarchy_match",
            RuleSpec::AggregateMatch(_) => "aggregate_match",
            RuleSpec::RowCount(_) => "row_count",
            RuleSpec::Sql(_) => "sql",
        }
    }

    /// The checklist item rules of this type close unless they say otherwise.
    pub fn default_checklist(&self) -> &'static str {
        match self {
            RuleSpec::ReferenceComplete(_) | RuleSpec::AcceptedValues(_) => "reference-books",
            RuleSpec::Hierarchy(_) | RuleSpec::HierarchyMatch(_) => "org-structure",
            RuleSpec::AggregateMatch(_) | RuleSpec::RowCount(_) => "historical-data",
            _ => "completeness",
        }
    }
}

impl RuleConfig {
    /// The target tables this rule reads (its table, a foreign key's parent, a reference book's
    /// users); empty for a rule that only runs queries.
    pub fn tables(&self) -> Vec<&str> {
        match &self.spec {
            RuleSpec::ForeignKey(r) => vec![r.table.as_str(), r.parent_table.as_str()],
            RuleSpec::Unique(r) => vec![&r.table],
            RuleSpec::NotNull(r) => vec![&r.table],
            RuleSpec::AcceptedValues(r) => vec![&r.table],
            RuleSpec::ReferenceComplete(r) => std::iter::once(r.table.as_str())
                .chain(r.used_by.iter().flatten().map(|u| u.table.as_str()))
                .collect(),
            RuleSpec::Hierarchy(r) => vec![&r.table],
            RuleSpec::HierarchyMatch(r) => vec![&r.table],
            RuleSpec::AggregateMatch(r) => vec![&r.table],
            RuleSpec::RowCount(r) => vec![&r.table],
            RuleSpec::Sql(_) => vec![],
        }
    }

    /// Every piece of SQL this rule configures, with the side that runs it.
    pub fn configured_sql(&self) -> Vec<crate::ConfiguredSql<'_>> {
        use RuleSide::{Source, Target};
        let mut items: Vec<(RuleSide, &str, bool, Option<&str>)> = Vec::new();
        match &self.spec {
            RuleSpec::ForeignKey(r) => {
                items.push((self.side, "filter", false, r.filter.as_deref()))
            }
            RuleSpec::Unique(r) => items.push((self.side, "filter", false, r.filter.as_deref())),
            RuleSpec::NotNull(r) => items.push((self.side, "filter", false, r.filter.as_deref())),
            RuleSpec::AcceptedValues(r) => {
                items.push((self.side, "filter", false, r.filter.as_deref()))
            }
            RuleSpec::Hierarchy(r) => items.push((self.side, "filter", false, r.filter.as_deref())),
            RuleSpec::ReferenceComplete(_) | RuleSpec::HierarchyMatch(_) => {}
            RuleSpec::AggregateMatch(r) => {
                for g in &r.group_by {
                    items.push((Target, "group_by", false, Some(g)));
                }
                for g in r.source_group_by.as_deref().unwrap_or(&r.group_by) {
                    items.push((Source, "source_group_by", false, Some(g)));
                }
                items.push((Target, "aggregate", false, Some(&r.aggregate)));
                items.push((
                    Source,
                    "source_aggregate",
                    false,
                    Some(r.source_aggregate.as_deref().unwrap_or(&r.aggregate)),
                ));
                items.push((Source, "source_where", false, r.source_where.as_deref()));
                items.push((Target, "target_where", false, r.target_where.as_deref()));
            }
            RuleSpec::RowCount(r) => {
                items.push((Source, "source_where", false, r.source_where.as_deref()));
                items.push((Target, "target_where", false, r.target_where.as_deref()));
            }
            RuleSpec::Sql(r) => {
                items.push((self.side, "query", true, r.query.as_deref()));
                items.push((Source, "source_query", true, r.source_query.as_deref()));
                items.push((Target, "target_query", true, r.target_query.as_deref()));
            }
        }
        items
            .into_iter()
            .filter_map(|(side, key, query, text)| {
                text.map(|text| crate::ConfiguredSql {
                    side,
                    place: format!("rule {}: {key}", self.id),
                    query,
                    text,
                })
            })
            .collect()
    }

    /// The checklist item: the configured one, or the type's usual one.
    pub fn checklist_item(&self) -> &str {
        self.checklist
            .as_deref()
            .unwrap_or(self.spec.default_checklist())
    }

    /// Checks what the types' structs cannot say: values that must be in a range, keys that
    /// go together.
    pub fn validate(&self) -> Result<(), (String, &'static str)> {
        let id = &self.id;
        if id.trim().is_empty() {
            return Err((
                "a [[rule]] has an empty id".into(),
                "give every rule a unique id",
            ));
        }
        let need = |ok: bool, what: &str, hint: &'static str| {
            if ok {
                Ok(())
            } else {
                Err((format!("rule {id}: {what}"), hint))
            }
        };
        if let Some(f) = self.max_fraction {
            need(
                (0.0..=1.0).contains(&f),
                "max_fraction must be between 0 and 1",
                "write it like max_fraction = 0.001",
            )?;
        }
        let columns =
            |c: &[String], example: &'static str| need(!c.is_empty(), "columns is empty", example);
        match &self.spec {
            RuleSpec::ForeignKey(r) => {
                columns(&r.columns, "write columns = [\"customer_id\"]")?;
                if let Some(p) = &r.parent_columns {
                    need(
                        p.len() == r.columns.len(),
                        "parent_columns and columns differ in length",
                        "name one parent column per child column",
                    )?;
                }
            }
            RuleSpec::Unique(r) => columns(&r.columns, "write columns = [\"login\"]")?,
            RuleSpec::NotNull(r) => columns(&r.columns, "write columns = [\"currency_code\"]")?,
            RuleSpec::AcceptedValues(r) => {
                columns(&r.columns, "write columns = [\"status\"]")?;
                need(
                    r.values.is_some() != r.values_table.is_some(),
                    "needs values or values_table (one of them)",
                    "write values = [\"OPEN\", \"PAID\"] or values_table = \"statuses\"",
                )?;
            }
            RuleSpec::Sql(r) => need(
                r.query.is_some() || (r.source_query.is_some() && r.target_query.is_some()),
                "needs query, or source_query and target_query",
                "write query = \"SELECT … FROM … WHERE <violation>\"",
            )?,
            _ => {}
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for RuleConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RuleConfig;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a [[rule]] table with an id and a type")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RuleConfig, A::Error> {
                use serde::de::Error as _;
                let mut table =
                    toml::Table::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                let id = match table.remove("id") {
                    Some(toml::Value::String(s)) => s,
                    Some(_) => return Err(A::Error::custom("a rule's id must be a string")),
                    None => return Err(A::Error::missing_field("id")),
                };
                let mut take = |key: &str| table.remove(key);
                fn typed<T: serde::de::DeserializeOwned, E: serde::de::Error>(
                    id: &str,
                    key: &str,
                    v: Option<toml::Value>,
                ) -> Result<Option<T>, E> {
                    v.map(|v| {
                        v.try_into().map_err(|e: toml::de::Error| {
                            E::custom(format!("rule {id}: {key}: {}", e.message()))
                        })
                    })
                    .transpose()
                }
                let severity = typed(&id, "severity", take("severity"))?.unwrap_or_default();
                let checklist = typed(&id, "checklist", take("checklist"))?;
                let description = typed(&id, "description", take("description"))?;
                let side = typed(&id, "side", take("side"))?.unwrap_or_default();
                let max_count = typed(&id, "max_count", take("max_count"))?;
                let max_fraction = typed(&id, "max_fraction", take("max_fraction"))?;
                let spec: RuleSpec =
                    toml::Value::Table(table)
                        .try_into()
                        .map_err(|e: toml::de::Error| {
                            A::Error::custom(format!("rule {id}: {}", e.message()))
                        })?;
                Ok(RuleConfig {
                    id,
                    severity,
                    checklist,
                    description,
                    side,
                    max_count,
                    max_fraction,
                    spec,
                })
            }
        }
        d.deserialize_map(Visitor)
    }
}
