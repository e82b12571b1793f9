//! MySQL and MariaDB: a `REPEATABLE READ` transaction `WITH CONSISTENT SNAPSHOT, READ ONLY`,
//! session time zone UTC, rows streamed over one connection in the binary protocol and ordered
//! by `CAST(key AS BINARY)` so no collation decides the order.

use super::{SqlEngine, describe_with};
use crate::error::{connect_error, query_error};
use crate::{BatchWriter, ColumnInfo, ReadRequest, SourceError, TableSchema, dialect};
use cutover_check::{Cell, Kind};
use futures_util::TryStreamExt;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::{Column, Connection as _, Row, TypeInfo, ValueRef};
use std::str::FromStr;

/// An open MySQL/MariaDB connection.
pub(crate) struct MySql {
    conn: MySqlConnection,
}

/// The kind of a column from `DATA_TYPE` and `COLUMN_TYPE` of `information_schema.COLUMNS`.
fn kind_of(data_type: &str, column_type: &str) -> Kind {
    let ct = column_type.to_ascii_lowercase();
    match data_type.to_ascii_lowercase().as_str() {
        "tinyint" if ct.starts_with("tinyint(1)") => Kind::Bool,
        "bool" | "boolean" => Kind::Bool,
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "decimal"
        | "numeric" | "year" => Kind::Number,
        "float" | "double" | "real" => Kind::Float,
        "char" => Kind::Char,
        "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set" => Kind::Text,
        // bit(n) is read as its binary digits, as PostgreSQL shows bit(n).
        "bit" => Kind::Text,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => Kind::Bytes,
        "date" => Kind::Date,
        "time" => Kind::Time,
        "datetime" | "timestamp" => Kind::Timestamp,
        "json" => Kind::Json,
        "uuid" => Kind::Uuid,
        _ => Kind::Text,
    }
}

/// Types read as `CAST(col AS CHAR)` because their wire form is not a plain value. Dates and
/// times are among them: the binary protocol sends a zero date (`0000-00-00`) or a zero time
/// as an empty value, which the driver reads as NULL; as text they stay what they are.
fn read_as_text(data_type: &str) -> bool {
    !matches!(
        data_type.to_ascii_lowercase().as_str(),
        "tinyint"
            | "bool"
            | "boolean"
            | "smallint"
            | "mediumint"
            | "int"
            | "integer"
            | "bigint"
            | "decimal"
            | "numeric"
            | "year"
            | "float"
            | "double"
            | "real"
            | "char"
            | "varchar"
            | "tinytext"
            | "text"
            | "mediumtext"
            | "longtext"
            | "enum"
            | "set"
            | "binary"
            | "varbinary"
            | "tinyblob"
            | "blob"
            | "mediumblob"
            | "longblob"
            | "bit"
            | "json"
    )
}

/// A column as described, with how it is read decided once.
fn column(name: String, type_name: String, kind: Kind) -> ColumnInfo {
    let data_type = type_name.split('(').next().unwrap_or("").trim().to_string();
    let mut c = ColumnInfo::stored(name, type_name, kind);
    c.zoned = c.type_name.to_ascii_lowercase().starts_with("timestamp");
    c.read_as_text = kind != Kind::Json && read_as_text(&data_type);
    c
}

