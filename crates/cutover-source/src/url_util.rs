//! URLs as they may be shown (with the password hidden), and where they point.

/// The URL with its password replaced by `***`; anything unparseable is cut to its scheme.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            // Only the secrets are hidden: sslmode, certificate paths and other options stay visible.
            let secret = |k: &str| {
                ["password", "sslpassword", "ssl-password"]
                    .iter()
                    .any(|s| k.eq_ignore_ascii_case(s))
            };
            if u.query_pairs().any(|(k, _)| secret(&k)) {
                let pairs: Vec<(String, String)> = u
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if secret(&k) {
                            "***".into()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                u.query_pairs_mut().clear().extend_pairs(pairs);
            }
            u.to_string()
        }
        Err(_) => match url.split_once(':') {
            Some((scheme, _)) => format!("{scheme}:…"),
            None => "<not a URL>".to_string(),
        },
    }
}

/// True for a URL whose host is this machine or a local socket (or that names no host).
pub fn is_local(url: &str) -> bool {
    match url::Url::parse(url) {
        Ok(u) => matches!(
            u.host_str().unwrap_or(""),
            "" | "localhost" | "127.0.0.1" | "[::1]" | "::1"
        ),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn hides_the_password() {
        assert_eq!(
            redact("postgres://u:s3cret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("mysql://root@h/db"), "mysql://root@h/db");
        assert!(!redact("postgres://h/db?password=s3cret").contains("s3cret"));
        assert!(!redact("not a url with s3cret").contains("s3cret"));
        assert_eq!(
            redact("postgres://u@h/db?sslmode=verify-full&password=s3cret&sslrootcert=/ca.pem"),
            "postgres://u@h/db?sslmode=verify-full&password=***&sslrootcert=%2Fca.pem"
        );
        assert_eq!(
            redact("mysql://u:p@h/db?ssl-mode=REQUIRED"),
            "mysql://u:***@h/db?ssl-mode=REQUIRED"
        );
    }
}
