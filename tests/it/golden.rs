//! Golden files: every report format of the demo, normalised (temporary paths, timings and
//! dates), compared with `tests/it/golden/`. After an intended change, regenerate them with
//! `UPDATE_GOLDEN=1 cargo test --test it golden` and review the diff like code.

use assert_cmd::Command;
use std::path::Path;

fn normalise(text: &str, dir: &Path) -> String {
    let mut s = text.replace(&dir.display().to_string(), "<DIR>");
    // Timings.
    for (start, end) in [
        ("time=\"", "\""),
        ("\"elapsed_ms\": ", ","),
        ("\"elapsed_ms\": ", "\n"),
    ] {
        let mut out = String::new();
        let mut rest = s.as_str();
        while let Some(i) = rest.find(start) {
            let after = &rest[i + start.len()..];
            let Some(j) = after.find(end) else { break };
            let value = &after[..j];
            let is_number =
                !value.is_empty() && value.chars().all(|c| c.is_ascii_digit() || c == '.');
            out.push_str(&rest[..i + start.len()]);
            out.push_str(if is_number { "<T>" } else { value });
            rest = &after[j..];
        }
        out.push_str(rest);
        s = out;
    }
    // Dates of the history: 2026-11-26T06:19:08Z.
    let bytes: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < bytes.len() {
        let candidate: String = bytes[i..(i + 20).min(bytes.len())].iter().collect();
        let shape = candidate.len() == 20
            && candidate.chars().enumerate().all(|(k, c)| match k {
                4 | 7 => c == '-',
                10 => c == 'T',
                13 | 16 => c == ':',
                19 => c == 'Z',
                _ => c.is_ascii_digit(),
            });
        if shape {
            out.push_str("<TIME>");
            i += 20;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

#[test]
fn every_report_format_of_the_demo_matches_its_golden_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    Command::cargo_bin("cutover")
        .unwrap()
        .env_remove("RUST_BACKTRACE")
        .env("NO_COLOR", "1")
        .args(["demo", "--quiet", "--jobs", "2", "--dir"])
        .arg(dir.path().join("demo"))
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0);
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/golden");
    let update = std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1");
    let mut mismatched = Vec::new();
    for file in [
        "report.md",
        "report.json",
        "report.junit.xml",
        "report.html",
    ] {
        let actual = normalise(
            &std::fs::read_to_string(out.join(file)).unwrap(),
            dir.path(),
        );
        let path = golden.join(format!("demo.{file}"));
        if update {
            std::fs::create_dir_all(&golden).unwrap();
            std::fs::write(&path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if expected != actual {
            let line = expected
                .lines()
                .zip(actual.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            mismatched.push(format!(
                "{file} differs from {} at line {}:\n  golden: {:?}\n  actual: {:?}",
                path.display(),
                line + 1,
                expected.lines().nth(line).unwrap_or(""),
                actual.lines().nth(line).unwrap_or("")
            ));
        }
    }
    assert!(
        mismatched.is_empty(),
        "{}\nregenerate with UPDATE_GOLDEN=1 cargo test --test it golden if the change is intended",
        mismatched.join("\n")
    );
}
