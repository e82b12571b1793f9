//! Checksums computed in the database: each engine renders every value exactly as
//! [`cutover_check::canonical::checksum_text`] does, and hashes the rows of each bucket of key
//! ranges in one of three ways ([`RowHash`]):
//! - with an integer key, md5 of the bucket's row texts joined in key order: one md5 per bucket
//!   instead of one per row. Each row's text is self-delimiting, so equal joined texts mean
//!   equal rows in the same order; an order the servers disagree on makes a bucket differ,
//!   never match;
//! - with a text key (whose order differs between collations), the exact sum of a 60-bit slice
//!   of each row's md5 (no overflow, no XOR): a change escapes only if the slices of the changed
//!   rows happen to sum alike, about one chance in 2^60 per differing bucket;
//! - between PostgreSQL servers of the same major version, two seeds of its own text hash.
//!
//! Equal row counts and hashes on both sides mean the same rows; different ones send the
//! bucket's rows through the ordinary merge join.
//!
//! Only stored columns of kinds every engine renders the same way are checksummed; anything
//! else says why, and the table is streamed instead.

use crate::dialect::{Condition, Dialect, Fragment};
use crate::{ColumnInfo, Engine};
use cutover_check::Kind;

/// A type name's base (lower case, modifiers removed) and its modifiers: `numeric(12,4)` is
/// (`numeric`, [12, 4]); `timestamp(3) without time zone` is (`timestamp without time zone`, [3]).
fn base_type(type_name: &str) -> (String, Vec<u32>) {
    let t = type_name.to_ascii_lowercase();
    match (t.find('('), t.find(')')) {
        (Some(open), Some(close)) if open < close => {
            let mods = t[open + 1..close]
                .split(',')
                .filter_map(|m| m.trim().parse().ok())
                .collect();
            let base = format!("{}{}", &t[..open], &t[close + 1..]);
            (base.split_whitespace().collect::<Vec<_>>().join(" "), mods)
        }
        _ => (t.trim().to_string(), Vec::new()),
    }
}

/// True for a stored column of a text type (not a CLOB-like one): what checksum buckets take
/// besides integers, compared in each database's own collation.
pub fn text_key(c: &ColumnInfo, engine: Engine) -> bool {
    if c.expr.is_some() || !matches!(c.kind, Kind::Text | Kind::Char) {
        return false;
    }
    let (base, _) = base_type(&c.type_name);
    match engine {
        Engine::Postgres => matches!(
            base.as_str(),
            "text" | "character varying" | "character" | "varchar" | "char" | "bpchar"
        ),
        _ => matches!(base.as_str(), "char" | "varchar"),
    }
}

/// True for a stored column of an integer type: what key ranges and buckets take.
pub fn integer_key(c: &ColumnInfo, engine: Engine) -> bool {
    if c.expr.is_some() || c.kind != Kind::Number {
        return false;
    }
    let (base, _) = base_type(&c.type_name);
    let base = base.split_whitespace().next().unwrap_or("");
    match engine {
        Engine::Postgres => matches!(base, "smallint" | "integer" | "bigint"),
        _ => matches!(
            base,
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint"
        ),
    }
}

/// The scale a `numeric(p,s)` / `decimal(p,s)` type declares.
pub fn declared_scale(type_name: &str) -> Option<u32> {
    let (base, mods) = base_type(type_name);
    let base = base.split_whitespace().next().unwrap_or("");
    match (base, mods.as_slice()) {
        ("numeric" | "decimal", [_, scale]) => Some(*scale),
        _ => None,
    }
}

/// The rendering of one non-NULL value: its SQL, and whether it is text (prefixed by its byte
/// length) rather than a value followed by `,`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueSql {
    /// The SQL expression of the value's text.
    pub sql: String,
    /// True for text.
    pub text: bool,
}

fn value(sql: String) -> Result<ValueSql, String> {
    Ok(ValueSql { sql, text: false })
}

fn text(sql: String) -> Result<ValueSql, String> {
    Ok(ValueSql { sql, text: true })
}

fn unsupported(c: &ColumnInfo, compare: Kind, engine: Engine) -> Result<ValueSql, String> {
    Err(format!(
        "column {} ({} on {}, compared as {}) has no text that every engine renders the same way",
        c.name,
        c.type_name,
        engine.name(),
        compare.name()
    ))
}

