//! `cmpv2 probe`: finds out what a CA does, with few messages and without leaving a
//! certificate behind, and says which `cmpv2 enroll` flags and which `CMPv2Issuer`
//! `spec.compatibility` fit it.
//!
//! Every probe is a request whose answer tells one thing:
//!
//! - genm caCerts (RFC 9483 §4.3.1): general messages at all; when they work, a few
//!   more info types and the same genm with pvno 3 (RFC 9480 §2.20).
//! - An ir protected as configured whose signature proof-of-possession is invalid on
//!   purpose (RFC 4211 §4.1): a CA that accepted the protection refuses the POP
//!   (badPOP, RFC 4210 §5.2.3), and its answer shows how it protects refusals.
//! - The same ir with a wrong secret (or unprotected, with signature credentials): how
//!   a request the CA cannot authenticate is answered (unprotected errors?).
//! - With MAC credentials, the invalid-POP ir under each MAC variant (PasswordBasedMac,
//!   RFC 4211 §4.4; PBMAC1, RFC 9481 §6.1.2; several iteration counts): badPOP means the
//!   CA checked the MAC and went on, anything else that it refused the MAC. This is only
//!   believed when a wrong secret is refused for something else than the POP, and a
//!   refusal only when some variant got as far as the POP check.
//! - pvno 3 by the same ir under a protection that got as far as the POP check, when
//!   genm is not there to ask with.
//! - With `--enroll` only: an ir asking for implicitConfirm (RFC 4210 §5.1.1.1) and a
//!   p10cr (RFC 9483 §4.1.4, certReqId -1) through [`cmp_client::Client`], which checks
//!   every answer; whether the CA asked to wait (polling, RFC 9483 §4.4); then an rr for
//!   each certificate enrolled (RFC 9483 §4.2).
//!
//! The probe is a diagnostic. It describes every answer, verified or not, and marks the
//! findings that rest on an answer whose protection could not be verified. It acts on an
//! answer only when the client verified it (what `--enroll` enrolls, and so revokes); a
//! certificate granted despite an invalid POP is only rejected by certConf
//! (RFC 4210 §5.3.18), never used.

mod answer;
mod recorder;
mod report;
mod requests;
mod session;

use std::ffi::OsString;

use crate::Failure;
use crate::client_options::{ArgParser, ClientOptions, dn_text, print_line, serial_hex};

use report::Report;
use session::Probe;

/// What `probe` was asked to do.
#[derive(Debug)]
pub struct Options {
    client: ClientOptions,
    enroll: bool,
    json: bool,
}

/// Parses the arguments of `probe`; `None` when help was asked for.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Option<Options>, Failure> {
    let mut p = ArgParser::new("probe", args);
    let mut client = ClientOptions::default();
    let (mut enroll, mut json) = (false, false);
    while let Some(name) = p.next_option()? {
        match name.as_str() {
            "--help" => return Ok(None),
            "--enroll" => {
                p.flag(&name)?;
                enroll = true;
            }
            "--json" => {
                p.flag(&name)?;
                json = true;
            }
            _ => {
                if !client.accept(&name, &mut p)? {
                    return Err(p.unknown(&name));
                }
            }
        }
    }
    client.validate(false)?;
    Ok(Some(Options {
        client,
        enroll,
        json,
    }))
}

/// Runs the probe and prints the report. Whatever the CA supports, a probe that ran
/// succeeds; it fails when the CA cannot be reached at all (exit code 3), or on unusable
/// inputs.
pub fn run(options: Options) -> Result<(), Failure> {
    let config = options.client.connect(None, None)?.config().clone();
    let transport = options.client.transport()?;
    let mut probe = Probe::new(config, transport)?;
    probe.run(options.enroll)?;
    for issued in &probe.issued {
        if let Err(e) = &issued.revoked {
            eprintln!(
                "cmpv2: warning: {} serial {} was enrolled and NOT revoked: {e}",
                dn_text(issued.certificate.tbs_certificate().subject()),
                serial_hex(&issued.certificate)
            );
        }
    }
    let report = Report::from(&probe);
    if options.json {
        print_line(report.json(&probe))
    } else {
        print_line(report.text(&probe))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Option<Options>, Failure> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn parses_probe_options() {
        let options = parse_args(&[
            "--server", "ca:80", "--secret", "pass:x", "--enroll", "--json",
        ])
        .expect("valid")
        .expect("not help");
        assert!(options.enroll && options.json);
        assert!(matches!(parse_args(&["--help"]), Ok(None)));
        for bad in [
            &["--server", "ca"][..],
            &["--server", "ca", "--secret", "pass:x", "--enroll=1"][..],
            &["--server", "ca", "--secret", "pass:x", "--bogus"][..],
        ] {
            let err = parse_args(bad).map(|_| ()).expect_err("usage error");
            assert_eq!(err.code, crate::EXIT_USAGE, "{bad:?}");
        }
    }
}
