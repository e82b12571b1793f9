//! `cutover init`: a config proposed from both live schemas. Tables are paired by name (exact,
//! then case-insensitive, then similar names weighed with overlapping columns: `CUST` with
//! `customers`), columns by name similarity (abbreviations, a table prefix, shared words) and,
//! for what is left, by elimination among columns of compatible types; keys come from primary
//! keys or unique indexes; starter rules from the target's own constraints. Every proposal
//! carries its evidence, which the config shows as a comment.

use crate::RunError;
use cutover_check::Side;
use cutover_check::schema::Family;
use cutover_source::catalog::TableCatalog;
use cutover_source::{Connector, Endpoint};

/// How sure a pairing is, from 0 to 1; pairs below this are not proposed.
const THRESHOLD: f64 = 0.4;

/// A proposed config.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// Tables paired, in target order.
    pub tables: Vec<TableProposal>,
    /// Source tables paired with no target table.
    pub unpaired_source: Vec<String>,
    /// Target tables paired with no source table.
    pub unpaired_target: Vec<String>,
    /// Starter rules.
    pub rules: Vec<RuleProposal>,
    /// The engines of both sides, as reports name them.
    pub engines: [&'static str; 2],
}

/// A paired table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableProposal {
    /// The target table.
    pub name: String,
    /// The source table.
    pub source_name: String,
    /// Why they were paired.
    pub evidence: String,
    /// The key (target names), and where it comes from; `None` when neither side has one.
    pub key: Option<(Vec<String>, &'static str)>,
    /// Target columns read from a source column of another name, with the evidence.
    pub renames: Vec<(String, String, String)>,
    /// Target columns no source column fills (`ignore` candidates), key columns excepted.
    pub target_only: Vec<String>,
    /// Key columns no source column fills: the user must map them.
    pub unsourced_key: Vec<String>,
    /// Source columns no target column takes (`drop` candidates).
    pub source_only: Vec<String>,
    /// Source and target column pairs, renamed or not (target, source).
    pub pairs: Vec<(String, String)>,
}

/// A starter rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleProposal {
    /// The rule's id.
    pub id: String,
    /// Why it is proposed.
    pub evidence: String,
    /// Its keys, as TOML lines (`type = "unique"`, …).
    pub lines: Vec<String>,
}

