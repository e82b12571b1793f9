//! The file connectors (folders of exports): CSV and Parquet, which share finding a table's
//! files in a folder, naming them in errors, and the external sort that turns unordered rows
//! into the key-ordered stream every connector delivers.

pub(crate) mod csv_files;
pub(crate) mod csv_table;
pub(crate) mod parquet_files;
pub(crate) mod query;
pub(crate) mod sort;

use crate::SourceError;
use cutover_check::names::glob_match;
use std::path::{Path, PathBuf};

/// How the delimited text files of a `csv://` side are read. Every field has a default that
/// fits a plain UTF-8 CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvFormat {
    /// Field separator.
    pub delimiter: u8,
    /// Quote character.
    pub quote: u8,
    /// Whether the first line holds the column names (else `column_1`, …).
    pub header: bool,
    /// The encoding's name as configured (`windows-1252`, …); `None` is UTF-8.
    pub encoding: Option<String>,
    /// Numbers are written with a decimal comma (`12,50`).
    pub decimal_comma: bool,
    /// Field texts that mean NULL.
    pub null: Vec<String>,
    /// chrono format of dates, e.g. `%d.%m.%Y` (default ISO).
    pub date_format: Option<String>,
    /// chrono format of timestamps (default ISO).
    pub timestamp_format: Option<String>,
    /// Per file: a glob of file names (case-insensitive) and what differs for those files;
    /// later entries win. A table's own options are an entry for its files.
    pub files: Vec<(String, CsvOverride)>,
}

/// What differs for some files of a `csv://` side from the side's [`CsvFormat`]: every field
/// that is set replaces the side's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CsvOverride {
    /// Field separator.
    pub delimiter: Option<u8>,
    /// Quote character.
    pub quote: Option<u8>,
    /// Whether the first line holds the column names.
    pub header: Option<bool>,
    /// The encoding's name.
    pub encoding: Option<String>,
    /// Numbers are written with a decimal comma.
    pub decimal_comma: Option<bool>,
    /// Field texts that mean NULL.
    pub null: Option<Vec<String>>,
    /// chrono format of dates.
    pub date_format: Option<String>,
    /// chrono format of timestamps.
    pub timestamp_format: Option<String>,
}

impl CsvFormat {
    /// The format of the file named `file_name`: the side's, with every override whose glob
    /// matches the name applied in order.
    pub fn for_file(&self, file_name: &str) -> CsvFormat {
        let mut f = self.clone();
        f.files.clear();
        let name = file_name.to_lowercase();
        for (pattern, o) in &self.files {
            let pattern = pattern.to_lowercase();
            let matches = glob_match(&pattern, &name)
                || (Path::new(&pattern).extension().is_none()
                    && glob_match(&format!("{pattern}.csv"), &name));
            if !matches {
                continue;
            }
            if let Some(v) = o.delimiter {
                f.delimiter = v;
            }
            if let Some(v) = o.quote {
                f.quote = v;
            }
            if let Some(v) = o.header {
                f.header = v;
            }
            if let Some(v) = &o.encoding {
                f.encoding = Some(v.clone());
            }
            if let Some(v) = o.decimal_comma {
                f.decimal_comma = v;
            }
            if let Some(v) = &o.null {
                f.null = v.clone();
            }
            if let Some(v) = &o.date_format {
                f.date_format = Some(v.clone());
            }
            if let Some(v) = &o.timestamp_format {
                f.timestamp_format = Some(v.clone());
            }
        }
        f
    }
}

impl Default for CsvFormat {
    fn default() -> Self {
        CsvFormat {
            delimiter: b',',
            quote: b'"',
            header: true,
            encoding: None,
            decimal_comma: false,
            null: vec![String::new()],
            date_format: None,
            timestamp_format: None,
            files: Vec::new(),
        }
    }
}

/// A guess at how a folder's CSV files are written, from the first 64 KiB of its first file:
/// the delimiter that appears most often on the header line (`,`, `;`, tab or `|`), and
/// `windows-1252` when the bytes are not UTF-8. `None` when the folder holds no CSV file.
pub fn sniff_csv(url: &str) -> Option<CsvFormat> {
    use std::io::Read as _;
    let dir = folder(url, "csv").ok()?;
    let first = table_names(&dir, "csv").ok()?.into_iter().next()?;
    let path = matching_files(&dir, &first, "csv")
        .ok()?
        .into_iter()
        .next()?;
    let mut head = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(1 << 16)
        .read_to_end(&mut head)
        .ok()?;
    let line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let delimiter = [b',', b';', b'\t', b'|']
        .into_iter()
        .max_by_key(|d| line.iter().filter(|b| *b == d).count())
        .filter(|d| line.contains(d))
        .unwrap_or(b',');
    // A cut in the middle of a character at the 64 KiB boundary is not a wrong encoding.
    let valid = match std::str::from_utf8(&head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    };
    Some(CsvFormat {
        delimiter,
        encoding: (!valid).then(|| "windows-1252".to_string()),
        ..CsvFormat::default()
    })
}

/// The names of a table's files, and their columns.
pub type FileTable = (Vec<String>, Vec<String>);

