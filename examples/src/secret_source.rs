//! Where a shared secret comes from: `pass:TEXT`, `env:VAR` or `file:PATH`.
//!
//! The same spellings as OpenSSL's `-secret`/`-passin`. A [`SecretSource`] names the
//! source only; [`SecretSource::load`] reads the secret into a
//! [`SharedSecret`], which wipes itself on drop and never prints its bytes. Neither the
//! source's `Debug`/`Display` nor any error here contains the secret: a `pass:` source
//! shows as `pass:<redacted>`, and a malformed source is not echoed back (it may be a
//! password typed without its prefix).

use core::fmt;
use std::path::PathBuf;

use cmp_proto::protection::SharedSecret;
use zeroize::Zeroizing;

/// A place to read a shared secret from.
#[derive(Clone)]
pub enum SecretSource {
    /// `pass:TEXT`: the secret itself, on the command line (visible to other local users
    /// in the process list; prefer `env:` or `file:`).
    Pass(Zeroizing<String>),
    /// `env:VAR`: the value of an environment variable.
    Env(String),
    /// `file:PATH`: the first line of a file, without its line ending.
    File(PathBuf),
}

/// Why a secret source could not be parsed or read. Never contains the secret.
#[derive(Debug)]
pub enum SecretSourceError {
    /// The text is not `pass:TEXT`, `env:VAR` or `file:PATH` (or names nothing).
    Syntax(&'static str),
    /// The environment variable is not set.
    EnvNotSet(String),
    /// The file cannot be read.
    File(PathBuf, std::io::Error),
    /// The source yields an empty secret.
    Empty(String),
}

impl fmt::Display for SecretSourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax(reason) => write!(
                f,
                "{reason}: a secret source is pass:TEXT, env:VAR or file:PATH"
            ),
            Self::EnvNotSet(var) => write!(f, "environment variable {var} is not set"),
            Self::File(path, err) => {
                write!(f, "cannot read secret file {}: {err}", path.display())
            }
            Self::Empty(source) => write!(f, "the secret from {source} is empty"),
        }
    }
}

impl std::error::Error for SecretSourceError {}

impl SecretSource {
    /// Parses `pass:TEXT`, `env:VAR` or `file:PATH`.
    pub fn parse(spec: &str) -> Result<Self, SecretSourceError> {
        if let Some(text) = spec.strip_prefix("pass:") {
            Ok(Self::Pass(Zeroizing::new(text.to_owned())))
        } else if let Some(var) = spec.strip_prefix("env:") {
            if var.is_empty() || var.contains('=') {
                return Err(SecretSourceError::Syntax(
                    "env: needs the name of an environment variable",
                ));
            }
            Ok(Self::Env(var.to_owned()))
        } else if let Some(path) = spec.strip_prefix("file:") {
            if path.is_empty() {
                return Err(SecretSourceError::Syntax("file: needs a path"));
            }
            Ok(Self::File(PathBuf::from(path)))
        } else {
            Err(SecretSourceError::Syntax("unknown secret source"))
        }
    }

    /// Reads the secret. An empty secret is refused: it is nearly always a mistake (an
    /// empty variable or file), and it would make a MAC that anyone can compute.
    pub fn load(&self) -> Result<SharedSecret, SecretSourceError> {
        let bytes: Vec<u8> = match self {
            Self::Pass(text) => text.as_bytes().to_vec(),
            Self::Env(var) => std::env::var_os(var)
                .ok_or_else(|| SecretSourceError::EnvNotSet(var.clone()))?
                .into_encoded_bytes(),
            Self::File(path) => {
                let content = Zeroizing::new(
                    std::fs::read(path).map_err(|e| SecretSourceError::File(path.clone(), e))?,
                );
                first_line(&content).to_vec()
            }
        };
        let secret = SharedSecret::new(bytes);
        if secret.expose().is_empty() {
            return Err(SecretSourceError::Empty(self.to_string()));
        }
        Ok(secret)
    }
}

/// The bytes before the first `\n`, without a `\r` before it.
fn first_line(content: &[u8]) -> &[u8] {
    let line = match content.iter().position(|&b| b == b'\n') {
        Some(end) => &content[..end],
        None => content,
    };
    line.strip_suffix(b"\r").unwrap_or(line)
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pass(_) => f.write_str("pass:<redacted>"),
            Self::Env(var) => write!(f, "env:{var}"),
            Self::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretSource({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn parses_the_three_sources() {
        assert!(
            matches!(SecretSource::parse("pass:abc"), Ok(SecretSource::Pass(t)) if t.as_str() == "abc")
        );
        assert!(matches!(SecretSource::parse("env:X"), Ok(SecretSource::Env(v)) if v == "X"));
        assert!(
            matches!(SecretSource::parse("file:/a/b"), Ok(SecretSource::File(p)) if p == Path::new("/a/b"))
        );
    }

    #[test]
    fn rejects_other_spellings_without_echoing_them() {
        for spec in ["hunter2", "env:", "file:", "PASS:x", "env:A=B"] {
            let err = SecretSource::parse(spec).expect_err(spec);
            assert!(matches!(err, SecretSourceError::Syntax(_)));
            let text = err.to_string();
            assert!(!text.contains("hunter2"), "{text}");
        }
    }

    #[test]
    fn display_and_debug_redact_pass() {
        let src = SecretSource::parse("pass:hunter2").expect("valid source");
        assert_eq!(src.to_string(), "pass:<redacted>");
        assert!(!format!("{src:?}").contains("hunter2"));
    }

    #[test]
    fn loads_pass_and_refuses_empty() {
        let src = SecretSource::parse("pass:s3cret").expect("valid source");
        assert_eq!(src.load().expect("loads").expose(), b"s3cret");
        let empty = SecretSource::parse("pass:").expect("valid source");
        assert!(matches!(empty.load(), Err(SecretSourceError::Empty(_))));
    }

    #[test]
    fn file_source_takes_the_first_line() {
        assert_eq!(first_line(b"abc\ndef\n"), b"abc");
        assert_eq!(first_line(b"abc\r\n"), b"abc");
        assert_eq!(first_line(b"abc"), b"abc");
        assert_eq!(first_line(b""), b"");

        let path = std::env::temp_dir().join(format!(
            "cmpv2-secret-source-test-{}.txt",
            std::process::id()
        ));
        std::fs::write(&path, b"line one\nline two\n").expect("write temp file");
        let src = SecretSource::File(path.clone());
        let loaded = src.load();
        let _ = std::fs::remove_file(&path);
        assert_eq!(loaded.expect("loads").expose(), b"line one");
    }

    #[test]
    fn missing_env_and_file_are_reported() {
        let src = SecretSource::Env("CMPV2_TEST_SURELY_UNSET_VARIABLE".into());
        assert!(matches!(src.load(), Err(SecretSourceError::EnvNotSet(_))));
        let src = SecretSource::File("/nonexistent/cmpv2/secret".into());
        let err = src.load().expect_err("missing file");
        assert!(err.to_string().contains("/nonexistent/cmpv2/secret"));
        assert!(matches!(err, SecretSourceError::File(..)));
    }
}
