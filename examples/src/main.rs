//! `cmpv2`: a command-line tool over the `cmp-proto` crate.
//!
//! For now it has one subcommand, `inspect`, which decodes a CMP `PKIMessage` (DER or
//! PEM) and prints its contents, optionally checking MAC protection with a shared
//! secret. Arguments are parsed by hand: the interface is small. See [`USAGE`] for the
//! interface and the exit codes.
#![forbid(unsafe_code)]

mod inspect;
mod secret_source;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use secret_source::SecretSource;

/// The usage text, printed by `help` and (on stderr) after a usage error.
const USAGE: &str = "\
cmpv2: tools for CMPv2 messages (RFC 4210, RFC 9480)

Usage:
  cmpv2 inspect FILE [--json] [--secret SRC]
  cmpv2 help | --help | -h
  cmpv2 --version | -V

Commands:
  inspect  Decode one PKIMessage from FILE (DER, or PEM with any label) and print
           its header, body, protection and extraCerts.

Options of inspect:
  --json        Print one JSON object instead of the readable dump.
  --secret SRC  Check the MAC protection (PasswordBasedMac or PBMAC1) with a shared
                secret. SRC is pass:TEXT, env:VAR or file:PATH (the file's first
                line). The secret is never printed.

Exit codes:
  0   success (and, with --secret, the protection verified)
  1   --secret was given and the protection was not verified with it: wrong
      secret, altered message, no protection, or signature protection
  2   FILE or the secret cannot be read, FILE is not a PKIMessage, or the
      output cannot be written
  64  usage error
";

/// Exit code: success.
const EXIT_OK: u8 = 0;
/// Exit code: the protection did not verify with the given secret.
const EXIT_UNVERIFIED: u8 = 1;
/// Exit code: an input cannot be read or decoded.
const EXIT_INPUT: u8 = 2;
/// Exit code: bad command line (BSD `EX_USAGE`).
const EXIT_USAGE: u8 = 64;

/// A failure that ends the program: the message for stderr and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong, one line, without the `cmpv2: ` prefix.
    pub message: String,
    /// The exit code.
    pub code: u8,
}

impl Failure {
    /// A usage error.
    fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: EXIT_USAGE,
        }
    }

    /// An input that cannot be read or decoded.
    pub fn input(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: EXIT_INPUT,
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match run(args) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("cmpv2: {}", failure.message);
            if failure.code == EXIT_USAGE {
                eprintln!();
                eprint!("{USAGE}");
            }
            ExitCode::from(failure.code)
        }
    }
}

fn run(args: Vec<OsString>) -> Result<u8, Failure> {
    let mut args = args.into_iter();
    let Some(command) = args.next() else {
        return Err(Failure::usage("missing command"));
    };
    match command.to_str() {
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            Ok(EXIT_OK)
        }
        Some("--version" | "-V") => {
            println!("cmpv2 {}", env!("CARGO_PKG_VERSION"));
            Ok(EXIT_OK)
        }
        Some("inspect") => match parse_inspect(args)? {
            Some(options) => Ok(match inspect::run(&options)? {
                inspect::Verdict::Done => EXIT_OK,
                inspect::Verdict::Unverified => EXIT_UNVERIFIED,
            }),
            None => {
                print!("{USAGE}");
                Ok(EXIT_OK)
            }
        },
        _ => Err(Failure::usage(format!(
            "unknown command {:?}",
            command.to_string_lossy()
        ))),
    }
}

/// Parses the arguments of `inspect`; `None` when help was asked for.
fn parse_inspect(
    mut args: impl Iterator<Item = OsString>,
) -> Result<Option<inspect::Options>, Failure> {
    let mut file: Option<PathBuf> = None;
    let mut json = false;
    let mut secret: Option<SecretSource> = None;
    let mut options_done = false;

    while let Some(arg) = args.next() {
        if !options_done
            && let Some(text) = arg.to_str()
            && text.starts_with('-')
            && text != "-"
        {
            let (name, inline_value) = match text.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
                _ => (text, None),
            };
            match name {
                "--" => options_done = true,
                "-h" | "--help" => return Ok(None),
                "--json" if inline_value.is_some() => {
                    return Err(Failure::usage("--json takes no value"));
                }
                "--json" => json = true,
                "--secret" => {
                    if secret.is_some() {
                        return Err(Failure::usage("--secret given twice"));
                    }
                    let value = match inline_value {
                        Some(value) => value,
                        None => args
                            .next()
                            .ok_or_else(|| Failure::usage("--secret needs a value (SRC)"))?
                            .into_string()
                            .map_err(|_| Failure::usage("--secret: the value is not UTF-8"))?,
                    };
                    let source = SecretSource::parse(&value)
                        .map_err(|e| Failure::usage(format!("--secret: {e}")))?;
                    secret = Some(source);
                }
                _ => return Err(Failure::usage(format!("inspect: unknown option {name:?}"))),
            }
        } else if file.is_none() {
            file = Some(PathBuf::from(arg));
        } else {
            return Err(Failure::usage("inspect takes exactly one FILE"));
        }
    }
    let file = file.ok_or_else(|| Failure::usage("inspect: missing FILE"))?;
    Ok(Some(inspect::Options { file, json, secret }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<inspect::Options>, Failure> {
        parse_inspect(args.iter().map(OsString::from))
    }

    #[test]
    fn parses_inspect_options_in_any_order() {
        let opts = parse(&["--json", "m.der", "--secret", "env:S"])
            .expect("valid")
            .expect("not help");
        assert_eq!(opts.file, PathBuf::from("m.der"));
        assert!(opts.json);
        assert!(matches!(opts.secret, Some(SecretSource::Env(v)) if v == "S"));

        let opts = parse(&["--secret=pass:x", "--", "-odd.der"])
            .expect("valid")
            .expect("not help");
        assert_eq!(opts.file, PathBuf::from("-odd.der"));
        assert!(!opts.json);
    }

    #[test]
    fn usage_errors_are_exit_64() {
        for args in [
            &[][..],
            &["a", "b"][..],
            &["--bogus", "a"][..],
            &["a", "--secret"][..],
            &["a", "--secret", "hunter2"][..],
            &["a", "--secret", "pass:x", "--secret", "pass:y"][..],
            &["--json=1", "a"][..],
        ] {
            let err = parse(args).map(|_| ()).expect_err("usage error");
            assert_eq!(err.code, EXIT_USAGE, "{args:?}");
            assert!(!err.message.contains("hunter2"));
        }
        assert!(matches!(parse(&["--help"]), Ok(None)));
    }
}
