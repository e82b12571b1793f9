//! The cutover config: what to compare, and how. Parsed from TOML and validated with no I/O.
//!
//! Every table and key is `deny_unknown_fields`, so a typo is an error with its line and column.
//! Secrets are never stored here: a URL may name an environment variable (`url_env`) instead.

mod rule;

pub use rule::*;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// A whole config file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The legacy side.
    pub source: Endpoint,
    /// The new side.
    pub target: Endpoint,
    /// How the run behaves.
    #[serde(default)]
    pub run: RunSettings,
    /// Where the report goes and what it keeps.
    #[serde(default)]
    pub report: ReportSettings,
    /// Normalisations for every table and column, unless a table or column says otherwise.
    #[serde(default)]
    pub defaults: Normalize,
    /// The tables to compare.
    #[serde(default, rename = "table")]
    pub tables: Vec<TableConfig>,
    /// Rule files (packs) to include, relative to this file; read by the CLI into `rules`.
    #[serde(default)]
    pub include: Vec<PathBuf>,
    /// Consistency rules.
    #[serde(default, rename = "rule")]
    pub rules: Vec<RuleConfig>,
    /// The project's own go-live checklist items, besides the four built-in ones; tables and
    /// rules close them with `checklist = "id"`.
    #[serde(default, rename = "checklist")]
    pub checklist: Vec<ChecklistItemConfig>,
}

/// A checklist item of the project's own.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItemConfig {
    /// What tables and rules name it by: `gl-balances`.
    pub id: String,
    /// What the report shows: `General ledger balances carried over`.
    pub title: String,
}

/// A rule file (a pack under `rules/`): `[[rule]]` sections only.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// The rules.
    #[serde(default, rename = "rule")]
    pub rules: Vec<RuleConfig>,
}

impl RuleFile {
    /// Parses a rule file and validates each rule. `file` names it in messages.
    pub fn parse(text: &str, file: &str) -> Result<RuleFile, ConfigError> {
        let rf: RuleFile = toml::from_str(text).map_err(|e| ConfigError::parse(file, &e))?;
        for r in &rf.rules {
            r.validate()
                .map_err(|(message, hint)| ConfigError::Invalid {
                    file: file.to_string(),
                    message,
                    hint: hint.to_string(),
                })?;
        }
        Ok(rf)
    }
}

pub use cutover_check::Severity;

/// The checklist items a check or rule can close ("Initial solution content").
pub const CHECKLIST_ITEMS: &[(&str, &str)] = &[
    (
        "historical-data",
        "Historical data migrated from the agreed sources to the agreed depth",
    ),
    (
        "completeness",
        "Completeness and consistency of the migrated data checked",
    ),
    ("reference-books", "Reference books are full"),
    ("org-structure", "Users and organisational structure moved"),
];

/// One side's database.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Connection URL: `sqlite://path`, `postgres://user@host/db`, `mysql://user@host/db`.
    pub url: Option<String>,
    /// The name of an environment variable that holds the URL, so no password sits in the file.
    pub url_env: Option<String>,
    /// How the CSV files of a `csv://folder` side are read.
    #[serde(default)]
    pub csv: CsvOptions,
}

/// How delimited text exports are read. Every key has a default that fits a plain UTF-8 CSV.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct CsvOptions {
    /// Field separator, one character (default `,`; `\t` for tab).
    pub delimiter: Option<String>,
    /// Quote character (default `"`).
    pub quote: Option<String>,
    /// Whether the first line holds the column names (default true; else `column_1`, …).
    pub header: Option<bool>,
    /// `utf-8` (default), `latin-1` (ISO-8859-1), `windows-1252` or `windows-1251`.
    pub encoding: Option<String>,
    /// Numbers are written with a decimal comma (`12,50`).
    pub decimal_comma: Option<bool>,
    /// Field texts that mean NULL (default `[""]`: an empty field).
    pub null: Option<Vec<String>>,
    /// chrono format of dates, e.g. `%d.%m.%Y` (default ISO `YYYY-MM-DD`).
    pub date_format: Option<String>,
    /// chrono format of timestamps, e.g. `%d.%m.%Y %H:%M:%S` (default ISO).
    pub timestamp_format: Option<String>,
    /// Per file: a glob of file names (case-insensitive; `.csv` may be left out) and the keys
    /// that differ for those files: `[source.csv.files."CUST*"] encoding = "utf-8"`.
    #[serde(default)]
    pub files: BTreeMap<String, CsvOptions>,
}

/// The encodings a CSV side may declare.
pub const CSV_ENCODINGS: &[&str] = &[
    "utf-8",
    "utf8",
    "latin-1",
    "latin1",
    "iso-8859-1",
    "windows-1252",
    "cp1252",
    "windows-1251",
    "cp1251",
];

/// Settings of the run.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct RunSettings {
    /// Tables checked at the same time (default: the number of cores).
    pub jobs: Option<usize>,
    /// Rows per batch read from a side (default 8192).
    pub batch_rows: Option<usize>,
    /// Memory for sorting unordered sources (files) before it spills to disk, e.g. `"1GiB"`.
    pub memory_limit: Option<String>,
    /// Longest wait of a database session for a lock, in seconds (default 10).
    pub lock_timeout_secs: Option<u64>,
    /// Longest run of one statement, in seconds (default 0: no limit).
    pub statement_timeout_secs: Option<u64>,
    /// How tables are compared unless a table says otherwise (default `full`).
    pub mode: Option<CompareMode>,
    /// Rows per checkpointed key range of a full compare (default 20,000,000): a table of twice
    /// as many rows or more is read range by range, and `--resume` skips finished ranges.
    pub checkpoint_rows: Option<u64>,
    /// The time one checksum statement aims at, in milliseconds (default 500): how long checksum
    /// mode holds a server with one statement.
    pub checksum_statement_ms: Option<u64>,
    /// Whether a PostgreSQL side of a full compare of 100,000 rows or more may be read in its
    /// storage order, a heap scan without `ORDER BY` (default true).
    pub storage_order: Option<bool>,
}

