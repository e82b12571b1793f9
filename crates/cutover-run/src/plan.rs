//! Resolving one `[[table]]` against both sides' schemas: which columns, in which order, compared
//! as which kind, keyed on what. Every mistake here names the table and column and says what to do.

use crate::FailedTable;
use cutover_check::{ColumnCodec, Kind};
use cutover_config::TableConfig;
use cutover_source::{ColumnInfo, Connection, ReadRequest, TableSchema, ValueMap};
use std::sync::Arc;

/// How many located problems (unmapped codes, unparseable values) a side records per table.
const PROBLEMS_PER_SIDE: usize = 50;

/// One compared column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnPlan {
    /// The column on the target.
    pub target: ColumnInfo,
    /// The column on the source.
    pub source: ColumnInfo,
    /// The kind both sides are compared as.
    pub compare: Kind,
    /// True when no value of one side could equal a value of the other.
    pub incompatible: bool,
    /// Translated codes applied to the source values.
    pub map: Option<Arc<ValueMap>>,
}

/// What is compared for one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePlan {
    /// The target table.
    pub name: String,
    /// The source table (`query` for a source query).
    pub source_name: String,
    /// The query compared instead of a source table.
    pub source_query: Option<String>,
    /// The table's own source, when not the run's (may hold a password; never shown as is).
    pub source_url: Option<String>,
    /// Compared columns, key columns first.
    pub columns: Vec<ColumnPlan>,
    /// How many leading columns form the key.
    pub key_len: usize,
    /// Where the key came from: `config` or `primary key`.
    pub key_origin: &'static str,
    /// Source filter.
    pub source_where: Option<String>,
    /// Target filter.
    pub target_where: Option<String>,
    /// Target columns left out on purpose.
    pub ignored: Vec<String>,
    /// Source columns no target column maps to.
    pub unmapped_source: Vec<String>,
}

impl TablePlan {
    /// The read requests of both sides, in the given exported snapshots if any.
    pub fn requests(
        &self,
        batch_rows: usize,
        snapshots: [Option<String>; 2],
        memory_budget: usize,
    ) -> (ReadRequest, ReadRequest) {
        let side = |target: bool| ReadRequest {
            table: if target {
                self.name.clone()
            } else {
                self.source_name.clone()
            },
            columns: self
                .columns
                .iter()
                .map(|c| {
                    if target {
                        c.target.clone()
                    } else {
                        c.source.clone()
                    }
                })
                .collect(),
            codecs: self
                .columns
                .iter()
                .map(|c| {
                    let native = if target { c.target.kind } else { c.source.kind };
                    ColumnCodec {
                        native,
                        compare: if c.incompatible { native } else { c.compare },
                    }
                })
                .collect(),
            key_columns: self.key_len,
            filter: if target {
                self.target_where.clone()
            } else {
                self.source_where.clone()
            },
            batch_rows,
            snapshot: snapshots[target as usize].clone(),
            memory_budget,
            query: if target {
                None
            } else {
                self.source_query.clone()
            },
            maps: self
                .columns
                .iter()
                .map(|c| if target { None } else { c.map.clone() })
                .collect(),
            problems_left: std::cell::Cell::new(PROBLEMS_PER_SIDE),
        };
        (side(false), side(true))
    }
}

fn fail(t: &TableConfig, message: String, hint: &str) -> FailedTable {
    FailedTable {
        name: t.name.clone(),
        source_name: t.source_table().to_string(),
        message,
        hint: Some(hint.to_string()),
        interrupted: false,
    }
}

