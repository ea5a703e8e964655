//! Log lines on stderr, as JSON (one object per line, for log collectors) or as text.
//! Callers pass only names, outcomes and messages the issuer wrote; no Secret value,
//! key or CMP message ever reaches a log line.

use std::io::Write as _;
use std::sync::OnceLock;
use std::time::SystemTime;

use serde_json::{Map, Value, json};

/// How lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// `2026-11-28T12:00:00Z INFO message key=value ...`
    #[default]
    Text,
    /// `{"time":"...","level":"info","msg":"...","key":"value"}`
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("log format {other:?}: text or json")),
        }
    }
}

/// Severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Something changed.
    Info,
    /// Something failed and will be retried, or needs a person.
    Warn,
    /// The process cannot go on as asked.
    Error,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

static FORMAT: OnceLock<Format> = OnceLock::new();

/// Chooses the format once, at start-up.
pub fn init(format: Format) {
    let _ = FORMAT.set(format);
}

/// One log line as `format` writes it.
pub fn line(
    format: Format,
    now: SystemTime,
    level: Level,
    message: &str,
    fields: &[(&str, &str)],
) -> String {
    let time = crate::status::rfc3339(now);
    match format {
        Format::Json => {
            let mut object = Map::new();
            object.insert("time".into(), json!(time));
            object.insert("level".into(), json!(level.name()));
            object.insert("msg".into(), json!(message));
            for (key, value) in fields {
                object.insert((*key).to_owned(), json!(value));
            }
            Value::Object(object).to_string()
        }
        Format::Text => {
            let mut out = format!("{time} {} {message}", level.name().to_uppercase());
            for (key, value) in fields {
                // Quote values with spaces so a line still splits into key=value pairs.
                if value.contains(char::is_whitespace) || value.is_empty() {
                    out.push_str(&format!(" {key}={value:?}"));
                } else {
                    out.push_str(&format!(" {key}={value}"));
                }
            }
            out.replace(['\n', '\r'], " ")
        }
    }
}

/// Writes one line to stderr.
pub fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
    let format = FORMAT.get().copied().unwrap_or_default();
    let text = line(format, SystemTime::now(), level, message, fields);
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_are_one_object_each() {
        let t = SystemTime::UNIX_EPOCH;
        let text = line(
            Format::Json,
            t,
            Level::Warn,
            "retrying\nnow",
            &[("request", "apps/app")],
        );
        assert!(!text.contains('\n'));
        let value: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(value["level"], "warn");
        assert_eq!(value["msg"], "retrying\nnow");
        assert_eq!(value["request"], "apps/app");
        assert_eq!(value["time"], "1970-01-01T00:00:00Z");
    }

    #[test]
    fn text_lines_quote_values_with_spaces_and_stay_on_one_line() {
        let t = SystemTime::UNIX_EPOCH;
        let text = line(
            Format::Text,
            t,
            Level::Info,
            "issued",
            &[("request", "apps/app"), ("note", "two words")],
        );
        assert_eq!(
            text,
            "1970-01-01T00:00:00Z INFO issued request=apps/app note=\"two words\""
        );
        let text = line(Format::Text, t, Level::Error, "a\nb", &[]);
        assert!(!text.contains('\n'), "{text}");
    }

    #[test]
    fn formats_parse() {
        assert_eq!("json".parse(), Ok(Format::Json));
        assert!("yaml".parse::<Format>().is_err());
    }
}