/// PostgreSQL's rendering of a value of `c` compared as `compare`, under the session settings
/// cutover pins (DateStyle ISO, TimeZone UTC).
pub(crate) fn postgres_value(
    d: &dyn Dialect,
    c: &ColumnInfo,
    compare: Kind,
    scale: Option<u32>,
) -> Result<ValueSql, String> {
    let col = d.quote_ident(&c.name);
    let (base, _) = base_type(&c.type_name);
    let integer = matches!(base.as_str(), "smallint" | "integer" | "bigint");
    match (c.kind, compare) {
        (Kind::Number, Kind::Number | Kind::Bool) if integer => value(format!("{col}::text")),
        // A declared scale both sides share prints fixed digits, with no trimming.
        (Kind::Number, Kind::Number) if base == "numeric" && scale.is_some() => {
            value(format!("{col}::text"))
        }
        (Kind::Number, Kind::Number) if base == "numeric" => {
            value(format!("trim_scale({col})::text"))
        }
        (Kind::Bool, Kind::Bool) => value(format!("CASE WHEN {col} THEN '1' ELSE '0' END")),
        (Kind::Text | Kind::Char, Kind::Text | Kind::Char)
            if matches!(
                base.as_str(),
                "text" | "character varying" | "character" | "varchar" | "char" | "bpchar"
            ) =>
        {
            // bpchar's cast to text drops the pad spaces, as the canonical layer does.
            text(format!("{col}::text"))
        }
        (Kind::Bytes, Kind::Bytes) => value(format!("encode({col}, 'hex')")),
        (Kind::Date, Kind::Date) => value(format!("{col}::text")),
        (Kind::Date, Kind::Timestamp) => value(format!("{col}::timestamp::text")),
        (Kind::Time, Kind::Time) if base == "time without time zone" || base == "time" => {
            value(format!("{col}::text"))
        }
        (Kind::Timestamp, Kind::Timestamp) if c.zoned => {
            value(format!("({col} AT TIME ZONE 'UTC')::text"))
        }
        (Kind::Timestamp, Kind::Timestamp) => value(format!("{col}::text")),
        (Kind::Uuid, Kind::Uuid) => value(format!("{col}::text")),
        _ => unsupported(c, compare, Engine::Postgres),
    }
}

/// MySQL's and MariaDB's rendering (session time zone UTC, utf8mb4).
pub(crate) fn mysql_value(
    d: &dyn Dialect,
    c: &ColumnInfo,
    compare: Kind,
    scale: Option<u32>,
) -> Result<ValueSql, String> {
    let col = d.quote_ident(&c.name);
    let (base, mods) = base_type(&c.type_name);
    let base = base.split_whitespace().next().unwrap_or("").to_string();
    let integer = matches!(
        base.as_str(),
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year"
    );
    // Drops the trailing zeros of a fraction, and then a bare point.
    let trimmed = |s: String| format!("TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM {s}))");
    let fraction = mods.first().copied().unwrap_or(0) > 0;
    // Numbers and dates print ASCII: as a binary string they need no conversion to the
    // connection's character set (a fifth of the server's time on a table of numbers and dates).
    let cast = format!("CAST({col} AS BINARY)");
    match (c.kind, compare) {
        (Kind::Number | Kind::Bool, Kind::Number | Kind::Bool) if integer => value(cast),
        (Kind::Number, Kind::Number) if matches!(base.as_str(), "decimal" | "numeric") => {
            if mods.get(1).copied().unwrap_or(0) > 0 && scale.is_none() {
                value(trimmed(cast))
            } else {
                value(cast)
            }
        }
        (Kind::Bool, Kind::Bool) => value(cast),
        (Kind::Text | Kind::Char, Kind::Text | Kind::Char)
            if matches!(
                base.as_str(),
                "char"
                    | "varchar"
                    | "tinytext"
                    | "text"
                    | "mediumtext"
                    | "longtext"
                    | "enum"
                    | "set"
            ) =>
        {
            if c.utf8 {
                // Stored as UTF-8 already: the bytes as they are.
                text(col)
            } else {
                text(format!("CONVERT({col} USING utf8mb4)"))
            }
        }
        (Kind::Bytes, Kind::Bytes) => value(format!("LOWER(HEX({col}))")),
        (Kind::Date, Kind::Date) => value(cast),
        (Kind::Date, Kind::Timestamp) => value(format!("CAST(CAST({col} AS DATETIME) AS BINARY)")),
        (Kind::Time, Kind::Time) | (Kind::Timestamp, Kind::Timestamp) if fraction => {
            value(trimmed(cast))
        }
        (Kind::Time, Kind::Time) | (Kind::Timestamp, Kind::Timestamp) => value(cast),
        // A binary cast of a UUID gives its 16 bytes, not its text.
        (Kind::Uuid, Kind::Uuid) if base == "uuid" => value(format!("CAST({col} AS CHAR)")),
        _ => unsupported(c, compare, Engine::MySql),
    }
}

