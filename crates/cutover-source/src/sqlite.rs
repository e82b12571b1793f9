//! SQLite: opened read-only, rows streamed inside one deferred transaction (one snapshot).

use crate::{
    ColumnInfo, ReadRequest, SourceError, TableSchema, build_select, connect_error, exec,
    query_error, quote_double, split_name,
};
use cutover_check::{Batch, Cell, Kind};
use futures_util::TryStreamExt;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection as _, Row, TypeInfo, ValueRef};
use std::str::FromStr;

/// An open read-only SQLite database.
pub struct Conn {
    conn: SqliteConnection,
}

impl Conn {
    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }

    pub(crate) async fn connect(url: &str) -> Result<Conn, SourceError> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| connect_error(url, e))?
            .read_only(true)
            .create_if_missing(false);
        let conn = SqliteConnection::connect_with(&opts)
            .await
            .map_err(|e| connect_error(url, e))?;
        Ok(Conn { conn })
    }

    pub(crate) async fn describe(
        &mut self,
        table: &str,
    ) -> Result<Option<TableSchema>, SourceError> {
        let (schema, name) = split_name(table);
        let sql = match schema {
            Some(s) => format!(
                "PRAGMA {}.table_info({})",
                quote_double(s),
                quote_double(name)
            ),
            None => format!("PRAGMA table_info({})", quote_double(name)),
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
            columns.push((
                ColumnInfo {
                    expr: None,
                    kind: kind_of(&type_name),
                    name,
                    type_name,
                },
                pk_pos,
            ));
        }
        Ok(Some(TableSchema::from_key_positions(columns)))
    }

    pub(crate) async fn describe_query(&mut self, query: &str) -> Result<TableSchema, SourceError> {
        crate::describe_with::<sqlx::Sqlite>(&mut self.conn, query, |name| {
            (name.to_string(), kind_of(name))
        })
        .await
    }

    pub(crate) async fn read(
        &mut self,
        req: &ReadRequest,
        sink: &mut dyn FnMut(Batch) -> bool,
    ) -> Result<(), SourceError> {
        let sql = select_sql(req);
        exec(&mut self.conn, "BEGIN DEFERRED").await?;
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).fetch(&mut self.conn);
        let mut batch = req.new_batch();
        while let Some(row) = rows.try_next().await.map_err(|e| query_error(&sql, e))? {
            for i in 0..req.codecs.len() {
                let v = row.try_get_raw(i).map_err(|e| query_error(&sql, e))?;
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
                req.push(&mut batch, i, cell);
            }
            req.flush(&mut batch, sink, false)?;
        }
        drop(rows);
        req.flush(&mut batch, sink, true)?;
        let _ = exec(&mut self.conn, "COMMIT").await;
        Ok(())
    }
}

/// The SELECT for a request: byte order on text keys, NULLs first (SQLite's default).
pub(crate) fn select_sql(req: &ReadRequest) -> String {
    build_select(
        req,
        quote_double,
        &|c| c.sql(quote_double),
        &|c| match c.kind {
            Kind::Text | Kind::Char | Kind::Uuid | Kind::Json => {
                format!("{} COLLATE BINARY", c.sql(quote_double))
            }
            _ => c.sql(quote_double),
        },
    )
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
