//! What can go wrong while connecting or reading, with the hint a user needs as data: the
//! binary renders `error:` / `hint:` once.

/// A failure to connect or read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The server could not be reached, refused the login, or the database does not exist.
    #[error("cannot connect to {url}: {message}")]
    Connect {
        /// The URL with the password hidden.
        url: String,
        /// The driver's message (password removed).
        message: String,
        /// What to check.
        hint: String,
    },
    /// A statement failed.
    #[error("{message}\n  while running: {sql}")]
    Query {
        /// The statement.
        sql: String,
        /// The server's message.
        message: String,
    },
    /// The connection was lost while a statement ran: the server ended the session (an
    /// administrator, a restart, a timeout) or the network broke.
    #[error("the connection was lost: {message}\n  while running: {sql}")]
    Lost {
        /// The statement.
        sql: String,
        /// The driver's or server's message.
        message: String,
    },
    /// A value could not be read.
    #[error("column {column}: {message}")]
    Decode {
        /// The column.
        column: String,
        /// What was wrong.
        message: String,
    },
    /// A file of an export could not be read.
    #[error("{path}: {message}")]
    File {
        /// The file or folder.
        path: String,
        /// What was wrong.
        message: String,
        /// What to do, when known.
        hint: Option<String>,
    },
    /// This kind of side cannot do what was asked.
    #[error("{what}")]
    Unsupported {
        /// What was asked, and of which side.
        what: String,
        /// What to do instead.
        hint: String,
    },
    /// The consumer stopped reading.
    #[error("reading stopped")]
    Stopped,
}

impl SourceError {
    /// What the user can do about it, when cutover knows.
    pub fn hint(&self) -> Option<&str> {
        match self {
            SourceError::Connect { hint, .. } | SourceError::Unsupported { hint, .. } => Some(hint),
            SourceError::File { hint, .. } => hint.as_deref(),
            SourceError::Lost { .. } => Some(
                "the server or the network ended the session mid-read (see the server's log for why); run the check again",
            ),
            _ => None,
        }
    }

    /// The message followed by its hint, for places that keep one text (reports).
    pub fn with_hint(&self) -> String {
        match self.hint() {
            Some(h) => format!("{self}\nhint: {h}"),
            None => self.to_string(),
        }
    }
}

/// A statement as an error shows it: a checksum statement of a thousand key ranges runs to
/// hundreds of kilobytes, so a long one is cut after its first 2,000 characters.
pub(crate) fn shown_sql(sql: &str) -> String {
    const SHOWN: usize = 2000;
    match sql.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!(
            "{} … ({} more characters)",
            &sql[..cut],
            sql[cut..].chars().count()
        ),
        None => sql.to_string(),
    }
}

/// A failed statement: the server's own message (without its source-file position), or a lost
/// connection when the session ended under it.
pub(crate) fn query_error(sql: &str, e: sqlx::Error) -> SourceError {
    let sql = shown_sql(sql);
    match &e {
        sqlx::Error::Database(d) => {
            let code = d.code().unwrap_or_default();
            // PostgreSQL 57P01-57P03: terminated by an administrator, a crash, or a shutdown;
            // MySQL/MariaDB 1317, 1927, 2013: query interrupted, connection killed or lost.
            let lost = ["57P01", "57P02", "57P03", "1317", "1927", "2013", "70100"]
                .contains(&code.as_ref());
            let message = d.message().to_string();
            if lost {
                SourceError::Lost { sql, message }
            } else {
                SourceError::Query { sql, message }
            }
        }
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::Tls(_) => SourceError::Lost {
            sql,
            message: e.to_string(),
        },
        _ => SourceError::Query {
            sql,
            message: e.to_string(),
        },
    }
}

/// Classifies a connection failure into a message with a hint.
pub(crate) fn connect_error(url: &str, e: sqlx::Error) -> SourceError {
    let message = e.to_string();
    let lower = message.to_lowercase();
    let hint = if lower.contains("certificate") || lower.contains("unknownissuer") {
        "the server's TLS certificate was not accepted: point sslrootcert (PostgreSQL) or ssl-ca (MySQL) at the CA that signed it, and use a host name the certificate names (verify-full, VERIFY_IDENTITY)"
    } else if lower.contains("no encryption")
        || lower.contains("secure transport")
        || lower.contains("ssl") && lower.contains("required")
    {
        "the server requires TLS: add ?sslmode=require (PostgreSQL) or ?ssl-mode=REQUIRED (MySQL/MariaDB) to the URL, or verify-full / VERIFY_IDENTITY with the server's CA"
    } else if lower.contains("refused")
        || lower.contains("timed out")
        || lower.contains("resolve")
        || lower.contains("no route")
    {
        "is the server running and reachable at this host and port?"
    } else if lower.contains("password")
        || lower.contains("access denied")
        || lower.contains("authentication")
        || lower.contains("role")
    {
        "check the user name and password (put the URL in an environment variable and use url_env); a server that requires TLS refuses logins without it too (add ?sslmode=require or ?ssl-mode=REQUIRED)"
    } else if lower.contains("does not exist") || lower.contains("unknown database") {
        "check the database name at the end of the URL"
    } else if lower.contains("unable to open") || lower.contains("no such file") {
        "check the SQLite file path (relative paths are taken from the config file's folder)"
    } else {
        "check the URL, the server and the credentials"
    };
    SourceError::Connect {
        url: crate::redact(url),
        message: redact_message(&message, url),
        hint: hint.into(),
    }
}

/// Removes the URL's password from a driver message, in case the driver echoed it.
fn redact_message(message: &str, url: &str) -> String {
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(str::to_string))
    {
        Some(p) if !p.is_empty() => message.replace(&p, "***"),
        _ => message.to_string(),
    }
}
