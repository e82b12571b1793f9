//! Schema comparison: what the target's declared columns, keys and indexes can hold compared
//! with the source's, found before any row is read. A column that got narrower (shorter text,
//! fewer digits, coarser fractions of a second, a smaller integer), NOT NULL where the source
//! holds NULLs, a lost default, and keys, foreign keys and indexes on one side only.
//!
//! Type names are read per engine: `INTEGER` is 64-bit in SQLite and 32-bit in PostgreSQL, a
//! `datetime` without precision keeps whole seconds in MariaDB, a `timestamp` keeps
//! microseconds in PostgreSQL. A type this module does not know is compared by name only.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How much a schema finding weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaLevel {
    /// Data cannot be stored as it is: blocks go-live.
    Error,
    /// A risk to read: the verdict becomes GO with warnings.
    Warn,
    /// For the record.
    Info,
}

impl SchemaLevel {
    /// The name reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaLevel::Error => "error",
            SchemaLevel::Warn => "warn",
            SchemaLevel::Info => "info",
        }
    }
}

impl SchemaLevel {
    /// How the verdict weighs a finding of this level: as a failing rule of this severity;
    /// `None` for information.
    pub fn weight(self) -> Option<(crate::RuleStatus, crate::Severity)> {
        match self {
            SchemaLevel::Error => Some((crate::RuleStatus::Fail, crate::Severity::Error)),
            SchemaLevel::Warn => Some((crate::RuleStatus::Fail, crate::Severity::Warn)),
            SchemaLevel::Info => None,
        }
    }
}

impl fmt::Display for SchemaLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a schema finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaKind {
    /// A source column no target column takes.
    MissingColumn,
    /// A target column no source column fills.
    ExtraColumn,
    /// The type's family changed (text to integer, timestamp to date, …).
    TypeChanged,
    /// The target type holds less than the source type.
    Narrowed,
    /// The target is NOT NULL where the source holds NULLs.
    NullsRejected,
    /// The target is NOT NULL where the source allows NULL (and holds none, or it is unknown).
    NotNullAdded,
    /// The source column has a default and the target column none.
    DefaultLost,
    /// A key, unique index or foreign key on the source only.
    ConstraintLost,
    /// A key, unique index or foreign key on the target only.
    ConstraintAdded,
    /// An index on one side only.
    IndexDiffers,
    /// A side's schema could not be read, so nothing was compared.
    NotCompared,
}

/// One schema finding of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaFinding {
    /// How much it weighs.
    pub level: SchemaLevel,
    /// What it is about.
    pub kind: SchemaKind,
    /// The target column (the source column when the target has none), if it is about one.
    pub column: Option<String>,
    /// The source's declaration.
    pub source: Option<String>,
    /// The target's declaration.
    pub target: Option<String>,
    /// What it means, in a sentence.
    pub message: String,
}

impl SchemaFinding {
    /// The finding in one line: `column: source → target: message`.
    pub fn line(&self) -> String {
        let mut line = self
            .column
            .as_ref()
            .map(|c| format!("{c}: "))
            .unwrap_or_default();
        match (&self.source, &self.target) {
            (Some(s), Some(t)) => line.push_str(&format!("{s} → {t}: ")),
            (Some(s), None) => line.push_str(&format!("{s} (source only): ")),
            (None, Some(t)) => line.push_str(&format!("{t} (target only): ")),
            (None, None) => {}
        }
        line + &self.message
    }
}

/// A column as a side declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnShape {
    /// The name.
    pub name: String,
    /// The engine's full type name.
    pub type_name: String,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// The default expression.
    pub default: Option<String>,
}

/// A key, index or foreign key, with its columns named as on the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// Primary key, unique index, index or foreign key.
    pub kind: ConstraintKind,
    /// Its columns (source constraints: already mapped to target names).
    pub columns: Vec<String>,
    /// The referenced table of a foreign key.
    pub references: Option<String>,
}

/// The kinds of [`Constraint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintKind {
    /// The primary key.
    PrimaryKey,
    /// A unique index or constraint.
    Unique,
    /// An index that does not enforce anything.
    Index,
    /// A foreign key.
    ForeignKey,
}

