//! CO106 `hierarchy`: a self-referencing table is a sane tree. The (key, parent) pairs are
//! read into memory (organisation tables are small, and finding cycle members needs the whole
//! tree).

use crate::eval::{columns_of, configured};
use crate::{Context, Found, Rule, RuleDoc, RuleError};
use cutover_config::RuleConfig;
use cutover_source::Condition;
use std::collections::HashMap;

/// CO106 `hierarchy`.
pub(crate) const DOC: RuleDoc = RuleDoc {
    code: "CO106",
    name: "hierarchy",
    checks: "A self-referencing table (departments, employees and managers) is a tree: no node is its own parent, every parent exists, there are no cycles (the cycle's members are reported), at most max_roots roots (default 1) and, if set, no deeper than max_depth levels.",
    why: "A broken organisation structure breaks approval chains, access rights and reports that walk the tree; a cycle can hang them.",
    example: "[[rule]]\nid = \"departments-tree\"\ntype = \"hierarchy\"\ntable = \"departments\"\nkey = [\"id\"]\nparent = \"parent_id\"\nmax_depth = 6",
    fix: "Correct the parent of the listed nodes in the source or the migration.",
};

impl Rule for cutover_config::Hierarchy {
    fn doc() -> &'static RuleDoc {
        &DOC
    }

    fn evaluate(&self, rule: &RuleConfig, cx: &Context<'_>) -> Result<Found, RuleError> {
        let table = &self.table;
        let mut conn = cx.open(cx.side(rule.side))?;
        let key = match &self.key {
            Some(k) => k.clone(),
            None => conn
                .describe(table)?
                .map(|s| s.primary_key)
                .filter(|k| k.len() == 1)
                .ok_or_else(|| {
                    RuleError::Rule(format!(
                        "set key = [\"…\"] for {table}: it has no single-column primary key"
                    ))
                })?,
        };
        if key.len() != 1 {
            return Err(RuleError::Rule(
                "a hierarchy has a single-column key".into(),
            ));
        }
        let cols = columns_of(
            conn.as_mut(),
            Some(table),
            None,
            &[key[0].clone(), self.parent.clone()],
        )?;
        // The parent is compared as the key's kind, so `7` and `7.0` name the same node.
        let filter = configured(conn.as_mut(), rule, "filter", self.filter.as_deref())?
            .map(Condition::Configured);
        let mut req = cx.request(table, None, cols, 1, filter);
        req.codecs[1].compare = req.codecs[0].compare;
        let mut nodes: Vec<(String, Option<String>)> = Vec::new();
        conn.read(&req, &mut |batch| {
            for r in 0..batch.len() {
                let k = cutover_check::canonical::display(batch.cell(r, 0)).unwrap_or_default();
                nodes.push((k, cutover_check::canonical::display(batch.cell(r, 1))));
            }
            true
        })?;
        let t = analyze(&nodes, self.max_roots, self.max_depth);
        Ok(Found {
            violations: t.problems.len() as u64,
            checked: Some(nodes.len() as u64),
            message: format!(
                "{} nodes, {} roots, depth {}, {} cycle members; {} problems",
                nodes.len(),
                t.roots,
                t.depth,
                t.cycle_members,
                t.problems.len()
            ),
            sample: t
                .problems
                .into_iter()
                .take(cx.sides.sample_size)
                .map(|(k, what)| vec![(key[0].clone(), Some(k)), ("problem".into(), Some(what))])
                .collect(),
            queries: vec![conn.read_sql(&req)],
        })
    }
}

/// What the walk of a tree found.
#[derive(Debug, PartialEq, Eq)]
struct Tree {
    roots: usize,
    depth: u64,
    cycle_members: usize,
    /// (node, problem), sorted.
    problems: Vec<(String, String)>,
}