/// SQLite's rendering of the kinds it stores as such (integers, text, blobs). SQLite has no
/// md5 in SQL, so it renders but never checksums.
pub(crate) fn sqlite_value(
    d: &dyn Dialect,
    c: &ColumnInfo,
    compare: Kind,
    scale: Option<u32>,
) -> Result<ValueSql, String> {
    let _ = scale;
    let col = d.quote_ident(&c.name);
    let (base, _) = base_type(&c.type_name);
    match (c.kind, compare) {
        (Kind::Number, Kind::Number) if base.contains("int") => {
            value(format!("CAST({col} AS TEXT)"))
        }
        (Kind::Text | Kind::Char, Kind::Text | Kind::Char) => text(format!("CAST({col} AS TEXT)")),
        (Kind::Bytes, Kind::Bytes) => value(format!("lower(hex({col}))")),
        _ => unsupported(c, compare, Engine::Sqlite),
    }
}

/// What one checksum statement reads: the table (or query), its row filter, the key column and
/// the rendering of each compared column.
#[derive(Debug, Clone)]
pub struct ChecksumSource<'a> {
    /// The table, `schema.table`.
    pub table: &'a str,
    /// The configured filter (`source_where` / `target_where`).
    pub filter: Option<&'a Fragment>,
    /// The key column (a single integer column).
    pub key: &'a ColumnInfo,
    /// Every compared column, key first, with the kind it is compared as and the decimal
    /// scale both sides declare, if they declare the same one.
    pub columns: Vec<(&'a ColumnInfo, Kind, Option<u32>)>,
    /// How the rows of a bucket are hashed.
    pub hash: RowHash,
    /// The key is the table's primary key: on MySQL/MariaDB a range scan of it returns the rows
    /// in key order (InnoDB stores them so), and joining them needs no sort.
    pub key_primary: bool,
}

/// How the rows of a bucket are hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowHash {
    /// md5 of the bucket's row texts joined in key order (an integer key).
    Md5Range,
    /// The sum of a 60-bit slice of each row's md5 (any key, any order).
    Md5Sum,
    /// Two seeds of PostgreSQL's own text hash, summed (both sides PostgreSQL of the same
    /// major version).
    Native,
}

impl RowHash {
    /// The name reports give it.
    pub fn name(self) -> &'static str {
        match self {
            RowHash::Md5Range => "md5-range",
            RowHash::Md5Sum => "md5",
            RowHash::Native => "hashtextextended",
        }
    }
}

/// The parts of a bucket statement: the table, ` WHERE …` (or nothing), the quoted key, the
/// inner bucket bounds (digits, or literals of a text key) and the row text's SQL.
#[derive(Debug, Clone)]
pub struct BucketSql {
    /// The quoted table.
    pub from: String,
    /// ` WHERE …`, or empty.
    pub filter: String,
    /// The quoted key column.
    pub key: String,
    /// The bounds between buckets in ascending key order: integers, or literals of a text key.
    pub bounds: Vec<String>,
    /// The key is text: its bounds are literals, compared in the column's collation.
    pub text_key: bool,
    /// The row text.
    pub row: String,
    /// How the rows are hashed.
    pub hash: RowHash,
    /// With [`RowHash::Md5Range`]: the configured filter, and each bucket's keys from the first
    /// (inclusive) to the last (inclusive), unbounded where `None`.
    pub ranges: Option<(Option<Fragment>, Vec<KeySpan>)>,
    /// The key is the table's primary key (see [`ChecksumSource::key_primary`]).
    pub key_primary: bool,
}