/// A table as one side declares it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableShape {
    /// The engine's name as [`Family::parse`] takes it (`PostgreSQL`, `MySQL/MariaDB`, `SQLite`).
    pub engine: String,
    /// The columns.
    pub columns: Vec<ColumnShape>,
    /// Keys, indexes and foreign keys; `None` when the side cannot tell (files).
    pub constraints: Option<Vec<Constraint>>,
    /// Whether the side declares nullability (databases) or not (files).
    pub declares_nulls: bool,
    /// Whether the side declares types (databases, Parquet) or not (CSV: every field is text).
    pub declares_types: bool,
}

/// A declared type, reduced to what decides whether values fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Family {
    /// Text of at most `len` characters (`None`: unbounded).
    Text(Option<u64>),
    /// Exact numbers of `precision` digits, `scale` after the point (`None`: unbounded).
    Decimal(Option<u32>, u32),
    /// Integers of `bytes` bytes (`None`: the engine does not enforce a size).
    Integer(Option<u8>),
    /// Floating point of 4 or 8 bytes.
    Float(u8),
    /// Timestamps keeping `precision` fractional digits (`None`: not declared), with or
    /// without a zone.
    Timestamp(Option<u8>, bool),
    /// Times of day keeping `precision` fractional digits.
    Time(Option<u8>),
    /// Dates.
    Date,
    /// Booleans.
    Bool,
    /// Bytes.
    Binary,
    /// A type compared by name only.
    Other(String),
}

/// The numbers in a type's parentheses: `numeric(14,2)` is `[14, 2]`.
fn params(t: &str) -> Vec<u64> {
    let Some(open) = t.find('(') else {
        return vec![];
    };
    let close = t[open..].find(')').map_or(t.len(), |c| open + c);
    t[open + 1..close]
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect()
}

impl Family {
    /// Reads a type name as `engine` declares it.
    pub fn parse(engine: &str, type_name: &str) -> Family {
        let t = type_name.trim().to_lowercase();
        let sqlite = engine.eq_ignore_ascii_case("sqlite");
        let lower = engine.to_lowercase();
        let mysql = lower.starts_with("mysql") || lower.starts_with("mariadb");
        let base: String = t
            .split('(')
            .next()
            .unwrap_or("")
            .replace(" unsigned", "")
            .trim()
            .to_string();
        let p = params(&t);
        let first = p.first().copied();
        let small = |n: Option<u64>| n.map(|n| n.min(9) as u8);
        // Where the precision sits: `timestamp(3) with time zone`.
        let zoned = t.contains("with time zone") || base == "timestamptz";
        match base.as_str() {
            "character varying" | "varchar" | "nvarchar" | "varchar2" | "nvarchar2" => {
                Family::Text(first)
            }
            "character" | "char" | "bpchar" | "nchar" => Family::Text(Some(first.unwrap_or(1))),
            "text" | "clob" | "string" | "longtext" | "citext" | "name" => Family::Text(None),
            "mediumtext" => Family::Text(Some(16_777_215)),
            "tinytext" => Family::Text(Some(255)),
            "numeric" | "decimal" | "number" | "dec" => match (first, p.get(1)) {
                (Some(prec), s) => Family::Decimal(Some(prec as u32), s.map_or(0, |s| *s as u32)),
                (None, _) if mysql => Family::Decimal(Some(10), 0),
                (None, _) => Family::Decimal(None, 0),
            },
            "tinyint" if mysql && first == Some(1) => Family::Bool,
            "tinyint" => Family::Integer(Some(1)),
            "smallint" | "int2" => Family::Integer((!sqlite).then_some(2)),
            "mediumint" => Family::Integer((!sqlite).then_some(3)),
            "int" | "integer" | "int4" => Family::Integer((!sqlite).then_some(4)),
            "bigint" | "int8" => Family::Integer((!sqlite).then_some(8)),
            "real" | "float4" if !sqlite => Family::Float(4),
            "float" if mysql && first.is_none_or(|p| p <= 24) => Family::Float(4),
            "real" | "float" | "float8" | "double" | "double precision" => Family::Float(8),
            "boolean" | "bool" => Family::Bool,
            "date" => Family::Date,
            "bytea" | "blob" | "longblob" | "mediumblob" | "tinyblob" | "binary" | "varbinary" => {
                Family::Binary
            }
            b if b.starts_with("timestamp") || b == "datetime" => {
                let declared = small(first).or(match (sqlite, mysql) {
                    (true, _) => None,
                    (_, true) => Some(0),
                    _ => Some(6),
                });
                Family::Timestamp(declared, zoned)
            }
            b if b.starts_with("time") => Family::Time(small(first).or(match (sqlite, mysql) {
                (true, _) => None,
                (_, true) => Some(0),
                _ => Some(6),
            })),
            _ => Family::Other(base),
        }
    }

