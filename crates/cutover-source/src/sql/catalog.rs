//! The catalogue queries of each engine, and the one reader that turns their rows into a
//! [`TableCatalog`]. Every query returns text columns, so one row reader serves all engines;
//! names enter only as bound parameters.

use super::SqlEngine;
use crate::catalog::{CatalogColumn, ForeignKey, Index, TableCatalog};
use crate::dialect::{self, Dialect as _};
use crate::{Engine, SourceError};

/// The catalogue statements of one engine. Each takes the table's parameters (see
/// [`params`]) and returns text columns:
/// - `columns`: name, type, nullable (`YES`/`NO`), default, primary key position (or NULL);
/// - `indexes`: index name, `p`/`u`/`i` (primary, unique, other), column, position;
/// - `foreign_keys`: constraint name, referenced table, column, referenced column, position;
/// - `estimate`: the estimated row count, or no row / NULL;
/// - `tables`: every base table's name, without parameters.
struct Queries {
    columns: &'static str,
    indexes: &'static str,
    foreign_keys: &'static str,
    estimate: Option<&'static str>,
    tables: &'static str,
}

const POSTGRES: Queries = Queries {
    columns: "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod),
            CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END, pg_get_expr(d.adbin, d.adrelid), NULL::text
        FROM pg_attribute a
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = COALESCE(to_regclass($1), to_regclass($2)) AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum",
    indexes: "SELECT c.relname::text,
            CASE WHEN x.indisprimary THEN 'p' WHEN x.indisunique THEN 'u' ELSE 'i' END,
            a.attname::text, k.ord::text
        FROM pg_index x
        JOIN pg_class c ON c.oid = x.indexrelid
        CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
        WHERE x.indrelid = COALESCE(to_regclass($1), to_regclass($2))
        ORDER BY 1, 4",
    foreign_keys: "SELECT con.conname::text, con.confrelid::regclass::text, a.attname::text,
            r.attname::text, k.ord::text
        FROM pg_constraint con
        CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(col, refcol, ord)
        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.col
        JOIN pg_attribute r ON r.attrelid = con.confrelid AND r.attnum = k.refcol
        WHERE con.conrelid = COALESCE(to_regclass($1), to_regclass($2)) AND con.contype = 'f'
        ORDER BY 1, 5",
    estimate: Some(
        "SELECT CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::int8::text END
        FROM pg_class c WHERE c.oid = COALESCE(to_regclass($1), to_regclass($2))",
    ),
    tables: "SELECT CASE WHEN n.nspname = current_schema() THEN c.relname::text
            ELSE n.nspname || '.' || c.relname END
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
        ORDER BY 1",
};

const MYSQL: Queries = Queries {
    columns: "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR), CAST(IS_NULLABLE AS CHAR),
            CAST(COLUMN_DEFAULT AS CHAR), NULL
        FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?
        ORDER BY ORDINAL_POSITION",
    indexes: "SELECT CAST(INDEX_NAME AS CHAR),
            CASE WHEN INDEX_NAME = 'PRIMARY' THEN 'p' WHEN NON_UNIQUE = 0 THEN 'u' ELSE 'i' END,
            CAST(COLUMN_NAME AS CHAR), CAST(SEQ_IN_INDEX AS CHAR)
        FROM information_schema.STATISTICS
        WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?
        ORDER BY 1, 4",
    foreign_keys: "SELECT CAST(CONSTRAINT_NAME AS CHAR), CAST(REFERENCED_TABLE_NAME AS CHAR),
            CAST(COLUMN_NAME AS CHAR), CAST(REFERENCED_COLUMN_NAME AS CHAR), CAST(ORDINAL_POSITION AS CHAR)
        FROM information_schema.KEY_COLUMN_USAGE
        WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND REFERENCED_TABLE_NAME IS NOT NULL
        ORDER BY 1, 5",
    estimate: Some(
        "SELECT CAST(TABLE_ROWS AS CHAR) FROM information_schema.TABLES
        WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?",
    ),
    tables: "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1",
};

const SQLITE: Queries = Queries {
    columns: "SELECT name, type, CASE WHEN \"notnull\" = 0 THEN 'YES' ELSE 'NO' END, dflt_value,
            CAST(pk AS TEXT)
        FROM pragma_table_info(?2, ?1) ORDER BY cid",
    indexes: "SELECT il.name, CASE WHEN il.origin = 'pk' THEN 'p' WHEN il.\"unique\" THEN 'u' ELSE 'i' END,
            ii.name, CAST(ii.seqno + 1 AS TEXT)
        FROM pragma_index_list(?2, ?1) AS il, pragma_index_info(il.name, ?1) AS ii
        WHERE ii.name IS NOT NULL
        ORDER BY 1, 4",
    foreign_keys: "SELECT CAST(f.id AS TEXT), f.\"table\", f.\"from\",
            COALESCE(f.\"to\", (SELECT p.name FROM pragma_table_info(f.\"table\", ?1) AS p WHERE p.pk = f.seq + 1)),
            CAST(f.seq + 1 AS TEXT)
        FROM pragma_foreign_key_list(?2, ?1) AS f
        ORDER BY 1, 5",
    // Kept by ANALYZE only; without it the statement fails and there is no estimate.
    estimate: Some(
        "SELECT substr(stat, 1, instr(stat || ' ', ' ') - 1) FROM sqlite_stat1
        WHERE tbl = ?2 AND ?1 IS NOT NULL ORDER BY idx IS NULL DESC LIMIT 1",
    ),
    tables: "SELECT name FROM sqlite_master
        WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
};

fn queries(engine: Engine) -> &'static Queries {
    match engine {
        Engine::Postgres => &POSTGRES,
        Engine::MySql => &MYSQL,
        _ => &SQLITE,
    }
}