impl SqlEngine for MySql {
    fn dialect() -> &'static dyn dialect::Dialect {
        &dialect::MySql
    }

    async fn connect(url: &str, limits: &crate::SessionLimits) -> Result<Self, SourceError> {
        let url_fixed = url.replacen("mariadb://", "mysql://", 1);
        let opts = MySqlConnectOptions::from_str(&url_fixed)
            .map_err(|e| connect_error(url, e))?
            .timezone(Some("+00:00".into()));
        let mut conn = MySqlConnection::connect_with(&opts)
            .await
            .map_err(|e| connect_error(url, e))?;
        if limits.statement_timeout_secs > 0 {
            // MariaDB limits statements in seconds, MySQL limits SELECTs in milliseconds.
            let version: String = sqlx::query_scalar("SELECT VERSION()")
                .fetch_one(&mut conn)
                .await
                .map_err(|e| query_error("SELECT VERSION()", e))?;
            let sql = if version.to_ascii_lowercase().contains("mariadb") {
                format!(
                    "SET SESSION max_statement_time = {}",
                    limits.statement_timeout_secs
                )
            } else {
                format!(
                    "SET SESSION max_execution_time = {}",
                    limits.statement_timeout_secs.saturating_mul(1000)
                )
            };
            super::execute(&mut conn, &sql).await?;
        }
        Ok(MySql { conn })
    }

    super::sqlx_statements!();

    async fn transport(&mut self, url: &str) -> Result<crate::Transport, SourceError> {
        let sql = "SHOW SESSION STATUS LIKE 'Ssl_cipher'";
        let row = sqlx::query(sql)
            .fetch_optional(&mut self.conn)
            .await
            .map_err(|e| query_error(sql, e))?;
        let cipher: Option<Vec<u8>> = row
            .map(|r| r.try_get::<Vec<u8>, _>(1))
            .transpose()
            .map_err(|e| query_error(sql, e))?;
        let encrypted = cipher.is_some_and(|c| !c.is_empty());
        Ok(
            match (encrypted, super::url_param(url, "ssl-mode").as_deref()) {
                (false, _) => crate::Transport::Unencrypted,
                (true, Some("verify_identity")) => crate::Transport::VerifiedFull,
                (true, Some("verify_ca")) => crate::Transport::VerifiedCa,
                (true, _) => crate::Transport::Encrypted,
            },
        )
    }

    async fn describe(&mut self, table: &str) -> Result<Option<TableSchema>, SourceError> {
        let (schema, name) = dialect::split_name(table);
        let sql = "SELECT CAST(COLUMN_NAME AS CHAR) AS name, CAST(DATA_TYPE AS CHAR) AS data_type,
                CAST(COLUMN_TYPE AS CHAR) AS column_type, CAST(COLUMN_KEY AS CHAR) AS column_key
            FROM information_schema.COLUMNS
            WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?
            ORDER BY ORDINAL_POSITION";
        let rows = sqlx::query(sql)
            .bind(schema)
            .bind(name)
            .fetch_all(&mut self.conn)
            .await
            .map_err(|e| query_error(sql, e))?;
        if rows.is_empty() {
            return Ok(None);
        }
        // MariaDB stores JSON as LONGTEXT with a json_valid() check constraint.
        let checks_sql =
            "SELECT CAST(CHECK_CLAUSE AS CHAR) FROM information_schema.CHECK_CONSTRAINTS
            WHERE CONSTRAINT_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?";
        let checks: Vec<String> = sqlx::query_scalar(checks_sql)
            .bind(schema)
            .bind(name)
            .fetch_all(&mut self.conn)
            .await
            // MySQL before 8.0.16 has no CHECK_CONSTRAINTS table; its JSON type is native, so
            // no check is needed to find JSON columns there.
            .unwrap_or_default();
        let mut columns = Vec::new();
        for r in &rows {
            let name: String = r.try_get("name").map_err(|e| query_error(sql, e))?;
            let data_type: String = r.try_get("data_type").map_err(|e| query_error(sql, e))?;
            let column_type: String = r.try_get("column_type").map_err(|e| query_error(sql, e))?;
            let is_json = checks
                .iter()
                .any(|c| c.contains(&format!("json_valid(`{name}`)")));
            columns.push(if is_json {
                column(name, "json".into(), Kind::Json)
            } else {
                let kind = kind_of(&data_type, &column_type);
                column(name, column_type, kind)
            });
        }
        let pk_sql = "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.KEY_COLUMN_USAGE
            WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY'
            ORDER BY ORDINAL_POSITION";
        let primary_key: Vec<String> = sqlx::query_scalar(pk_sql)
            .bind(schema)
            .bind(name)
            .fetch_all(&mut self.conn)
            .await
            .map_err(|e| query_error(pk_sql, e))?;
        Ok(Some(TableSchema {
            columns,
            primary_key,
        }))
    }

    async fn describe_query(&mut self, query: &str) -> Result<TableSchema, SourceError> {
        describe_with::<sqlx::MySql>(&mut self.conn, query, |name, wire| {
            // sqlx names wire types (`BIGINT UNSIGNED`, `BOOLEAN` for tinyint(1), `TEXT`, …).
            let (data_type, column_type) = match wire {
                "BOOLEAN" => ("tinyint", "tinyint(1)"),
                "VARBINARY" | "BINARY" => ("varbinary", "varbinary"),
                other => {
                    let first = other.split(' ').next().unwrap_or(other);
                    (first, first)
                }
            };
            let kind = kind_of(&data_type.to_ascii_lowercase(), column_type);
            column(name.to_string(), column_type.to_ascii_lowercase(), kind)
        })
        .await
    }

    async fn stream(
        &mut self,
        sql: &str,
        req: &ReadRequest,
        w: &mut BatchWriter<'_>,
    ) -> Result<(), SourceError> {
        let mut wires: Vec<Wire> = Vec::new();
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut self.conn);
        while let Some(row) = rows.try_next().await.map_err(|e| query_error(sql, e))? {
            if wires.is_empty() {
                wires = row
                    .columns()
                    .iter()
                    .map(|c| wire_of(c.type_info().name()))
                    .collect();
            }
            for (i, &wire) in wires.iter().enumerate() {
                let v = row.try_get_raw(i).map_err(|e| query_error(sql, e))?;
                let cell = if v.is_null() {
                    Cell::Null
                } else {
                    let raw = <&[u8] as sqlx::Decode<'_, sqlx::MySql>>::decode(v).map_err(|e| {
                        SourceError::Decode {
                            column: req.columns[i].name.clone(),
                            message: e.to_string(),
                        }
                    })?;
                    decode(wire, raw, req.columns[i].kind).map_err(|m| SourceError::Decode {
                        column: req.columns[i].name.clone(),
                        message: m,
                    })?
                };
                w.cell(i, cell);
            }
            w.end_row()?;
        }
        Ok(())
    }
}

