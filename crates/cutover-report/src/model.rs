//! The report model: the versioned, serialisable shape every format renders. JSON is this
//! model through serde (schema: `docs/report.schema.json`).

use cutover_check::{ChecklistStatus, RuleStatus, Severity, TableStatus, Verdict};
use serde::Serialize;
use serde_json::Value as Json;

/// The version of the JSON report format; bumped on every incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// The whole report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// Report format version.
    pub format_version: u32,
    /// `cutover <version>`.
    pub tool: String,
    /// `GO` or `NO-GO`, from [`cutover_check::outcome::verdict`].
    pub status: Verdict,
    /// Which run this is: its label and when it started, with or without a history.
    pub run: RunInfo,
    /// False when the run was interrupted: the report then holds what was checked so far.
    pub complete: bool,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
    /// The legacy side.
    pub source: Endpoint,
    /// The new side.
    pub target: Endpoint,
    /// Totals over all tables.
    pub summary: Summary,
    /// The go-live checklist ("Initial solution content"): each item, the checks that close
    /// it, and its status.
    pub checklist: Vec<ChecklistItem>,
    /// `error` (default) or `warn`: the lowest rule severity that blocks go-live.
    pub fail_on: Severity,
    /// One entry per configured table.
    pub tables: Vec<TableReport>,
    /// One entry per rule.
    pub rules: Vec<RuleReport>,
    /// This run's place in the rehearsal history, and what changed since the previous run.
    pub history: Option<HistoryReport>,
}

/// Which run a report is of.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct RunInfo {
    /// The label (`--label`, or `run N` from the history); `None` when neither gives one.
    pub label: Option<String>,
    /// When the run started, RFC 3339 UTC; `None` only in reports built without a clock.
    pub at: Option<String>,
}

/// The rehearsal history as the report shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistoryReport {
    /// This run's label (`--label`, or `run N`).
    pub label: String,
    /// When this run started, RFC 3339 UTC.
    pub at: String,
    /// The previous run's label, if there was one.
    pub previous_label: Option<String>,
    /// When the previous run started.
    pub previous_at: Option<String>,
    /// What changed since the previous run (unchanged results are left out).
    pub trends: Vec<Trend>,
}

/// One change since the previous run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Trend {
    /// `table orders` or `rule orders-have-customers`.
    pub subject: String,
    /// `missing`, `extra`, `changed`, `duplicate keys`, `violations` or `status`.
    pub metric: String,
    /// The previous value.
    pub before: String,
    /// This run's value.
    pub after: String,
    /// `improved`, `worse`, `new failure`, `fixed`, `new` or `gone`.
    pub verdict: String,
}

/// One checklist item.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChecklistItem {
    /// Stable id: `historical-data`, `completeness`, `reference-books`, `org-structure`.
    pub id: String,
    /// The item as the checklist words it.
    pub title: String,
    /// `closed` (every check passed), `open` (a check failed) or `no evidence` (no check maps to it).
    pub status: ChecklistStatus,
    /// The checks that close it: `table orders`, `rule orders-have-customers`.
    pub checks: Vec<String>,
    /// The checks that failed.
    pub failed: Vec<String>,
}

/// One rule's result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuleReport {
    /// The rule's id.
    pub id: String,
    /// The rule type's code (`cutover explain CODE`).
    pub code: String,
    /// The rule type.
    #[serde(rename = "type")]
    pub kind: String,
    /// `error` or `warn`.
    pub severity: Severity,
    /// The checklist item it closes.
    pub checklist: String,
    /// The rule's description.
    pub description: Option<String>,
    /// `pass`, `fail` or `error` (could not run).
    pub status: RuleStatus,
    /// True when this result blocks go-live.
    pub blocking: bool,
    /// Exact count of violations.
    pub violations: u64,
    /// Rows, entries or groups checked, when known.
    pub checked: Option<u64>,
    /// The threshold.
    pub threshold: String,
    /// What was found, in words.
    pub message: String,
    /// Failing rows: column → value.
    pub sample: Vec<Ordered>,
    /// The queries it ran.
    pub queries: Vec<String>,
}

/// A side, with its password hidden.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Endpoint {
    /// URL with the password replaced by `***`.
    pub url: String,
    /// Engine name.
    pub engine: String,
    /// `local file`, `unencrypted`, or TLS and what was verified.
    pub transport: String,
}

