//! The database URL as a secret: it may hold a password, and a configuration printed with `{:?}`
//! (a startup log, a panic message) must not give it away.

use std::fmt;

/// A PostgreSQL URL whose `Debug` and `Display` show `***` for the password, in the user part
/// (`postgres://user:***@host/db`) or in a `password=` query parameter. [`DatabaseUrl::expose`]
/// is the one way to the real text, for connecting.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn redacted(&self) -> String {
        let Some((scheme, rest)) = self.0.split_once("://") else {
            // Not a URL we can take apart: show nothing of it rather than guess.
            return "***".into();
        };
        let (main, query) = rest.split_once('?').map_or((rest, None), |(m, q)| (m, Some(q)));
        // The last '@' before the query ends the user part, so a stray '@' in a password is covered.
        let main = match main.rsplit_once('@') {
            Some((user_info, host_and_path)) => match user_info.split_once(':') {
                Some((user, _)) => format!("{user}:***@{host_and_path}"),
                None => main.to_owned(),
            },
            None => main.to_owned(),
        };
        let query = query.map(|q| {
            let pairs = q.split('&').map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            });
            format!("?{}", pairs.collect::<Vec<_>>().join("&"))
        });
        format!("{scheme}://{main}{}", query.unwrap_or_default())
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

impl From<&str> for DatabaseUrl {
    fn from(url: &str) -> Self {
        Self(url.to_owned())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({:?})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DbConfig;

    #[test]
    fn a_printed_configuration_never_shows_the_password() {
        let config = DbConfig::new("postgres://u:secret@h/db");
        let debug = format!("{config:?}");
        assert!(!debug.contains("secret"), "{debug}");
        assert!(debug.contains("postgres://u:***@h/db"), "{debug}");
        assert_eq!(config.database_url.to_string(), "postgres://u:***@h/db");
        // Connecting still gets the real URL.
        assert_eq!(config.database_url.expose(), "postgres://u:secret@h/db");
    }

    #[test]
    fn passwords_with_at_signs_or_in_the_query_are_hidden_too() {
        for (url, shown) in [
            ("postgres://u:p@ss@h:5432/db?sslmode=disable", "postgres://u:***@h:5432/db?sslmode=disable"),
            (
                "postgres://h/db?user=u&password=secret&sslmode=require",
                "postgres://h/db?user=u&password=***&sslmode=require",
            ),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("u:secret@h/db", "***"),
        ] {
            assert_eq!(DatabaseUrl::from(url).to_string(), shown);
            assert!(!format!("{:?}", DatabaseUrl::from(url)).contains("secret"));
        }
    }
}
