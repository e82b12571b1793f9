//! Consistency rules: each rule type has a stable code and documentation ([`catalogue`]), and is
//! evaluated against the real sides. On one database a rule runs as SQL there (counted and
//! sampled with the same read-only connectors as the table checks); across sides or files it
//! streams both sides in key order through the merge join of `cutover-check`, in bounded memory.
//! A rule that cannot run is an error, never a pass.

pub mod catalogue;

use cutover_check::{DiffOptions, Kind, TableDiff};
use cutover_config::{CsvOptions, RuleConfig, RuleKind, RuleSide, Severity};
use cutover_source::{ColumnInfo, Connection, ReadRequest, SourceError};
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;

/// How a rule ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleStatus {
    /// Violations within the threshold.
    Pass,
    /// Violations beyond the threshold.
    Fail,
    /// The rule could not run (missing column, query error): never a pass.
    Error,
}

/// The result of one rule.
#[derive(Debug, Clone)]
pub struct RuleResult {
    /// The rule's id.
    pub id: String,
    /// The rule type's code, e.g. `CO101`.
    pub code: &'static str,
    /// The rule type, e.g. `foreign_key`.
    pub kind: &'static str,
    /// `error` or `warn`.
    pub severity: Severity,
    /// The checklist item it closes.
    pub checklist: String,
    /// The rule's description.
    pub description: Option<String>,
    /// Pass, fail or error.
    pub status: RuleStatus,
    /// Exact count of violations.
    pub violations: u64,
    /// Rows (or entries, groups) checked, when known.
    pub checked: Option<u64>,
    /// The threshold in words: `0`, `≤ 5`, `≤ 0.1%`.
    pub threshold: String,
    /// What was found, in words.
    pub message: String,
    /// Sample of failing rows: column → value (`None` is NULL).
    pub sample: Vec<Vec<(String, Option<String>)>>,
    /// The queries it ran (or what it read).
    pub queries: Vec<String>,
}

/// Where the sides are.
pub struct Sides<'a> {
    /// Source URL and CSV options.
    pub source: (&'a str, &'a CsvOptions),
    /// Target URL and CSV options.
    pub target: (&'a str, &'a CsvOptions),
    /// Samples kept per rule.
    pub sample_size: usize,
    /// Rows per batch.
    pub batch_rows: usize,
    /// Sort memory of a file reader.
    pub memory_budget: usize,
}

struct Found {
    violations: u64,
    checked: Option<u64>,
    message: String,
    sample: Vec<Vec<(String, Option<String>)>>,
    queries: Vec<String>,
}

type RuleError = String;

fn err(e: impl std::fmt::Display) -> RuleError {
    e.to_string()
}

/// Evaluates every rule, in order.
pub fn evaluate(rules: &[RuleConfig], sides: &Sides<'_>, cancel: &AtomicBool) -> Vec<RuleResult> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rules
        .iter()
        .map(|rule| {
            let doc = catalogue::of(rule.kind);
            let found = rt.block_on(run_rule(rule, sides, cancel));
            let threshold = match (rule.max_count, rule.max_fraction) {
                (Some(n), _) => format!("≤ {n}"),
                (None, Some(f)) => format!("≤ {}%", f * 100.0),
                (None, None) => "0".to_string(),
            };
            let (status, found) = match found {
                Err(message) => (
                    RuleStatus::Error,
                    Found {
                        violations: 0,
                        checked: None,
                        message: format!("could not run: {message}"),
                        sample: vec![],
                        queries: vec![],
                    },
                ),
                Ok(f) => {
                    let allowed = match (rule.max_count, rule.max_fraction, f.checked) {
                        (Some(n), _, _) => n,
                        (None, Some(frac), Some(total)) => (frac * total as f64).floor() as u64,
                        _ => 0,
                    };
                    (
                        if f.violations <= allowed {
                            RuleStatus::Pass
                        } else {
                            RuleStatus::Fail
                        },
                        f,
                    )
                }
            };
            RuleResult {
                id: rule.id.clone(),
                code: doc.code,
                kind: doc.name,
                severity: rule.severity,
                checklist: rule.checklist_item().to_string(),
                description: rule.description.clone(),
                status,
                violations: found.violations,
                checked: found.checked,
                threshold,
                message: found.message,
                sample: found.sample,
                queries: found.queries,
            }
        })
        .collect()
}

