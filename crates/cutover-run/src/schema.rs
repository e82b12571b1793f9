//! A table's schema comparison: both sides' catalogues read at plan time, the config's column
//! pairing applied, and [`cutover_check::schema::compare`] run on them. NULLs are counted on
//! the source (within `source_where`) only where the target column is NOT NULL and the source
//! column allows NULL.

use crate::{ColumnPlan, TablePlan};
use cutover_check::schema::{
    self, ColumnShape, Constraint, ConstraintKind, Pairing, SchemaFinding, SchemaKind, SchemaLevel,
    TableShape,
};
use cutover_config::TableConfig;
use cutover_source::{Condition, Connector, TableCatalog, dialect};

/// A side's declaration of a table, with source names mapped to target names by `rename`.
fn shape(
    side: &mut dyn Connector,
    catalog: &TableCatalog,
    rename: &dyn Fn(&str) -> String,
) -> TableShape {
    let files = side.engine().is_file();
    let mut constraints = Vec::new();
    if !catalog.primary_key.is_empty() {
        constraints.push(Constraint {
            kind: ConstraintKind::PrimaryKey,
            columns: catalog.primary_key.iter().map(|c| rename(c)).collect(),
            references: None,
        });
    }
    for i in &catalog.indexes {
        constraints.push(Constraint {
            kind: if i.unique {
                ConstraintKind::Unique
            } else {
                ConstraintKind::Index
            },
            columns: i.columns.iter().map(|c| rename(c)).collect(),
            references: None,
        });
    }
    for f in &catalog.foreign_keys {
        constraints.push(Constraint {
            kind: ConstraintKind::ForeignKey,
            columns: f.columns.iter().map(|c| rename(c)).collect(),
            references: Some(format!("{} ({})", f.table, f.ref_columns.join(", "))),
        });
    }
    TableShape {
        engine: side.engine().name().to_string(),
        columns: catalog
            .columns
            .iter()
            .map(|c| ColumnShape {
                name: c.name.clone(),
                type_name: c.type_name.clone(),
                nullable: c.nullable,
                default: c.default.clone(),
            })
            .collect(),
        constraints: (!files).then_some(constraints),
        declares_nulls: !files,
        declares_types: side.engine() != cutover_source::Engine::Csv,
    }
}

fn unreadable(side: &str, message: String) -> SchemaFinding {
    SchemaFinding {
        level: SchemaLevel::Warn,
        kind: SchemaKind::NotCompared,
        column: None,
        source: None,
        target: None,
        message: format!("the {side} schema could not be read, so it was not compared: {message}"),
    }
}

/// The schema findings of a planned table, the rows the engines' statistics estimate (the
/// larger side), and whether both sides declare the key unique. `count_nulls` allows counting a source column's NULLs (a `COUNT(*)` on the
/// source); without it such a column is reported as not counted.
pub(crate) fn findings(
    t: &TableConfig,
    plan: &TablePlan,
    src: &mut dyn Connector,
    tgt: &mut dyn Connector,
    count_nulls: bool,
) -> (Vec<SchemaFinding>, Option<u64>, bool, [bool; 2]) {
    let target = match tgt.catalog(&plan.name) {
        Ok(Some(c)) => c,
        Ok(None) => {
            return (
                vec![unreadable("target", "the table was not found".into())],
                None,
                false,
                [false; 2],
            );
        }
        Err(e) => {
            return (
                vec![unreadable("target", e.to_string())],
                None,
                false,
                [false; 2],
            );
        }
    };
    let mut estimate = target.estimated_rows;
    let key: Vec<&ColumnPlan> = plan.columns[..plan.key_len].iter().collect();
    let mut key_unique =
        plan.key_len > 0 && unique(&target, key.iter().map(|c| c.target.name.as_str()));
    let mut key_primary = [
        false,
        plan.key_len > 0 && primary(&target, key.iter().map(|c| c.target.name.as_str())),
    ];
    let pairs: Vec<Pairing> = plan
        .columns
        .iter()
        .map(|c| Pairing {
            source: c.source.expr.is_none().then(|| c.source.name.clone()),
            target: c.target.name.clone(),
        })
        .collect();
    let rename = |s: &str| {
        pairs
            .iter()
            .find(|p| {
                p.source
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(s))
            })
            .map_or_else(|| s.to_string(), |p| p.target.clone())
    };
    let source = if plan.source_query.is_some() {
        // A query's result declares no nullability, keys or indexes.
        key_unique = false;
        TableShape {
            engine: src.engine().name().to_string(),
            columns: plan
                .columns
                .iter()
                .map(|c| ColumnShape {
                    name: c.source.name.clone(),
                    type_name: c.source.type_name.clone(),
                    nullable: true,
                    default: None,
                })
                .collect(),
            constraints: None,
            declares_nulls: false,
            declares_types: src.engine() != cutover_source::Engine::Csv,
        }
    } else {
        match src.catalog(&plan.source_name) {
            Ok(Some(c)) => {
                estimate = estimate.max(c.estimated_rows);
                key_unique &= unique(&c, key.iter().map(|c| c.source.name.as_str()));
                key_primary[0] = primary(&c, key.iter().map(|c| c.source.name.as_str()));
                shape(src, &c, &rename)
            }
            Ok(None) => {
                let f = unreadable("source", "the table was not found".into());
                return (vec![f], estimate, false, [false; 2]);
            }
            Err(e) => {
                return (
                    vec![unreadable("source", e.to_string())],
                    estimate,
                    false,
                    [false; 2],
                );
            }
        }
    };
    let target = shape(tgt, &target, &|s: &str| s.to_string());
    let mut nulls = |column: &str| -> Option<u64> {
        if !count_nulls {
            return None;
        }
        let sql = src.sql()?;
        let d = sql.dialect();
        let cond = Condition::filtered(
            plan.source_where.as_ref(),
            format!("{} IS NULL", d.quote_ident(column)),
        );
        sql.count(&dialect::count_sql(d, &plan.source_name, Some(&cond)))
            .ok()
    };
    let found = schema::compare(
        &source,
        &target,
        schema::Context {
            pairs: &pairs,
            dropped: &t.drop,
            ignored: &plan.ignored,
            source_nulls: &mut nulls,
        },
    );
    (found, estimate, key_unique, key_primary)
}

/// True when `columns` are the catalogue's whole primary key (compared case-insensitively), in
/// key order.
fn primary<'a>(catalog: &TableCatalog, columns: impl Iterator<Item = &'a str>) -> bool {
    let want: Vec<&str> = columns.collect();
    want.len() == catalog.primary_key.len()
        && want
            .iter()
            .zip(&catalog.primary_key)
            .all(|(w, p)| w.eq_ignore_ascii_case(p))
}

/// True when `columns` are the catalogue's primary key, or one of its unique indexes over
/// NOT NULL columns (in any order, compared case-insensitively). A unique index admits any
/// number of NULLs, and a NULL key falls in no key range.
fn unique<'a>(catalog: &TableCatalog, columns: impl Iterator<Item = &'a str>) -> bool {
    let mut want: Vec<String> = columns.map(str::to_ascii_lowercase).collect();
    want.sort();
    let same = |cols: &[String]| {
        let mut have: Vec<String> = cols.iter().map(|c| c.to_ascii_lowercase()).collect();
        have.sort();
        have == want
    };
    let not_null = want.iter().all(|w| {
        catalog
            .columns
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(w) && !c.nullable)
    });
    same(&catalog.primary_key)
        || not_null && catalog.indexes.iter().any(|i| i.unique && same(&i.columns))
}
