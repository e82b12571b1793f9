//! PostgreSQL: a `REPEATABLE READ READ ONLY` transaction, rows streamed with
//! `COPY (SELECT … ORDER BY key COLLATE "C") TO STDOUT (FORMAT binary)` and decoded from the
//! binary wire format, which is cheaper for the server than text and exact for every type.

use super::{SqlEngine, describe_with};
use crate::error::{connect_error, query_error};
use crate::{BatchWriter, ColumnInfo, ReadRequest, SourceError, TableSchema, dialect};
use cutover_check::{Cell, Kind};
use futures_util::TryStreamExt;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection as _, Row};
use std::str::FromStr;

/// An open PostgreSQL connection.
pub(crate) struct Postgres {
    conn: PgConnection,
}

/// How a column travels on the wire in binary COPY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    Bool,
    I2,
    I4,
    I8,
    Numeric,
    F4,
    F8,
    Text,
    Bytea,
    Date,
    Time,
    Timestamp,
    Uuid,
    Json,
    Jsonb,
    /// Any other type, selected as `col::text`.
    AsText,
}

fn wire_of(type_name: &str) -> Wire {
    // Drop the type modifier wherever it stands: `timestamp(6) without time zone`.
    let base = match (type_name.find('('), type_name.find(')')) {
        (Some(open), Some(close)) if open < close => {
            format!("{}{}", &type_name[..open], &type_name[close + 1..])
        }
        _ => type_name.to_string(),
    };
    match base.trim() {
        "boolean" => Wire::Bool,
        "smallint" => Wire::I2,
        "integer" => Wire::I4,
        "bigint" => Wire::I8,
        "numeric" | "money" => Wire::Numeric,
        "real" => Wire::F4,
        "double precision" => Wire::F8,
        "text" | "character varying" | "character" | "name" | "\"char\"" | "citext" => Wire::Text,
        "bytea" => Wire::Bytea,
        "date" => Wire::Date,
        "time without time zone" => Wire::Time,
        "timestamp without time zone" | "timestamp with time zone" => Wire::Timestamp,
        "uuid" => Wire::Uuid,
        "json" => Wire::Json,
        "jsonb" => Wire::Jsonb,
        _ => Wire::AsText,
    }
}

fn kind_of(type_name: &str) -> Kind {
    match wire_of(type_name) {
        Wire::Bool => Kind::Bool,
        Wire::I2 | Wire::I4 | Wire::I8 | Wire::Numeric => Kind::Number,
        Wire::F4 | Wire::F8 => Kind::Float,
        Wire::Text if type_name.starts_with("character(") || type_name == "character" => Kind::Char,
        Wire::Text | Wire::AsText => Kind::Text,
        Wire::Bytea => Kind::Bytes,
        Wire::Date => Kind::Date,
        Wire::Time => Kind::Time,
        Wire::Timestamp => Kind::Timestamp,
        Wire::Uuid => Kind::Uuid,
        Wire::Json | Wire::Jsonb => Kind::Json,
    }
}

/// A column as described, with how it is read and ordered decided once.
fn column(name: String, type_name: String) -> ColumnInfo {
    let wire = wire_of(&type_name);
    let kind = kind_of(&type_name);
    let zoned = type_name.contains("with time zone") && !type_name.contains("without");
    let mut c = ColumnInfo::stored(name, type_name, kind);
    c.zoned = zoned;
    c.read_as_text = wire == Wire::AsText;
    c.text_order = matches!(wire, Wire::Text | Wire::AsText);
    c
}

