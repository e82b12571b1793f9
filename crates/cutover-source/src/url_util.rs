//! URLs as they may be shown: with the password hidden.

/// The URL with its password replaced by `***`; anything unparseable is cut to its scheme.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            for (k, _) in u.query_pairs() {
                if k.eq_ignore_ascii_case("password") || k.eq_ignore_ascii_case("sslpassword") {
                    u.set_query(Some("password=***"));
                    break;
                }
            }
            u.to_string()
        }
        Err(_) => match url.split_once(':') {
            Some((scheme, _)) => format!("{scheme}:…"),
            None => "<not a URL>".to_string(),
        },
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
    }
}