/// The words of a name: split at `_`, `-`, spaces, digits and lower-to-upper case changes,
/// lower-cased.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// How well two words stand for each other: equal 1, one a prefix of the other (`ord` and
/// `order`, `line` and `lines`) 0.9, the shorter an abbreviation of the longer (same first
/// letter and its letters in order: `dept`, `nm`, `qty`) 0.8.
fn word_score(a: &str, b: &str) -> f64 {
    if a == b {
        return 1.0;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.len() < 2 {
        return 0.0;
    }
    if long.starts_with(short) {
        return 0.9;
    }
    let mut rest = long.chars();
    let abbreviates =
        short.chars().next() == long.chars().next() && short.chars().all(|c| rest.any(|l| l == c));
    if abbreviates { 0.8 } else { 0.0 }
}

/// How similar two names are: each word of the one with fewer words matched with its best
/// word of the other, in order, over the larger number of words.
pub fn name_score(a: &str, b: &str) -> f64 {
    let (wa, wb) = (words(a), words(b));
    if wa.is_empty() || wb.is_empty() {
        return 0.0;
    }
    if wa == wb {
        return 1.0;
    }
    let (few, many) = if wa.len() <= wb.len() {
        (&wa, &wb)
    } else {
        (&wb, &wa)
    };
    let mut from = 0;
    let mut total = 0.0;
    for w in few {
        let best = (from..many.len())
            .map(|i| (i, word_score(w, &many[i])))
            .filter(|(_, s)| *s > 0.0)
            .max_by(|x, y| x.1.total_cmp(&y.1));
        if let Some((i, s)) = best {
            total += s;
            from = i + 1;
        }
    }
    total / many.len() as f64
}

/// The words of `column` without a leading table word (`EMP_ID` in `EMP` is `ID`).
fn without_table(column: &str, table: &str) -> Option<String> {
    let (cw, tw) = (words(column), words(table));
    let first = tw.first()?;
    (cw.len() > 1 && word_score(&cw[0], first) >= 0.8).then(|| cw[1..].join("_"))
}

/// Whether values of one type can be compared with the other's at all.
fn compatible(a: &Family, b: &Family) -> bool {
    let (x, y) = (a.family_name(), b.family_name());
    x == y
        || matches!(a, Family::Other(_) | Family::Bool)
        || matches!(b, Family::Other(_) | Family::Bool)
        || (matches!(a, Family::Timestamp(..) | Family::Date)
            && matches!(b, Family::Timestamp(..) | Family::Date))
}

/// Target columns paired with source columns: (target, source, score, evidence).
type ColumnPairs = Vec<(String, String, f64, String)>;

/// Pairs the columns of two tables: equal names first, then the best-scoring similar names,
/// then by elimination when one column of compatible type is left on each side.
pub fn pair_columns(
    source: &TableCatalog,
    target: &TableCatalog,
    engines: [&str; 2],
) -> ColumnPairs {
    let family = |engine: &str, t: &str| Family::parse(engine, t);
    let mut candidates: ColumnPairs = Vec::new();
    for t in &target.columns {
        let tf = family(engines[1], &t.type_name);
        for s in &source.columns {
            if !compatible(&family(engines[0], &s.type_name), &tf) {
                continue;
            }
            let (score, why) = if s.name.eq_ignore_ascii_case(&t.name) {
                (2.0, "same name".to_string())
            } else {
                let direct = name_score(&s.name, &t.name);
                let stripped =
                    without_table(&s.name, &source.name).map_or(0.0, |n| name_score(&n, &t.name));
                if stripped > direct {
                    (stripped, format!("{} without the table's prefix", s.name))
                } else {
                    (direct, "similar name".to_string())
                }
            };
            if score >= THRESHOLD {
                candidates.push((t.name.clone(), s.name.clone(), score, why));
            }
        }
    }
    candidates.sort_by(|a, b| b.2.total_cmp(&a.2));
    let mut pairs: ColumnPairs = Vec::new();
    for c in candidates {
        if !pairs.iter().any(|p| p.0 == c.0 || p.1 == c.1) {
            pairs.push(c);
        }
    }
    let left_t: Vec<_> = target
        .columns
        .iter()
        .filter(|t| !pairs.iter().any(|p| p.0 == t.name))
        .collect();
    let left_s: Vec<_> = source
        .columns
        .iter()
        .filter(|s| !pairs.iter().any(|p| p.1 == s.name))
        .collect();
    if let ([t], [s]) = (left_t.as_slice(), left_s.as_slice())
        && compatible(
            &family(engines[0], &s.type_name),
            &family(engines[1], &t.type_name),
        )
    {
        pairs.push((
            t.name.clone(),
            s.name.clone(),
            THRESHOLD,
            "by elimination: the only unpaired columns, of compatible types".into(),
        ));
    }
    // Target order.
    pairs.sort_by_key(|p| target.columns.iter().position(|c| c.name == p.0));
    pairs
}

/// Pairs tables: equal names, then case-insensitive names, then similar names weighed with the
/// share of columns that pair. Returns (target, source, evidence).
fn pair_tables(
    source: &[TableCatalog],
    target: &[TableCatalog],
    engines: [&str; 2],
) -> Vec<(usize, usize, String)> {
    let mut candidates: Vec<(usize, usize, f64, String)> = Vec::new();
    for (ti, t) in target.iter().enumerate() {
        for (si, s) in source.iter().enumerate() {
            let (score, evidence) = if s.name == t.name {
                (3.0, "same name".to_string())
            } else if s.name.eq_ignore_ascii_case(&t.name) {
                (2.5, "same name, other case".to_string())
            } else {
                let name = name_score(&s.name, &t.name);
                let paired = pair_columns(s, t, engines).len();
                let overlap = paired as f64 / s.columns.len().max(t.columns.len()).max(1) as f64;
                (
                    0.6 * name + 0.4 * overlap,
                    format!(
                        "similar name ({name:.2}), {paired} of {} columns pair",
                        t.columns.len()
                    ),
                )
            };
            if score >= THRESHOLD {
                candidates.push((ti, si, score, evidence));
            }
        }
    }
    candidates.sort_by(|a, b| b.2.total_cmp(&a.2));
    let mut pairs: Vec<(usize, usize, String)> = Vec::new();
    for (ti, si, _, evidence) in candidates {
        if !pairs.iter().any(|p| p.0 == ti || p.1 == si) {
            pairs.push((ti, si, evidence));
        }
    }
    pairs.sort();
    pairs
}

/// Every table's catalogue on a side.
fn catalogues(side: &mut dyn Connector, which: Side) -> Result<Vec<TableCatalog>, RunError> {
    let names = side.tables().map_err(|e| RunError::Connect(which, e))?;
    let mut out = Vec::new();
    for n in names {
        if let Some(c) = side.catalog(&n).map_err(|e| RunError::Connect(which, e))? {
            out.push(TableCatalog { name: n, ..c });
        }
    }
    Ok(out)
}

/// The rows of a table, counted when the engine has no estimate and the table is local.
fn rows(side: &mut dyn Connector, t: &TableCatalog) -> Option<u64> {
    if t.estimated_rows.is_some() {
        return t.estimated_rows;
    }
    let sql = side.sql()?;
    let statement = cutover_source::dialect::count_sql(sql.dialect(), &t.name, None);
    sql.count(&statement).ok()
}

/// Reads both schemas and proposes a config.
pub fn propose(source: &Endpoint, target: &Endpoint) -> Result<Proposal, RunError> {
    let mut src = cutover_source::open(source).map_err(|e| RunError::Connect(Side::Source, e))?;
    let mut tgt = cutover_source::open(target).map_err(|e| RunError::Connect(Side::Target, e))?;
    let engines = [src.engine().name(), tgt.engine().name()];
    let s_tables = catalogues(src.as_mut(), Side::Source)?;
    let t_tables = catalogues(tgt.as_mut(), Side::Target)?;
    let paired = pair_tables(&s_tables, &t_tables, engines);
    let mut tables = Vec::new();
    for (ti, si, evidence) in &paired {
        let (t, s) = (&t_tables[*ti], &s_tables[*si]);
        let pairs = pair_columns(s, t, engines);
        let to_target = |c: &str| {
            pairs
                .iter()
                .find(|p| p.1.eq_ignore_ascii_case(c))
                .map(|p| p.0.clone())
        };
        let key = match (t.unique_key(), s.unique_key()) {
            (Some(k), _) if !t.primary_key.is_empty() => {
                Some((k.to_vec(), "the target's primary key"))
            }
            (Some(k), _) => Some((k.to_vec(), "a unique index of the target")),
            (None, Some(k)) => k
                .iter()
                .map(|c| to_target(c))
                .collect::<Option<Vec<_>>>()
                .map(|k| (k, "the source's key")),
            (None, None) => None,
        };
        tables.push(TableProposal {
            name: t.name.clone(),
            source_name: s.name.clone(),
            evidence: evidence.clone(),
            key: key.clone(),
            renames: pairs
                .iter()
                .filter(|p| p.0 != p.1 && !p.0.eq_ignore_ascii_case(&p.1))
                .map(|p| (p.0.clone(), p.1.clone(), p.3.clone()))
                .collect(),
            // A key column is always compared: it never goes to ignore.
            target_only: t
                .columns
                .iter()
                .filter(|c| !pairs.iter().any(|p| p.0 == c.name))
                .filter(|c| !key.as_ref().is_some_and(|(k, _)| k.contains(&c.name)))
                .map(|c| c.name.clone())
                .collect(),
            unsourced_key: key
                .as_ref()
                .map(|(k, _)| {
                    k.iter()
                        .filter(|c| !pairs.iter().any(|p| &p.0 == *c))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
            source_only: s
                .columns
                .iter()
                .filter(|c| !pairs.iter().any(|p| p.1 == c.name))
                .map(|c| c.name.clone())
                .collect(),
            pairs: pairs.iter().map(|p| (p.0.clone(), p.1.clone())).collect(),
        });
    }
    let mut rules = Vec::new();
    for (ti, si, _) in &paired {
        let t = &t_tables[*ti];
        let proposal = tables.iter().find(|p| p.name == t.name);
        let t_rows = rows(tgt.as_mut(), t);
        let referenced = t_tables.iter().any(|o| {
            o.name != t.name
                && o.foreign_keys
                    .iter()
                    .any(|f| f.table.trim_matches('"').eq_ignore_ascii_case(&t.name))
        });
        let code = CodeTable {
            rows: t_rows,
            referenced,
        };
        rules.extend(starter_rules(t, &s_tables[*si], proposal, code, engines[1]));
    }
    Ok(Proposal {
        unpaired_source: s_tables
            .iter()
            .enumerate()
            .filter(|(i, _)| !paired.iter().any(|p| p.1 == *i))
            .map(|(_, t)| t.name.clone())
            .collect(),
        unpaired_target: t_tables
            .iter()
            .enumerate()
            .filter(|(i, _)| !paired.iter().any(|p| p.0 == *i))
            .map(|(_, t)| t.name.clone())
            .collect(),
        tables,
        rules,
        engines,
    })
}

/// A TOML list of strings.
pub fn toml_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| toml_string(i)).collect();
    format!("[{}]", quoted.join(", "))
}

/// A TOML basic string.
pub fn toml_string(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if c.is_control() => o.push_str(&format!("\\u{:04X}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// The largest code table a `reference_complete` rule is proposed for.
const CODE_TABLE_ROWS: u64 = 1000;

/// What tells a code table (a reference book) apart: few rows, and a text key that other
/// tables reference, or that is named or sized like a code.
struct CodeTable {
    /// Its rows (estimated or counted).
    rows: Option<u64>,
    /// Whether another table's foreign key references it.
    referenced: bool,
}

/// Rules from the target's own constraints: foreign keys, unique indexes, self-references
/// (and parent columns named so), and small code tables with a text key.
fn starter_rules(
    t: &TableCatalog,
    s: &TableCatalog,
    proposal: Option<&TableProposal>,
    code: CodeTable,
    engine: &str,
) -> Vec<RuleProposal> {
    let mut out = Vec::new();
    let key: Vec<String> = t.unique_key().map(<[String]>::to_vec).unwrap_or_default();
    let mut parents = Vec::new();
    for fk in &t.foreign_keys {
        let parent = fk.table.trim_matches('"').to_string();
        if parent.eq_ignore_ascii_case(&t.name) && fk.columns.len() == 1 && !key.is_empty() {
            parents.push((
                fk.columns[0].clone(),
                format!("foreign key {} references the table itself", fk.name),
            ));
            continue;
        }
        out.push(RuleProposal {
            id: format!("{}-{}-exist", t.name, fk.columns.join("-")),
            evidence: format!("the target's foreign key {}", fk.name),
            lines: vec![
                "type = \"foreign_key\"".into(),
                format!("table = {}", toml_string(&t.name)),
                format!("columns = {}", toml_list(&fk.columns)),
                format!("parent_table = {}", toml_string(&parent)),
                format!("parent_columns = {}", toml_list(&fk.ref_columns)),
            ],
        });
    }
    // A unique index on the key is checked by the comparison itself (duplicate keys).
    for i in t.indexes.iter().filter(|i| i.unique && i.columns != key) {
        out.push(RuleProposal {
            id: format!("{}-{}-unique", t.name, i.columns.join("-")),
            evidence: format!("the target's unique index {}", i.name),
            lines: vec![
                "type = \"unique\"".into(),
                format!("table = {}", toml_string(&t.name)),
                format!("columns = {}", toml_list(&i.columns)),
            ],
        });
    }
    if key.len() == 1 && parents.is_empty() {
        let key_family = t
            .column(&key[0])
            .map(|c| Family::parse(engine, &c.type_name));
        for c in &t.columns {
            let w = words(&c.name);
            let named = w.first().is_some_and(|f| f == "parent" || f == "manager");
            let same_type = key_family.as_ref() == Some(&Family::parse(engine, &c.type_name));
            if named && same_type && c.name != key[0] {
                parents.push((
                    c.name.clone(),
                    format!("{} is named as a parent and has the key's type", c.name),
                ));
            }
        }
    }
    for (parent, evidence) in parents {
        out.push(RuleProposal {
            id: format!("{}-tree", t.name),
            evidence,
            lines: vec![
                "type = \"hierarchy\"".into(),
                format!("table = {}", toml_string(&t.name)),
                format!("key = {}", toml_list(&key)),
                format!("parent = {}", toml_string(&parent)),
            ],
        });
    }
    let code_key = key.len() == 1
        && t.column(&key[0])
            .is_some_and(|c| match Family::parse(engine, &c.type_name) {
                Family::Text(len) => {
                    let named = words(&c.name)
                        .iter()
                        .any(|w| ["code", "cd", "iso", "abbr"].contains(&w.as_str()));
                    code.referenced || named || len.is_some_and(|l| l <= 10)
                }
                _ => false,
            });
    if let (true, Some(n), Some(p)) = (code_key, code.rows, proposal)
        && n <= CODE_TABLE_ROWS
        && let Some((_, source_key)) = p.pairs.iter().find(|(tc, _)| *tc == key[0])
    {
        let mut lines = vec![
            "type = \"reference_complete\"".into(),
            format!("table = {}", toml_string(&t.name)),
            format!("key = {}", toml_list(&key)),
            format!("source_table = {}", toml_string(&s.name)),
            format!(
                "source_key = {}",
                toml_list(std::slice::from_ref(source_key))
            ),
        ];
        if let Some((label, source_label)) = p
            .pairs
            .iter()
            .find(|(tc, _)| words(tc).contains(&"name".to_string()))
        {
            lines.push(format!("label = {}", toml_string(label)));
            lines.push(format!("source_label = {}", toml_string(source_label)));
        }
        out.push(RuleProposal {
            id: format!("{}-complete", t.name),
            evidence: format!("a code table: {n} rows with a text key"),
            lines,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_names() {
        assert_eq!(words("ORD_LINE"), ["ord", "line"]);
        assert_eq!(words("orderLines2"), ["order", "lines2"]);
        assert!(name_score("CUST", "customers") >= 0.9);
        assert!(name_score("DEPT", "departments") >= 0.8);
        assert!(name_score("ORD_DT", "order_date") > 0.8);
        assert!(name_score("QTY", "quantity") >= 0.8);
        assert!(name_score("ORD", "order_lines") < name_score("ORD", "orders"));
        assert_eq!(name_score("TOTAL", "price"), 0.0);
        assert_eq!(without_table("EMP_ID", "EMP").as_deref(), Some("id"));
        assert_eq!(without_table("DEPT_ID", "EMP"), None);
    }

    fn table(name: &str, cols: &[(&str, &str)]) -> TableCatalog {
        TableCatalog {
            name: name.into(),
            columns: cols
                .iter()
                .map(|(n, t)| cutover_source::catalog::CatalogColumn {
                    name: n.to_string(),
                    type_name: t.to_string(),
                    nullable: true,
                    default: None,
                })
                .collect(),
            ..TableCatalog::default()
        }
    }

    #[test]
    fn columns_pair_by_similarity_then_elimination() {
        let s = table(
            "CURR",
            &[
                ("CURR_CD", "CHAR(3)"),
                ("CURR_NM", "VARCHAR(40)"),
                ("DEC_PLACES", "INTEGER"),
            ],
        );
        let t = table(
            "currencies",
            &[
                ("code", "TEXT"),
                ("name", "TEXT"),
                ("minor_units", "INTEGER"),
            ],
        );
        let pairs = pair_columns(&s, &t, ["SQLite", "SQLite"]);
        let got: Vec<(&str, &str)> = pairs.iter().map(|p| (p.0.as_str(), p.1.as_str())).collect();
        assert_eq!(
            got,
            [
                ("code", "CURR_CD"),
                ("name", "CURR_NM"),
                ("minor_units", "DEC_PLACES")
            ]
        );
        assert!(pairs[2].3.contains("elimination"));
        // A text column never pairs with a number by elimination.
        let s = table("A", &[("X", "INTEGER")]);
        let t = table("a", &[("y", "TEXT")]);
        assert!(pair_columns(&s, &t, ["SQLite", "SQLite"]).is_empty());
    }
}