impl SqlEngine for Postgres {
    fn dialect() -> &'static dyn dialect::Dialect {
        &dialect::Postgres
    }

    async fn connect(url: &str, _limits: &crate::SessionLimits) -> Result<Self, SourceError> {
        let opts = PgConnectOptions::from_str(url)
            .map_err(|e| connect_error(url, e))?
            .application_name("cutover");
        let mut conn = PgConnection::connect_with(&opts)
            .await
            .map_err(|e| connect_error(url, e))?;
        // The session speaks UTF-8 (the driver's startup sets it). A SQL_ASCII database holds
        // bytes in no encoding: read them as they are (shown as \xNN where not UTF-8) instead
        // of failing on the first one the server cannot convert.
        let sql = "SHOW server_encoding";
        let encoding: String = sqlx::query_scalar(sql)
            .fetch_one(&mut conn)
            .await
            .map_err(|e| query_error(sql, e))?;
        if encoding.eq_ignore_ascii_case("SQL_ASCII") {
            super::execute(&mut conn, "SET client_encoding = 'SQL_ASCII'").await?;
        }
        // cutover's statements are sized to run for about half a second, and the planner's
        // guess of a checksum statement's cost calls for JIT compilation: 0.2 s of each
        // statement went to compiling it. PostgreSQL 11 and later have JIT.
        if conn.server_version_num().is_some_and(|v| v >= 110_000) {
            super::execute(&mut conn, "SET jit = off").await?;
        }
        Ok(Postgres { conn })
    }

    super::sqlx_statements!();

    async fn transport(&mut self, url: &str) -> Result<crate::Transport, SourceError> {
        let sql =
            "SELECT COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)";
        let encrypted: bool = sqlx::query_scalar(sql)
            .fetch_one(&mut self.conn)
            .await
            .map_err(|e| query_error(sql, e))?;
        Ok(
            match (encrypted, super::url_param(url, "sslmode").as_deref()) {
                (false, _) => crate::Transport::Unencrypted,
                (true, Some("verify-full")) => crate::Transport::VerifiedFull,
                (true, Some("verify-ca")) => crate::Transport::VerifiedCa,
                (true, _) => crate::Transport::Encrypted,
            },
        )
    }

    async fn describe(&mut self, table: &str) -> Result<Option<TableSchema>, SourceError> {
        use dialect::Dialect as _;
        let quoted = dialect::Postgres.quote_name(table);
        let sql = "SELECT a.attname::text AS name,
                format_type(COALESCE(NULLIF(t.typbasetype, 0), t.oid), CASE WHEN t.typbasetype <> 0 THEN t.typtypmod ELSE a.atttypmod END) AS type_name,
                t.typtype::text AS typtype,
                COALESCE(pk.pos, 0)::int8 AS pk_pos
            FROM pg_attribute a
            JOIN pg_type t ON t.oid = a.atttypid
            LEFT JOIN LATERAL (
                SELECT array_position(i.indkey::int2[], a.attnum) - array_lower(i.indkey::int2[], 1) + 1 AS pos FROM pg_index i
                WHERE i.indrelid = a.attrelid AND i.indisprimary
            ) pk ON true
            WHERE a.attrelid = COALESCE(to_regclass($1), to_regclass($2)) AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum";
        let rows = sqlx::query(sql)
            .bind(&quoted)
            .bind(table)
            .fetch_all(&mut self.conn)
            .await
            .map_err(|e| query_error(sql, e))?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut columns = Vec::new();
        for r in rows {
            let name: String = r.try_get("name").map_err(|e| query_error(sql, e))?;
            let mut type_name: String = r.try_get("type_name").map_err(|e| query_error(sql, e))?;
            let typtype: String = r.try_get("typtype").map_err(|e| query_error(sql, e))?;
            let pos: i64 = r.try_get("pk_pos").map_err(|e| query_error(sql, e))?;
            if typtype == "e" {
                type_name = format!("enum {type_name}");
            }
            columns.push((column(name, type_name), pos));
        }
        Ok(Some(TableSchema::from_key_positions(columns)))
    }

    async fn describe_query(&mut self, query: &str) -> Result<TableSchema, SourceError> {
        describe_with::<sqlx::Postgres>(&mut self.conn, query, |name, wire| {
            let type_name = match wire {
                "BOOL" => "boolean",
                "INT2" => "smallint",
                "INT4" => "integer",
                "INT8" => "bigint",
                "NUMERIC" => "numeric",
                "FLOAT4" => "real",
                "FLOAT8" => "double precision",
                "TEXT" => "text",
                "VARCHAR" => "character varying",
                "BPCHAR" => "character",
                "NAME" => "name",
                "BYTEA" => "bytea",
                "DATE" => "date",
                "TIME" => "time without time zone",
                "TIMESTAMP" => "timestamp without time zone",
                "TIMESTAMPTZ" => "timestamp with time zone",
                "UUID" => "uuid",
                "JSON" => "json",
                "JSONB" => "jsonb",
                other => {
                    // Any other type is read as its text.
                    let mut c = ColumnInfo::stored(name, other.to_lowercase(), Kind::Text);
                    c.read_as_text = true;
                    return c;
                }
            };
            column(name.to_string(), type_name.to_string())
        })
        .await
    }

    async fn stream(
        &mut self,
        select: &str,
        req: &ReadRequest,
        w: &mut BatchWriter<'_>,
    ) -> Result<(), SourceError> {
        let copy = format!("COPY ({select}) TO STDOUT (FORMAT binary)");
        let wires: Vec<Wire> = req.columns.iter().map(|c| wire_of(&c.type_name)).collect();
        let mut decoder = CopyDecoder::new(req.columns.len());
        let mut digits = Vec::new();
        let mut stream = self
            .conn
            .copy_out_raw(&copy)
            .await
            .map_err(|e| query_error(select, e))?;
        while let Some(chunk) = stream
            .try_next()
            .await
            .map_err(|e| query_error(select, e))?
        {
            decoder.feed(&chunk, &wires, req, &mut digits, w)?;
        }
        Ok(())
    }
}

