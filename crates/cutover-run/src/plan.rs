//! Resolving one `[[table]]` against both sides' schemas: which columns, in which order, compared
//! as which kind, keyed on what. Every mistake here names the table and column and says what to do.

use crate::FailedTable;
use cutover_check::canonical::Norm;
use cutover_check::diff::Tolerance;
use cutover_check::{ColumnCodec, Kind};
use cutover_config::{Normalize, TableConfig};
use cutover_source::{
    ColumnInfo, Condition, Connector, Fragment, FragmentError, FragmentKind, ReadRequest,
    SourceError, TableSchema, ValueMap,
};
use std::sync::Arc;

/// How many located problems (unmapped codes, unparseable values) a side records per table.
const PROBLEMS_PER_SIDE: usize = 50;

/// One compared column.
#[derive(Debug, Clone, PartialEq)]
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
    /// Normalisations of the source values.
    pub source_norm: Norm,
    /// Normalisations of the target values.
    pub target_norm: Norm,
    /// Numeric tolerance, if any.
    pub tolerance: Option<Tolerance>,
}

/// What is compared for one table.
#[derive(Debug, Clone, PartialEq)]
pub struct TablePlan {
    /// The target table.
    pub name: String,
    /// The source table (`query` for a source query).
    pub source_name: String,
    /// The query compared instead of a source table.
    pub source_query: Option<Fragment>,
    /// The table's own source, when not the run's (may hold a password; never shown as is).
    pub source_url: Option<String>,
    /// The same URL with its password hidden, as reports show it.
    pub source_url_shown: Option<String>,
    /// Compared columns, key columns first.
    pub columns: Vec<ColumnPlan>,
    /// How many leading columns form the key.
    pub key_len: usize,
    /// Where the key came from: `config` or `primary key`.
    pub key_origin: &'static str,
    /// Source filter (the migration depth).
    pub source_where: Option<Fragment>,
    /// Target filter.
    pub target_where: Option<Fragment>,
    /// Target columns left out on purpose.
    pub ignored: Vec<String>,
    /// Source columns no target column maps to.
    pub unmapped_source: Vec<String>,
    /// The checklist item this comparison closes.
    pub checklist: String,
    /// What the source side runs (SQL, or the files it reads).
    pub source_sql: String,
    /// What the target side runs.
    pub target_sql: String,
    /// What the two sides' declarations say beyond the rows: narrowing, NULLs the target
    /// rejects, lost defaults, keys and indexes on one side only.
    pub schema: Vec<cutover_check::schema::SchemaFinding>,
    /// The rows the engines' statistics (or the files' sizes) estimate, the larger side.
    pub estimated_rows: Option<u64>,
    /// How the table asks to be compared (none: in full).
    pub mode: Option<cutover_config::CompareMode>,
    /// True when both sides declare the key unique (a primary key or a unique index), so no
    /// duplicate key can hide in equal checksums.
    pub key_unique: bool,
    /// True on a side whose primary key is the key, column for column (source, target).
    pub key_primary: [bool; 2],
}

impl TablePlan {
    /// Sets the statements each side runs, as reports and `cutover plan` show them.
    pub(crate) fn show_sql(
        &mut self,
        settings: &crate::Settings,
        src: &dyn Connector,
        tgt: &dyn Connector,
    ) {
        let (sr, tr) = self.requests(settings.batch_rows, [None, None], settings.memory_budget());
        (self.source_sql, self.target_sql) = (src.read_sql(&sr), tgt.read_sql(&tr));
    }

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
                .enumerate()
                .map(|(i, c)| {
                    let mut info = if target {
                        c.target.clone()
                    } else {
                        c.source.clone()
                    };
                    // A key both sides declare unique is a primary key or a unique index over
                    // NOT NULL columns on each side.
                    info.not_null |= i < self.key_len && self.key_unique;
                    info
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
                        norm: if target { c.target_norm } else { c.source_norm },
                    }
                })
                .collect(),
            key_columns: self.key_len,
            filter: if target {
                self.target_where.clone()
            } else {
                self.source_where.clone()
            }
            .map(Condition::Configured),
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
            problems_left: cutover_source::ProblemBudget::new(PROBLEMS_PER_SIDE),
            in_storage_order: false,
        };
        (side(false), side(true))
    }
}

