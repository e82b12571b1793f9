//! What rule evaluations share: opening a side, finding columns, building reads, sampling rows,
//! counting violations in SQL, and diffing two reads across sides.

use crate::{Context, Found, RuleError};
use cutover_check::{DiffOptions, TableDiff, TableDiffSink};
use cutover_config::RuleSide;
use cutover_source::dialect::{self, Conditions};
use cutover_source::pair::{SideRead, compare};
use cutover_source::{
    ColumnInfo, Condition, Connector, Endpoint, Fragment, FragmentKind, ReadRequest, SourceError,
};

/// A rule's sample rows: column → value (`None` is NULL).
pub(crate) type Sample = Vec<Vec<(String, Option<String>)>>;

impl Context<'_> {
    /// The endpoint of a side.
    pub(crate) fn side(&self, side: RuleSide) -> &Endpoint {
        match side {
            RuleSide::Source => &self.sides.source,
            RuleSide::Target => &self.sides.target,
        }
    }

    /// Opens a side.
    pub(crate) fn open(&self, at: &Endpoint) -> Result<Box<dyn Connector>, RuleError> {
        Ok(cutover_source::open(at)?)
    }

    /// A read of `columns`, ordered by the first `key_columns`, with an optional condition or
    /// configured source query.
    pub(crate) fn request(
        &self,
        table: &str,
        query: Option<Fragment>,
        columns: Vec<ColumnInfo>,
        key_columns: usize,
        filter: Option<Condition>,
    ) -> ReadRequest {
        let mut req = ReadRequest::new(table, columns, key_columns);
        req.query = query;
        req.filter = filter;
        req.batch_rows = self.sides.batch_rows;
        req.memory_budget = self.sides.memory_budget;
        req
    }

    /// Diffs two reads with the same pipeline as a table check: both sides at once, key-ordered,
    /// merge-joined.
    pub(crate) fn diff(
        &self,
        source: (&Endpoint, ReadRequest),
        target: (&Endpoint, ReadRequest),
        opts: &DiffOptions,
    ) -> Result<TableDiff, RuleError> {
        let mut sink = TableDiffSink::new(opts);
        compare(
            SideRead {
                endpoint: source.0,
                request: source.1,
            },
            SideRead {
                endpoint: target.0,
                request: target.1,
            },
            opts,
            &mut sink,
            &|_, _| {},
            self.cancel,
        )?;
        Ok(sink.into_diff())
    }
}

/// Columns of a table or query, as the engine describes them, in the order asked (all of them
/// when none is asked).
pub(crate) fn columns_of(
    conn: &mut dyn Connector,
    table: Option<&str>,
    query: Option<&Fragment>,
    wanted: &[String],
) -> Result<Vec<ColumnInfo>, RuleError> {
    let schema = match (query, table) {
        (Some(q), _) => conn.require_sql("run a query")?.describe_query(q)?,
        (None, Some(t)) => conn
            .describe(t)?
            .ok_or_else(|| RuleError::Rule(format!("table {t} does not exist")))?,
        (None, None) => return Err(RuleError::Rule("no table".into())),
    };
    if wanted.is_empty() {
        return Ok(schema.columns);
    }
    wanted
        .iter()
        .map(|w| {
            schema.column(w).cloned().ok_or_else(|| {
                RuleError::Rule(format!(
                    "column {w} does not exist in {} (columns: {})",
                    table.unwrap_or("the query"),
                    schema
                        .columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
        })
        .collect()
}

/// Reads up to `n` rows of a request, as (column, value) pairs.
pub(crate) fn sample(
    conn: &mut dyn Connector,
    req: &ReadRequest,
    n: usize,
) -> Result<Sample, RuleError> {
    let mut rows = Vec::new();
    let names: Vec<String> = req.columns.iter().map(|c| c.name.clone()).collect();
    let result = conn.read(req, &mut |batch| {
        for r in 0..batch.len() {
            if rows.len() < n {
                rows.push(
                    names
                        .iter()
                        .enumerate()
                        .map(|(c, name)| {
                            (
                                name.clone(),
                                cutover_check::diff::capped(cutover_check::canonical::display(
                                    batch.cell(r, c),
                                )),
                            )
                        })
                        .collect(),
                );
            }
        }
        rows.len() < n
    });
    match result {
        Ok(()) | Err(SourceError::Stopped) => Ok(rows),
        Err(e) => Err(e.into()),
    }
}

/// Counts the rows of `table` (those the rule's filter selects) and those matching `cond` in
/// the database, and samples the matching ones (primary key first).
pub(crate) fn count_and_sample(
    cx: &Context<'_>,
    conn: &mut dyn Connector,
    table: &str,
    cols: &[String],
    cond: String,
    filter: Option<&Fragment>,
    what: &str,
) -> Result<Found, RuleError> {
    let sql = conn.require_sql(what)?;
    let d = sql.dialect();
    let all = filter.map(|f| Condition::All(vec![Condition::Configured(f.clone())]));
    let total_sql = dialect::count_sql(d, table, all.as_ref());
    let violating = Condition::filtered(filter, cond);
    let bad_sql = dialect::count_sql(d, table, Some(&violating));
    let checked = sql.count(&total_sql)?;
    let violations = sql.count(&bad_sql)?;
    let mut shown: Vec<String> = cols.to_vec();
    if let Some(schema) = conn.describe(table)? {
        for k in schema.primary_key.iter().rev() {
            if !shown.iter().any(|s| s.eq_ignore_ascii_case(k)) {
                shown.insert(0, k.clone());
            }
        }
    }
    let columns = columns_of(conn, Some(table), None, &shown)?;
    let n = columns.len();
    let req = cx.request(table, None, columns, n, Some(violating));
    let rows = if violations > 0 {
        sample(conn, &req, cx.sides.sample_size)?
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

/// A rule checked on the rows of one table in the database of the rule's side: `cond` builds
/// the violation test from quoted identifiers (and the rule's filter), which is then counted
/// and sampled.
pub(crate) fn pushdown(
    cx: &Context<'_>,
    rule: &cutover_config::RuleConfig,
    (table, columns): (&str, &[String]),
    filter: Option<&str>,
    what: &str,
    cond: impl FnOnce(&Conditions<'static>, Option<&Fragment>) -> Result<String, RuleError>,
) -> Result<Found, RuleError> {
    let mut conn = cx.open(cx.side(rule.side))?;
    let filter = configured(conn.as_mut(), rule, "filter", filter)?;
    let cond = cond(&conditions(conn.as_mut(), table, what)?, filter.as_ref())?;
    count_and_sample(
        cx,
        conn.as_mut(),
        table,
        columns,
        cond,
        filter.as_ref(),
        what,
    )
}

/// A configured expression of a rule (its `filter`, a `source_where`, …), checked for the side
/// that runs it.
pub(crate) fn configured(
    conn: &mut dyn Connector,
    rule: &cutover_config::RuleConfig,
    key: &str,
    text: Option<&str>,
) -> Result<Option<Fragment>, RuleError> {
    Ok(text
        .map(|t| {
            conn.fragment(
                FragmentKind::Expression,
                &format!("rule {}: {key}", rule.id),
                t,
            )
        })
        .transpose()?)
}

/// The rule conditions on `table` in the side's dialect.
pub(crate) fn conditions(
    conn: &mut dyn Connector,
    table: &str,
    what: &str,
) -> Result<Conditions<'static>, RuleError> {
    Ok(Conditions::new(conn.require_sql(what)?.dialect(), table))
}
