//! MySQL and MariaDB: a `REPEATABLE READ` transaction `WITH CONSISTENT SNAPSHOT, READ ONLY`,
//! session time zone UTC, rows streamed over one connection in the binary protocol and ordered
//! by `CAST(key AS BINARY)` so no collation decides the order.

use super::{SqlEngine, describe_with};
use crate::error::{connect_error, query_error};
use crate::{BatchWriter, ColumnInfo, ReadRequest, SourceError, TableSchema, dialect};
use cutover_check::{Cell, Kind};
use futures_util::TryStreamExt;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::{Column, Connection as _, Row, TypeInfo};
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
/// timestamps travel in binary (cheaper for the server than printing them): a zero date
/// (`0000-00-00`) or one with a zero month or day is turned back into the text the server
/// prints for it ([`decode_datetime`]).
fn read_as_text(data_type: &str) -> bool {
    !matches!(
        data_type.to_ascii_lowercase().as_str(),
        "date"
            | "datetime"
            | "timestamp"
            | "tinyint"
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

    async fn warnings(&mut self) -> Result<Vec<String>, SourceError> {
        let sql = "SHOW WARNINGS";
        let rows = sqlx::query(sql)
            .fetch_all(&mut self.conn)
            .await
            .map_err(|e| query_error(sql, e))?;
        rows.iter()
            .map(|r| {
                let level: String = r.try_get(0)?;
                let code: u32 = r.try_get(1)?;
                let message: String = r.try_get(2)?;
                Ok(format!("{level} {code}: {message}"))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| query_error(sql, e))
    }

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
                CAST(COLUMN_TYPE AS CHAR) AS column_type, CAST(COLUMN_KEY AS CHAR) AS column_key,
                CAST(CHARACTER_SET_NAME AS CHAR) AS charset
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
            let charset: Option<String> = r.try_get("charset").map_err(|e| query_error(sql, e))?;
            let mut c = if is_json {
                column(name, "json".into(), Kind::Json)
            } else {
                let kind = kind_of(&data_type, &column_type);
                column(name, column_type, kind)
            };
            c.utf8 = matches!(
                charset.as_deref().map(str::to_ascii_lowercase).as_deref(),
                Some("utf8mb4" | "utf8mb3" | "utf8" | "ascii")
            );
            columns.push(c);
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
        // Fraction digits the server prints for each column's dates (see `decode_datetime`).
        let digits: Vec<u8> = req.columns.iter().map(fraction_digits).collect();
        let mut scratch = [0u8; 32];
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
                // The bytes, read past sqlx's `is_null`, which calls a zero date NULL: only a
                // value that is absent from the row is NULL.
                let Ok(raw) = <&[u8] as sqlx::Decode<'_, sqlx::MySql>>::decode(v) else {
                    w.cell(i, Cell::Null);
                    continue;
                };
                let cell = decode(wire, raw, req.columns[i].kind, digits[i], &mut scratch)
                    .map_err(|m| SourceError::Decode {
                        column: req.columns[i].name.clone(),
                        message: m,
                    })?;
                w.cell(i, cell);
            }
            w.end_row()?;
        }
        Ok(())
    }
}

/// The fraction digits of a `datetime(n)` or `timestamp(n)` column (0 without a precision).
fn fraction_digits(c: &ColumnInfo) -> u8 {
    c.type_name
        .split_once('(')
        .and_then(|(_, r)| r.split(')').next())
        .and_then(|n| n.trim().parse::<u8>().ok())
        .map_or(0, |n| n.min(6))
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
fn decode<'a>(
    wire: Wire,
    b: &'a [u8],
    kind: Kind,
    digits: u8,
    scratch: &'a mut [u8; 32],
) -> Result<Cell<'a>, String> {
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
        Wire::Date | Wire::DateTime => decode_datetime(wire == Wire::Date, b, digits, scratch)?,
        Wire::Time => decode_time(b)?,
        Wire::Bytes => match kind {
            Kind::Bytes => Cell::Bytes(b),
            Kind::Json => Cell::Json(b),
            _ => Cell::Text(b),
        },
    })
}

