//! Progress on stderr: one indicatif bar per table in flight on a terminal (with a percentage
//! and the time left when the engines estimate the rows), plain log lines otherwise, nothing
//! with `--quiet`; with `--format json`, JSON lines on stdout instead.

use cutover_check::Side;
use cutover_report::events;
use cutover_rules::RuleResult;
use cutover_run::{NoProgress, Progress, TableResult};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Progress of the whole run: the tables (through [`Progress`]) and the rules.
pub trait Show: Progress {
    /// The rules phase starts, with `n` rules.
    fn rules_started(&self, _n: usize) {}
    /// Rule `done` of `of` has a result.
    fn rule_finished(&self, _done: usize, _of: usize, _rule: &RuleResult) {}
}

impl Show for NoProgress {}

/// `n` with thousands separators: `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration as people read it: `45 s`, `3 min 20 s`, `1 h 05 min`.
fn human(secs: f64) -> String {
    let s = secs.round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s / 60 % 60),
    }
}

/// The progress display for this run: JSON lines on stdout, bars on a terminal, log lines
/// otherwise, or nothing.
pub fn for_run(quiet: bool, json: bool) -> Box<dyn Show> {
    if json {
        Box::new(JsonLines {
            out: Mutex::new(()),
        })
    } else if quiet {
        Box::new(NoProgress)
    } else if std::io::stderr().is_terminal() {
        Box::new(Bars {
            multi: MultiProgress::new(),
            bars: Mutex::new(HashMap::new()),
        })
    } else {
        Box::new(Lines {
            started: Mutex::new(HashMap::new()),
        })
    }
}

struct TableBar {
    bar: ProgressBar,
    rows: [u64; 2],
    estimate: Option<u64>,
    started: Instant,
}

struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, TableBar>>,
}

impl Progress for Bars {
    fn table_started(&self, table: &str, estimate: Option<u64>) {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:<20} {msg}").expect("a valid template"),
        );
        bar.set_prefix(table.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        self.bars.lock().expect("bars").insert(
            table.to_string(),
            TableBar {
                bar,
                rows: [0, 0],
                estimate,
                started: Instant::now(),
            },
        );
    }

    fn rows_read(&self, table: &str, side: Side, rows: u64) {
        let mut bars = self.bars.lock().expect("bars");
        if let Some(t) = bars.get_mut(table) {
            t.rows[side as usize] = rows;
            let secs = t.started.elapsed().as_secs_f64().max(0.001);
            let done = t.rows[0].max(t.rows[1]);
            let mut line = format!("{} / {} rows", thousands(t.rows[0]), thousands(t.rows[1]));
            match t.estimate.filter(|&e| e > 0) {
                // An estimate can be low: never more than 99 % before the end.
                Some(total) if done > 0 => {
                    let share = (done as f64 / total as f64).min(0.99);
                    let left = secs * (1.0 - share) / share;
                    line = format!(
                        "{:>3.0} %  {line} of ~{}  {}, ~{} left",
                        share * 100.0,
                        thousands(total),
                        human(secs),
                        human(left)
                    );
                }
                _ => line.push_str(&format!("  {}", human(secs))),
            }
            t.bar.set_message(line);
        }
    }

    fn table_finished(&self, table: &str, result: &TableResult) {
        if let Some(t) = self.bars.lock().expect("bars").remove(table) {
            t.bar.finish_and_clear();
            let _ = self.multi.println(format!(
                "{table}: {} in {:.1} s",
                status(result),
                t.started.elapsed().as_secs_f64()
            ));
        }
    }

    fn warning(&self, message: &str) {
        let _ = self.multi.println(format!("warning: {message}"));
    }
}

impl Show for Bars {
    fn rules_started(&self, n: usize) {
        let _ = self.multi.println(format!(
            "evaluating {n} {}",
            if n == 1 { "rule" } else { "rules" }
        ));
    }

    fn rule_finished(&self, done: usize, of: usize, rule: &RuleResult) {
        let _ = self.multi.println(rule_line(done, of, rule));
    }
}

