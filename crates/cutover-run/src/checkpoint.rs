//! Checkpoints of checksum mode, so a long check survives an interruption. Each finished chunk
//! of key ranges (both sides' row counts and checksums per bucket) is appended to a state file
//! beside the history as one line, written in one call as soon as the chunk is done; a run
//! killed at any moment leaves every finished chunk readable (a torn last line is ignored).
//! `cutover check --resume` reads the file, keeps each table's key ranges and finished
//! chunks, and checksums only the rest, in a new snapshot. A table whose checksum statements
//! differ from the checkpoint's (columns, kinds, filters, servers) refuses to resume.
//!
//! The file is text: a header line, then `T` lines (a table's fingerprint and bucket bounds)
//! and `C` lines (a chunk: when, its first bucket, each side's `rows:sum:sum` per bucket).

use cutover_source::checksum::KeyBound;
use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const HEADER: &str = "cutover checkpoint 1";

/// A bucket's row count and its two checksum sums.
pub(crate) type BucketSum = (u64, i128, i128);

/// What an interrupted run had finished of one table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Earlier {
    /// The key-range bounds the buckets were cut at.
    pub(crate) bounds: Vec<KeyBound>,
    /// Finished chunks.
    pub(crate) chunks: Vec<Chunk>,
}

/// Consecutive buckets checksummed by one statement per side.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Chunk {
    /// When it finished, in seconds since 1970 (UTC).
    pub(crate) at: i64,
    /// Its first bucket.
    pub(crate) first: usize,
    /// Each side's sums of its buckets, `first..first + len`.
    pub(crate) sums: [Vec<Option<BucketSum>>; 2],
}

/// The checkpoint file of a run.
#[derive(Debug)]
pub struct Checkpoints {
    path: PathBuf,
    /// Tables of the interrupted run, by name: their fingerprint and what they had finished.
    earlier: HashMap<String, (String, Earlier)>,
    /// Open once the first table writes; a fresh run replaces the file then.
    file: Mutex<Option<std::fs::File>>,
    resuming: bool,
}

impl Checkpoints {
    /// Checkpoints of a new run, written to `path` (which it replaces once a table writes).
    pub fn new(path: &Path) -> Checkpoints {
        Checkpoints {
            path: path.to_path_buf(),
            earlier: HashMap::new(),
            file: Mutex::new(None),
            resuming: false,
        }
    }

    /// Continues the run interrupted with the checkpoint at `path`.
    pub fn resume(path: &Path) -> Result<Checkpoints, String> {
        let text = std::fs::read(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "nothing to resume: no checkpoint at {} (a run that finishes removes its checkpoint; only checksum mode writes one)",
                    path.display()
                )
            } else {
                format!("cannot read the checkpoint {}: {e}", path.display())
            }
        })?;
        let earlier = parse(&text).map_err(|e| {
            format!(
                "the checkpoint {} is damaged ({e}); run without --resume to start over",
                path.display()
            )
        })?;
        Ok(Checkpoints {
            path: path.to_path_buf(),
            earlier,
            file: Mutex::new(None),
            resuming: true,
        })
    }

    /// True when this run continues an interrupted one.
    pub fn resuming(&self) -> bool {
        self.resuming
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the file: the run finished, nothing is left to resume.
    pub fn finish(&self) {
        *self.file.lock().expect("checkpoint file") = None;
        let _ = std::fs::remove_file(&self.path);
    }

    /// What the interrupted run finished of `table`, when this run resumes it. An error when
    /// the table's statements (its `fingerprint`) changed since.
    pub(crate) fn earlier(
        &self,
        table: &str,
        fingerprint: &str,
    ) -> Result<Option<Earlier>, String> {
        match self.earlier.get(table) {
            Some((f, e)) if f == fingerprint => Ok(Some(e.clone())),
            Some(_) => Err(format!(
                "cannot resume table {table}: its checksum statements changed since the interrupted run (columns, types, filters or servers); run without --resume to start over"
            )),
            None => Ok(None),
        }
    }

    /// Records that `table` is checksummed in buckets cut at `bounds`.
    pub(crate) fn begin(
        &self,
        table: &str,
        fingerprint: &str,
        bounds: &[KeyBound],
    ) -> Result<(), String> {
        if self
            .earlier
            .get(table)
            .is_some_and(|(f, _)| f == fingerprint)
        {
            return Ok(());
        }
        let bounds: Vec<String> = bounds.iter().map(|b| b.0.to_string()).collect();
        self.write(&format!(
            "T\t{}\t{fingerprint}\t{}\n",
            escape(table),
            bounds.join(",")
        ))
    }

    /// Records a finished chunk of `table`.
    pub(crate) fn chunk(&self, table: &str, chunk: &Chunk) -> Result<(), String> {
        let side = |sums: &[Option<BucketSum>]| {
            sums.iter()
                .map(|s| match s {
                    Some((n, a, b)) => format!("{n}:{a}:{b}"),
                    None => "-".into(),
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        self.write(&format!(
            "C\t{}\t{}\t{}\t{}\t{}\n",
            escape(table),
            chunk.at,
            chunk.first,
            side(&chunk.sums[0]),
            side(&chunk.sums[1])
        ))
    }

    /// Appends one line in one write, opening the file first.
    fn write(&self, line: &str) -> Result<(), String> {
        let fail = |e: std::io::Error| {
            format!(
                "cannot write the checkpoint {}: {e}; check that its folder is writable",
                self.path.display()
            )
        };
        let mut file = self.file.lock().expect("checkpoint file");
        if file.is_none() {
            let mut opened = std::fs::OpenOptions::new()
                .create(true)
                .append(self.resuming)
                .write(true)
                .truncate(!self.resuming)
                .open(&self.path)
                .map_err(fail)?;
            if !self.resuming {
                opened
                    .write_all(format!("{HEADER}\n").as_bytes())
                    .map_err(fail)?;
            }
            *file = Some(opened);
        }
        let f = file.as_mut().expect("opened above");
        f.write_all(line.as_bytes()).map_err(fail)
    }
}

/// Now, in seconds since 1970.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn escape(name: &str) -> String {
    name.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some(o) => out.push(o),
                None => {}
            },
            (c, false) => out.push(c),
        }
    }
    out
}