    /// The family's name: text, number, timestamp, time, date, boolean, bytes, or the type's own.
    pub fn family_name(&self) -> &str {
        match self {
            Family::Text(_) => "text",
            Family::Decimal(..) | Family::Integer(_) | Family::Float(_) => "number",
            Family::Timestamp(..) => "timestamp",
            Family::Time(_) => "time",
            Family::Date => "date",
            Family::Bool => "boolean",
            Family::Binary => "bytes",
            Family::Other(n) => n,
        }
    }
}

/// Digits before the point an integer of `bytes` bytes needs.
fn integer_digits(bytes: u8) -> u32 {
    match bytes {
        1 => 3,
        2 => 5,
        3 => 8,
        4 => 10,
        _ => 19,
    }
}

/// Why a value of the source type may not fit the target type, if it may not.
fn narrowing(source: &Family, target: &Family) -> Option<String> {
    use Family::*;
    match (source, target) {
        (Text(s), Text(Some(t))) if s.is_none_or(|s| s > *t) => {
            Some(format!("texts longer than {t} characters do not fit"))
        }
        (Decimal(sp, ss), Decimal(Some(tp), ts)) => {
            let (tp, ts) = (*tp, *ts);
            let whole = |p: u32, s: u32| p.saturating_sub(s);
            if sp.is_none_or(|sp| whole(sp, *ss) > whole(tp, ts)) {
                Some(format!(
                    "numbers of more than {} digits before the point do not fit",
                    whole(tp, ts)
                ))
            } else if *ss > ts {
                Some(format!(
                    "fractions are rounded to {ts} decimal{}",
                    if ts == 1 { "" } else { "s" }
                ))
            } else {
                None
            }
        }
        (Integer(s), Decimal(Some(tp), ts)) => {
            let digits = integer_digits(s.unwrap_or(8));
            (tp.saturating_sub(*ts) < digits).then(|| {
                format!(
                    "integers of more than {} digits do not fit",
                    tp.saturating_sub(*ts)
                )
            })
        }
        (Decimal(_, ss), Integer(_)) if *ss > 0 => {
            Some("fractions are lost (the target holds integers)".into())
        }
        (Integer(Some(s)), Integer(Some(t))) if t < s => Some(format!(
            "integers beyond {} bits do not fit",
            u32::from(*t) * 8
        )),
        (Float(8), Float(4)) => Some("double precision is rounded to single precision".into()),
        (Timestamp(Some(s), _), Timestamp(Some(t), _)) | (Time(Some(s)), Time(Some(t)))
            if t < s =>
        {
            Some(match t {
                0 => "fractions of a second are lost".into(),
                t => format!("fractions of a second beyond {t} digits are lost"),
            })
        }
        (Timestamp(..), Date) => Some("the time of day is lost".into()),
        _ => None,
    }
}

/// Whether two types belong to different families (a change worth reading, not a narrowing).
fn family_changed(source: &Family, target: &Family) -> bool {
    use Family::*;
    match (source, target) {
        (Other(a), Other(b)) => a != b,
        (Other(_), _) | (_, Other(_)) => true,
        _ => source.family_name() != target.family_name(),
    }
}

/// A column pair of a table: the source column a target column is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairing {
    /// The source column (`None` for a computed expression).
    pub source: Option<String>,
    /// The target column.
    pub target: String,
}