/// A key bound: an integer, which enters SQL only as digits, or a text key's value, which
/// enters it only as the dialect's literal ([`Dialect::key_literal`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyBound {
    /// An integer key's value.
    Int(i128),
    /// A text key's value.
    Text(String),
}

impl KeyBound {
    /// Parses an integer key value as the database printed it.
    pub fn parse(text: &str) -> Option<KeyBound> {
        text.trim().parse().ok().map(KeyBound::Int)
    }

    /// The integer, for an integer key's bound.
    pub fn int(&self) -> Option<i128> {
        match self {
            KeyBound::Int(i) => Some(*i),
            KeyBound::Text(_) => None,
        }
    }

    /// The bound as an SQL value of dialect `d`.
    pub fn sql(&self, d: &dyn Dialect) -> String {
        match self {
            KeyBound::Int(i) => i.to_string(),
            KeyBound::Text(t) => d.key_literal(t),
        }
    }
}

impl std::fmt::Display for KeyBound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyBound::Int(i) => write!(f, "{i}"),
            KeyBound::Text(t) => write!(f, "{t:?}"),
        }
    }
}

/// An integer key range from its first key to its last, both included; `None` is unbounded.
pub type KeySpan = (Option<i128>, Option<i128>);

/// A key range `[lo, hi)`; `None` is unbounded.
pub type KeyRange = (Option<KeyBound>, Option<KeyBound>);

impl ChecksumSource<'_> {
    /// The SQL of a row's checksum text: every cell rendered, `N` for NULL, joined.
    pub fn row_sql(&self, d: &dyn Dialect) -> Result<String, String> {
        let mut parts = Vec::with_capacity(self.columns.len());
        for (c, compare, scale) in &self.columns {
            if c.expr.is_some() {
                return Err(format!("column {} is an expression", c.name));
            }
            let v = d.checksum_value(c, *compare, *scale)?;
            let col = d.quote_ident(&c.name);
            let rendered = if v.text {
                d.checksum_concat(&[d.checksum_length(&v.sql), "':'".into(), v.sql])
            } else {
                d.checksum_concat(&[v.sql, "','".into()])
            };
            parts.push(format!(
                "CASE WHEN {col} IS NULL THEN 'N' ELSE {rendered} END"
            ));
        }
        Ok(d.checksum_concat(&parts))
    }

    /// The condition of rows in `range`, with the configured filter.
    pub fn condition(&self, d: &dyn Dialect, ranges: &[KeyRange]) -> Option<Condition> {
        let mut parts: Vec<Condition> = self
            .filter
            .cloned()
            .map(Condition::Configured)
            .into_iter()
            .collect();
        if let Some(r) = ranges_sql(d, self.key, ranges) {
            parts.push(Condition::Built(r));
        }
        (!parts.is_empty()).then_some(Condition::All(parts))
    }

    /// ` WHERE …` of [`Self::condition`], or nothing.
    fn where_sql(&self, d: &dyn Dialect, ranges: &[KeyRange]) -> String {
        self.condition(d, ranges)
            .map(|c| format!(" WHERE {}", c.render()))
            .unwrap_or_default()
    }

    /// Every `every`-th key in key order: the boundaries of ranges of `every` rows.
    pub fn quantiles_sql(&self, d: &dyn Dialect, every: u64) -> String {
        let key = d.quote_ident(&self.key.name);
        let filter = self.where_sql(d, &[]);
        d.checksum_quantiles(&key, &d.quote_name(self.table), &filter, every.max(1))
    }

    /// The rows the checksums cover (the configured filter applies), as text.
    pub fn count_sql(&self, d: &dyn Dialect) -> String {
        let filter = self.where_sql(d, &[]);
        let as_text = if d.engine() == Engine::MySql {
            "CHAR"
        } else {
            "TEXT"
        };
        format!(
            "SELECT CAST(COUNT(*) AS {as_text}) FROM {}{filter}",
            d.quote_name(self.table)
        )
    }

    /// The smallest and the largest key, as text.
    pub fn key_span_sql(&self, d: &dyn Dialect) -> String {
        let key = d.quote_ident(&self.key.name);
        let filter = self.where_sql(d, &[]);
        d.checksum_key_span(&key, &d.quote_name(self.table), &filter)
    }

    /// One statement that returns, for the rows in `range` split at `inner` bounds, one line
    /// per bucket: bucket number, rows, and two sums: of a 60-bit slice of the rows' md5 and
    /// `0`, or of two seeds of the native hash.
    pub fn buckets_sql(
        &self,
        d: &dyn Dialect,
        range: KeyRange,
        inner: &[KeyBound],
    ) -> Result<String, String> {
        let row = self.row_sql(d)?;
        let key = d.quote_ident(&self.key.name);
        let filter = self.where_sql(d, std::slice::from_ref(&range));
        let text_key = text_key(self.key, d.engine());
        let ranges = if self.hash == RowHash::Md5Range {
            if text_key {
                return Err("md5 of joined rows needs an integer key".into());
            }
            let int = |b: &KeyBound| b.int().ok_or("an integer key's bound is not an integer");
            let mut edges = vec![range.0.as_ref().map(int).transpose()?];
            for b in inner {
                edges.push(Some(int(b)?));
            }
            let last = range.1.as_ref().map(int).transpose()?;
            let buckets = edges
                .iter()
                .zip(
                    edges
                        .iter()
                        .skip(1)
                        .map(|e| e.map(|e| e - 1))
                        .chain([last.map(|e| e - 1)]),
                )
                .map(|(lo, hi)| (*lo, hi))
                .collect();
            Some((self.filter.cloned(), buckets))
        } else {
            None
        };
        let q = BucketSql {
            from: d.quote_name(self.table),
            filter,
            key,
            bounds: inner.iter().map(|b| b.sql(d)).collect(),
            text_key,
            row,
            hash: self.hash,
            ranges,
            key_primary: self.key_primary,
        };
        d.checksum_buckets(&q)
            .ok_or_else(|| format!("{} has no md5 function in SQL", d.engine().name()))
    }
}