/// Reads a checkpoint file. A last line without its newline was torn by the interruption and
/// is left out; any other line that does not parse makes the file damaged.
fn parse(bytes: &[u8]) -> Result<HashMap<String, (String, Earlier)>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not text".to_string())?;
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => "",
    };
    let mut lines = complete.split('\n');
    if lines.next() != Some(HEADER) {
        return Err("not a cutover checkpoint".into());
    }
    let mut tables: HashMap<String, (String, Earlier)> = HashMap::new();
    for (n, line) in lines.enumerate() {
        let bad = || format!("line {} does not parse", n + 2);
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["T", table, fingerprint, bounds] => {
                let bounds = if bounds.is_empty() {
                    Vec::new()
                } else {
                    bounds
                        .split(',')
                        .map(|b| b.parse().map(KeyBound).map_err(|_| bad()))
                        .collect::<Result<Vec<_>, _>>()?
                };
                tables.insert(
                    unescape(table),
                    (
                        fingerprint.to_string(),
                        Earlier {
                            bounds,
                            chunks: Vec::new(),
                        },
                    ),
                );
            }
            ["C", table, at, first, src, tgt] => {
                let sums = |s: &str| -> Result<Vec<Option<BucketSum>>, String> {
                    s.split(',')
                        .map(|b| {
                            if b == "-" {
                                return Ok(None);
                            }
                            let mut p = b.split(':');
                            let (Some(n), Some(x), Some(y), None) =
                                (p.next(), p.next(), p.next(), p.next())
                            else {
                                return Err(bad());
                            };
                            Ok(Some((
                                n.parse().map_err(|_| bad())?,
                                x.parse().map_err(|_| bad())?,
                                y.parse().map_err(|_| bad())?,
                            )))
                        })
                        .collect()
                };
                let chunk = Chunk {
                    at: at.parse().map_err(|_| bad())?,
                    first: first.parse().map_err(|_| bad())?,
                    sums: [sums(src)?, sums(tgt)?],
                };
                let (_, earlier) = tables.get_mut(&unescape(table)).ok_or_else(bad)?;
                let buckets = earlier.bounds.len() + 1;
                if chunk.sums[0].len() != chunk.sums[1].len()
                    || chunk.first + chunk.sums[0].len() > buckets
                {
                    return Err(bad());
                }
                earlier.chunks.push(chunk);
            }
            _ => return Err(bad()),
        }
    }
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_was_written_is_read_back_and_a_torn_line_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.checkpoint");
        let c = Checkpoints::new(&path);
        c.begin("ord\ters", "f1", &[KeyBound(10), KeyBound(-20)])
            .unwrap();
        let chunk = Chunk {
            at: 1_790_000_000,
            first: 1,
            sums: [
                vec![Some((3, 1 << 70, -5)), None],
                vec![Some((3, 1 << 70, -5)), Some((1, 2, 3))],
            ],
        };
        c.chunk("ord\ters", &chunk).unwrap();
        drop(c);
        // An interruption in the middle of a line.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"C\tord\\ters\t17900").unwrap();
        let r = Checkpoints::resume(&path).unwrap();
        let e = r.earlier("ord\ters", "f1").unwrap().unwrap();
        assert_eq!(e.bounds, [KeyBound(10), KeyBound(-20)]);
        assert_eq!(e.chunks, [chunk]);
        assert_eq!(r.earlier("other", "f1"), Ok(None));
        let changed = r.earlier("ord\ters", "f2").unwrap_err();
        assert!(changed.contains("run without --resume"), "{changed}");
        // Resuming appends; the table's bounds are not written again.
        r.begin("ord\ters", "f1", &[]).unwrap();
        r.finish();
        assert!(!path.exists());
    }

    #[test]
    fn a_missing_or_damaged_checkpoint_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.checkpoint");
        let missing = Checkpoints::resume(&path).unwrap_err();
        assert!(missing.starts_with("nothing to resume"), "{missing}");
        std::fs::write(&path, format!("{HEADER}\nC\tt\t1\t0\t1:2:3\t1:2:3\n")).unwrap();
        let damaged = Checkpoints::resume(&path).unwrap_err();
        assert!(
            damaged.contains("is damaged (line 2 does not parse)"),
            "{damaged}"
        );
        std::fs::write(&path, "something else\n").unwrap();
        assert!(
            Checkpoints::resume(&path)
                .unwrap_err()
                .contains("not a cutover checkpoint")
        );
    }
}