/// Splits the binary COPY stream into tuples and fields.
struct CopyDecoder {
    header_done: bool,
    fields: Vec<Option<(usize, usize)>>,
    /// The start of a row whose end is in a later message.
    pending: Vec<u8>,
}

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

impl CopyDecoder {
    fn new(ncols: usize) -> Self {
        CopyDecoder {
            header_done: false,
            fields: Vec::with_capacity(ncols),
            pending: Vec::new(),
        }
    }

    /// The header's length, once it is complete.
    fn header(&self, buf: &[u8]) -> Option<usize> {
        if buf.len() < SIGNATURE.len() + 8 {
            return None;
        }
        let ext = u32::from_be_bytes(buf[15..19].try_into().ok()?) as usize;
        (buf.len() >= 19 + ext).then_some(19 + ext)
    }

    /// Decodes the rows of one message of the stream into `w`. The server sends a row per
    /// message: it is decoded where it lies, and only the bytes of a row split across messages
    /// are kept.
    fn feed(
        &mut self,
        chunk: &[u8],
        wires: &[Wire],
        req: &ReadRequest,
        digits: &mut Vec<u8>,
        w: &mut BatchWriter<'_>,
    ) -> Result<(), SourceError> {
        if self.pending.is_empty() {
            let used = self.rows(chunk, wires, req, digits, w)?;
            self.pending.extend_from_slice(&chunk[used..]);
        } else {
            let mut pending = std::mem::take(&mut self.pending);
            pending.extend_from_slice(chunk);
            let used = self.rows(&pending, wires, req, digits, w)?;
            pending.drain(..used);
            self.pending = pending;
        }
        Ok(())
    }

    /// Decodes the complete rows at the start of `buf` into `w`; returns the bytes used.
    fn rows(
        &mut self,
        buf: &[u8],
        wires: &[Wire],
        req: &ReadRequest,
        digits: &mut Vec<u8>,
        w: &mut BatchWriter<'_>,
    ) -> Result<usize, SourceError> {
        let mut pos = 0;
        if !self.header_done {
            match self.header(buf) {
                Some(n) => {
                    pos = n;
                    self.header_done = true;
                }
                None => return Ok(0),
            }
        }
        while let Some(n) = self.tuple(&buf[pos..]) {
            if n == usize::MAX {
                return Ok(buf.len());
            }
            let row = &buf[pos..pos + n];
            for (i, field) in self.fields.iter().enumerate() {
                let cell = match field {
                    None => Cell::Null,
                    Some((s, e)) => {
                        decode(wires[i], &row[*s..*e], digits).map_err(|m| SourceError::Decode {
                            column: req.columns[i].name.clone(),
                            message: m,
                        })?
                    }
                };
                w.cell(i, cell);
            }
            pos += n;
            w.end_row()?;
        }
        Ok(pos)
    }