/// Why a table could not be planned: what is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlanError {
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
}

impl From<FragmentError> for PlanError {
    fn from(e: FragmentError) -> PlanError {
        PlanError {
            message: e.to_string(),
            hint: Some(
                "write one read-only SQL expression (or one SELECT for a source_query), without `;` or comments"
                    .into(),
            ),
        }
    }
}

impl PlanError {
    /// The table's failure.
    pub(crate) fn of(self, t: &TableConfig) -> FailedTable {
        FailedTable::of(t, self.message, self.hint)
    }
}

fn fail(message: String, hint: &str) -> PlanError {
    PlanError {
        message,
        hint: Some(hint.to_string()),
    }
}

/// Plans one table, with the statements each side will run.
pub(crate) fn plan_table(
    t: &TableConfig,
    src: &mut dyn Connector,
    tgt: &mut dyn Connector,
    settings: &crate::Settings,
) -> Result<TablePlan, PlanError> {
    let target = describe(tgt.describe(&t.name), "target", &t.name)?;
    let place = |what: &str| format!("table {}: {what}", t.name);
    let source_query = t
        .source_query
        .as_deref()
        .map(|q| src.fragment(FragmentKind::Query, &place("source_query"), q))
        .transpose()?;
    let source_where = t
        .source_where
        .as_deref()
        .map(|w| src.fragment(FragmentKind::Expression, &place("source_where"), w))
        .transpose()?;
    let target_where = t
        .target_where
        .as_deref()
        .map(|w| tgt.fragment(FragmentKind::Expression, &place("target_where"), w))
        .transpose()?;
    let source = match &source_query {
        Some(q) => src
            .require_sql("run a source_query")
            .and_then(|s| s.describe_query(q))
            .map_err(|e| {
                fail(
                    format!("the source_query of table {} does not run: {e}", t.name),
                    e.hint()
                        .unwrap_or("run the query by hand on the source and fix it"),
                )
            })?,
        None => describe(src.describe(t.source_table()), "source", t.source_table())?,
    };
    for name in t.columns.keys().chain(&t.ignore) {
        if target.column(name).is_none() {
            return Err(fail(
                format!(
                    "table {}: the config names column {name}, which the target table does not have",
                    t.name
                ),
                &format!("target columns are: {}", names(&target.columns)),
            ));
        }
    }
    if t.source_query.is_none() {
        for name in &t.drop {
            if source.column(name).is_none() {
                return Err(fail(
                    format!(
                        "table {}: drop names column {name}, which the source table does not have",
                        t.name
                    ),
                    &format!("source columns are: {}", names(&source.columns)),
                ));
            }
        }
    }
    let (key, key_origin) = key_of(t, &target)?;
    let ignored: Vec<String> = t
        .ignore
        .iter()
        .filter_map(|i| target.column(i))
        .map(|c| c.name.clone())
        .collect();
    let mut ordered: Vec<&ColumnInfo> = key;
    let key_len = ordered.len();
    for c in &target.columns {
        if !ordered.iter().any(|o| o.name == c.name) && !ignored.contains(&c.name) {
            ordered.push(c);
        }
    }
    let columns = ordered
        .into_iter()
        .map(|tc| plan_column(t, tc, (&source, source_query.as_ref()), src, settings))
        .collect::<Result<Vec<ColumnPlan>, PlanError>>()?;
    let unmapped_source = source
        .columns
        .iter()
        .filter(|s| !columns.iter().any(|c| c.source.name == s.name))
        .map(|s| s.name.clone())
        .collect();
    let mut plan = TablePlan {
        name: t.name.clone(),
        source_name: t.source_table().to_string(),
        source_query,
        source_url: t.source_url.clone(),
        source_url_shown: t.source_url.as_deref().map(cutover_source::redact),
        key_len,
        key_origin,
        columns,
        source_where,
        target_where,
        ignored,
        unmapped_source,
        checklist: t.checklist_item().to_string(),
        source_sql: String::new(),
        target_sql: String::new(),
        schema: Vec::new(),
        estimated_rows: None,
        mode: t.mode,
        key_unique: false,
        key_primary: [false; 2],
    };
    plan.show_sql(settings, src, tgt);
    Ok(plan)
}