/// Totals.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Summary {
    /// Tables configured.
    pub tables: usize,
    /// Tables that matched exactly.
    pub matched: usize,
    /// Tables with differences.
    pub differ: usize,
    /// Tables that could not be checked.
    pub failed: usize,
    /// Rows read on the source.
    pub source_rows: u64,
    /// Rows read on the target.
    pub target_rows: u64,
    /// Schema findings that block go-live (error level), over every table.
    pub schema_errors: usize,
    /// Schema findings to read (warn level), over every table.
    pub schema_warnings: usize,
}

/// One table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TableReport {
    /// Target table.
    pub name: String,
    /// Source table (`query` when a source query is compared).
    pub source_name: String,
    /// The source query compared instead of a table.
    pub source_query: Option<String>,
    /// The table's own source (password hidden), when not the run's source.
    pub source_url: Option<String>,
    /// `match`, `differ`, `error` or `interrupted`.
    pub status: TableStatus,
    /// Why the table could not be checked.
    pub error: Option<TableError>,
    /// Key columns (target names).
    pub key: Vec<String>,
    /// `config` or `primary key`.
    pub key_origin: Option<String>,
    /// Migration depth on the source.
    pub source_where: Option<String>,
    /// Filter on the target.
    pub target_where: Option<String>,
    /// Compared columns, key first.
    pub columns: Vec<ColumnReport>,
    /// Target columns left out with `ignore`.
    pub ignored_columns: Vec<String>,
    /// Source columns that no target column maps to.
    pub unmapped_source_columns: Vec<String>,
    /// The schema comparison: narrowing, NULLs the target rejects, lost defaults, keys and
    /// indexes on one side only (errors first).
    pub schema: Vec<cutover_check::schema::SchemaFinding>,
    /// Exact counts.
    pub counts: Option<Counts>,
    /// Table fingerprints (hex of the 128-bit sum of row digests).
    pub fingerprint: Option<SidePair<String>>,
    /// Sample rows.
    pub samples: Option<SampleReport>,
    /// The statements each side ran.
    pub queries: Option<SidePair<String>>,
    /// Why values differ, per column: classified with exact counts and a suggestion.
    pub diagnosis: Vec<DiagnosisReport>,
    /// Values a side could not read as their type, with file, line and column (first 50).
    pub value_problems: Option<SidePair<Vec<String>>>,
    /// Wall time in milliseconds.
    pub elapsed_ms: Option<u64>,
    /// How the rows were compared (none for a table that could not be checked).
    pub compared: Option<ComparedReport>,
}

/// How a table's rows were compared.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ComparedReport {
    /// `full` (every row streamed) or `checksum` (checksums in both databases, differing key
    /// ranges streamed).
    pub mode: String,
    /// Why a table that asked for checksums was compared in full, or streamed whole; which key
    /// ranges an interrupted run checksummed and when.
    pub note: Option<String>,
    /// What the checksums did, in checksum mode.
    pub checksum: Option<ChecksumReport>,
}

impl ComparedReport {
    /// One sentence on how the rows were compared, when it is not the usual full compare.
    pub fn summary(&self) -> Option<String> {
        match (&self.checksum, &self.note) {
            (Some(c), note) => {
                let mut s = format!(
                    "Compared by checksums ({}) in both databases: {} of {} key ranges differed; rows streamed: source {} of {}, target {} of {}",
                    c.hash,
                    c.differing_buckets,
                    c.buckets,
                    c.rows_streamed.source,
                    c.rows_checksummed.source,
                    c.rows_streamed.target,
                    c.rows_checksummed.target
                );
                if let Some(n) = note {
                    s.push_str(&format!(" ({n})"));
                }
                Some(s)
            }
            (None, Some(n)) => Some(n.clone()),
            (None, None) => None,
        }
    }
}

/// What a checksum compare did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChecksumReport {
    /// Checksum statements per side.
    pub chunks: u64,
    /// Key-range buckets compared by checksum.
    pub buckets: u64,
    /// Buckets whose rows or checksums differed (their rows were streamed).
    pub differing_buckets: u64,
    /// Rows each side checksummed in the database.
    pub rows_checksummed: SidePair<u64>,
    /// Rows each side streamed to cutover.
    pub rows_streamed: SidePair<u64>,
    /// True when so many buckets differed that the whole table was streamed.
    pub streamed_all: bool,
    /// How each key range's rows were hashed: `md5-range` (md5 of the rows joined in key
    /// order), `md5` (the sum of each row's md5 slice), or `hashtextextended` (PostgreSQL on
    /// both sides, same major version).
    pub hash: String,
}