/// The bound parameters that name a table: PostgreSQL takes the quoted name and the name as
/// written (as `describe` does); MySQL and SQLite take the schema (NULL: the current one) and
/// the name.
fn params(engine: Engine, table: &str) -> Vec<Option<String>> {
    match engine {
        Engine::Postgres => vec![
            Some(dialect::Postgres.quote_name(table)),
            Some(table.to_string()),
        ],
        Engine::Sqlite => {
            let (schema, name) = dialect::split_name(table);
            vec![
                Some(schema.unwrap_or("main").to_string()),
                Some(name.to_string()),
            ]
        }
        _ => {
            let (schema, name) = dialect::split_name(table);
            vec![schema.map(str::to_string), Some(name.to_string())]
        }
    }
}

fn text(row: &[Option<String>], i: usize) -> String {
    row.get(i).cloned().flatten().unwrap_or_default()
}

fn number(row: &[Option<String>], i: usize) -> i64 {
    text(row, i).trim().parse().unwrap_or(0)
}

/// The base tables of the database the session is connected to.
pub(crate) async fn tables<E: SqlEngine>(engine: &mut E) -> Result<Vec<String>, SourceError> {
    let q = queries(E::dialect().engine());
    let rows = engine.text_rows(q.tables, &[]).await?;
    Ok(rows.iter().map(|r| text(r, 0)).collect())
}

/// A table's catalogue, or `None` when it does not exist.
pub(crate) async fn catalog<E: SqlEngine>(
    engine: &mut E,
    table: &str,
) -> Result<Option<TableCatalog>, SourceError> {
    let kind = E::dialect().engine();
    let (q, p) = (queries(kind), params(kind, table));
    let rows = engine.text_rows(q.columns, &p).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut cat = TableCatalog {
        name: dialect::split_name(table).1.to_string(),
        ..TableCatalog::default()
    };
    let mut pk = Vec::new();
    for r in &rows {
        let default = r.get(3).cloned().flatten();
        cat.columns.push(CatalogColumn {
            name: text(r, 0),
            type_name: text(r, 1),
            nullable: text(r, 2) == "YES",
            // MariaDB shows a nullable column without a default as the text NULL.
            default: default.filter(|d| !d.eq_ignore_ascii_case("null")),
        });
        if number(r, 4) > 0 {
            pk.push((number(r, 4), text(r, 0)));
        }
    }
    pk.sort();
    cat.primary_key = pk.into_iter().map(|(_, c)| c).collect();
    let index_rows = engine.text_rows(q.indexes, &p).await?;
    let mut primary = Vec::new();
    TableCatalog::group(
        index_rows
            .iter()
            .map(|r| (text(r, 0), text(r, 1), text(r, 2), number(r, 3)))
            .collect(),
        |name, flag, columns| match flag.as_str() {
            "p" => primary = columns,
            _ => cat.indexes.push(Index {
                name,
                columns,
                unique: flag == "u",
            }),
        },
    );
    if cat.primary_key.is_empty() {
        cat.primary_key = primary;
    }
    let fk_rows = engine.text_rows(q.foreign_keys, &p).await?;
    let mut fks: Vec<ForeignKey> = Vec::new();
    TableCatalog::group(
        fk_rows
            .iter()
            .map(|r| {
                (
                    text(r, 0),
                    text(r, 1),
                    format!("{}\u{1f}{}", text(r, 2), text(r, 3)),
                    number(r, 4),
                )
            })
            .collect(),
        |name, table, pairs| {
            let (columns, ref_columns) = pairs
                .iter()
                .map(|p| {
                    let (a, b) = p.split_once('\u{1f}').unwrap_or((p, ""));
                    (a.to_string(), b.to_string())
                })
                .unzip();
            fks.push(ForeignKey {
                name,
                columns,
                table,
                ref_columns,
            });
        },
    );
    cat.foreign_keys = fks;
    if let Some(sql) = q.estimate {
        // Statistics are a nicety: a catalogue without them is still whole.
        cat.estimated_rows = engine
            .text_rows(sql, &p)
            .await
            .ok()
            .and_then(|rows| rows.into_iter().next())
            .and_then(|r| r.into_iter().next().flatten())
            .and_then(|n| n.trim().parse().ok());
    }
    Ok(Some(cat))
}
