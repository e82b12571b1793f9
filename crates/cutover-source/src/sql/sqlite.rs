//! SQLite: opened read-only (never created), rows streamed inside one deferred transaction
//! (one snapshot), each value decoded by its storage class.

use super::{SqlEngine, describe_with};
use crate::error::{connect_error, query_error};
use crate::{BatchWriter, ColumnInfo, ReadRequest, SourceError, TableSchema, dialect};
use cutover_check::{Cell, Kind};
use futures_util::TryStreamExt;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection as _, Row, TypeInfo, ValueRef};
use std::str::FromStr;

/// An open read-only SQLite database.
pub(crate) struct Sqlite {
    conn: SqliteConnection,
}

impl SqlEngine for Sqlite {
    fn dialect() -> &'static dyn dialect::Dialect {
        &dialect::Sqlite
    }

    async fn connect(url: &str, _limits: &crate::SessionLimits) -> Result<Self, SourceError> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| connect_error(url, e))?
            .read_only(true)
            .create_if_missing(false);
        let conn = SqliteConnection::connect_with(&opts)
            .await
            .map_err(|e| connect_error(url, e))?;
        Ok(Sqlite { conn })
    }

    super::sqlx_statements!();

    async fn transport(&mut self, _url: &str) -> Result<crate::Transport, SourceError> {
        Ok(crate::Transport::Local)
    }

    async fn describe(&mut self, table: &str) -> Result<Option<TableSchema>, SourceError> {
        use dialect::Dialect as _;
        let (schema, name) = dialect::split_name(table);
        let d = dialect::Sqlite;
        let sql = match schema {
            Some(s) => format!(
                "PRAGMA {}.table_info({})",
                d.quote_ident(s),
                d.quote_ident(name)
            ),
            None => format!("PRAGMA table_info({})", d.quote_ident(name)),
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .fetch_all(&mut self.conn)
            .await
            .map_err(|e| query_error(&sql, e))?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut columns = Vec::new();
        for r in rows {
            let name: String = r.try_get("name").map_err(|e| query_error(&sql, e))?;
            let type_name: String = r.try_get("type").map_err(|e| query_error(&sql, e))?;
            let pk_pos: i64 = r.try_get("pk").map_err(|e| query_error(&sql, e))?;
            let kind = kind_of(&type_name);
            columns.push((ColumnInfo::stored(name, type_name, kind), pk_pos));
        }
        Ok(Some(TableSchema::from_key_positions(columns)))
    }

    async fn describe_query(&mut self, query: &str) -> Result<TableSchema, SourceError> {
        describe_with::<sqlx::Sqlite>(&mut self.conn, query, |name, type_name| {
            ColumnInfo::stored(name, type_name, kind_of(type_name))
        })
        .await
    }

    async fn stream(
        &mut self,
        sql: &str,
        req: &ReadRequest,
        w: &mut BatchWriter<'_>,
    ) -> Result<(), SourceError> {
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut self.conn);
        while let Some(row) = rows.try_next().await.map_err(|e| query_error(sql, e))? {
            for i in 0..req.codecs.len() {
                let v = row.try_get_raw(i).map_err(|e| query_error(sql, e))?;
                let cell = if v.is_null() {
                    Cell::Null
                } else {
                    let class = v.type_info().name().to_string();
                    let err = |e: sqlx::Error| SourceError::Decode {
                        column: req.columns[i].name.clone(),
                        message: e.to_string(),
                    };
                    match class.as_str() {
                        "INTEGER" => Cell::Int(row.try_get_unchecked::<i64, _>(i).map_err(err)?),
                        "REAL" => Cell::Float(row.try_get_unchecked::<f64, _>(i).map_err(err)?),
                        "BLOB" => Cell::Bytes(row.try_get_unchecked::<&[u8], _>(i).map_err(err)?),
                        _ => Cell::Text(row.try_get_unchecked::<&[u8], _>(i).map_err(err)?),
                    }
                };
                w.cell(i, cell);
            }
            w.end_row()?;
        }
        Ok(())
    }
}

/// The kind of a column from its declared type, by SQLite's affinity rules plus common names.
fn kind_of(declared: &str) -> Kind {
    let t = declared.to_ascii_uppercase();
    if t.contains("BOOL") {
        Kind::Bool
    } else if t.contains("DATETIME") || t.contains("TIMESTAMP") {
        Kind::Timestamp
    } else if t.contains("DATE") {
        Kind::Date
    } else if t.contains("TIME") {
        Kind::Time
    } else if t.contains("UUID") {
        Kind::Uuid
    } else if t.contains("JSON") {
        Kind::Json
    } else if t.contains("INT") || t.contains("DEC") || t.contains("NUMERIC") {
        Kind::Number
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") || t.is_empty() {
        Kind::Text
    } else if t.contains("BLOB") || t.contains("BINARY") {
        Kind::Bytes
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        Kind::Float
    } else {
        Kind::Number
    }
}