/// One diagnosis of a column's changed values.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DiagnosisReport {
    /// The target column.
    pub column: String,
    /// The class: `whitespace`, `letter case`, `NULL vs empty`, `rounding`, `constant offset`,
    /// `constant factor`, `time-zone shift`, `fraction truncated`, `text truncated`, `mojibake`,
    /// `code mapping`, `numbers` or `other`.
    pub class: String,
    /// Changed values in this class (exact).
    pub count: u64,
    /// What they have in common, in words.
    pub what: String,
    /// The option or fix that explains or repairs it.
    pub suggestion: String,
}

/// A value per side.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SidePair<T> {
    /// Source.
    pub source: T,
    /// Target.
    pub target: T,
}

/// Why a table could not be checked.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TableError {
    /// What went wrong.
    pub message: String,
    /// What to do.
    pub hint: Option<String>,
}

/// One compared column.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ColumnReport {
    /// Target column.
    pub name: String,
    /// Source column (the target name for an expression).
    pub source_name: String,
    /// The SQL expression the source computes for this column.
    pub source_expr: Option<String>,
    /// Entries of the value map that translates source codes, if any.
    pub value_map_entries: Option<usize>,
    /// Source type as the engine names it.
    pub source_type: String,
    /// Target type.
    pub target_type: String,
    /// The canonical kind values are compared as.
    pub compare_as: String,
    /// True when no source value can equal a target value (types that cannot be reconciled).
    pub incompatible: bool,
    /// The normalisations applied to this column (empty: strict).
    pub normalizations: Vec<String>,
    /// Changed rows in which this column differs.
    pub changed_rows: u64,
    /// True when the column fingerprints differ.
    pub fingerprint_differs: bool,
    /// Values that are not valid UTF-8 (kept as bytes).
    pub invalid_utf8: SidePair<u64>,
    /// Values that could not be converted to `compare_as` (kept as they were).
    pub not_convertible: SidePair<u64>,
}

/// Exact counts of one table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Counts {
    /// Rows on the source.
    pub source_rows: u64,
    /// Rows on the target.
    pub target_rows: u64,
    /// Rows equal on both sides (including those equal within a numeric tolerance).
    pub matched: u64,
    /// Of the matched rows, those that differ only within a numeric tolerance.
    pub matched_within_tolerance: u64,
    /// Source rows missing on the target.
    pub missing: u64,
    /// Target rows not on the source.
    pub extra: u64,
    /// Rows with the same key and different values.
    pub changed: u64,
    /// Keys that occur more than once on the source.
    pub source_duplicate_keys: u64,
    /// Keys that occur more than once on the target.
    pub target_duplicate_keys: u64,
}

impl Counts {
    /// The per-table summary figures, in the order every text format shows them: source rows,
    /// target rows, matched, missing, extra, changed, duplicate keys (both sides).
    pub fn summary_row(&self) -> [u64; 7] {
        [
            self.source_rows,
            self.target_rows,
            self.matched,
            self.missing,
            self.extra,
            self.changed,
            self.source_duplicate_keys + self.target_duplicate_keys,
        ]
    }
}

/// Sample rows, in key order.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SampleReport {
    /// Source rows missing on the target.
    pub missing: Vec<SampleRow>,
    /// Target rows not on the source.
    pub extra: Vec<SampleRow>,
    /// Changed rows with their differing columns.
    pub changed: Vec<ChangedSample>,
    /// Duplicated keys.
    pub duplicates: Vec<DuplicateSample>,
}

/// A sample row: key and all values by column name.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SampleRow {
    /// Key values by key column.
    pub key: Ordered,
    /// All values by column.
    pub values: Ordered,
}

/// A changed row.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChangedSample {
    /// Key values by key column.
    pub key: Ordered,
    /// The columns that differ.
    pub columns: Vec<ChangedValue>,
}

/// One differing value.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChangedValue {
    /// Target column.
    pub column: String,
    /// Source value (`null` is NULL).
    pub source: Json,
    /// Target value.
    pub target: Json,
}

/// A duplicated key.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DuplicateSample {
    /// `source` or `target`.
    pub side: String,
    /// Key values.
    pub key: Ordered,
    /// Rows carrying it.
    pub rows: u64,
}

/// Values by column name, serialised as a JSON object in column order (key order for keys).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ordered(pub Vec<(String, Json)>);

impl Serialize for Ordered {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Ordered {
    /// Iterates over (column, value).
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Json)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}