fn side_of<'a>(sides: &Sides<'a>, side: RuleSide) -> (&'a str, &'a CsvOptions) {
    match side {
        RuleSide::Source => sides.source,
        RuleSide::Target => sides.target,
    }
}

async fn connect(at: (&str, &CsvOptions)) -> Result<Connection, RuleError> {
    Connection::connect_with(at.0, at.1).await.map_err(err)
}

async fn run_rule(
    rule: &RuleConfig,
    sides: &Sides<'_>,
    cancel: &AtomicBool,
) -> Result<Found, RuleError> {
    let at = side_of(sides, rule.side);
    match rule.kind {
        RuleKind::NotNull | RuleKind::Unique | RuleKind::AcceptedValues => {
            let mut conn = connect(at).await?;
            let table = rule.table.as_deref().unwrap_or_default();
            let t = conn.quote(table);
            let cols: Vec<String> = rule.columns.clone().unwrap_or_default();
            let qc: Vec<String> = cols
                .iter()
                .map(|c| format!("{t}.{}", conn.quote(c)))
                .collect();
            let cond = match rule.kind {
                RuleKind::NotNull => qc
                    .iter()
                    .map(|c| format!("{c} IS NULL"))
                    .collect::<Vec<_>>()
                    .join(" OR "),
                RuleKind::Unique => {
                    let tuple = if qc.len() == 1 {
                        qc[0].clone()
                    } else {
                        format!("({})", qc.join(", "))
                    };
                    let plain: Vec<String> = cols.iter().map(|c| conn.quote(c)).collect();
                    let not_null = plain
                        .iter()
                        .map(|c| format!("{c} IS NOT NULL"))
                        .collect::<Vec<_>>()
                        .join(" AND ");
                    format!(
                        "{tuple} IN (SELECT {cols} FROM {t} WHERE {not_null}{filter} GROUP BY {cols} HAVING COUNT(*) > 1)",
                        cols = plain.join(", "),
                        filter = rule
                            .filter
                            .as_ref()
                            .map(|f| format!(" AND ({f})"))
                            .unwrap_or_default()
                    )
                }
                _ => match (&rule.values, &rule.values_table) {
                    (Some(values), _) => {
                        let list: Vec<String> = values
                            .iter()
                            .map(|v| format!("'{}'", v.replace('\'', "''")))
                            .collect();
                        format!(
                            "{c} IS NOT NULL AND {c} NOT IN ({})",
                            list.join(", "),
                            c = qc[0]
                        )
                    }
                    (None, Some(vt)) => format!(
                        "{c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {vt} v WHERE v.{vc} = {c})",
                        c = qc[0],
                        vt = conn.quote(vt),
                        vc = conn.quote(rule.values_column.as_deref().unwrap_or(&cols[0]))
                    ),
                    (None, None) => {
                        return Err("accepted_values needs values or values_table".into());
                    }
                },
            };
            count_and_sample(&mut conn, table, &cols, &cond, rule, sides).await
        }
        RuleKind::ForeignKey => foreign_key(rule, sides, cancel).await,
        RuleKind::RowCount => {
            let mut counts = Vec::new();
            let mut queries = Vec::new();
            for (side, table, filter) in [
                (
                    RuleSide::Source,
                    rule.source_table.as_deref().or(rule.table.as_deref()),
                    &rule.source_where,
                ),
                (RuleSide::Target, rule.table.as_deref(), &rule.target_where),
            ] {
                let mut conn = connect(side_of(sides, side)).await?;
                let sql = format!(
                    "SELECT COUNT(*) FROM {}{}",
                    conn.quote(table.unwrap_or_default()),
                    filter
                        .as_ref()
                        .map(|f| format!(" WHERE ({f})"))
                        .unwrap_or_default()
                );
                counts.push(conn.count(&sql).await.map_err(err)?);
                queries.push(sql);
            }
            let diff = counts[0].abs_diff(counts[1]);
            let allowed = rule
                .tolerance
                .unwrap_or(0.0)
                .max(rule.relative_tolerance.unwrap_or(0.0) * counts[0].max(counts[1]) as f64);
            Ok(Found {
                violations: if diff as f64 <= allowed { 0 } else { diff },
                checked: Some(counts[0]),
                message: format!(
                    "source {} rows, target {} rows (difference {diff}, allowed {allowed})",
                    counts[0], counts[1]
                ),
                sample: vec![],
                queries,
            })
        }
        RuleKind::Sql => sql_rule(rule, sides).await,
        RuleKind::Hierarchy => hierarchy(rule, sides).await,
        RuleKind::HierarchyMatch | RuleKind::AggregateMatch | RuleKind::ReferenceComplete => {
            cross_side(rule, sides, cancel).await
        }
    }
}

