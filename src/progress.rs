//! Progress on stderr: one indicatif bar per table in flight on a terminal, plain log lines
//! otherwise, nothing with `--quiet`.

use cutover_check::Side;
use cutover_run::{NoProgress, Progress, TableResult};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The progress display that fits stderr.
pub fn for_terminal(quiet: bool) -> Box<dyn Progress> {
    if quiet {
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
    started: Instant,
}

struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, TableBar>>,
}

impl Progress for Bars {
    fn table_started(&self, table: &str) {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:<24} {msg}").expect("a valid template"),
        );
        bar.set_prefix(table.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        self.bars.lock().expect("bars").insert(
            table.to_string(),
            TableBar {
                bar,
                rows: [0, 0],
                started: Instant::now(),
            },
        );
    }

    fn rows_read(&self, table: &str, side: Side, rows: u64) {
        let mut bars = self.bars.lock().expect("bars");
        if let Some(t) = bars.get_mut(table) {
            t.rows[side as usize] = rows;
            let secs = t.started.elapsed().as_secs_f64().max(0.001);
            let rate = (t.rows[0] + t.rows[1]) as f64 / secs;
            t.bar.set_message(format!(
                "source {:>12} rows  target {:>12} rows  {:>10.0} rows/s",
                t.rows[0], t.rows[1], rate
            ));
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

struct Lines {
    started: Mutex<HashMap<String, Instant>>,
}

impl Progress for Lines {
    fn table_started(&self, table: &str) {
        self.started
            .lock()
            .expect("timers")
            .insert(table.to_string(), Instant::now());
        eprintln!("checking {table}");
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
                format!("match ({n} {})", if n == 1 { "row" } else { "rows" })
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
                .map(|(n, one, many)| format!("{n} {}", if n == 1 { one } else { many }))
                .collect();
                let mut line = format!("DIFFER ({} → {} rows", d.source.rows, d.target.rows);
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
