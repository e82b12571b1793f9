//! Building SQLite databases from SQL scripts, for `cutover demo` and tests. This is the only
//! code in cutover that writes to a database, and it only ever writes to a new file it creates.

use crate::{StoreError, query_error};
use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use std::path::Path;

/// Creates the SQLite file `path` (it must not exist) and runs `script` in it. With `attach`,
/// another database file is attached under the given schema name first.
pub fn build_sqlite(
    path: &Path,
    script: &str,
    attach: Option<(&Path, &str)>,
) -> Result<(), StoreError> {
    if path.exists() {
        return Err(StoreError::Exists {
            path: path.display().to_string(),
        });
    }
    cutover_source::runtime::block_on(async {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        let mut conn =
            SqliteConnection::connect_with(&opts)
                .await
                .map_err(|e| StoreError::Open {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
        if let Some((other, schema)) = attach {
            let sql = format!(
                "ATTACH DATABASE '{}' AS \"{}\"",
                other.display().to_string().replace('\'', "''"),
                schema.replace('"', "\"\"")
            );
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.as_str()))
                .execute(&mut conn)
                .await
                .map_err(|e| query_error(&sql, e))?;
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(script))
            .execute(&mut conn)
            .await
            .map_err(|e| query_error("(fixture script)", e))?;
        conn.close().await.map_err(|e| query_error("(close)", e))
    })?
}