/// Settings of the report.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct ReportSettings {
    /// Folder the report files are written to (default `cutover-report`).
    pub out: Option<PathBuf>,
    /// Sample rows kept per kind of difference and table (default 20).
    pub sample_size: Option<usize>,
}

/// One table comparison.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    /// The table on the target (`name` or `schema.name`).
    pub name: String,
    /// The table on the source, when it was renamed.
    pub source_name: Option<String>,
    /// Key columns (target names); default: the target's primary key.
    pub key: Option<Vec<String>>,
    /// Where target columns come from: a renamed source column (`id = "ORD_ID"`) or a
    /// specification (`status = { name = "STAT", map = { A = "ACTIVE" } }`,
    /// `full_name = { expr = "FIRST || ' ' || LAST" }`).
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnSource>,
    /// A query on the source whose result is compared instead of a table (a split or merged
    /// table): `SELECT … FROM A JOIN B …`.
    pub source_query: Option<String>,
    /// The checklist item this comparison closes (default `historical-data`).
    pub checklist: Option<String>,
    /// Normalisations for this table's columns (over `[defaults]`).
    #[serde(default)]
    pub normalize: Normalize,
    /// Where this table's source lives, when not on `[source]`: another database, or a folder
    /// of exports (`csv://exports`), read with `[source.csv]`.
    pub source_url: Option<String>,
    /// Target columns left out of the comparison.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Source columns left behind on purpose: the schema comparison lists them as dropped
    /// instead of warning that their data is not migrated.
    #[serde(default)]
    pub drop: Vec<String>,
    /// SQL condition applied on the source (the migration depth).
    pub source_where: Option<String>,
    /// SQL condition applied on the target.
    pub target_where: Option<String>,
    /// How the rows are compared: `full` (every row streamed, the default), `checksum`
    /// (checksums computed in both databases over key ranges; only differing ranges are
    /// streamed) or `auto` (checksums for large tables on a remote server).
    pub mode: Option<CompareMode>,
    /// How this table's files are read when a side is a folder of CSV exports: the keys that
    /// differ from the side's `[source.csv]` (or `[target.csv]`).
    pub csv: Option<CsvOptions>,
}

/// How a table's rows are compared.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CompareMode {
    /// Every row of both sides is streamed and merged by key.
    Full,
    /// Checksums of key ranges are computed in both databases; only the ranges whose
    /// checksums differ are streamed and merged.
    Checksum,
    /// Checksums for a table of a million rows or more when a side is not on this machine,
    /// and every kind can be checksummed; else full.
    Auto,
}

impl CompareMode {
    /// The name used in the config and the reports.
    pub fn name(self) -> &'static str {
        match self {
            CompareMode::Full => "full",
            CompareMode::Checksum => "checksum",
            CompareMode::Auto => "auto",
        }
    }
}

/// A piece of SQL written in the config, where it stands and which side runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredSql<'a> {
    /// The side whose engine runs it.
    pub side: RuleSide,
    /// Where it stands: `table orders: source_where`.
    pub place: String,
    /// True for a whole query, false for one expression.
    pub query: bool,
    /// The text.
    pub text: &'a str,
}

impl TableConfig {
    /// Every piece of SQL this table configures, with the side that runs it.
    pub fn configured_sql(&self) -> Vec<ConfiguredSql<'_>> {
        let place = |key: &str| format!("table {}: {key}", self.name);
        let mut items = vec![
            (
                RuleSide::Source,
                place("source_query"),
                true,
                self.source_query.as_deref(),
            ),
            (
                RuleSide::Source,
                place("source_where"),
                false,
                self.source_where.as_deref(),
            ),
            (
                RuleSide::Target,
                place("target_where"),
                false,
                self.target_where.as_deref(),
            ),
        ];
        for (column, source) in &self.columns {
            items.push((
                RuleSide::Source,
                format!("table {}, column {column}: expr", self.name),
                false,
                source.expr(),
            ));
        }
        items
            .into_iter()
            .filter_map(|(side, place, query, text)| {
                text.map(|text| ConfiguredSql {
                    side,
                    place,
                    query,
                    text,
                })
            })
            .collect()
    }

    /// The checklist item this comparison closes: the configured one, or `historical-data`.
    pub fn checklist_item(&self) -> &str {
        self.checklist.as_deref().unwrap_or("historical-data")
    }

    /// The table's name on the source side (`query` for a `source_query`).
    pub fn source_table(&self) -> &str {
        match (&self.source_name, &self.source_query) {
            (Some(n), _) => n,
            (None, Some(_)) => "query",
            (None, None) => &self.name,
        }
    }
}

/// Where a target column's values come from on the source.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnSource {
    /// A source column of another name.
    Name(String),
    /// A column, an expression, and/or a value map.
    Spec(Box<ColumnSpec>),
}

/// The unit timestamps and times are truncated to with `timestamp_precision`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum TimePrecision {
    /// Seconds.
    #[serde(rename = "s")]
    Seconds,
    /// Milliseconds.
    #[serde(rename = "ms")]
    Millis,
    /// Microseconds.
    #[serde(rename = "us")]
    Micros,
    /// Nanoseconds.
    #[serde(rename = "ns")]
    Nanos,
}

impl TimePrecision {
    /// The unit in nanoseconds.
    pub fn nanos(self) -> u32 {
        match self {
            TimePrecision::Seconds => 1_000_000_000,
            TimePrecision::Millis => 1_000_000,
            TimePrecision::Micros => 1_000,
            TimePrecision::Nanos => 1,
        }
    }
}

/// Normalisations: how values that legitimately differ are made equal. Strict by default:
/// every option is off unless set here, on the table, or in `[defaults]` (the most specific
/// setting wins).
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Normalize {
    /// Remove leading and trailing white space from text.
    pub trim: Option<bool>,
    /// Compare text case-insensitively.
    pub case_insensitive: Option<bool>,
    /// Treat an empty text as NULL.
    pub null_equals_empty: Option<bool>,
    /// Round numbers to this many decimal places (half away from zero) on both sides.
    pub decimal_scale: Option<i16>,
    /// Largest absolute difference between two numbers that still counts as equal.
    pub tolerance: Option<f64>,
    /// Largest relative difference (of the larger magnitude) that still counts as equal.
    pub relative_tolerance: Option<f64>,
    /// Round floats to this many significant digits on both sides.
    pub float_digits: Option<u8>,
    /// Truncate timestamps and times on both sides: `s`, `ms`, `us` or `ns`.
    pub timestamp_precision: Option<TimePrecision>,
    /// Time zone of the source's naive timestamps (`Europe/Berlin`, `UTC`); converted to UTC.
    pub source_timezone: Option<String>,
    /// Time zone of the target's naive timestamps.
    pub target_timezone: Option<String>,
}

