//! Checkpoints, so a long check survives an interruption. Each finished chunk of checksum
//! mode (both sides' row counts and checksums per bucket) and each finished key range of a full
//! compare read in ranges (its exact diff) is appended to a state file beside the history as
//! one line, written in one call as soon as it is done; a run killed at any moment leaves every
//! finished line readable (a torn last line is ignored). `cutover check --resume` reads the
//! file, keeps each table's key ranges and what was finished, and reads only the rest, in a new
//! snapshot. A table whose statements differ from the checkpoint's (columns, kinds, filters,
//! servers, mode) refuses to resume.
//!
//! The file is text: a header line, then `T` lines (a table's fingerprint and range bounds),
//! `C` lines (a checksum chunk: when, its first bucket, each side's `rows:sum:sum` per bucket)
//! and `D` lines (a compared range: when, its index, its diff as JSON).

use cutover_check::TableDiff;
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
    /// Finished chunks (checksum mode).
    pub(crate) chunks: Vec<Chunk>,
    /// Finished key ranges (full compare).
    pub(crate) ranges: Vec<RangeDone>,
}

/// A key range of a full compare, compared.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RangeDone {
    /// When it finished, in seconds since 1970 (UTC).
    pub(crate) at: i64,
    /// Which range, counted from the lowest keys.
    pub(crate) index: usize,
    /// Its exact diff.
    pub(crate) diff: TableDiff,
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
                    "nothing to resume: no checkpoint at {} (a run that finishes removes its checkpoint; checksum mode and full compares read in key ranges write one)",
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
        // A line torn by the interruption goes, so the lines this run appends stay whole.
        let whole = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        if whole < text.len() {
            std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|f| f.set_len(whole as u64))
                .map_err(|e| format!("cannot repair the checkpoint {}: {e}", path.display()))?;
        }
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
        let bounds: Vec<String> = bounds.iter().map(bound_text).collect();
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

    /// Records a compared key range of `table`.
    pub(crate) fn range_done(&self, table: &str, done: &RangeDone) -> Result<(), String> {
        self.write(&format!(
            "D\t{}\t{}\t{}\t{}\n",
            escape(table),
            done.at,
            done.index,
            done.diff.to_json()
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

/// Which key ranges an interrupted run finished (`what`: checksummed, compared) and when, and
/// when this run did the rest.
pub(crate) fn resumed_note(
    what: &str,
    key_name: &str,
    done: &[bool],
    bounds: &[KeyBound],
    earlier: &[i64],
    now: &[i64],
) -> String {
    let when = |times: &[i64]| -> String {
        let show = |t: i64| {
            chrono::DateTime::from_timestamp(t, 0).map_or_else(
                || t.to_string(),
                |d| d.format("%Y-%m-%d %H:%M:%S").to_string(),
            )
        };
        match (times.iter().min(), times.iter().max()) {
            (Some(&a), Some(&b)) if a == b => format!("at {} UTC", show(a)),
            (Some(&a), Some(&b)) => format!("from {} to {} UTC", show(a), show(b)),
            _ => "(none)".into(),
        }
    };
    // The finished buckets as key intervals `[lo, hi)`, the first few named.
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for (b, _) in done.iter().enumerate().filter(|(_, d)| **d) {
        match spans.last_mut() {
            Some(last) if last.1 + 1 == b => last.1 = b,
            _ => spans.push((b, b)),
        }
    }
    let key = |b: Option<&KeyBound>| b.map(KeyBound::to_string);
    let named: Vec<String> = spans
        .iter()
        .take(4)
        .map(|&(a, z)| {
            let lo = a.checked_sub(1).and_then(|i| key(bounds.get(i)));
            match (lo, key(bounds.get(z))) {
                (Some(l), Some(h)) => format!("{l} <= {key_name} < {h}"),
                (Some(l), None) => format!("{key_name} >= {l}"),
                (None, Some(h)) => format!("{key_name} < {h}"),
                (None, None) => format!("every {key_name}"),
            }
        })
        .collect();
    let more = spans.len().saturating_sub(named.len());
    let finished = done.iter().filter(|d| **d).count();
    let rest = if finished == done.len() {
        "none was left for this run".to_string()
    } else {
        format!(
            "the other {} in this run, in a new snapshot, {}",
            done.len() - finished,
            when(now)
        )
    };
    format!(
        "Resumed an interrupted run: {finished} of {} key ranges ({}{}) were {what} {}; {rest}",
        done.len(),
        named.join(", "),
        if more > 0 {
            format!(" and {more} more spans")
        } else {
            String::new()
        },
        when(earlier),
    )
}

/// Where one table's finished chunks or ranges go. A line that cannot be written is said once
/// as a warning, and the table goes on without checkpoints: the check itself stays valid.
pub(crate) struct TableWriter<'a> {
    to: Mutex<Option<&'a Checkpoints>>,
    table: &'a str,
    progress: &'a dyn crate::Progress,
}

impl<'a> TableWriter<'a> {
    /// Records that `table` is read in ranges cut at `bounds` (a resumed table keeps its line).
    pub(crate) fn begin(
        checkpoints: Option<&'a Checkpoints>,
        progress: &'a dyn crate::Progress,
        table: &'a str,
        fingerprint: &str,
        bounds: &[KeyBound],
    ) -> TableWriter<'a> {
        let to = checkpoints.and_then(|c| match c.begin(table, fingerprint, bounds) {
            Ok(()) => Some(c),
            Err(e) => {
                progress.warning(&e);
                None
            }
        });
        TableWriter {
            to: Mutex::new(to),
            table,
            progress,
        }
    }

    fn record(&self, write: impl FnOnce(&Checkpoints, &str) -> Result<(), String>) {
        let mut to = self.to.lock().expect("checkpoint writer");
        if let Some(c) = *to
            && let Err(e) = write(c, self.table)
        {
            self.progress.warning(&e);
            *to = None;
        }
    }

    /// Records a finished checksum chunk.
    pub(crate) fn chunk(&self, chunk: &Chunk) {
        self.record(|c, t| c.chunk(t, chunk));
    }

    /// Records a compared key range.
    pub(crate) fn range(&self, done: &RangeDone) {
        self.record(|c, t| c.range_done(t, done));
    }
}

/// What identifies a table's reads in a checkpoint: a hash of `parts` (its name, servers,
/// statements), each length-prefixed.
pub(crate) fn fingerprint<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = blake3::Hasher::new();
    for part in parts {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().to_hex()[..32].to_string()
}

/// Now, in seconds since 1970.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A bound in a `T` line: an integer's digits, or `x` and a text key's bytes in hex (no comma,
/// tab or newline).
fn bound_text(b: &KeyBound) -> String {
    match b {
        KeyBound::Int(i) => i.to_string(),
        KeyBound::Text(t) => format!(
            "x{}",
            t.bytes().map(|b| format!("{b:02x}")).collect::<String>()
        ),
    }
}

fn parse_bound(text: &str) -> Option<KeyBound> {
    match text.strip_prefix('x') {
        None => text.parse().ok().map(KeyBound::Int),
        Some(hex) if hex.len() % 2 == 0 && hex.is_ascii() => {
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
                .collect::<Option<Vec<u8>>>()?;
            String::from_utf8(bytes).ok().map(KeyBound::Text)
        }
        Some(_) => None,
    }
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
                        .map(|b| parse_bound(b).ok_or_else(bad))
                        .collect::<Result<Vec<_>, _>>()?
                };
                tables.insert(
                    unescape(table),
                    (
                        fingerprint.to_string(),
                        Earlier {
                            bounds,
                            chunks: Vec::new(),
                            ranges: Vec::new(),
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
            ["D", table, at, index, diff] => {
                let done = RangeDone {
                    at: at.parse().map_err(|_| bad())?,
                    index: index.parse().map_err(|_| bad())?,
                    diff: TableDiff::from_json(diff).map_err(|_| bad())?,
                };
                let (_, earlier) = tables.get_mut(&unescape(table)).ok_or_else(bad)?;
                if done.index > earlier.bounds.len() {
                    return Err(bad());
                }
                earlier.ranges.push(done);
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
    fn text_bounds_are_written_as_hex_and_read_back() {
        let bounds = [
            KeyBound::Int(-7),
            KeyBound::Text(String::new()),
            KeyBound::Text("a,b\tc\n'é🙂".into()),
        ];
        for b in &bounds {
            let text = bound_text(b);
            assert!(!text.contains([',', '\t', '\n']), "{text}");
            assert_eq!(parse_bound(&text).as_ref(), Some(b));
        }
        assert_eq!(parse_bound("x6"), None);
        assert_eq!(parse_bound("xzz"), None);
        assert_eq!(parse_bound("xff"), None, "not UTF-8");
        assert_eq!(parse_bound("12a"), None);
    }

    #[test]
    fn what_was_written_is_read_back_and_a_torn_line_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.checkpoint");
        let c = Checkpoints::new(&path);
        c.begin("ord\ters", "f1", &[KeyBound::Int(10), KeyBound::Int(-20)])
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
        assert_eq!(e.bounds, [KeyBound::Int(10), KeyBound::Int(-20)]);
        assert_eq!(e.chunks, std::slice::from_ref(&chunk));
        assert_eq!(r.earlier("other", "f1"), Ok(None));
        let changed = r.earlier("ord\ters", "f2").unwrap_err();
        assert!(changed.contains("run without --resume"), "{changed}");
        // Resuming appends after the last whole line; the table's bounds are not written again.
        r.begin("ord\ters", "f1", &[]).unwrap();
        let later = Chunk {
            first: 0,
            ..chunk.clone()
        };
        r.chunk("ord\ters", &later).unwrap();
        drop(r);
        let again = Checkpoints::resume(&path).unwrap();
        let e = again.earlier("ord\ters", "f1").unwrap().unwrap();
        assert_eq!(e.chunks, [chunk, later]);
        again.finish();
        assert!(!path.exists());
    }

    #[test]
    fn a_resumed_run_says_which_key_ranges_were_checksummed_when() {
        let bounds: Vec<KeyBound> = (1..=9).map(|i| KeyBound::Int(i * 100)).collect();
        let mut done = vec![false; 10];
        done[..2].fill(true);
        done[4] = true;
        done[9] = true;
        let note = resumed_note("checksummed", "id", &done, &bounds, &[0, 3600], &[86_400]);
        assert_eq!(
            note,
            "Resumed an interrupted run: 4 of 10 key ranges (id < 200, 400 <= id < 500, id >= 900) \
             were checksummed from 1970-01-01 00:00:00 to 1970-01-01 01:00:00 UTC; the other 6 in \
             this run, in a new snapshot, at 1970-01-02 00:00:00 UTC"
        );
        let every_other: Vec<bool> = (0..10).map(|b| b % 2 == 0).collect();
        let note = resumed_note("checksummed", "id", &every_other, &bounds, &[0], &[1]);
        assert!(
            note.contains(
                "(id < 100, 200 <= id < 300, 400 <= id < 500, 600 <= id < 700 and 1 more spans)"
            ),
            "{note}"
        );
        let note = resumed_note("checksummed", "id", &[true; 10], &bounds, &[0], &[]);
        assert!(
            note.ends_with(
                "(every id) were checksummed at 1970-01-01 00:00:00 UTC; none was left for this run"
            ),
            "{note}"
        );
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