    /// Parses one complete tuple at the start of `buf` into `self.fields` (offsets into `buf`)
    /// and returns its length; `usize::MAX` for the trailer; `None` if incomplete.
    fn tuple(&mut self, buf: &[u8]) -> Option<usize> {
        if buf.len() < 2 {
            return None;
        }
        let n = i16::from_be_bytes([buf[0], buf[1]]);
        if n < 0 {
            return Some(usize::MAX);
        }
        self.fields.clear();
        let mut pos = 2;
        for _ in 0..n {
            let len = i32::from_be_bytes(buf.get(pos..pos + 4)?.try_into().ok()?);
            pos += 4;
            if len < 0 {
                self.fields.push(None);
            } else {
                let end = pos + len as usize;
                if end > buf.len() {
                    return None;
                }
                self.fields.push(Some((pos, end)));
                pos = end;
            }
        }
        Some(pos)
    }
}

/// Days and seconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;
const PG_EPOCH_SECS: i64 = PG_EPOCH_DAYS * 86_400;

fn be<const N: usize>(b: &[u8]) -> Result<[u8; N], String> {
    b.try_into()
        .map_err(|_| format!("expected {N} bytes, got {}", b.len()))
}

/// Decodes one binary COPY field.
fn decode<'a>(wire: Wire, b: &'a [u8], digits: &'a mut Vec<u8>) -> Result<Cell<'a>, String> {
    Ok(match wire {
        Wire::Bool => Cell::Bool(b.first().copied().unwrap_or(0) != 0),
        Wire::I2 => Cell::Int(i16::from_be_bytes(be(b)?) as i64),
        Wire::I4 => Cell::Int(i32::from_be_bytes(be(b)?) as i64),
        Wire::I8 => Cell::Int(i64::from_be_bytes(be(b)?)),
        Wire::F4 => Cell::Float32(f32::from_be_bytes(be(b)?)),
        Wire::F8 => Cell::Float(f64::from_be_bytes(be(b)?)),
        Wire::Text | Wire::AsText => Cell::Text(b),
        Wire::Bytea => Cell::Bytes(b),
        Wire::Date => Cell::Date(
            (i32::from_be_bytes(be(b)?) as i64 + PG_EPOCH_DAYS)
                .clamp(i32::MIN as i64, i32::MAX as i64) as i32,
        ),
        Wire::Time => Cell::Time(i64::from_be_bytes(be(b)?) * 1000),
        Wire::Timestamp => {
            let micros = i64::from_be_bytes(be(b)?);
            Cell::Timestamp {
                secs: micros.div_euclid(1_000_000).saturating_add(PG_EPOCH_SECS),
                nanos: (micros.rem_euclid(1_000_000) * 1000) as u32,
            }
        }
        Wire::Uuid => Cell::Uuid(be(b)?),
        Wire::Json => Cell::Json(b),
        Wire::Jsonb => Cell::Json(b.get(1..).ok_or("empty jsonb")?),
        Wire::Numeric => decode_numeric(b, digits)?,
    })
}