impl Normalize {
    /// These settings, with every unset option taken from `fallback`.
    pub fn or(&self, fallback: &Normalize) -> Normalize {
        Normalize {
            trim: self.trim.or(fallback.trim),
            case_insensitive: self.case_insensitive.or(fallback.case_insensitive),
            null_equals_empty: self.null_equals_empty.or(fallback.null_equals_empty),
            decimal_scale: self.decimal_scale.or(fallback.decimal_scale),
            tolerance: self.tolerance.or(fallback.tolerance),
            relative_tolerance: self.relative_tolerance.or(fallback.relative_tolerance),
            float_digits: self.float_digits.or(fallback.float_digits),
            timestamp_precision: self.timestamp_precision.or(fallback.timestamp_precision),
            source_timezone: self
                .source_timezone
                .clone()
                .or_else(|| fallback.source_timezone.clone()),
            target_timezone: self
                .target_timezone
                .clone()
                .or_else(|| fallback.target_timezone.clone()),
        }
    }

    /// Nanoseconds of the `timestamp_precision` unit.
    pub fn precision_nanos(&self) -> Option<u32> {
        self.timestamp_precision.map(TimePrecision::nanos)
    }

    fn check(&self, place: &str) -> Result<(), (String, &'static str)> {
        for (key, zone) in [
            ("source_timezone", &self.source_timezone),
            ("target_timezone", &self.target_timezone),
        ] {
            if let Some(z) = zone
                && cutover_check::canonical::zone(z).is_none()
            {
                return Err((
                    format!("{place}: {key} = {z:?} is not a time zone"),
                    "use an IANA zone name such as Europe/Berlin, or UTC",
                ));
            }
        }
        for (key, v) in [
            ("tolerance", self.tolerance),
            ("relative_tolerance", self.relative_tolerance),
        ] {
            if v.is_some_and(|v| !(v >= 0.0 && v.is_finite())) {
                return Err((
                    format!("{place}: {key} must be a number of 0 or more"),
                    "write it like tolerance = 0.01",
                ));
            }
        }
        if self.float_digits.is_some_and(|d| !(1..=17).contains(&d)) {
            return Err((
                format!("{place}: float_digits must be from 1 to 17"),
                "a double has 15 to 17 significant digits",
            ));
        }
        Ok(())
    }
}

/// A column specification. Without `name` or `expr` the source column has the target's name.
/// Normalisation options may stand beside the other keys: `amount = { tolerance = 0.01 }`.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
pub struct ColumnSpec {
    /// The source column.
    pub name: Option<String>,
    /// An SQL expression the source engine computes (`TRIM(FIRST_NM) || ' ' || TRIM(LAST_NM)`).
    pub expr: Option<String>,
    /// Translated codes: source value = target value.
    pub map: Option<BTreeMap<String, String>>,
    /// A CSV file of translations (two columns: source value, target value; a header line),
    /// relative to the config file; read by the CLI into `map`.
    pub map_file: Option<PathBuf>,
    /// The type values are compared as, when neither side says (two CSV exports): `number`,
    /// `float`, `bool`, `text`, `date`, `time`, `timestamp`, `uuid`, `json` or `bytes`.
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    /// Normalisations of this column.
    #[serde(flatten)]
    pub normalize: Normalize,
}

/// The names `type` accepts.
pub const COLUMN_TYPES: &[&str] = &[
    "number",
    "float",
    "bool",
    "text",
    "date",
    "time",
    "timestamp",
    "uuid",
    "json",
    "bytes",
];

/// The keys a column specification accepts.
const COLUMN_KEYS: &[&str] = &[
    "name",
    "type",
    "expr",
    "map",
    "map_file",
    "trim",
    "case_insensitive",
    "null_equals_empty",
    "decimal_scale",
    "tolerance",
    "relative_tolerance",
    "float_digits",
    "timestamp_precision",
    "source_timezone",
    "target_timezone",
];

