//! Where log lines go and in which shape: text for a person at a terminal, or JSON lines
//! (`GREENLEDGER_LOG_FORMAT=json`) for a log collector (journald forwarding, Loki, Elasticsearch),
//! one object a line with the request's id, method and route as fields of its span.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

const DEFAULT_FILTER: &str = "greenledger=info,tower_http=info,sqlx=warn";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    /// From `GREENLEDGER_LOG_FORMAT`: unset or `text`, or `json`.
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value.map(str::trim) {
            None | Some("") | Some("text") => Ok(Self::Text),
            Some("json") => Ok(Self::Json),
            Some(other) => Err(format!("GREENLEDGER_LOG_FORMAT is {other:?}; use text or json")),
        }
    }
}

/// The subscriber `main` installs, with `RUST_LOG` (else the default filter) and `writer`; tests
/// pass their own writer to read what would be logged.
pub fn subscriber<W>(format: LogFormat, writer: W) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| DEFAULT_FILTER.into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.finish()),
        // The request span's fields (id, method, route) flattened into each line's `span` member;
        // the list of enclosing spans adds nothing, as requests do not nest.
        LogFormat::Json => Box::new(builder.json().with_current_span(true).with_span_list(false).finish()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_format_is_text_unless_json_is_asked_for() {
        assert_eq!(LogFormat::parse(None), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some("text")), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some("json")), Ok(LogFormat::Json));
        assert!(LogFormat::parse(Some("xml")).unwrap_err().contains("text or json"));
    }
}