/// What the run knows about a table's columns beyond the two shapes.
pub struct Context<'a> {
    /// Target columns and the source columns they are read from.
    pub pairs: &'a [Pairing],
    /// Source columns the config leaves behind on purpose (`drop`).
    pub dropped: &'a [String],
    /// Target columns the config leaves out of the comparison (`ignore`).
    pub ignored: &'a [String],
    /// NULLs a source column holds (within the table's `source_where`), when it can be counted.
    pub source_nulls: &'a mut dyn FnMut(&str) -> Option<u64>,
}

fn finding(
    level: SchemaLevel,
    kind: SchemaKind,
    column: &str,
    source: Option<String>,
    target: Option<String>,
    message: String,
) -> SchemaFinding {
    SchemaFinding {
        level,
        kind,
        column: Some(column.to_string()),
        source,
        target,
        message,
    }
}

fn find<'a>(cols: &'a [ColumnShape], name: &str) -> Option<&'a ColumnShape> {
    cols.iter()
        .find(|c| c.name == name)
        .or_else(|| cols.iter().find(|c| c.name.eq_ignore_ascii_case(name)))
}

/// Compares a table's two declarations; findings in column order, then constraints.
pub fn compare(source: &TableShape, target: &TableShape, ctx: Context<'_>) -> Vec<SchemaFinding> {
    use SchemaKind::*;
    use SchemaLevel::*;
    let mut out = Vec::new();
    for s in &source.columns {
        let taken = ctx
            .pairs
            .iter()
            .any(|p| p.source.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(&s.name)))
            // An ignored target column stands for the source column of its name.
            || ctx.ignored.iter().any(|i| i.eq_ignore_ascii_case(&s.name));
        if taken {
            continue;
        }
        let dropped = ctx.dropped.iter().any(|d| d.eq_ignore_ascii_case(&s.name));
        out.push(finding(
            if dropped { Info } else { Warn },
            MissingColumn,
            &s.name,
            Some(s.type_name.clone()),
            None,
            if dropped {
                "source column left behind on purpose (drop)".into()
            } else {
                "no target column takes this source column: its data is not migrated (map it in columns, or list it in drop)".into()
            },
        ));
    }
    for t in &target.columns {
        let pair = ctx.pairs.iter().find(|p| p.target == t.name);
        let Some(pair) = pair else {
            let ignored = ctx.ignored.iter().any(|i| i.eq_ignore_ascii_case(&t.name));
            out.push(finding(
                Info,
                ExtraColumn,
                &t.name,
                None,
                Some(t.type_name.clone()),
                if ignored {
                    "target column left out of the comparison (ignore)".into()
                } else {
                    "target column with no source column".into()
                },
            ));
            continue;
        };
        let Some(s) = pair
            .source
            .as_deref()
            .and_then(|n| find(&source.columns, n))
        else {
            continue;
        };
        let (sf, tf) = (
            Family::parse(&source.engine, &s.type_name),
            Family::parse(&target.engine, &t.type_name),
        );
        let shown = |c: &ColumnShape| Some(c.type_name.clone());
        if !(source.declares_types && target.declares_types) {
            // Text exports have no types to compare; the values are compared row by row.
        } else if let Some(why) = narrowing(&sf, &tf) {
            out.push(finding(
                Warn,
                Narrowed,
                &t.name,
                shown(s),
                shown(t),
                format!("narrower on the target: {why}"),
            ));
        } else if family_changed(&sf, &tf) {
            out.push(finding(
                Info,
                TypeChanged,
                &t.name,
                shown(s),
                shown(t),
                format!(
                    "{} on the source, {} on the target",
                    sf.family_name(),
                    tf.family_name()
                ),
            ));
        }
        if !t.nullable && source.declares_nulls && s.nullable {
            let nulls = (ctx.source_nulls)(&s.name);
            let (level, kind, message) = match nulls {
                Some(n) if n > 0 => (
                    Error,
                    NullsRejected,
                    format!(
                        "the target is NOT NULL, and the source holds {n} NULL{}",
                        if n == 1 { "" } else { "s" }
                    ),
                ),
                Some(_) => (
                    Info,
                    NotNullAdded,
                    "the target is NOT NULL; the source allows NULL and holds none".into(),
                ),
                None => (
                    Warn,
                    NotNullAdded,
                    "the target is NOT NULL; the source allows NULL (its NULLs could not be counted)"
                        .into(),
                ),
            };
            out.push(finding(
                level,
                kind,
                &t.name,
                Some(if s.nullable { "NULL" } else { "NOT NULL" }.into()),
                Some("NOT NULL".into()),
                message,
            ));
        }
        if let (Some(d), None) = (&s.default, &t.default) {
            out.push(finding(
                Warn,
                DefaultLost,
                &t.name,
                Some(format!("DEFAULT {d}")),
                None,
                "the source column has a default and the target column none: rows inserted after go-live without a value get NULL".into(),
            ));
        }
    }
    if let (Some(sc), Some(tc)) = (&source.constraints, &target.constraints) {
        compare_constraints(sc, tc, &mut out);
    }
    out
}