/// A table's schema, or why it cannot be had.
fn describe(
    schema: Result<Option<TableSchema>, SourceError>,
    side: &str,
    name: &str,
) -> Result<TableSchema, PlanError> {
    match schema {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(fail(
            format!("table {name} does not exist on the {side}"),
            if side == "source" {
                "check the name, or set source_name = \"…\" when the table was renamed"
            } else {
                "check the table name and the schema (write schema.table)"
            },
        )),
        Err(e) => Err(fail(
            format!("cannot describe {name} on the {side}: {e}"),
            e.hint().unwrap_or("check the permissions of the user"),
        )),
    }
}

/// The key columns of the target, from the config or the primary key, and where they came from.
fn key_of<'a>(
    t: &TableConfig,
    target: &'a TableSchema,
) -> Result<(Vec<&'a ColumnInfo>, &'static str), PlanError> {
    let (key, origin) = match &t.key {
        Some(k) => (k.clone(), "config"),
        None if !target.primary_key.is_empty() => (target.primary_key.clone(), "primary key"),
        None => {
            return Err(fail(
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
    let columns = key
        .iter()
        .map(|k| {
            target.column(k).ok_or_else(|| {
                fail(
                    format!(
                        "table {}: key column {k} does not exist on the target",
                        t.name
                    ),
                    &format!("target columns are: {}", names(&target.columns)),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    Ok((columns, origin))
}

/// How one target column is compared: where its source values come from (a column, an
/// expression, a value map), the kind both sides are compared as, and its normalisations.
fn plan_column(
    t: &TableConfig,
    tc: &ColumnInfo,
    (source, source_query): (&TableSchema, Option<&Fragment>),
    src: &mut dyn Connector,
    settings: &crate::Settings,
) -> Result<ColumnPlan, PlanError> {
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
    let sc = match spec.and_then(|s| s.expr()) {
        Some(expr) => {
            let place = format!("table {}, column {}: expr", t.name, tc.name);
            let expr = src.fragment(FragmentKind::Expression, &place, expr)?;
            computed_column(&tc.name, expr, t.source_table(), source_query, src)
        }
        None => source.column(source_name).cloned().ok_or_else(|| {
            let what = match mapped {
                Some(m) => format!(
                    "table {}: column {} maps to source column {m}, which {} does not have",
                    t.name,
                    tc.name,
                    t.source_table()
                ),
                None => format!(
                    "table {}: target column {} has no column of that name in source table {}",
                    t.name,
                    tc.name,
                    t.source_table()
                ),
            };
            fail(
                what,
                &format!(
                    "map it with columns = {{ {} = \"SOURCE_COLUMN\" }} or leave it out with ignore = [\"{}\"]; source columns are: {}",
                    tc.name,
                    tc.name,
                    names(&source.columns)
                ),
            )
        })?,
    };
    let unified = Kind::unify(sc.kind, tc.kind);
    // A declared type wins: both sides' values are converted to it.
    let declared = match spec {
        Some(cutover_config::ColumnSource::Spec(s)) => {
            s.type_name.as_deref().and_then(Kind::from_name)
        }
        _ => None,
    };
    let normalize = spec
        .map(|s| s.normalize())
        .unwrap_or_default()
        .or(&t.normalize)
        .or(&settings.defaults);
    let (source_norm, target_norm, tolerance) = norms(&normalize, &sc, tc).map_err(|m| {
        fail(
            format!("table {}, column {}: {m}", t.name, tc.name),
            "use an IANA zone name such as Europe/Berlin, or UTC",
        )
    })?;
    Ok(ColumnPlan {
        target: tc.clone(),
        // Translated codes take the target's kind: the map's values are target values.
        compare: match declared {
            Some(k) => k,
            None if map.is_some() => tc.kind,
            None => unified.unwrap_or(tc.kind),
        },
        incompatible: unified.is_none() && map.is_none() && declared.is_none(),
        source: sc,
        map,
        source_norm,
        target_norm,
        tolerance,
    })
}

/// A column the source engine computes. An expression whose engine types it as a float is read
/// as that float (a `real` keeps float32 semantics, so `0.1` stays `0.1`); any other is read as
/// text and converted in the canonical layer.
fn computed_column(
    name: &str,
    expr: Fragment,
    table: &str,
    query: Option<&Fragment>,
    src: &mut dyn Connector,
) -> ColumnInfo {
    let typed = src.sql().and_then(|sql| {
        let probe =
            cutover_source::dialect::expression_probe_sql(sql.dialect(), table, query, &expr);
        // An expression the engine cannot type is read as text; its read then says what is wrong.
        sql.describe_query(&probe).ok()
    });
    match typed.and_then(|s| s.columns.into_iter().next()) {
        Some(c) if c.kind == Kind::Float => ColumnInfo {
            name: name.to_string(),
            expr: Some(expr),
            ..c
        },
        _ => ColumnInfo::computed(name, expr),
    }
}

/// The normalisations of a column on each side, and its tolerance.
fn norms(
    n: &Normalize,
    sc: &ColumnInfo,
    tc: &ColumnInfo,
) -> Result<(Norm, Norm, Option<Tolerance>), String> {
    let zone = |name: &Option<String>, col: &ColumnInfo| -> Result<Option<chrono_tz::Tz>, String> {
        match name {
            // A zone applies to naive timestamps only; zoned ones already are instants.
            Some(z) if !col.zoned => z
                .parse::<chrono_tz::Tz>()
                .map(Some)
                .map_err(|_| format!("unknown time zone {z:?}")),
            _ => Ok(None),
        }
    };
    let common = Norm {
        trim: n.trim == Some(true),
        case_insensitive: n.case_insensitive == Some(true),
        null_equals_empty: n.null_equals_empty == Some(true),
        decimal_scale: n.decimal_scale,
        float_digits: n.float_digits,
        time_unit_nanos: n.precision_nanos(),
        zone: None,
    };
    let tolerance = match (n.tolerance, n.relative_tolerance) {
        (None, None) => None,
        (a, r) => Some(
            Tolerance::new(a.unwrap_or(0.0), r.unwrap_or(0.0))
                .ok_or("a tolerance must be a finite number")?,
        ),
    };
    Ok((
        Norm {
            zone: zone(&n.source_timezone, sc)?,
            ..common
        },
        Norm {
            zone: zone(&n.target_timezone, tc)?,
            ..common
        },
        tolerance,
    ))
}

fn names(cols: &[ColumnInfo]) -> String {
    cols.iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(kind: Kind, zoned: bool) -> ColumnInfo {
        let mut c = ColumnInfo::stored("c", "t", kind);
        c.zoned = zoned;
        c
    }

    #[test]
    fn a_zone_applies_to_naive_timestamps_only() {
        let n = Normalize {
            source_timezone: Some("Europe/Berlin".into()),
            target_timezone: Some("UTC".into()),
            trim: Some(true),
            ..Default::default()
        };
        let (s, t, tol) = norms(
            &n,
            &col(Kind::Timestamp, false),
            &col(Kind::Timestamp, true),
        )
        .unwrap();
        assert_eq!(s.zone, Some(chrono_tz::Europe::Berlin));
        assert_eq!(t.zone, None, "a zoned timestamp already is an instant");
        assert!(s.trim && t.trim);
        assert!(tol.is_none());
        let bad = Normalize {
            source_timezone: Some("Mars/Olympus".into()),
            ..Default::default()
        };
        let err = norms(
            &bad,
            &col(Kind::Timestamp, false),
            &col(Kind::Timestamp, false),
        )
        .unwrap_err();
        assert!(err.contains("unknown time zone"), "{err}");
    }

    #[test]
    fn a_tolerance_is_set_by_either_option() {
        let n = Normalize {
            relative_tolerance: Some(0.5),
            ..Default::default()
        };
        let (_, _, tol) = norms(&n, &col(Kind::Number, false), &col(Kind::Number, false)).unwrap();
        let tol = tol.expect("a tolerance");
        assert_eq!(
            (tol.absolute.to_string(), tol.relative.to_string()),
            ("0".into(), "0.5".into())
        );
    }
}