impl<'de> Deserialize<'de> for ColumnSource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A hand-written visitor, so a typo inside a specification is reported as the unknown
        // field it is, not as "matched no variant".
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ColumnSource;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a source column name, or a table such as { name = \"STAT\", map = { A = \"ACTIVE\" } }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ColumnSource, E> {
                Ok(ColumnSource::Name(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<ColumnSource, A::Error> {
                use serde::de::Error as _;
                let table =
                    toml::Table::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                // `flatten` would let a typo through silently; name the unknown key instead.
                if let Some(unknown) = table.keys().find(|k| !COLUMN_KEYS.contains(&k.as_str())) {
                    return Err(A::Error::unknown_field(unknown, COLUMN_KEYS));
                }
                toml::Value::Table(table)
                    .try_into()
                    .map(|s| ColumnSource::Spec(Box::new(s)))
                    .map_err(|e| A::Error::custom(e.message()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl From<&str> for ColumnSource {
    fn from(name: &str) -> Self {
        ColumnSource::Name(name.to_string())
    }
}

impl ColumnSource {
    /// The source column name, if the values come from a stored column of another name.
    pub fn name(&self) -> Option<&str> {
        match self {
            ColumnSource::Name(n) => Some(n),
            ColumnSource::Spec(s) => s.name.as_deref(),
        }
    }

    /// The expression, if the engine computes the values.
    pub fn expr(&self) -> Option<&str> {
        match self {
            ColumnSource::Name(_) => None,
            ColumnSource::Spec(s) => s.expr.as_deref(),
        }
    }

    /// The column's own normalisations.
    pub fn normalize(&self) -> Normalize {
        match self {
            ColumnSource::Name(_) => Normalize::default(),
            ColumnSource::Spec(s) => s.normalize.clone(),
        }
    }

    /// The value map, if codes are translated.
    pub fn map(&self) -> Option<&BTreeMap<String, String>> {
        match self {
            ColumnSource::Name(_) => None,
            ColumnSource::Spec(s) => s.map.as_ref(),
        }
    }
}

/// A config that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not valid TOML, or not the expected shape (unknown key, wrong type).
    #[error("{file}: {message}")]
    Parse {
        /// The config file.
        file: String,
        /// The parser's message, with line, column and the offending text.
        message: String,
    },
    /// Valid TOML, but the content does not make sense.
    #[error("{file}: {message}")]
    Invalid {
        /// The config file.
        file: String,
        /// What is wrong.
        message: String,
        /// What to do.
        hint: String,
    },
    /// Several problems, each with its place: every one a run would meet, found at once.
    #[error("{file}: {} problems:\n\n{}", .errors.len(), show_all(.errors))]
    Several {
        /// The config file.
        file: String,
        /// The problems, in file order.
        errors: Vec<ConfigError>,
    },
    /// A side's URL cannot be resolved (an unset environment variable).
    #[error("{message}")]
    Unresolved {
        /// What is wrong.
        message: String,
        /// What to do.
        hint: String,
    },
}

/// Each problem of [`ConfigError::Several`] on its own lines, with its hint.
fn show_all(errors: &[ConfigError]) -> String {
    errors
        .iter()
        .map(|e| {
            let text = match e {
                ConfigError::Parse { message, .. } | ConfigError::Invalid { message, .. } => {
                    message.clone()
                }
                other => other.to_string(),
            };
            match e.hint() {
                Some(h) => format!("{text}\n  hint: {h}"),
                None => text,
            }
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Every shape error of a config that does not deserialize (an unknown or missing key, a wrong
/// type), each section, `[[table]]` and `[[rule]]` deserialized on its own so that one run
/// reports them all. Empty when the TOML itself does not parse (its one error is then the one
/// to show).
fn shape_errors(text: &str) -> Vec<toml::de::Error> {
    use serde::de::DeserializeOwned;
    use toml::de::{DeValue, ValueDeserializer};
    type Item<'i> = toml::Spanned<DeValue<'i>>;
    fn check<T: DeserializeOwned>(v: Item<'_>, text: &str, out: &mut Vec<toml::de::Error>) {
        if let Err(mut e) = T::deserialize(ValueDeserializer::from(v)) {
            e.set_input(Some(text));
            out.push(e);
        }
    }
    fn each<T: DeserializeOwned>(v: Item<'_>, text: &str, out: &mut Vec<toml::de::Error>) {
        let span = v.span();
        match v.into_inner() {
            DeValue::Array(items) => {
                for item in items {
                    check::<T>(item, text, out);
                }
            }
            other => check::<Vec<T>>(toml::Spanned::new(span, other), text, out),
        }
    }
    let Ok(root) = toml::de::DeTable::parse(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut unknown = false;
    for (key, value) in root.into_inner() {
        match key.get_ref().as_ref() {
            "source" | "target" => check::<Endpoint>(value, text, &mut out),
            "run" => check::<RunSettings>(value, text, &mut out),
            "report" => check::<ReportSettings>(value, text, &mut out),
            "defaults" => check::<Normalize>(value, text, &mut out),
            "include" => check::<Vec<PathBuf>>(value, text, &mut out),
            "table" => each::<TableConfig>(value, text, &mut out),
            "rule" => each::<RuleConfig>(value, text, &mut out),
            "checklist" => each::<ChecklistItemConfig>(value, text, &mut out),
            _ => unknown = true,
        }
    }
    if unknown && let Err(e) = toml::from_str::<Config>(text) {
        out.push(e);
    }
    out.sort_by_key(|e| e.span().map_or(0, |s| s.start));
    out
}

impl ConfigError {
    fn parse(file: &str, e: &toml::de::Error) -> ConfigError {
        ConfigError::Parse {
            file: file.to_string(),
            message: e.to_string().trim_end().to_string(),
        }
    }

    /// What to do about it, when the message alone does not say.
    pub fn hint(&self) -> Option<&str> {
        match self {
            // A rule's keys depend on its type; the catalogue lists them with an example.
            ConfigError::Parse { message, .. } if message.contains("\nrule ") => Some(
                "`cutover explain` lists the rule types; `cutover explain TYPE` shows a type's keys in an example",
            ),
            ConfigError::Parse { .. } | ConfigError::Several { .. } => None,
            ConfigError::Invalid { hint, .. } | ConfigError::Unresolved { hint, .. } => Some(hint),
        }
    }
}

impl Config {
    /// Parses and validates a config. `file` names it in messages.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let config: Config = match toml::from_str(text) {
            Ok(c) => c,
            Err(first) => {
                let all = shape_errors(text);
                return Err(match all.len() {
                    0 | 1 => ConfigError::parse(file, &first),
                    _ => ConfigError::Several {
                        file: file.to_string(),
                        errors: all.iter().map(|e| ConfigError::parse(file, e)).collect(),
                    },
                });
            }
        };
        config.validate(file, text)?;
        Ok(config)
    }

    /// Checks what the shape cannot say, reporting every table's, rule's and section's first
    /// problem at once, each with the line its section starts on.
    fn validate(&self, file: &str, text: &str) -> Result<(), ConfigError> {
        let invalid = |message: String, hint: &str| ConfigError::Invalid {
            file: file.to_string(),
            message,
            hint: hint.to_string(),
        };
        // Where each [[table]] and [[rule]] starts, to name the line of a problem.
        // Parsed again only when a section has a problem to place.
        let lines = std::cell::OnceCell::new();
        let at = |rules: bool, i: usize, e: ConfigError| {
            let (tables, rule_lines) = lines.get_or_init(|| section_lines(text));
            let lines: &Vec<usize> = if rules { rule_lines } else { tables };
            match (e, lines.get(i)) {
                (
                    ConfigError::Invalid {
                        file,
                        message,
                        hint,
                    },
                    Some(line),
                ) => ConfigError::Invalid {
                    file,
                    message: format!("line {line}, column 1: {message}"),
                    hint,
                },
                (e, _) => e,
            }
        };
        let mut errors = Vec::new();
        if let Err(e) = self.validate_sides(file) {
            errors.push(e);
        }
        if let Err((m, h)) = self.defaults.check("[defaults]") {
            errors.push(invalid(m, h));
        }
        if self.tables.is_empty() && self.rules.is_empty() && self.include.is_empty() {
            errors.push(invalid(
                "no table to compare and no rule".into(),
                "add a [[table]] section with name = \"…\" for every table to check, or [[rule]] sections",
            ));
        }
        if let Some(m) = &self.run.memory_limit
            && parse_size(m).is_none()
        {
            errors.push(invalid(
                format!("[run] memory_limit = {m:?} is not a size"),
                "write a size such as \"512MiB\" or \"2GiB\"",
            ));
        }
        if self.run.jobs == Some(0)
            || self.run.batch_rows == Some(0)
            || self.run.checkpoint_rows == Some(0)
            || self.run.checksum_statement_ms == Some(0)
        {
            errors.push(invalid(
                "[run] jobs, batch_rows, checkpoint_rows and checksum_statement_ms must be at least 1"
                    .into(),
                "remove them to use the defaults",
            ));
        }
        let known = self.checklist_ids();
        let mut own = HashSet::new();
        for item in &self.checklist {
            let builtin = CHECKLIST_ITEMS.iter().any(|(k, _)| *k == item.id);
            if item.id.trim().is_empty() || item.title.trim().is_empty() {
                errors.push(invalid(
                    "a [[checklist]] item has an empty id or title".into(),
                    "write id = \"gl-balances\" and title = \"General ledger balances carried over\"",
                ));
            } else if builtin || !own.insert(item.id.as_str()) {
                errors.push(invalid(
                    format!("checklist item {} is defined twice", item.id),
                    "give every [[checklist]] item an id of its own (the four built-in items are always there)",
                ));
            }
        }
        let mut seen = HashSet::new();
        for (i, t) in self.tables.iter().enumerate() {
            let found = if !seen.insert(t.name.to_lowercase()) {
                Err(invalid(
                    format!("table {} is listed twice", t.name),
                    "keep one [[table]] section per target table",
                ))
            } else {
                t.validate(file, &known)
            };
            if let Err(e) = found {
                errors.push(at(false, i, e));
            }
        }
        let mut ids = HashSet::new();
        for (i, r) in self.rules.iter().enumerate() {
            let found = r.validate().map_err(|(m, h)| invalid(m, h)).and_then(|()| {
                if !ids.insert(r.id.as_str()) {
                    Err(invalid(
                        format!("rule id {} is used twice", r.id),
                        "give every rule a unique id",
                    ))
                } else {
                    self.check_rule_checklist(r)
                        .map_err(|(m, h)| invalid(m, &h))
                }
            });
            if let Err(e) = found {
                errors.push(at(true, i, e));
            }
        }
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(ConfigError::Several {
                file: file.to_string(),
                errors,
            }),
        }
    }

    /// Every checklist item a table or rule may close: the built-in ones, then the config's.
    pub fn checklist_ids(&self) -> Vec<&str> {
        CHECKLIST_ITEMS
            .iter()
            .map(|(k, _)| *k)
            .chain(self.checklist.iter().map(|c| c.id.as_str()))
            .collect()
    }

    /// Every checklist item with its title: the built-in ones, then the config's.
    pub fn checklist_items(&self) -> Vec<(String, String)> {
        CHECKLIST_ITEMS
            .iter()
            .map(|(k, t)| (k.to_string(), t.to_string()))
            .chain(
                self.checklist
                    .iter()
                    .map(|c| (c.id.clone(), c.title.clone())),
            )
            .collect()
    }

    /// A rule's checklist item is one this config knows (rules of included files too).
    pub fn check_rule_checklist(&self, r: &RuleConfig) -> Result<(), (String, String)> {
        let known = self.checklist_ids();
        match &r.checklist {
            Some(c) if !known.contains(&c.as_str()) => Err((
                format!("rule {}: unknown checklist item {c:?}", r.id),
                format!(
                    "use one of {}, or add it as a [[checklist]] item",
                    known.join(", ")
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Each side has one URL (or url_env) and CSV options that make sense.
    fn validate_sides(&self, file: &str) -> Result<(), ConfigError> {
        let invalid = |message: String, hint: &str| ConfigError::Invalid {
            file: file.to_string(),
            message,
            hint: hint.to_string(),
        };
        for (side, ep) in [("source", &self.source), ("target", &self.target)] {
            match (&ep.url, &ep.url_env) {
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        format!("[{side}] sets both url and url_env"),
                        "keep one of them",
                    ));
                }
                (None, None) => {
                    return Err(invalid(
                        format!("[{side}] has no url"),
                        "set url = \"postgres://user@host/db\" or url_env = \"NAME_OF_AN_ENV_VAR\"",
                    ));
                }
                // The scheme is checked against the connector registry when the URL is
                // resolved (`cutover-source` holds the only list of schemes).
                (Some(_), None) | (None, Some(_)) => {}
            }
            ep.csv.check(file, &format!("[{side}.csv]"))?;
            for (pattern, o) in &ep.csv.files {
                let place = format!("[{side}.csv.files.{pattern:?}]");
                o.check(file, &place)?;
                if !o.files.is_empty() {
                    return Err(invalid(
                        format!("{place} has files of its own"),
                        "list every file's options under the side's [source.csv.files]",
                    ));
                }
            }
        }
        for t in &self.tables {
            if let Some(o) = &t.csv {
                let place = format!("table {}: csv", t.name);
                o.check(file, &place)?;
                if !o.files.is_empty() {
                    return Err(invalid(
                        format!("{place} has files of its own"),
                        "a table's csv options apply to all of its files; list per-file options under [source.csv.files]",
                    ));
                }
            }
        }
        Ok(())
    }
}

impl CsvOptions {
    /// Checks the delimiter, the quote and the encoding; `place` names the section in errors.
    fn check(&self, file: &str, place: &str) -> Result<(), ConfigError> {
        let invalid = |message: String, hint: &str| ConfigError::Invalid {
            file: file.to_string(),
            message,
            hint: hint.to_string(),
        };
        for (key, value) in [("delimiter", &self.delimiter), ("quote", &self.quote)] {
            if let Some(v) = value
                && csv_char(v).is_none()
            {
                return Err(invalid(
                    format!("{place} {key} = {v:?} is not a single ASCII character"),
                    "write one character, such as \";\" or \"\\t\" for tab",
                ));
            }
        }
        if let Some(e) = &self.encoding
            && !CSV_ENCODINGS.contains(&e.to_ascii_lowercase().as_str())
        {
            return Err(invalid(
                format!("{place} unknown encoding {e:?}"),
                "use utf-8, latin-1, windows-1252 or windows-1251",
            ));
        }
        Ok(())
    }
}

/// The lines the `[[table]]` and the `[[rule]]` sections of a config start on, in order.
fn section_lines(text: &str) -> (Vec<usize>, Vec<usize>) {
    let Ok(root) = toml::de::DeTable::parse(text) else {
        return (vec![], vec![]);
    };
    let mut tables = Vec::new();
    let mut rules = Vec::new();
    for (key, value) in root.get_ref() {
        let list = match key.get_ref().as_ref() {
            "table" => &mut tables,
            "rule" => &mut rules,
            _ => continue,
        };
        if let toml::de::DeValue::Array(items) = value.get_ref() {
            list.extend(items.iter().map(|i| line_of(text, i.span().start)));
        }
    }
    (tables, rules)
}

impl TableConfig {
    /// Checks what the schema cannot say about one table; `known` are the checklist items.
    fn validate(&self, file: &str, known: &[&str]) -> Result<(), ConfigError> {
        let t = self;
        let invalid = |message: String, hint: &str| ConfigError::Invalid {
            file: file.to_string(),
            message,
            hint: hint.to_string(),
        };
        if t.name.trim().is_empty() {
            return Err(invalid(
                "a [[table]] has an empty name".into(),
                "name the target table",
            ));
        }
        if let Some(key) = &t.key {
            if key.is_empty() {
                return Err(invalid(
                    format!("table {}: key is empty", t.name),
                    "name at least one column, e.g. key = [\"id\"]",
                ));
            }
            for k in key {
                if t.ignore.iter().any(|i| i.eq_ignore_ascii_case(k)) {
                    return Err(invalid(
                        format!("table {}: key column {k} is also in ignore", t.name),
                        "a key column is always compared; remove it from ignore",
                    ));
                }
            }
        }
        if let Some(c) = &t.checklist
            && !known.contains(&c.as_str())
        {
            return Err(invalid(
                format!("table {}: unknown checklist item {c:?}", t.name),
                &format!(
                    "use one of {}, or add it as a [[checklist]] item",
                    known.join(", ")
                ),
            ));
        }
        let mut places = vec![(format!("table {}", t.name), t.normalize.clone())];
        places.extend(
            t.columns
                .iter()
                .map(|(c, s)| (format!("table {}, column {c}", t.name), s.normalize())),
        );
        for (place, n) in places {
            n.check(&place).map_err(|(m, h)| invalid(m, h))?;
        }
        if t.source_name.is_some() && t.source_query.is_some() {
            return Err(invalid(
                format!("table {} sets both source_name and source_query", t.name),
                "keep source_query for a split or merged table, source_name for a renamed one",
            ));
        }
        for (target, source) in &t.columns {
            let empty = |s: Option<&str>| s.is_some_and(|s| s.trim().is_empty());
            if target.trim().is_empty() || empty(source.name()) || empty(source.expr()) {
                return Err(invalid(
                    format!("table {}: columns has an empty name or expression", t.name),
                    "write columns = { target_column = \"SOURCE_COLUMN\" }",
                ));
            }
            if let ColumnSource::Spec(spec) = source
                && let Some(ty) = &spec.type_name
                && !COLUMN_TYPES.contains(&ty.as_str())
            {
                return Err(invalid(
                    format!("table {}: column {target} has type = {ty:?}", t.name),
                    "use number, float, bool, text, date, time, timestamp, uuid, json or bytes",
                ));
            }
            if source.name().is_some() && source.expr().is_some() {
                return Err(invalid(
                    format!("table {}: column {target} sets both name and expr", t.name),
                    "a column comes from a source column (name) or an expression (expr), not both",
                ));
            }
        }
        Ok(())
    }
}

/// The byte of a one-character CSV option (`\t` and the escape `\\t` mean tab).
pub fn csv_char(v: &str) -> Option<u8> {
    match v {
        "\\t" | "\t" => Some(b'\t'),
        _ if v.len() == 1 && v.is_ascii() => Some(v.as_bytes()[0]),
        _ => None,
    }
}

pub use cutover_check::names::glob_match;

/// Parses a size such as `512MiB`, `2GiB`, `1g` or `1048576` into bytes (at least 1 MiB).
pub fn parse_size(text: &str) -> Option<usize> {
    let t = text.trim().to_ascii_lowercase().replace(' ', "");
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: usize = digits.parse().ok()?;
    let factor = match unit {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(factor).filter(|&b| b >= 1 << 20)
}

impl Endpoint {
    /// The URL, read from the environment when `url_env` is set. `lookup` reads a variable.
    /// A relative SQLite path is taken relative to `base_dir` (the config file's folder).
    pub fn resolve(
        &self,
        side: &str,
        base_dir: &Path,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<String, ConfigError> {
        let url =
            match (&self.url, &self.url_env) {
                (Some(u), _) => u.clone(),
                (None, Some(var)) => lookup(var).filter(|v| !v.is_empty()).ok_or_else(|| {
                    ConfigError::Unresolved {
                        message: format!("[{side}] url_env names {var}, which is not set"),
                        hint: format!("export {var}=\"postgres://user:password@host/db\""),
                    }
                })?,
                (None, None) => {
                    return Err(ConfigError::Unresolved {
                    message: format!("[{side}] has no url"),
                    hint:
                        "set url = \"postgres://user@host/db\" or url_env = \"NAME_OF_AN_ENV_VAR\""
                            .into(),
                });
                }
            };
        Ok(absolutise_path(&url, base_dir))
    }
}

/// Rewrites `sqlite://relative/path` and `csv://relative/folder` to absolute paths under
/// `base_dir`.
pub fn absolutise_path(url: &str, base_dir: &Path) -> String {
    let (scheme, rest) = if let Some(r) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        ("sqlite", r)
    } else if let Some(r) = url
        .strip_prefix("csv://")
        .or_else(|| url.strip_prefix("csv:"))
    {
        ("csv", r)
    } else if let Some(r) = url
        .strip_prefix("parquet://")
        .or_else(|| url.strip_prefix("parquet:"))
    {
        ("parquet", r)
    } else {
        return url.to_string();
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path.starts_with('/') || path == ":memory:" || path.is_empty() {
        return url.to_string();
    }
    let abs = base_dir.join(path);
    match query {
        Some(q) => format!("{scheme}://{}?{q}", abs.display()),
        None => format!("{scheme}://{}", abs.display()),
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    const VALID: &str = "[source]\nurl = \"sqlite://a.db\"\n[target]\nurl = \"postgres://u@h/db\"\n[[table]]\nname = \"t\"\nkey = [\"id\"]\nsource_where = \"id > 0\"\n[[rule]]\nid = \"r\"\ntype = \"unique\"\ntable = \"t\"\ncolumns = [\"id\"]\n";

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn any_text_is_parsed_or_refused_never_a_panic(text in "\\PC{0,200}") {
            let _ = Config::parse(&text, "c.toml");
            let _ = RuleFile::parse(&text, "r.toml");
        }

        #[test]
        fn a_damaged_config_is_parsed_or_refused_never_a_panic(at in 0usize..VALID.len(), insert in "[\\[\\]=\"'{}a-z0-9 \n.#,-]{0,6}", cut in 0usize..8) {
            let mut text = VALID.to_string();
            let at = (0..=at).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
            let end = (at + cut).min(text.len());
            let end = (end..=text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(text.len());
            text.replace_range(at..end, &insert);
            if let Ok(c) = Config::parse(&text, "c.toml") {
                // Whatever parses also lists its SQL and resolves without a panic.
                for t in &c.tables {
                    let _ = t.configured_sql();
                }
                for r in &c.rules {
                    let _ = r.configured_sql();
                }
                let _ = c.source.resolve("source", Path::new("/cfg"), |_| None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[source]
url = "sqlite://legacy.db"
[target]
url_env = "NEW_DB"

[[table]]
name = "orders"
source_name = "ORD"
key = ["id"]
columns = { id = "ORD_ID" }
ignore = ["updated_at"]
source_where = "ORD_DATE >= '2015-01-01'"
"#;

    #[test]
    fn parses_a_full_table() {
        let c = Config::parse(MINIMAL, "c.toml").unwrap();
        assert_eq!(c.tables[0].source_table(), "ORD");
        assert_eq!(c.tables[0].columns["id"].name(), Some("ORD_ID"));
    }

    #[test]
    fn run_counts_of_zero_are_refused() {
        for key in [
            "jobs",
            "batch_rows",
            "checkpoint_rows",
            "checksum_statement_ms",
        ] {
            let text = format!("{MINIMAL}\n[run]\n{key} = 0\n");
            let err = Config::parse(&text, "c.toml").unwrap_err().to_string();
            assert!(
                err.contains(
                    "jobs, batch_rows, checkpoint_rows and checksum_statement_ms must be at least 1"
                ),
                "{key}: {err}"
            );
            let ok = format!("{MINIMAL}\n[run]\n{key} = 1\n");
            assert!(Config::parse(&ok, "c.toml").is_ok(), "{key} = 1");
        }
    }

    #[test]
    fn unknown_key_names_the_line() {
        let text = MINIMAL.replace("ignore =", "ignroe =");
        let err = Config::parse(&text, "c.toml").unwrap_err().to_string();
        assert!(err.contains("line 12"), "{err}");
        assert!(err.contains("unknown field `ignroe`"), "{err}");
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_place() {
        let text = format!(
            "{MINIMAL}\n[run]\njobs = \"four\"\n\n[[table]]\nname = \"customers\"\nkey = \"id\"\n\n[[rule]]\nid = \"r1\"\ntype = \"unique\"\ntable = \"orders\"\ncolums = [\"id\"]\n"
        )
        .replace("ignore =", "ignroe =");
        let err = Config::parse(&text, "c.toml").unwrap_err().to_string();
        for expected in [
            "c.toml: 4 problems:",
            "line 12, column 1",
            "unknown field `ignroe`",
            "invalid type: string \"four\", expected usize",
            "invalid type: string \"id\", expected a sequence",
            "rule r1: unknown field `colums`",
        ] {
            assert!(err.contains(expected), "{expected:?} not in:\n{err}");
        }
        // Problems of content, each with the line its section starts on.
        let text = format!(
            "{MINIMAL}\n[[table]]\nname = \"ORDERS\"\n\n[[rule]]\nid = \"r1\"\ntype = \"unique\"\ntable = \"orders\"\ncolumns = []\n"
        )
        .replace("ignore = [\"updated_at\"]", "ignore = [\"ID\"]");
        let err = Config::parse(&text, "c.toml").unwrap_err().to_string();
        assert!(err.contains("3 problems"), "{err}");
        assert!(err.contains("also in ignore"), "{err}");
        assert!(err.contains("table ORDERS is listed twice"), "{err}");
        assert!(err.contains("line 15, column 1: table ORDERS"), "{err}");
        assert!(err.contains("rule r1: columns is empty"), "{err}");
        assert!(err.contains("  hint: keep one [[table]] section"), "{err}");
    }

    #[test]
    fn missing_url_has_a_hint() {
        let text = MINIMAL.replace("url_env = \"NEW_DB\"", "");
        let err = Config::parse(&text, "c.toml").unwrap_err();
        assert!(err.to_string().contains("[target] has no url"), "{err}");
        assert!(err.hint().is_some_and(|h| h.contains("url_env")), "{err}");
    }

    #[test]
    fn table_patterns() {
        assert!(glob_match("order*", "Order_Lines"));
        assert!(glob_match("customers", "CUSTOMERS"));
        assert!(glob_match("?rders", "orders"));
        assert!(!glob_match("order", "orders"));
    }

    #[test]
    fn key_in_ignore_is_rejected() {
        let text = MINIMAL.replace("ignore = [\"updated_at\"]", "ignore = [\"ID\"]");
        assert!(
            Config::parse(&text, "c.toml")
                .unwrap_err()
                .to_string()
                .contains("also in ignore")
        );
    }

    #[test]
    fn column_specs() {
        let text = MINIMAL.replace(
            "columns = { id = \"ORD_ID\" }",
            "columns = { id = \"ORD_ID\", status = { name = \"STAT\", map = { A = \"ACTIVE\" } }, full = { expr = \"A || B\" } }",
        );
        let c = Config::parse(&text, "c.toml").unwrap();
        let cols = &c.tables[0].columns;
        assert_eq!(cols["status"].name(), Some("STAT"));
        assert_eq!(cols["status"].map().unwrap()["A"], "ACTIVE");
        assert_eq!(cols["full"].expr(), Some("A || B"));
        let both = text.replace("name = \"STAT\"", "name = \"STAT\", expr = \"x\"");
        assert!(
            Config::parse(&both, "c.toml")
                .unwrap_err()
                .to_string()
                .contains("both name and expr")
        );
        let typed = text.replace("full = { expr = \"A || B\" }", "full = { type = \"date\" }");
        assert!(Config::parse(&typed, "c.toml").is_ok());
        let bad = text.replace(
            "full = { expr = \"A || B\" }",
            "full = { type = \"money\" }",
        );
        assert!(
            Config::parse(&bad, "c.toml")
                .unwrap_err()
                .to_string()
                .contains("type = \"money\"")
        );
        let typo = text.replace("map = {", "mapp = {");
        let err = Config::parse(&typo, "c.toml").unwrap_err().to_string();
        assert!(
            err.contains("line 11") && err.contains("unknown field `mapp`"),
            "{err}"
        );
        let q = MINIMAL.replace(
            "source_name = \"ORD\"",
            "source_query = \"SELECT * FROM A JOIN B USING (id)\"",
        );
        assert_eq!(
            Config::parse(&q, "c.toml").unwrap().tables[0].source_table(),
            "query"
        );
    }

    #[test]
    fn normalisation_at_three_levels() {
        let text = format!(
            "[defaults]\ntrim = true\n{}",
            MINIMAL.replace(
                "columns = { id = \"ORD_ID\" }",
                "columns = { id = \"ORD_ID\", total = { name = \"TOT\", tolerance = 0.01 } }\nnormalize = { case_insensitive = true, trim = false }"
            )
        );
        let c = Config::parse(&text, "c.toml").unwrap();
        let t = &c.tables[0];
        let total = t.columns["total"]
            .normalize()
            .or(&t.normalize)
            .or(&c.defaults);
        assert_eq!(
            (total.tolerance, total.trim, total.case_insensitive),
            (Some(0.01), Some(false), Some(true))
        );
        assert_eq!(t.columns["total"].name(), Some("TOT"));
        let typo = text.replace("tolerance = 0.01", "tolerence = 0.01");
        let err = Config::parse(&typo, "c.toml").unwrap_err().to_string();
        assert!(err.contains("unknown field `tolerence`"), "{err}");
        let column_level = text.replace("tolerance = 0.01", "timestamp_precision = \"ms\"");
        let c = Config::parse(&column_level, "c.toml").unwrap();
        assert_eq!(
            c.tables[0].columns["total"].normalize().precision_nanos(),
            Some(1_000_000)
        );
        let bad = text.replace("trim = true", "timestamp_precision = \"minutes\"");
        assert!(
            Config::parse(&bad, "c.toml")
                .unwrap_err()
                .to_string()
                .contains("timestamp_precision")
        );
    }

    #[test]
    fn csv_options_and_sizes() {
        let text = MINIMAL.replace(
            "url = \"sqlite://legacy.db\"",
            "url = \"csv://exports\"\n[source.csv]\ndelimiter = \";\"\nencoding = \"latin-1\"",
        );
        let c = Config::parse(&text, "c.toml").unwrap();
        assert_eq!(c.source.csv.delimiter.as_deref(), Some(";"));
        assert_eq!(
            c.source
                .resolve("source", Path::new("/cfg"), |_| None)
                .unwrap(),
            "csv:///cfg/exports"
        );
        let bad = text.replace("latin-1", "ebcdic");
        assert!(
            Config::parse(&bad, "c.toml")
                .unwrap_err()
                .to_string()
                .contains("unknown encoding")
        );
        let bad = text.replace("\";\"", "\";;\"");
        assert!(
            Config::parse(&bad, "c.toml")
                .unwrap_err()
                .to_string()
                .contains("not a single ASCII character")
        );
        assert_eq!(parse_size("512MiB"), Some(512 << 20));
        assert_eq!(parse_size("2 GiB"), Some(2 << 30));
        assert_eq!(parse_size("1k"), None, "below 1 MiB");
        assert_eq!(parse_size("lots"), None);
        assert_eq!(csv_char("\\t"), Some(b'\t'));
    }

    #[test]
    fn env_url_and_relative_sqlite() {
        let c = Config::parse(MINIMAL, "c.toml").unwrap();
        let base = Path::new("/cfg");
        assert_eq!(
            c.source.resolve("source", base, |_| None).unwrap(),
            "sqlite:///cfg/legacy.db"
        );
        let err = c
            .target
            .resolve("target", base, |_| None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("NEW_DB, which is not set"));
        let url = c
            .target
            .resolve("target", base, |_| Some("postgres://u:p@h/db".into()))
            .unwrap();
        assert_eq!(url, "postgres://u:p@h/db");
    }
}