/// Plans one table; returns the plan and the statements each side will run.
pub(crate) async fn plan_table(
    t: &TableConfig,
    src: &mut Connection,
    tgt: &mut Connection,
    settings: &crate::Settings,
) -> Result<(TablePlan, String, String), FailedTable> {
    let describe = |schema: Result<Option<TableSchema>, cutover_source::SourceError>,
                    side: &str,
                    name: &str| match schema {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(fail(
            t,
            format!("table {name} does not exist on the {side}"),
            if side == "source" {
                "check the name, or set source_name = \"…\" when the table was renamed"
            } else {
                "check the table name and the schema (write schema.table)"
            },
        )),
        Err(e) => Err(fail(
            t,
            format!("cannot describe {name} on the {side}: {e}"),
            "check the permissions of the user",
        )),
    };
    let target = describe(tgt.describe(&t.name).await, "target", &t.name)?;
    let source = match &t.source_query {
        Some(q) => src.describe_query(q).await.map_err(|e| {
            fail(
                t,
                format!("the source_query of table {} does not run: {e}", t.name),
                "run the query by hand on the source and fix it",
            )
        })?,
        None => describe(
            src.describe(t.source_table()).await,
            "source",
            t.source_table(),
        )?,
    };

    for name in t.columns.keys().chain(&t.ignore) {
        if target.column(name).is_none() {
            return Err(fail(
                t,
                format!(
                    "table {}: the config names column {name}, which the target table does not have",
                    t.name
                ),
                &format!("target columns are: {}", names(&target.columns)),
            ));
        }
    }
    let (key, key_origin): (Vec<String>, &'static str) = match &t.key {
        Some(k) => (k.clone(), "config"),
        None if !target.primary_key.is_empty() => (target.primary_key.clone(), "primary key"),
        None => {
            return Err(fail(
                t,
                format!(
                    "table {} has no primary key on the target and no key in the config",
                    t.name
                ),
                &format!(
                    "set key = [\"…\"] for table {} to the column(s) that identify a row",
                    t.name
                ),
            ));
        }
    };
    let mut ordered: Vec<&ColumnInfo> = Vec::new();
    for k in &key {
        let col = target.column(k).ok_or_else(|| {
            fail(
                t,
                format!(
                    "table {}: key column {k} does not exist on the target",
                    t.name
                ),
                &format!("target columns are: {}", names(&target.columns)),
            )
        })?;
        ordered.push(col);
    }
    let ignored: Vec<String> = t
        .ignore
        .iter()
        .filter_map(|i| target.column(i))
        .map(|c| c.name.clone())
        .collect();
    for c in &target.columns {
        if !ordered.iter().any(|o| o.name == c.name) && !ignored.contains(&c.name) {
            ordered.push(c);
        }
    }
    let mut columns = Vec::new();
    for tc in ordered {
        let spec = t
            .columns
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&tc.name))
            .map(|(_, v)| v);
        let mapped = spec.and_then(|s| s.name());
        let source_name = mapped.unwrap_or(&tc.name);
        let map = spec.and_then(|s| s.map()).map(|m| {
            Arc::new(ValueMap {
                map: m
                    .iter()
                    .map(|(k, v)| (k.clone().into_bytes(), v.clone().into_bytes()))
                    .collect(),
            })
        });
        if let Some(expr) = spec.and_then(|s| s.expr()) {
            let sc = ColumnInfo::computed(tc.name.clone(), expr);
            columns.push(ColumnPlan {
                compare: if map.is_some() {
                    tc.kind
                } else {
                    Kind::unify(sc.kind, tc.kind).unwrap_or(tc.kind)
                },
                target: tc.clone(),
                source: sc,
                incompatible: false,
                map,
            });
            continue;
        }
        let sc = source.column(source_name).ok_or_else(|| {
            let what = match mapped {
                Some(m) => format!("table {}: column {} maps to source column {m}, which {} does not have", t.name, tc.name, t.source_table()),
                None => format!("table {}: target column {} has no column of that name in source table {}", t.name, tc.name, t.source_table()),
            };
            fail(
                t,
                what,
                &format!(
                    "map it with columns = {{ {} = \"SOURCE_COLUMN\" }} or leave it out with ignore = [\"{}\"]; source columns are: {}",
                    tc.name,
                    tc.name,
                    names(&source.columns)
                ),
            )
        })?;
        let unified = Kind::unify(sc.kind, tc.kind);
        columns.push(ColumnPlan {
            target: tc.clone(),
            source: sc.clone(),
            // Translated codes take the target's kind: the map's values are target values.
            compare: if map.is_some() {
                tc.kind
            } else {
                unified.unwrap_or(tc.kind)
            },
            incompatible: unified.is_none() && map.is_none(),
            map,
        });
    }
    let unmapped_source = source
        .columns
        .iter()
        .filter(|s| !columns.iter().any(|c| c.source.name == s.name))
        .map(|s| s.name.clone())
        .collect();
    let plan = TablePlan {
        name: t.name.clone(),
        source_name: t.source_table().to_string(),
        source_query: t.source_query.clone(),
        source_url: t.source_url.clone(),
        key_len: key.len(),
        key_origin,
        columns,
        source_where: t.source_where.clone(),
        target_where: t.target_where.clone(),
        ignored,
        unmapped_source,
    };
    let (sr, tr) = plan.requests(settings.batch_rows, [None, None], settings.memory_budget());
    let (ssql, tsql) = (src.read_sql(&sr), tgt.read_sql(&tr));
    Ok((plan, ssql, tsql))
}

fn names(cols: &[ColumnInfo]) -> String {
    cols.iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