/// Numeric: ndigits, weight, sign, dscale (i16/u16 each), then base-10000 digits.
fn decode_numeric<'a>(b: &[u8], digits: &'a mut Vec<u8>) -> Result<Cell<'a>, String> {
    if b.len() < 8 {
        return Err("short numeric".into());
    }
    let ndigits = u16::from_be_bytes([b[0], b[1]]) as usize;
    let weight = i16::from_be_bytes([b[2], b[3]]) as i32;
    let sign = u16::from_be_bytes([b[4], b[5]]);
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Ok(Cell::Float(f64::NAN)),
        0xD000 => return Ok(Cell::Float(f64::INFINITY)),
        0xF000 => return Ok(Cell::Float(f64::NEG_INFINITY)),
        _ => return Err(format!("unknown numeric sign {sign:#x}")),
    }
    if b.len() < 8 + 2 * ndigits {
        return Err("short numeric".into());
    }
    digits.clear();
    for i in 0..ndigits {
        let d = u16::from_be_bytes([b[8 + 2 * i], b[9 + 2 * i]]);
        digits.extend_from_slice(&[
            b'0' + (d / 1000) as u8,
            b'0' + (d / 100 % 10) as u8,
            b'0' + (d / 10 % 10) as u8,
            b'0' + (d % 10) as u8,
        ]);
    }
    Ok(Cell::Decimal {
        negative: sign == 0x4000,
        digits,
        exp: 4 * (weight + 1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binary COPY stream of `(bigint, text)` rows, with its header and trailer.
    fn copy_stream(rows: &[(i64, Option<&str>)]) -> Vec<u8> {
        let mut s = SIGNATURE.to_vec();
        s.extend_from_slice(&0u32.to_be_bytes());
        s.extend_from_slice(&0u32.to_be_bytes());
        for (id, name) in rows {
            s.extend_from_slice(&2i16.to_be_bytes());
            s.extend_from_slice(&8i32.to_be_bytes());
            s.extend_from_slice(&id.to_be_bytes());
            match name {
                None => s.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(t) => {
                    s.extend_from_slice(&(t.len() as i32).to_be_bytes());
                    s.extend_from_slice(t.as_bytes());
                }
            }
        }
        s.extend_from_slice(&(-1i16).to_be_bytes());
        s
    }

    /// The canonical rows decoded from `stream` cut into messages at `cuts`.
    fn decode_in_messages(stream: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
        let columns = vec![
            column("id".into(), "bigint".into()),
            column("name".into(), "text".into()),
        ];
        let req = ReadRequest::new("t", columns, 1);
        let wires = [Wire::I8, Wire::Text];
        let mut rows = Vec::new();
        let mut sink = |b: cutover_check::Batch| {
            rows.extend((0..b.len()).map(|r| b.row(r).to_vec()));
            true
        };
        let mut w = BatchWriter::new(&req, &mut sink);
        let mut decoder = CopyDecoder::new(2);
        let mut digits = Vec::new();
        let mut from = 0;
        for &cut in cuts.iter().chain([stream.len()].iter()) {
            decoder
                .feed(&stream[from..cut], &wires, &req, &mut digits, &mut w)
                .expect("decodes");
            from = cut;
        }
        w.finish().expect("flushes");
        rows
    }

    #[test]
    fn rows_split_anywhere_across_messages_decode_the_same() {
        let stream = copy_stream(&[(1, Some("a")), (-7, None), (1 << 40, Some("längere Zeile"))]);
        let whole = decode_in_messages(&stream, &[]);
        assert_eq!(whole.len(), 3);
        for cut in 1..stream.len() {
            assert_eq!(decode_in_messages(&stream, &[cut]), whole, "cut at {cut}");
        }
        for cut in 1..stream.len() - 1 {
            assert_eq!(
                decode_in_messages(&stream, &[cut, cut + 1]),
                whole,
                "cuts at {cut}, {}",
                cut + 1
            );
        }
    }

    #[test]
    fn type_modifiers_do_not_hide_the_type() {
        assert_eq!(wire_of("timestamp(6) without time zone"), Wire::Timestamp);
        assert_eq!(wire_of("timestamp(3) with time zone"), Wire::Timestamp);
        assert_eq!(wire_of("time(6) without time zone"), Wire::Time);
        assert_eq!(wire_of("numeric(14,2)"), Wire::Numeric);
        assert_eq!(wire_of("character varying(20)"), Wire::Text);
        assert_eq!(kind_of("character(5)"), Kind::Char);
        assert_eq!(wire_of("interval"), Wire::AsText);
    }
}