/// `(key >= lo AND key < hi) OR …` for the ranges, or `None` for one unbounded range.
pub fn ranges_sql(d: &dyn Dialect, key: &ColumnInfo, ranges: &[KeyRange]) -> Option<String> {
    let key = d.quote_ident(&key.name);
    let one = |(lo, hi): &KeyRange| -> Option<String> {
        let mut p = Vec::new();
        if let Some(lo) = lo {
            p.push(format!("{key} >= {}", lo.sql(d)));
        }
        if let Some(hi) = hi {
            p.push(format!("{key} < {}", hi.sql(d)));
        }
        (!p.is_empty()).then(|| p.join(" AND "))
    };
    let mut parts = Vec::new();
    for r in ranges {
        parts.push(one(r)?);
    }
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(
            parts
                .into_iter()
                .map(|p| format!("({p})"))
                .collect::<Vec<_>>()
                .join(" OR "),
        ),
    }
}

/// PostgreSQL's bucket statement: one 60-bit slice of each row's md5 (the second sum is `0`, as
/// on MySQL, where a second slice would need the md5 kept in a materialised derived table, which
/// cost MariaDB a third more than the whole sum). With the native hash, two seeds of
/// `hashtextextended` over the row text in the "C" collation (a nondeterministic collation
/// would hash `a` and `A` alike).
pub(crate) fn postgres_buckets(q: &BucketSql) -> String {
    let BucketSql {
        from,
        filter,
        key,
        bounds,
        row,
        hash,
        text_key,
        ranges,
        ..
    } = q;
    if let Some((configured, buckets)) = ranges {
        // One index range scan per bucket, in key order (PostgreSQL keys fit in a bigint).
        let ends =
            |pick: fn(&KeySpan) -> String| buckets.iter().map(pick).collect::<Vec<_>>().join(",");
        let los = ends(|b| b.0.unwrap_or(i64::MIN as i128).to_string());
        let his = ends(|b| b.1.unwrap_or(i64::MAX as i128).to_string());
        let cond = Condition::filtered(
            configured.as_ref(),
            format!("{key} >= cutover_e.lo AND {key} <= cutover_e.hi"),
        );
        return format!(
            "SELECT (cutover_e.i - 1)::text, cutover_x.n::text, cutover_x.h, '0' \
             FROM unnest(ARRAY[{los}]::bigint[], ARRAY[{his}]::bigint[]) WITH ORDINALITY AS cutover_e(lo, hi, i) \
             CROSS JOIN LATERAL (SELECT count(*) AS n, md5(string_agg(r, '' ORDER BY k)) AS h \
             FROM (SELECT {key} AS k, {row} AS r FROM {from} WHERE {}) AS cutover_rows) AS cutover_x \
             WHERE cutover_x.n > 0 ORDER BY cutover_e.i",
            cond.render()
        );
    }
    let bucket = match (bounds.is_empty(), text_key) {
        (true, _) => "0".to_string(),
        // In the column's collation, which the cast keeps and the array's literals take.
        (false, true) => format!(
            "width_bucket({key}::text, ARRAY[{}]::text[])",
            bounds.join(",")
        ),
        (false, false) => format!("width_bucket({key}, ARRAY[{}]::bigint[])", bounds.join(",")),
    };
    if *hash == RowHash::Native {
        return format!(
            "SELECT b::text, count(*)::text, sum(hashtextextended(r, 0))::text, \
             sum(hashtextextended(r, 1))::text \
             FROM (SELECT {bucket} AS b, ({row}) COLLATE \"C\" AS r FROM {from}{filter} OFFSET 0) AS cutover_rows \
             GROUP BY b ORDER BY b"
        );
    }
    let group = group_by(bounds, &bucket);
    format!(
        "SELECT ({bucket})::text, count(*)::text, \
         sum(('x' || substr(md5({row}), 1, 15))::bit(60)::bigint)::text, '0' \
         FROM {from}{filter}{group}"
    )
}