/// A rule's progress line: `[3/8] orders-have-customers: fail (1 violation)`.
fn rule_line(done: usize, of: usize, r: &RuleResult) -> String {
    let n = r.violations;
    format!(
        "[{done}/{of}] {}: {} ({} {})",
        r.id,
        r.status,
        thousands(n),
        if n == 1 { "violation" } else { "violations" }
    )
}

struct Lines {
    started: Mutex<HashMap<String, Instant>>,
}

impl Show for Lines {
    fn rules_started(&self, n: usize) {
        eprintln!("evaluating {n} {}", if n == 1 { "rule" } else { "rules" });
    }

    fn rule_finished(&self, done: usize, of: usize, rule: &RuleResult) {
        eprintln!("{}", rule_line(done, of, rule));
    }
}

impl Progress for Lines {
    fn table_started(&self, table: &str, estimate: Option<u64>) {
        self.started
            .lock()
            .expect("timers")
            .insert(table.to_string(), Instant::now());
        match estimate {
            Some(n) => eprintln!("checking {table} (~{} rows)", thousands(n)),
            None => eprintln!("checking {table}"),
        }
    }

    fn table_finished(&self, table: &str, result: &TableResult) {
        let secs = self
            .started
            .lock()
            .expect("timers")
            .remove(table)
            .map_or(0.0, |s| s.elapsed().as_secs_f64());
        eprintln!("{table}: {} in {secs:.1} s", status(result));
    }

    fn warning(&self, message: &str) {
        eprintln!("warning: {message}");
    }
}

fn status(result: &TableResult) -> String {
    match result {
        TableResult::Checked(c) => {
            let d = &c.diff;
            if d.is_match() {
                let n = d.source.rows;
                format!(
                    "match ({} {})",
                    thousands(n),
                    if n == 1 { "row" } else { "rows" }
                )
            } else {
                // Only the kinds of difference found, so the line fits a terminal.
                let dups = d.source.duplicate_keys + d.target.duplicate_keys;
                let kinds: Vec<String> = [
                    (d.missing, "missing", "missing"),
                    (d.extra, "extra", "extra"),
                    (d.changed, "changed", "changed"),
                    (dups, "duplicate key", "duplicate keys"),
                ]
                .into_iter()
                .filter(|(n, ..)| *n > 0)
                .map(|(n, one, many)| {
                    format!("{} {}", thousands(n), if n == 1 { one } else { many })
                })
                .collect();
                let mut line = format!(
                    "DIFFER ({} → {} rows",
                    thousands(d.source.rows),
                    thousands(d.target.rows)
                );
                if !kinds.is_empty() {
                    line.push_str("; ");
                    line.push_str(&kinds.join(", "));
                }
                line.push(')');
                line
            }
        }
        TableResult::Failed(f) => format!("ERROR: {}", f.message.lines().next().unwrap_or("")),
    }
}

/// JSON lines on stdout, one event per line, for machines (`--format json`).
struct JsonLines {
    out: Mutex<()>,
}

impl JsonLines {
    fn emit(&self, event: String) {
        let _guard = self.out.lock().expect("stdout");
        println!("{event}");
    }
}

impl Progress for JsonLines {
    fn table_started(&self, table: &str, estimate: Option<u64>) {
        self.emit(events::table_started(table, estimate));
    }

    fn table_finished(&self, _table: &str, result: &TableResult) {
        self.emit(events::table_finished(result));
    }

    fn warning(&self, message: &str) {
        self.emit(events::warning(message));
    }
}

impl Show for JsonLines {
    fn rules_started(&self, n: usize) {
        self.emit(events::rules_started(n));
    }

    fn rule_finished(&self, _done: usize, _of: usize, r: &RuleResult) {
        self.emit(events::rule_finished(r));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_and_durations_read_easily() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1_000), "1,000");
        assert_eq!(super::thousands(12_345_678), "12,345,678");
        assert_eq!(super::human(42.4), "42 s");
        assert_eq!(super::human(200.0), "3 min 20 s");
        assert_eq!(super::human(3_900.0), "1 h 05 min");
    }
}