/// How a column travels in the binary protocol, from the wire type name sqlx reports; decided
/// once per read, not per value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
    Decimal,
    Date,
    DateTime,
    Time,
    /// Strings, blobs, JSON and anything else: bytes, told apart by the column's kind.
    Bytes,
}

fn wire_of(name: &str) -> Wire {
    match name {
        "BOOLEAN" | "TINYINT" => Wire::I8,
        "TINYINT UNSIGNED" => Wire::U8,
        "SMALLINT" => Wire::I16,
        "SMALLINT UNSIGNED" | "YEAR" => Wire::U16,
        "INT" | "MEDIUMINT" => Wire::I32,
        "INT UNSIGNED" | "MEDIUMINT UNSIGNED" => Wire::U32,
        "BIGINT" => Wire::I64,
        "BIGINT UNSIGNED" => Wire::U64,
        "FLOAT" => Wire::F32,
        "DOUBLE" => Wire::F64,
        "DECIMAL" => Wire::Decimal,
        "DATE" => Wire::Date,
        "DATETIME" | "TIMESTAMP" => Wire::DateTime,
        "TIME" => Wire::Time,
        _ => Wire::Bytes,
    }
}

fn le<const N: usize>(b: &[u8]) -> Result<[u8; N], String> {
    b.try_into()
        .map_err(|_| format!("expected {N} bytes, got {}", b.len()))
}