/// MySQL's and MariaDB's bucket statement: one 60-bit slice of each row's md5, like
/// PostgreSQL's.
pub(crate) fn mysql_buckets(q: &BucketSql) -> String {
    let BucketSql {
        from,
        filter,
        key,
        bounds,
        row,
        text_key,
        ranges,
        key_primary,
        ..
    } = q;
    if let Some((configured, buckets)) = ranges {
        // MariaDB has no LATERAL, and a GROUP BY costs a temporary table: one aggregate per
        // bucket, each an index range scan. The session's `group_concat_max_len` is raised, and a
        // bucket cut short by `max_allowed_packet` raises a warning, which fails the statement.
        // A range scan of the primary key reads the rows in key order (InnoDB's rows are stored
        // in it), so they are joined as read: sorting them cost MariaDB half as much again as
        // hashing them. Read in any other order, a range differs and is streamed; it cannot
        // match by mistake.
        let (from, order) = if *key_primary {
            (format!("{from} FORCE INDEX (PRIMARY)"), String::new())
        } else {
            (from.clone(), format!(" ORDER BY {key}"))
        };
        let branches: Vec<String> = buckets
            .iter()
            .enumerate()
            .map(|(i, (lo, hi))| {
                let mut range = Vec::new();
                if let Some(lo) = lo {
                    range.push(format!("{key} >= {lo}"));
                }
                if let Some(hi) = hi {
                    range.push(format!("{key} <= {hi}"));
                }
                let mut parts: Vec<Condition> = configured
                    .iter()
                    .map(|c| Condition::Configured(c.clone()))
                    .collect();
                if !range.is_empty() {
                    parts.push(Condition::Built(range.join(" AND ")));
                }
                let filter = if parts.is_empty() {
                    String::new()
                } else {
                    format!(" WHERE {}", Condition::All(parts).render())
                };
                format!(
                    "SELECT '{i}', CAST(COUNT(*) AS CHAR), \
                     MD5(GROUP_CONCAT({row}{order} SEPARATOR '')), '0' \
                     FROM {from}{filter} HAVING COUNT(*) > 0"
                )
            })
            .collect();
        return branches.join(" UNION ALL ");
    }
    let bucket = match (bounds.is_empty(), text_key) {
        (true, _) => "0".to_string(),
        (false, true) => search_case(key, bounds, 0, bounds.len()),
        (false, false) => format!("INTERVAL({key}, {})", bounds.join(", ")),
    };
    // Grouped by the bucket's expression, as a number: MariaDB groups `CAST(… AS CHAR)` by a
    // prefix as long as the function's declared width (buckets 100 to 109 fell in bucket 10),
    // and a `GROUP BY` alias loses to a column of the same name. Only the groups are
    // materialised, not the rows.
    format!(
        "SELECT CAST(cutover_b AS CHAR), CAST(cutover_n AS CHAR), CAST(cutover_h AS CHAR), '0' FROM \
         (SELECT {bucket} AS cutover_b, COUNT(*) AS cutover_n, \
         SUM(CAST(CONV(SUBSTR(MD5({row}), 1, 15), 16, 10) AS UNSIGNED)) AS cutover_h \
         FROM {from}{filter}{group}) AS cutover_buckets",
        group = group_by(bounds, &bucket)
    )
}