fn describe(c: &Constraint) -> String {
    let cols = c.columns.join(", ");
    match c.kind {
        ConstraintKind::PrimaryKey => format!("PRIMARY KEY ({cols})"),
        ConstraintKind::Unique => format!("UNIQUE ({cols})"),
        ConstraintKind::Index => format!("INDEX ({cols})"),
        ConstraintKind::ForeignKey => format!(
            "FOREIGN KEY ({cols}) REFERENCES {}",
            c.references.as_deref().unwrap_or("?")
        ),
    }
}

/// Whether `other` enforces what `c` enforces: the same columns (in any order), a primary key
/// and a unique index standing for each other, a foreign key matched by its columns.
fn covers(c: &Constraint, other: &Constraint) -> bool {
    use ConstraintKind::*;
    let same_class = match (c.kind, other.kind) {
        (PrimaryKey | Unique, PrimaryKey | Unique) => true,
        (a, b) => a == b,
    };
    let mut a: Vec<String> = c.columns.iter().map(|s| s.to_lowercase()).collect();
    let mut b: Vec<String> = other.columns.iter().map(|s| s.to_lowercase()).collect();
    a.sort();
    b.sort();
    same_class && a == b
}

fn compare_constraints(source: &[Constraint], target: &[Constraint], out: &mut Vec<SchemaFinding>) {
    use ConstraintKind::*;
    for (mine, theirs, lost) in [(source, target, true), (target, source, false)] {
        for c in mine {
            if theirs.iter().any(|o| covers(c, o)) {
                continue;
            }
            let (level, kind, message) = match (c.kind, lost) {
                (PrimaryKey | Unique, true) => (
                    SchemaLevel::Warn,
                    SchemaKind::ConstraintLost,
                    "the target does not enforce this uniqueness: duplicates can enter after go-live",
                ),
                (ForeignKey, true) => (
                    SchemaLevel::Warn,
                    SchemaKind::ConstraintLost,
                    "the target does not enforce this reference: orphans can enter after go-live (a foreign_key rule checks the migrated rows)",
                ),
                (Index, true) => (
                    SchemaLevel::Info,
                    SchemaKind::IndexDiffers,
                    "index on the source only: queries that used it may be slower",
                ),
                (Index, false) => (
                    SchemaLevel::Info,
                    SchemaKind::IndexDiffers,
                    "index on the target only",
                ),
                (_, false) => (
                    SchemaLevel::Info,
                    SchemaKind::ConstraintAdded,
                    "enforced on the target only",
                ),
            };
            let shown = Some(describe(c));
            out.push(SchemaFinding {
                level,
                kind,
                column: None,
                source: if lost { shown.clone() } else { None },
                target: if lost { None } else { shown },
                message: message.into(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, t: &str, nullable: bool) -> ColumnShape {
        ColumnShape {
            name: name.into(),
            type_name: t.into(),
            nullable,
            default: None,
        }
    }

    fn narrows(se: &str, s: &str, te: &str, t: &str) -> Option<String> {
        narrowing(&Family::parse(se, s), &Family::parse(te, t))
    }

    #[test]
    fn narrowing_per_kind_and_engine() {
        let pg = "PostgreSQL";
        let my = "MySQL/MariaDB";
        let lite = "SQLite";
        assert!(narrows(pg, "character varying(60)", pg, "character varying(40)").is_some());
        assert!(narrows(my, "varchar(40)", pg, "character varying(60)").is_none());
        assert!(narrows(pg, "text", pg, "character varying(40)").is_some());
        assert!(narrows(pg, "numeric(14,2)", pg, "numeric(12,1)").is_some());
        assert_eq!(
            narrows(pg, "numeric(14,2)", pg, "numeric(15,1)").as_deref(),
            Some("fractions are rounded to 1 decimal")
        );
        assert!(narrows(my, "decimal(14,2)", pg, "numeric(14,2)").is_none());
        assert!(narrows(pg, "numeric(14,2)", pg, "numeric").is_none());
        assert!(
            narrows(
                pg,
                "timestamp(6) without time zone",
                pg,
                "timestamp(0) without time zone"
            )
            .is_some()
        );
        assert!(narrows(my, "datetime", pg, "timestamp without time zone").is_none());
        assert!(narrows(pg, "timestamp without time zone", my, "datetime").is_some());
        assert!(narrows(my, "datetime(6)", pg, "timestamp without time zone").is_none());
        assert!(narrows(pg, "bigint", pg, "integer").is_some());
        assert!(
            narrows(lite, "INTEGER", pg, "integer").is_none(),
            "SQLite does not size"
        );
        assert!(
            narrows(lite, "REAL", pg, "real").is_some(),
            "SQLite REAL is 8 bytes"
        );
        assert!(narrows(pg, "integer", pg, "numeric(8,0)").is_some());
        assert!(narrows(pg, "integer", pg, "numeric(12,2)").is_none());
        assert!(narrows(my, "int(11)", pg, "bigint").is_none());
        assert_eq!(Family::parse(my, "tinyint(1)"), Family::Bool);
    }

    #[test]
    fn findings_of_a_table() {
        let source = TableShape {
            engine: "PostgreSQL".into(),
            columns: vec![
                col("id", "integer", false),
                col("name", "character varying(60)", true),
                col("note", "text", true),
                ColumnShape {
                    default: Some("'new'::text".into()),
                    ..col("state", "text", true)
                },
                col("legacy_flag", "boolean", true),
            ],
            constraints: Some(vec![
                Constraint {
                    kind: ConstraintKind::PrimaryKey,
                    columns: vec!["id".into()],
                    references: None,
                },
                Constraint {
                    kind: ConstraintKind::Unique,
                    columns: vec!["full_name".into()],
                    references: None,
                },
            ]),
            declares_nulls: true,
            declares_types: true,
        };
        let target = TableShape {
            engine: "PostgreSQL".into(),
            columns: vec![
                col("id", "bigint", false),
                col("full_name", "character varying(40)", false),
                col("note", "text", false),
                col("state", "text", true),
                col("created", "date", true),
            ],
            constraints: Some(vec![Constraint {
                kind: ConstraintKind::Unique,
                columns: vec!["id".into()],
                references: None,
            }]),
            declares_nulls: true,
            declares_types: true,
        };
        let pairs: Vec<Pairing> = [
            ("id", "id"),
            ("name", "full_name"),
            ("note", "note"),
            ("state", "state"),
        ]
        .iter()
        .map(|(s, t)| Pairing {
            source: Some(s.to_string()),
            target: t.to_string(),
        })
        .collect();
        let mut nulls = |c: &str| Some(if c == "name" { 3 } else { 0 });
        let found = compare(
            &source,
            &target,
            Context {
                pairs: &pairs,
                dropped: &[],
                ignored: &[],
                source_nulls: &mut nulls,
            },
        );
        let kinds: Vec<(Option<&str>, SchemaKind, SchemaLevel)> = found
            .iter()
            .map(|f| (f.column.as_deref(), f.kind, f.level))
            .collect();
        use SchemaKind::*;
        use SchemaLevel::*;
        assert_eq!(
            kinds,
            vec![
                (Some("legacy_flag"), MissingColumn, Warn),
                (Some("full_name"), Narrowed, Warn),
                (Some("full_name"), NullsRejected, Error),
                (Some("note"), NotNullAdded, Info),
                (Some("state"), DefaultLost, Warn),
                (Some("created"), ExtraColumn, Info),
                (None, ConstraintLost, Warn),
            ],
            "{found:#?}"
        );
        assert!(found[2].message.contains("holds 3 NULLs"));
        assert_eq!(found[6].source.as_deref(), Some("UNIQUE (full_name)"));
    }
}