/// Decodes one value of the binary protocol, given its column's wire type and kind from the
/// schema. Strings and blobs share wire types (a `_bin` collation makes
/// text look binary), so the schema decides between text, bytes and JSON.
fn decode<'a>(wire: Wire, b: &'a [u8], kind: Kind) -> Result<Cell<'a>, String> {
    Ok(match wire {
        Wire::I8 => Cell::Int(i8::from_le_bytes(le(b)?) as i64),
        Wire::U8 => Cell::Int(u8::from_le_bytes(le(b)?) as i64),
        Wire::I16 => Cell::Int(i16::from_le_bytes(le(b)?) as i64),
        Wire::U16 => Cell::Int(u16::from_le_bytes(le(b)?) as i64),
        Wire::I32 => Cell::Int(i32::from_le_bytes(le(b)?) as i64),
        Wire::U32 => Cell::Int(u32::from_le_bytes(le(b)?) as i64),
        Wire::I64 => Cell::Int(i64::from_le_bytes(le(b)?)),
        Wire::U64 => Cell::UInt(u64::from_le_bytes(le(b)?)),
        Wire::F32 => Cell::Float32(f32::from_le_bytes(le(b)?)),
        Wire::F64 => Cell::Float(f64::from_le_bytes(le(b)?)),
        Wire::Decimal => Cell::DecimalText(b),
        Wire::Date | Wire::DateTime => decode_datetime(wire == Wire::Date, b)?,
        Wire::Time => decode_time(b)?,
        Wire::Bytes => match kind {
            Kind::Bytes => Cell::Bytes(b),
            Kind::Json => Cell::Json(b),
            _ => Cell::Text(b),
        },
    })
}

/// DATE/DATETIME/TIMESTAMP: length byte, then year (u16), month, day, [hour, minute, second,
/// [microseconds (u32)]]. A zero date (`0000-00-00`) becomes its text, which no real date equals.
fn decode_datetime<'a>(date: bool, b: &'a [u8]) -> Result<Cell<'a>, String> {
    let len = *b.first().ok_or("empty date")? as usize;
    let p = b.get(1..1 + len).ok_or("short date")?;
    if len == 0 || p[..4].iter().all(|&x| x == 0) || p[2] == 0 || p[3] == 0 {
        return Ok(Cell::Text(if date {
            b"0000-00-00"
        } else {
            b"0000-00-00 00:00:00"
        }));
    }
    let year = u16::from_le_bytes([p[0], p[1]]) as i64;
    let days = cutover_check::canonical::days_from_civil(year, p[2] as u32, p[3] as u32);
    if date {
        return Ok(Cell::Date(days as i32));
    }
    let (h, m, s) = if len >= 7 {
        (p[4] as i64, p[5] as i64, p[6] as i64)
    } else {
        (0, 0, 0)
    };
    let micros = if len >= 11 {
        u32::from_le_bytes(le(&p[7..11])?)
    } else {
        0
    };
    Ok(Cell::Timestamp {
        secs: days * 86_400 + h * 3600 + m * 60 + s,
        nanos: micros * 1000,
    })
}

/// TIME: length byte, then negative flag, days (u32), hour, minute, second, [microseconds].
fn decode_time(b: &[u8]) -> Result<Cell<'static>, String> {
    let len = *b.first().ok_or("empty time")? as usize;
    if len == 0 {
        return Ok(Cell::Time(0));
    }
    let p = b.get(1..1 + len).ok_or("short time")?;
    let neg = p[0] == 1;
    let days = u32::from_le_bytes(le(&p[1..5])?) as i64;
    let secs = days * 86_400 + p[5] as i64 * 3600 + p[6] as i64 * 60 + p[7] as i64;
    let micros = if len >= 12 {
        u32::from_le_bytes(le(&p[8..12])?) as i64
    } else {
        0
    };
    let nanos = secs * 1_000_000_000 + micros * 1000;
    Ok(Cell::Time(if neg { -nanos } else { nanos }))
}