/// Columns of a table or query, as the engine describes them, in the order asked.
async fn columns_of(
    conn: &mut Connection,
    table: Option<&str>,
    query: Option<&str>,
    wanted: &[String],
) -> Result<Vec<ColumnInfo>, RuleError> {
    let schema = match (query, table) {
        (Some(q), _) => conn.describe_query(q).await.map_err(err)?,
        (None, Some(t)) => conn
            .describe(t)
            .await
            .map_err(err)?
            .ok_or_else(|| format!("table {t} does not exist"))?,
        (None, None) => return Err("no table".into()),
    };
    if wanted.is_empty() {
        return Ok(schema.columns);
    }
    wanted
        .iter()
        .map(|w| {
            schema.column(w).cloned().ok_or_else(|| {
                format!(
                    "column {w} does not exist in {} (columns: {})",
                    table.unwrap_or("the query"),
                    schema
                        .columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        })
        .collect()
}

/// A read of `columns`, ordered by all of them, with an optional filter or source query.
fn request(
    table: &str,
    query: Option<String>,
    columns: Vec<ColumnInfo>,
    key_columns: usize,
    filter: Option<String>,
    sides: &Sides<'_>,
) -> ReadRequest {
    ReadRequest {
        table: table.to_string(),
        query,
        maps: vec![None; columns.len()],
        codecs: columns
            .iter()
            .map(|c| cutover_check::ColumnCodec::new(c.kind, c.kind))
            .collect(),
        key_columns,
        columns,
        filter,
        batch_rows: sides.batch_rows,
        snapshot: None,
        memory_budget: sides.memory_budget,
        problems_left: cutover_source::ProblemBudget::new(0),
    }
}

/// Reads up to `n` rows of a request, as (column, value) pairs.
async fn sample(
    conn: &mut Connection,
    req: &ReadRequest,
    n: usize,
) -> Result<Vec<Vec<(String, Option<String>)>>, RuleError> {
    let mut rows = Vec::new();
    let names: Vec<String> = req.columns.iter().map(|c| c.name.clone()).collect();
    let result = conn
        .read(req, &mut |batch| {
            for r in 0..batch.len() {
                if rows.len() < n {
                    rows.push(
                        names
                            .iter()
                            .enumerate()
                            .map(|(c, name)| {
                                (
                                    name.clone(),
                                    cutover_check::canonical::display(batch.cell(r, c)),
                                )
                            })
                            .collect(),
                    );
                }
            }
            rows.len() < n
        })
        .await;
    match result {
        Ok(()) | Err(SourceError::Stopped) => Ok(rows),
        Err(e) => Err(err(e)),
    }
}

/// Counts the rows of `table` matching `cond` (and all rows), and samples the matching ones.
async fn count_and_sample(
    conn: &mut Connection,
    table: &str,
    cols: &[String],
    cond: &str,
    rule: &RuleConfig,
    sides: &Sides<'_>,
) -> Result<Found, RuleError> {
    let t = conn.quote(table);
    let filter = rule
        .filter
        .as_ref()
        .map(|f| format!("({f}) AND "))
        .unwrap_or_default();
    let total_sql = format!(
        "SELECT COUNT(*) FROM {t}{}",
        rule.filter
            .as_ref()
            .map(|f| format!(" WHERE ({f})"))
            .unwrap_or_default()
    );
    let bad_sql = format!("SELECT COUNT(*) FROM {t} WHERE {filter}({cond})");
    let checked = conn.count(&total_sql).await.map_err(err)?;
    let violations = conn.count(&bad_sql).await.map_err(err)?;
    let mut shown: Vec<String> = cols.to_vec();
    if let Some(schema) = conn.describe(table).await.map_err(err)? {
        for k in schema.primary_key.iter().rev() {
            if !shown.iter().any(|s| s.eq_ignore_ascii_case(k)) {
                shown.insert(0, k.clone());
            }
        }
    }
    let columns = columns_of(conn, Some(table), None, &shown).await?;
    let n = columns.len();
    let req = request(
        table,
        None,
        columns,
        n,
        Some(format!("{filter}({cond})")),
        sides,
    );
    let rows = if violations > 0 {
        sample(conn, &req, sides.sample_size).await?
    } else {
        vec![]
    };
    Ok(Found {
        violations,
        checked: Some(checked),
        message: format!("{violations} of {checked} rows of {table} violate the rule"),
        sample: rows,
        queries: vec![bad_sql, conn.read_sql(&req)],
    })
}

async fn foreign_key(
    rule: &RuleConfig,
    sides: &Sides<'_>,
    cancel: &AtomicBool,
) -> Result<Found, RuleError> {
    let table = rule.table.clone().unwrap_or_default();
    let cols = rule.columns.clone().unwrap_or_default();
    let parent = rule.parent_table.clone().unwrap_or_default();
    let pcols = rule.parent_columns.clone().unwrap_or_else(|| cols.clone());
    let nulls_violate = rule.nulls.as_deref() == Some("violation");
    let parent_side = rule.parent_side.unwrap_or(rule.side);
    let child_at = side_of(sides, rule.side);
    let parent_at = match &rule.parent_url {
        Some(url) => (url.as_str(), side_of(sides, parent_side).1),
        None => side_of(sides, parent_side),
    };
    let mut child = connect(child_at).await?;
    let same_database = rule.parent_url.is_none()
        && parent_side == rule.side
        && child.quote("x") != "x"
        && !matches!(
            child.engine(),
            cutover_source::Engine::Csv | cutover_source::Engine::Parquet
        );
    if same_database {
        let t = child.quote(&table);
        let p = child.quote(&parent);
        let join: Vec<String> = cols
            .iter()
            .zip(&pcols)
            .map(|(c, pc)| format!("p.{} = {t}.{}", child.quote(pc), child.quote(c)))
            .collect();
        let nulls: Vec<String> = cols
            .iter()
            .map(|c| format!("{t}.{} IS NULL", child.quote(c)))
            .collect();
        let orphan = format!(
            "NOT EXISTS (SELECT 1 FROM {p} p WHERE {})",
            join.join(" AND ")
        );
        let cond = if nulls_violate {
            format!("({}) OR {orphan}", nulls.join(" OR "))
        } else {
            format!("NOT ({}) AND {orphan}", nulls.join(" OR "))
        };
        let mut found = count_and_sample(&mut child, &table, &cols, &cond, rule, sides).await?;
        found.message = format!(
            "{} of {} rows of {table} have no parent in {parent}",
            found.violations,
            found.checked.unwrap_or(0)
        );
        return Ok(found);
    }
    // Across sides or files: distinct child keys against parent keys, both in key order.
    let child_cols = columns_of(&mut child, Some(&table), None, &cols).await?;
    let not_null: Vec<String> = cols
        .iter()
        .map(|c| format!("{} IS NOT NULL", child.quote(c)))
        .collect();
    let distinct = format!(
        "SELECT DISTINCT {} FROM {} WHERE {}{}",
        cols.iter()
            .map(|c| child.quote(c))
            .collect::<Vec<_>>()
            .join(", "),
        child.quote(&table),
        not_null.join(" AND "),
        rule.filter
            .as_ref()
            .map(|f| format!(" AND ({f})"))
            .unwrap_or_default()
    );
    let child_query = (!matches!(
        child.engine(),
        cutover_source::Engine::Csv | cutover_source::Engine::Parquet
    ))
    .then_some(distinct);
    let mut parent_conn = connect(parent_at).await?;
    let parent_cols = columns_of(&mut parent_conn, Some(&parent), None, &pcols).await?;
    // Compare each key column as the kind both sides agree on.
    let kinds: Vec<Kind> = child_cols
        .iter()
        .zip(&parent_cols)
        .map(|(a, b)| Kind::unify(a.kind, b.kind).unwrap_or(b.kind))
        .collect();
    let mut creq = request(&table, child_query, child_cols, cols.len(), None, sides);
    let mut preq = request(&parent, None, parent_cols, pcols.len(), None, sides);
    for (i, k) in kinds.iter().enumerate() {
        creq.codecs[i].compare = *k;
        preq.codecs[i].compare = *k;
    }
    let queries = vec![child.read_sql(&creq), parent_conn.read_sql(&preq)];
    drop((child, parent_conn));
    let opts = DiffOptions {
        columns: cols.len(),
        key_columns: cols.len(),
        sample_size: sides.sample_size,
        tolerances: vec![],
    };
    let d = cutover_run::diff_requests(child_at, parent_at, (creq, preq), &opts, cancel)?;
    let nulls_note = if nulls_violate {
        " (NULL keys are not counted across sides)"
    } else {
        ""
    };
    Ok(Found {
        violations: d.missing,
        checked: Some(d.source.rows),
        message: format!(
            "{} of {} distinct keys of {table} have no parent in {parent}{nulls_note}",
            d.missing, d.source.rows
        ),
        sample: d
            .samples
            .missing
            .iter()
            .map(|r| cols.iter().cloned().zip(r.key.iter().cloned()).collect())
            .collect(),
        queries,
    })
}

async fn sql_rule(rule: &RuleConfig, sides: &Sides<'_>) -> Result<Found, RuleError> {
    if let Some(query) = &rule.query {
        let mut conn = connect(side_of(sides, rule.side)).await?;
        let count_sql = format!("SELECT COUNT(*) FROM ({query}) AS cutover_q");
        let violations = conn.count(&count_sql).await.map_err(err)?;
        let columns = columns_of(&mut conn, None, Some(query), &[]).await?;
        let n = columns.len();
        let req = request("query", Some(query.clone()), columns, n, None, sides);
        let rows = if violations > 0 {
            sample(&mut conn, &req, sides.sample_size).await?
        } else {
            vec![]
        };
        return Ok(Found {
            violations,
            checked: None,
            message: format!("the query returned {violations} rows"),
            sample: rows,
            queries: vec![count_sql, conn.read_sql(&req)],
        });
    }
    // Two scalars, one per side.
    let mut values = Vec::new();
    let mut queries = Vec::new();
    for (side, q) in [
        (RuleSide::Source, &rule.source_query),
        (RuleSide::Target, &rule.target_query),
    ] {
        let q = q.clone().unwrap_or_default();
        let mut conn = connect(side_of(sides, side)).await?;
        let columns = columns_of(&mut conn, None, Some(&q), &[]).await?;
        let first = columns.into_iter().take(1).collect::<Vec<_>>();
        let req = request("query", Some(q.clone()), first, 0, None, sides);
        let rows = sample(&mut conn, &req, 1).await?;
        values.push(
            rows.first()
                .and_then(|r| r.first())
                .and_then(|(_, v)| v.clone()),
        );
        queries.push(q);
    }
    let equal = match (
        values[0].as_deref().and_then(|v| v.parse::<f64>().ok()),
        values[1].as_deref().and_then(|v| v.parse::<f64>().ok()),
    ) {
        (Some(a), Some(b)) => {
            (a - b).abs()
                <= rule
                    .tolerance
                    .unwrap_or(0.0)
                    .max(rule.relative_tolerance.unwrap_or(0.0) * a.abs().max(b.abs()))
        }
        _ => values[0] == values[1],
    };
    Ok(Found {
        violations: u64::from(!equal),
        checked: Some(1),
        message: format!("source {:?}, target {:?}", values[0], values[1]),
        sample: vec![vec![
            ("source".into(), values[0].clone()),
            ("target".into(), values[1].clone()),
        ]],
        queries,
    })
}

async fn hierarchy(rule: &RuleConfig, sides: &Sides<'_>) -> Result<Found, RuleError> {
    let table = rule.table.clone().unwrap_or_default();
    let parent_col = rule.parent.clone().unwrap_or_default();
    let mut conn = connect(side_of(sides, rule.side)).await?;
    let key = match &rule.key {
        Some(k) => k.clone(),
        None => conn
            .describe(&table)
            .await
            .map_err(err)?
            .map(|s| s.primary_key)
            .filter(|k| k.len() == 1)
            .ok_or_else(|| {
                format!("set key = [\"…\"] for {table}: it has no single-column primary key")
            })?,
    };
    if key.len() != 1 {
        return Err("a hierarchy has a single-column key".into());
    }
    let cols = columns_of(
        &mut conn,
        Some(&table),
        None,
        &[key[0].clone(), parent_col.clone()],
    )
    .await?;
    // The parent is compared as the key's kind, so `7` and `7.0` name the same node.
    let mut req = request(&table, None, cols, 1, rule.filter.clone(), sides);
    req.codecs[1].compare = req.codecs[0].compare;
    let mut nodes: Vec<(String, Option<String>)> = Vec::new();
    let result = conn
        .read(&req, &mut |batch| {
            for r in 0..batch.len() {
                let k = cutover_check::canonical::display(batch.cell(r, 0)).unwrap_or_default();
                nodes.push((k, cutover_check::canonical::display(batch.cell(r, 1))));
            }
            true
        })
        .await;
    result.map_err(err)?;
    let parent_of: HashMap<&str, Option<&str>> = nodes
        .iter()
        .map(|(k, p)| (k.as_str(), p.as_deref()))
        .collect();
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut roots = Vec::new();
    for (k, p) in &nodes {
        match p {
            None => roots.push(k.clone()),
            Some(p) if p == k => problems.push((k.clone(), "is its own parent".into())),
            Some(p) if !parent_of.contains_key(p.as_str()) => {
                problems.push((k.clone(), format!("has parent {p}, which does not exist")))
            }
            _ => {}
        }
    }
    // Cycles and depth: walk up from every node, remembering finished nodes.
    let mut depth: HashMap<&str, u64> = HashMap::new();
    let mut in_cycle: std::collections::BTreeSet<String> = Default::default();
    for (k, _) in &nodes {
        let mut path: Vec<&str> = Vec::new();
        let mut at = k.as_str();
        loop {
            if depth.contains_key(at) {
                break;
            }
            if let Some(pos) = path.iter().position(|n| *n == at) {
                for n in &path[pos..] {
                    in_cycle.insert(n.to_string());
                }
                break;
            }
            path.push(at);
            match parent_of.get(at).copied().flatten() {
                Some(p) if p != at && parent_of.contains_key(p) => at = p,
                _ => break,
            }
        }
        // Assign depths from the top of the path down (cycle members get none).
        let mut d = path
            .last()
            .and_then(|top| {
                parent_of
                    .get(top)
                    .copied()
                    .flatten()
                    .and_then(|p| depth.get(p).copied())
            })
            .unwrap_or(0);
        for n in path.iter().rev() {
            if in_cycle.contains(*n) {
                continue;
            }
            d += 1;
            depth.insert(n, d);
        }
    }
    if !in_cycle.is_empty() {
        let members: Vec<&str> = in_cycle.iter().map(String::as_str).collect();
        for m in &members {
            problems.push((
                m.to_string(),
                format!("is in a cycle: {}", members.join(" → ")),
            ));
        }
    }
    let max_roots = rule.max_roots.unwrap_or(1);
    if roots.len() as u64 > max_roots || roots.is_empty() {
        problems.push((
            "roots".into(),
            format!(
                "{} roots ({}), at most {max_roots} allowed",
                roots.len(),
                roots
                    .iter()
                    .take(10)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let deepest = depth.values().copied().max().unwrap_or(0);
    if let Some(max) = rule.max_depth
        && deepest > max
    {
        let too_deep: Vec<&&str> = depth
            .iter()
            .filter(|(_, d)| **d > max)
            .map(|(k, _)| k)
            .collect();
        problems.push((
            "depth".into(),
            format!(
                "{} nodes deeper than {max} levels (deepest {deepest})",
                too_deep.len()
            ),
        ));
    }
    problems.sort();
    Ok(Found {
        violations: problems.len() as u64,
        checked: Some(nodes.len() as u64),
        message: format!(
            "{} nodes, {} roots, depth {deepest}, {} cycle members; {} problems",
            nodes.len(),
            roots.len(),
            in_cycle.len(),
            problems.len()
        ),
        sample: problems
            .into_iter()
            .take(sides.sample_size)
            .map(|(k, what)| vec![(key[0].clone(), Some(k)), ("problem".into(), Some(what))])
            .collect(),
        queries: vec![conn.read_sql(&req)],
    })
}

/// Rules that compare the two sides: a diff of two reads, with the rule's meaning of its counts.
async fn cross_side(
    rule: &RuleConfig,
    sides: &Sides<'_>,
    cancel: &AtomicBool,
) -> Result<Found, RuleError> {
    let table = rule.table.clone().unwrap_or_default();
    let source_table = rule.source_table.clone().unwrap_or_else(|| table.clone());
    let mut src = connect(sides.source).await?;
    let mut tgt = connect(sides.target).await?;
    let (sreq, treq, key_len, names) = match rule.kind {
        RuleKind::AggregateMatch => {
            let group = rule.group_by.clone().unwrap_or_default();
            let sgroup = rule
                .source_group_by
                .clone()
                .unwrap_or_else(|| group.clone());
            let agg = rule.aggregate.clone().unwrap_or_default();
            let sagg = rule.source_aggregate.clone().unwrap_or_else(|| agg.clone());
            let query = |conn: &Connection, t: &str, g: &[String], a: &str, w: &Option<String>| {
                let gs: Vec<String> = g
                    .iter()
                    .enumerate()
                    .map(|(i, e)| format!("{e} AS g{i}"))
                    .collect();
                let mut sel = gs.clone();
                sel.push(format!("{a} AS agg"));
                format!(
                    "SELECT {} FROM {}{}{}",
                    sel.join(", "),
                    conn.quote(t),
                    w.as_ref()
                        .map(|w| format!(" WHERE ({w})"))
                        .unwrap_or_default(),
                    if g.is_empty() {
                        String::new()
                    } else {
                        format!(" GROUP BY {}", g.join(", "))
                    }
                )
            };
            let sq = query(&src, &source_table, &sgroup, &sagg, &rule.source_where);
            let tq = query(&tgt, &table, &group, &agg, &rule.target_where);
            let scols = columns_of(&mut src, None, Some(&sq), &[]).await?;
            let tcols = columns_of(&mut tgt, None, Some(&tq), &[]).await?;
            let mut names: Vec<String> = group.clone();
            names.push(agg.clone());
            let n = group.len();
            (
                request("query", Some(sq), scols, n, None, sides),
                request("query", Some(tq), tcols, n, None, sides),
                n,
                names,
            )
        }
        _ => {
            let key = rule
                .key
                .clone()
                .ok_or_else(|| "set key = [\"…\"] (the target's key columns)".to_string())?;
            let skey = rule.source_key.clone().unwrap_or_else(|| key.clone());
            let (extra, sextra): (Vec<String>, Vec<String>) = match rule.kind {
                RuleKind::HierarchyMatch => {
                    let p = rule.parent.clone().unwrap_or_default();
                    (
                        vec![p.clone()],
                        vec![rule.source_parent.clone().unwrap_or(p)],
                    )
                }
                _ => match &rule.label {
                    Some(l) => (
                        vec![l.clone()],
                        vec![rule.source_label.clone().unwrap_or_else(|| l.clone())],
                    ),
                    None => (vec![], vec![]),
                },
            };
            let tcols = columns_of(
                &mut tgt,
                Some(&table),
                None,
                &[key.clone(), extra.clone()].concat(),
            )
            .await?;
            let scols = columns_of(
                &mut src,
                Some(&source_table),
                None,
                &[skey.clone(), sextra].concat(),
            )
            .await?;
            let names = [key.clone(), extra].concat();
            let n = key.len();
            (
                request(&source_table, None, scols, n, None, sides),
                request(&table, None, tcols, n, None, sides),
                n,
                names,
            )
        }
    };
    let (mut sreq, mut treq) = (sreq, treq);
    for i in 0..sreq.columns.len().min(treq.columns.len()) {
        let k =
            Kind::unify(sreq.columns[i].kind, treq.columns[i].kind).unwrap_or(treq.columns[i].kind);
        sreq.codecs[i].compare = k;
        treq.codecs[i].compare = k;
    }
    if sreq.columns.len() != treq.columns.len() {
        return Err("the two sides have a different number of columns".into());
    }
    let queries = vec![src.read_sql(&sreq), tgt.read_sql(&treq)];
    drop((src, tgt));
    let ncols = names.len();
    let tolerance = (rule.tolerance.is_some() || rule.relative_tolerance.is_some()).then(|| {
        cutover_check::diff::Tolerance {
            absolute: rule.tolerance.unwrap_or(0.0),
            relative: rule.relative_tolerance.unwrap_or(0.0),
        }
    });
    let mut tolerances = vec![None; ncols];
    if rule.kind == RuleKind::AggregateMatch {
        tolerances[ncols - 1] = tolerance;
    }
    let opts = DiffOptions {
        columns: ncols,
        key_columns: key_len,
        sample_size: sides.sample_size,
        tolerances,
    };
    let d = cutover_run::diff_requests(sides.source, sides.target, (sreq, treq), &opts, cancel)?;
    let mut found = judge(rule, &d, &names, key_len, queries);
    // reference_complete: every code the fact tables use exists in the new reference book.
    if rule.kind == RuleKind::ReferenceComplete {
        for used in rule.used_by.clone().unwrap_or_default() {
            let fk = RuleConfig {
                kind: RuleKind::ForeignKey,
                table: Some(used.table.clone()),
                columns: Some(used.columns.clone()),
                parent_table: Some(table.clone()),
                parent_columns: rule.key.clone(),
                side: RuleSide::Target,
                filter: None,
                ..rule.clone()
            };
            let orphans = Box::pin(foreign_key(&fk, sides, cancel)).await?;
            found.violations += orphans.violations;
            found.message.push_str(&format!("; {}", orphans.message));
            found
                .sample
                .extend(orphans.sample.into_iter().map(|mut row| {
                    row.push((
                        "finding".into(),
                        Some(format!("used by {} but not in {table}", used.table)),
                    ));
                    row
                }));
            found.queries.extend(orphans.queries);
        }
    }
    Ok(found)
}

/// What a cross-side diff means for each rule type.
fn judge(
    rule: &RuleConfig,
    d: &TableDiff,
    names: &[String],
    key_len: usize,
    queries: Vec<String>,
) -> Found {
    let keyed = |key: &[Option<String>],
                 extra: Vec<(String, Option<String>)>|
     -> Vec<(String, Option<String>)> {
        names[..key_len]
            .iter()
            .cloned()
            .zip(key.iter().cloned())
            .chain(extra)
            .collect()
    };
    let mut sample: Vec<Vec<(String, Option<String>)>> = Vec::new();
    for r in &d.samples.missing {
        sample.push(keyed(
            &r.key,
            vec![("finding".into(), Some("only on the source".into()))],
        ));
    }
    if rule.kind != RuleKind::ReferenceComplete {
        for r in &d.samples.extra {
            sample.push(keyed(
                &r.key,
                vec![("finding".into(), Some("only on the target".into()))],
            ));
        }
    }
    for c in &d.samples.changed {
        let mut extra = vec![("finding".into(), Some("different".into()))];
        for (i, s, t) in &c.columns {
            extra.push((format!("{} (source)", names[*i]), s.clone()));
            extra.push((format!("{} (target)", names[*i]), t.clone()));
        }
        sample.push(keyed(&c.key, extra));
    }
    let (violations, message) = match rule.kind {
        RuleKind::AggregateMatch => (
            d.missing + d.extra + d.changed,
            format!(
                "{} groups compared: {} differ, {} only on the source, {} only on the target",
                d.source.rows.max(d.target.rows),
                d.changed,
                d.missing,
                d.extra
            ),
        ),
        RuleKind::HierarchyMatch => (
            d.missing + d.extra + d.changed,
            format!(
                "{} nodes: {} with another parent, {} only on the source, {} only on the target",
                d.source.rows, d.changed, d.missing, d.extra
            ),
        ),
        _ => (
            d.missing + d.changed,
            format!(
                "{} legacy entries: {} missing from the reference book, {} with another label ({} entries only in the new book)",
                d.source.rows, d.missing, d.changed, d.extra
            ),
        ),
    };
    Found {
        violations,
        checked: Some(d.source.rows),
        message,
        sample,
        queries,
    }
}