/// Walks the (key, parent) pairs: self-parents, missing parents, cycles (every member named),
/// roots beyond `max_roots` (default 1) or none, and nodes deeper than `max_depth`.
fn analyze(
    nodes: &[(String, Option<String>)],
    max_roots: Option<u64>,
    max_depth: Option<u64>,
) -> Tree {
    let (max_roots_allowed, max_depth_allowed) = (max_roots, max_depth);
    let parent_of: HashMap<&str, Option<&str>> = nodes
        .iter()
        .map(|(k, p)| (k.as_str(), p.as_deref()))
        .collect();
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut roots = Vec::new();
    for (k, p) in nodes {
        match p {
            None => roots.push(k.clone()),
            Some(p) if p == k => problems.push((k.clone(), "is its own parent".into())),
            Some(p) if !parent_of.contains_key(p.as_str()) => {
                problems.push((k.clone(), format!("has parent {p}, which does not exist")))
            }
            _ => {}
        }
    }
    // Cycles and depth: walk up from every node, remembering finished nodes.
    let mut depth: HashMap<&str, u64> = HashMap::new();
    let mut in_cycle: std::collections::BTreeSet<String> = Default::default();
    for (k, _) in nodes {
        let mut path: Vec<&str> = Vec::new();
        let mut at = k.as_str();
        loop {
            if depth.contains_key(at) {
                break;
            }
            if let Some(pos) = path.iter().position(|n| *n == at) {
                for n in &path[pos..] {
                    in_cycle.insert(n.to_string());
                }
                break;
            }
            path.push(at);
            match parent_of.get(at).copied().flatten() {
                Some(p) if p != at && parent_of.contains_key(p) => at = p,
                _ => break,
            }
        }
        // Assign depths from the top of the path down (cycle members get none).
        let mut d = path
            .last()
            .and_then(|top| {
                parent_of
                    .get(top)
                    .copied()
                    .flatten()
                    .and_then(|p| depth.get(p).copied())
            })
            .unwrap_or(0);
        for n in path.iter().rev() {
            if in_cycle.contains(*n) {
                continue;
            }
            d += 1;
            depth.insert(n, d);
        }
    }
    if !in_cycle.is_empty() {
        let members: Vec<&str> = in_cycle.iter().map(String::as_str).collect();
        for m in &members {
            problems.push((
                m.to_string(),
                format!("is in a cycle: {}", members.join(" → ")),
            ));
        }
    }
    let max_roots = max_roots_allowed.unwrap_or(1);
    if roots.len() as u64 > max_roots || roots.is_empty() {
        problems.push((
            "roots".into(),
            format!(
                "{} roots ({}), at most {max_roots} allowed",
                roots.len(),
                roots
                    .iter()
                    .take(10)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let deepest = depth.values().copied().max().unwrap_or(0);
    if let Some(max) = max_depth_allowed
        && deepest > max
    {
        let too_deep: Vec<&&str> = depth
            .iter()
            .filter(|(_, d)| **d > max)
            .map(|(k, _)| k)
            .collect();
        problems.push((
            "depth".into(),
            format!(
                "{} nodes deeper than {max} levels (deepest {deepest})",
                too_deep.len()
            ),
        ));
    }
    problems.sort();
    Tree {
        roots: roots.len(),
        depth: deepest,
        cycle_members: in_cycle.len(),
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(pairs: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        pairs
            .iter()
            .map(|(k, p)| (k.to_string(), p.map(str::to_string)))
            .collect()
    }

    #[test]
    fn a_sane_tree_has_no_problem() {
        let t = analyze(
            &tree(&[("1", None), ("2", Some("1")), ("3", Some("2"))]),
            None,
            Some(3),
        );
        assert_eq!((t.roots, t.depth, t.cycle_members), (1, 3, 0));
        assert!(t.problems.is_empty(), "{:?}", t.problems);
    }

    #[test]
    fn every_kind_of_broken_tree_is_named() {
        let nodes = tree(&[
            ("1", None),
            ("2", Some("10")),
            ("10", Some("2")),
            ("3", Some("3")),
            ("4", Some("99")),
            ("5", Some("1")),
        ]);
        let t = analyze(&nodes, None, None);
        let found: Vec<String> = t.problems.iter().map(|(k, p)| format!("{k} {p}")).collect();
        assert!(
            found.contains(&"10 is in a cycle: 10 → 2".to_string()),
            "{found:?}"
        );
        assert!(
            found.contains(&"2 is in a cycle: 10 → 2".to_string()),
            "{found:?}"
        );
        assert!(
            found.contains(&"3 is its own parent".to_string()),
            "{found:?}"
        );
        assert!(
            found.contains(&"4 has parent 99, which does not exist".to_string()),
            "{found:?}"
        );
        assert_eq!(t.cycle_members, 2);
        assert_eq!(t.problems.len(), 4);
    }

    #[test]
    fn roots_and_depth_have_limits() {
        let nodes = tree(&[("1", None), ("2", None), ("3", Some("2")), ("4", Some("3"))]);
        let t = analyze(&nodes, Some(1), Some(2));
        let found: Vec<&str> = t.problems.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(found, ["depth", "roots"]);
        assert!(analyze(&nodes, Some(2), Some(3)).problems.is_empty());
        let no_root = analyze(&tree(&[("1", Some("2")), ("2", Some("1"))]), None, None);
        assert!(
            no_root.problems.iter().any(|(k, _)| k == "roots"),
            "{:?}",
            no_root.problems
        );
    }
}