/// A table of a file side as the folder tells it, without reading a row: the names of the files
/// its name or glob matches, and their columns (the first file's header or schema). `None` when
/// the endpoint is not a folder of exports.
pub fn file_table(
    endpoint: &crate::Endpoint,
    table: &str,
) -> Option<Result<FileTable, SourceError>> {
    let engine = crate::Engine::from_url(&endpoint.url).filter(|e| e.is_file())?;
    let ext = extension(engine);
    let found = (|| {
        let dir = folder(&endpoint.url, ext)?;
        let files: Vec<String> = table_files(&dir, table, ext)?
            .iter()
            .map(|f| file_name(f))
            .collect();
        let columns = crate::open(endpoint)?
            .describe(table)?
            .map(|s| s.columns.into_iter().map(|c| c.name).collect())
            .unwrap_or_default();
        Ok((files, columns))
    })();
    Some(found)
}

/// Whether a read needs SQL over the files (a condition, an expression or a query), which
/// [`query::Exports`] runs; plain reads stream the files directly.
pub(crate) fn needs_sql(req: &crate::ReadRequest) -> bool {
    req.filter.is_some() || req.query.is_some() || req.columns.iter().any(|c| c.expr.is_some())
}

/// An error about a file, naming it.
pub(crate) fn file_error(path: &Path, message: impl std::fmt::Display) -> SourceError {
    SourceError::File {
        path: path.display().to_string(),
        message: message.to_string(),
        hint: None,
    }
}

/// The folder a `scheme://path` URL names; an error with a hint if it is not a folder.
pub(crate) fn folder(url: &str, scheme: &str) -> Result<PathBuf, SourceError> {
    let path = url
        .strip_prefix(&format!("{scheme}://"))
        .or_else(|| url.strip_prefix(&format!("{scheme}:")))
        .unwrap_or(url);
    let dir = PathBuf::from(path);
    if !dir.is_dir() {
        return Err(SourceError::Connect {
            url: crate::redact(url),
            message: "not a folder".into(),
            hint: format!(
                "point {scheme}:// at the folder that holds the exported files (relative paths are taken from the config file's folder)"
            ),
        });
    }
    Ok(dir)
}

/// The files of a table in `dir`, sorted by name: `table` itself (with `.ext` added when it has
/// no extension) or a glob with `*` and `?`, matched case-insensitively.
pub(crate) fn matching_files(
    dir: &Path,
    table: &str,
    ext: &str,
) -> Result<Vec<PathBuf>, SourceError> {
    let pattern = if table.contains(['*', '?']) || Path::new(table).extension().is_some() {
        table.to_lowercase()
    } else {
        format!("{table}.{ext}").to_lowercase()
    };
    let entries = std::fs::read_dir(dir).map_err(|e| file_error(dir, e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| glob_match(&pattern, &e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    files.sort();
    Ok(files)
}

/// The tables of a folder: the names of its `.ext` files without the extension, sorted.
pub(crate) fn table_names(dir: &Path, ext: &str) -> Result<Vec<String>, SourceError> {
    let entries = std::fs::read_dir(dir).map_err(|e| file_error(dir, e))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let path = e.path();
            let matches = path
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case(ext));
            matches.then(|| path.file_stem()?.to_str().map(str::to_string))?
        })
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// The file extension of a file engine's tables.
pub(crate) fn extension(engine: crate::Engine) -> &'static str {
    if engine == crate::Engine::Csv {
        "csv"
    } else {
        "parquet"
    }
}

/// A path's file name, as text.
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// The files of a table, or an error that names the folder's tables when none matches.
pub(crate) fn table_files(dir: &Path, table: &str, ext: &str) -> Result<Vec<PathBuf>, SourceError> {
    let files = matching_files(dir, table, ext)?;
    if files.is_empty() {
        let known = table_names(dir, ext).unwrap_or_default();
        return Err(SourceError::File {
            path: dir.display().to_string(),
            message: format!("no .{ext} file matches table {table}"),
            hint: Some(format!(
                "the folder's tables are: {}; a name matches name.{ext} or a glob such as {table}_*.{ext}, case-insensitively",
                if known.is_empty() {
                    "(none)".to_string()
                } else {
                    known.join(", ")
                }
            )),
        });
    }
    Ok(files)
}

/// The names of a table's files, for reports (the table's name when none matches).
pub(crate) fn shown_files(dir: &Path, table: &str, ext: &str) -> String {
    let names: Vec<String> = matching_files(dir, table, ext)
        .unwrap_or_default()
        .iter()
        .map(|f| file_name(f))
        .collect();
    if names.is_empty() {
        table.to_string()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use cutover_check::names::glob_match;

    #[test]
    fn wildcards() {
        assert!(glob_match("ord_*.csv", "ord_2019.csv"));
        assert!(glob_match("ord.csv", "ord.csv"));
        assert!(!glob_match("ord.csv", "ord.csv.bak"));
        assert!(glob_match("ord_????.csv", "ord_2019.csv"));
        assert!(!glob_match("ord_*.csv", "order.csv"));
    }
}