/// DATE/DATETIME/TIMESTAMP: length byte, then year (u16), month, day, [hour, minute, second,
/// [microseconds (u32)]]. A date with a zero month or day (`0000-00-00`, `2020-00-15`), which
/// no calendar holds, becomes the text `CAST(… AS CHAR)` prints for it, with `digits` fraction
/// digits, written into `scratch`.
fn decode_datetime<'a>(
    date: bool,
    b: &'a [u8],
    digits: u8,
    scratch: &'a mut [u8; 32],
) -> Result<Cell<'a>, String> {
    let len = *b.first().ok_or("empty date")? as usize;
    let p = b.get(1..1 + len).ok_or("short date")?;
    if !matches!(len, 0 | 4 | 7 | 11) {
        return Err(format!("a date of {len} bytes"));
    }
    let part = |i: usize| p.get(i).copied().unwrap_or(0);
    let year = if len == 0 {
        0
    } else {
        u16::from_le_bytes([p[0], p[1]])
    };
    let (month, day) = (part(2), part(3));
    let (h, m, s) = (part(4), part(5), part(6));
    let micros = if len == 11 {
        u32::from_le_bytes(le(&p[7..11])?)
    } else {
        0
    };
    if month == 0 || day == 0 {
        use std::io::Write as _;
        let mut out = std::io::Cursor::new(&mut scratch[..]);
        let written = if date {
            write!(out, "{year:04}-{month:02}-{day:02}")
        } else {
            write!(out, "{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02}").and_then(|()| {
                match digits {
                    0 => Ok(()),
                    n => write!(
                        out,
                        ".{:0width$}",
                        micros / 10u32.pow(6 - n as u32),
                        width = n as usize
                    ),
                }
            })
        };
        written.map_err(|_| "a date too long to print".to_string())?;
        let n = out.position() as usize;
        return Ok(Cell::Text(&scratch[..n]));
    }
    let days = cutover_check::canonical::days_from_civil(year as i64, month as u32, day as u32);
    if date {
        return Ok(Cell::Date(days as i32));
    }
    Ok(Cell::Timestamp {
        secs: days * 86_400 + h as i64 * 3600 + m as i64 * 60 + s as i64,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn datetime(date: bool, b: &[u8], digits: u8) -> String {
        let mut scratch = [0u8; 32];
        match decode_datetime(date, b, digits, &mut scratch).expect("a date") {
            Cell::Text(t) => String::from_utf8(t.to_vec()).expect("UTF-8"),
            Cell::Date(d) => format!("date {d}"),
            Cell::Timestamp { secs, nanos } => format!("ts {secs}.{nanos:09}"),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn binary_dates_read_as_the_server_prints_them() {
        // 2020-05-17 10:11:12.500000 and 1970-01-02.
        let full = [11, 0xE4, 0x07, 5, 17, 10, 11, 12, 0x20, 0xA1, 0x07, 0];
        assert_eq!(datetime(false, &full, 6), "ts 1589710272.500000000");
        assert_eq!(datetime(true, &[4, 0xB2, 0x07, 1, 2], 0), "date 1");
        assert_eq!(
            datetime(false, &[4, 0xB2, 0x07, 1, 2], 0),
            "ts 86400.000000000"
        );
        // No calendar holds these: the text CAST(… AS CHAR) gives, to the column's precision.
        assert_eq!(datetime(true, &[0], 0), "0000-00-00");
        assert_eq!(datetime(false, &[0], 0), "0000-00-00 00:00:00");
        assert_eq!(datetime(false, &[0], 6), "0000-00-00 00:00:00.000000");
        assert_eq!(datetime(false, &[0], 3), "0000-00-00 00:00:00.000");
        let partial = [11, 0xE4, 0x07, 0, 15, 10, 11, 12, 0x20, 0xA1, 0x07, 0];
        assert_eq!(datetime(false, &partial, 6), "2020-00-15 10:11:12.500000");
        assert_eq!(datetime(false, &partial, 2), "2020-00-15 10:11:12.50");
        assert_eq!(datetime(true, &[4, 0xE4, 0x07, 5, 0], 0), "2020-05-00");
        let mut scratch = [0u8; 32];
        assert!(decode_datetime(false, &[5, 1, 2, 3, 4, 5], 0, &mut scratch).is_err());
        assert!(decode_datetime(false, &[7, 1, 2], 0, &mut scratch).is_err());
        assert!(decode_datetime(false, &[], 0, &mut scratch).is_err());
    }

    #[test]
    fn fraction_digits_come_from_the_declared_precision() {
        let c = |t: &str| ColumnInfo::stored("c", t, Kind::Timestamp);
        assert_eq!(fraction_digits(&c("datetime(6)")), 6);
        assert_eq!(fraction_digits(&c("timestamp(3)")), 3);
        assert_eq!(fraction_digits(&c("datetime")), 0);
        assert_eq!(fraction_digits(&c("date")), 0);
    }
}