/// One group per bucket; with one bucket, no `GROUP BY` (a lone `0` would name a column by
/// position), and no row when there is no row.
fn group_by(bounds: &[String], bucket: &str) -> String {
    if bounds.is_empty() {
        " HAVING COUNT(*) > 0".into()
    } else {
        format!(" GROUP BY {bucket}")
    }
}

/// The bucket of `key` among buckets `lo..=hi` (bucket `i` holds the keys from `bounds[i - 1]`
/// up to `bounds[i]`), as a binary search of nested `CASE`s: about ten comparisons a row for a
/// thousand buckets, in the column's collation.
fn search_case(key: &str, bounds: &[String], lo: usize, hi: usize) -> String {
    if lo == hi {
        return lo.to_string();
    }
    let mid = (lo + hi) / 2;
    format!(
        "CASE WHEN {key} < {} THEN {} ELSE {} END",
        bounds[mid],
        search_case(key, bounds, lo, mid),
        search_case(key, bounds, mid + 1, hi)
    )
}

/// Every `every`-th key, in PostgreSQL and MySQL/MariaDB alike.
pub(crate) fn quantiles(key: &str, from: &str, filter: &str, every: u64, as_text: &str) -> String {
    format!(
        "SELECT {as_text} FROM (SELECT {key} AS k, ROW_NUMBER() OVER (ORDER BY {key}) AS rn \
         FROM {from}{filter}) AS cutover_keys WHERE MOD(rn, {every}) = 0 ORDER BY rn"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_bounds_enter_sql_only_as_literals() {
        let key = ColumnInfo::stored("code", "varchar(20)", Kind::Text);
        let bound = |t: &str| Some(KeyBound::Text(t.into()));
        let range = [(bound("a'b\\"), bound("z"))];
        assert_eq!(
            ranges_sql(&crate::dialect::Postgres, &key, &range).as_deref(),
            Some("\"code\" >= E'a''b\\\\' AND \"code\" < E'z'")
        );
        assert_eq!(
            ranges_sql(&crate::dialect::MySql, &key, &range).as_deref(),
            Some("`code` >= _utf8mb4 X'6127625C' AND `code` < _utf8mb4 X'7A'")
        );
        assert!(text_key(&key, Engine::MySql) && !integer_key(&key, Engine::MySql));
        // Buckets 0..=3 between three bounds, found in two comparisons.
        let bounds: Vec<String> = ["'b'", "'d'", "'f'"].map(String::from).into();
        assert_eq!(
            search_case("k", &bounds, 0, 3),
            "CASE WHEN k < 'd' THEN CASE WHEN k < 'b' THEN 0 ELSE 1 END \
             ELSE CASE WHEN k < 'f' THEN 2 ELSE 3 END END"
        );
    }

    #[test]
    fn type_names_lose_their_modifiers() {
        assert_eq!(base_type("numeric(12,4)"), ("numeric".into(), vec![12, 4]));
        assert_eq!(
            base_type("timestamp(3) without time zone"),
            ("timestamp without time zone".into(), vec![3])
        );
        assert_eq!(base_type("bigint"), ("bigint".into(), vec![]));
    }

    #[test]
    fn ranges_are_digits_and_quoted_names() {
        let key = ColumnInfo::stored("id", "integer", Kind::Number);
        let d = &crate::dialect::Postgres;
        let r = ranges_sql(
            d,
            &key,
            &[
                (None, Some(KeyBound::Int(10))),
                (Some(KeyBound::Int(20)), Some(KeyBound::Int(30))),
                (Some(KeyBound::Int(-5)), None),
            ],
        );
        assert_eq!(
            r.as_deref(),
            Some("(\"id\" < 10) OR (\"id\" >= 20 AND \"id\" < 30) OR (\"id\" >= -5)")
        );
        assert_eq!(ranges_sql(d, &key, &[(None, None)]), None);
        assert_eq!(KeyBound::parse("12; DROP"), None);
    }
}
