//! `cmpv2 revoke`: revocation of a certificate (rr/rp, RFC 9483 §4.2).

use std::ffi::OsString;
use std::path::PathBuf;

use cmp_proto::builder::CrlReason;

use crate::Failure;
use crate::client_options::{
    ArgParser, ClientOptions, client_failure, dn_text, once, print_line, read_cert, serial_hex,
};

/// What `revoke` was asked to do.
#[derive(Debug)]
pub struct Options {
    client: ClientOptions,
    oldcert: PathBuf,
    reason: Option<CrlReason>,
}

/// The CRLReason of RFC 5280 §5.3.1 for `code`; -1 for none. 7 is not used.
fn crl_reason(code: i32) -> Result<Option<CrlReason>, Failure> {
    Ok(Some(match code {
        -1 => return Ok(None),
        0 => CrlReason::Unspecified,
        1 => CrlReason::KeyCompromise,
        2 => CrlReason::CaCompromise,
        3 => CrlReason::AffiliationChanged,
        4 => CrlReason::Superseded,
        5 => CrlReason::CessationOfOperation,
        6 => CrlReason::CertificateHold,
        8 => CrlReason::RemoveFromCRL,
        9 => CrlReason::PrivilegeWithdrawn,
        10 => CrlReason::AaCompromise,
        _ => {
            return Err(Failure::usage(format!(
                "--revreason {code}: a CRLReason is 0..10 except 7 (or -1 for none)"
            )));
        }
    }))
}

/// The RFC 5280 name of a reason.
pub(crate) fn reason_name(reason: CrlReason) -> &'static str {
    match reason {
        CrlReason::Unspecified => "unspecified",
        CrlReason::KeyCompromise => "keyCompromise",
        CrlReason::CaCompromise => "cACompromise",
        CrlReason::AffiliationChanged => "affiliationChanged",
        CrlReason::Superseded => "superseded",
        CrlReason::CessationOfOperation => "cessationOfOperation",
        CrlReason::CertificateHold => "certificateHold",
        CrlReason::RemoveFromCRL => "removeFromCRL",
        CrlReason::PrivilegeWithdrawn => "privilegeWithdrawn",
        CrlReason::AaCompromise => "aACompromise",
    }
}

/// Parses the arguments of `revoke`; `None` when help was asked for.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Option<Options>, Failure> {
    let mut p = ArgParser::new("revoke", args);
    let mut client = ClientOptions::default();
    let mut oldcert = None;
    let mut reason = None;
    while let Some(name) = p.next_option()? {
        match name.as_str() {
            "--help" => return Ok(None),
            "--oldcert" => once(&mut oldcert, &name, p.path(&name)?)?,
            "--revreason" => {
                let code: i32 = p.number(&name)?;
                once(&mut reason, &name, crl_reason(code)?)?;
            }
            _ => {
                if !client.accept(&name, &mut p)? {
                    return Err(p.unknown(&name));
                }
            }
        }
    }
    let oldcert = oldcert
        .ok_or_else(|| Failure::usage("missing --oldcert FILE (the certificate to revoke)"))?;
    client.validate(true)?;
    Ok(Some(Options {
        client,
        oldcert,
        // RFC 9483 §4.2 asks for a reasonCode, unspecified when none is known; -1 sends
        // none, for CAs that refuse crlEntryDetails.
        reason: reason.unwrap_or(Some(CrlReason::Unspecified)),
    }))
}

/// Runs `revoke`.
pub fn run(options: Options) -> Result<(), Failure> {
    let old = read_cert(&options.oldcert, "--oldcert")?;
    let mut client = options.client.connect(Some(&old), None)?;
    client
        .revoke(old.clone(), options.reason)
        .map_err(|e| client_failure(&e))?;
    let reason = options
        .reason
        .map(|r| format!(" (reason {})", reason_name(r)))
        .unwrap_or_default();
    let tbs = old.tbs_certificate();
    print_line(format_args!(
        "revoked {} serial {} issued by {}{reason}",
        dn_text(tbs.subject()),
        serial_hex(&old),
        dn_text(tbs.issuer())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_follow_rfc_5280() {
        assert!(matches!(crl_reason(4), Ok(Some(CrlReason::Superseded))));
        assert!(matches!(crl_reason(10), Ok(Some(CrlReason::AaCompromise))));
        assert!(matches!(crl_reason(-1), Ok(None)));
        for bad in [7, 11, -2] {
            assert!(crl_reason(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn revoke_needs_the_certificate() {
        let parse_args = |args: &[&str]| parse(args.iter().map(OsString::from)).map(|_| ());
        assert!(parse_args(&["--server", "ca", "--secret", "pass:x", "--oldcert", "o"]).is_ok());
        assert!(parse_args(&["--server", "ca", "--secret", "pass:x"]).is_err());
        assert!(
            parse_args(&[
                "--server",
                "ca",
                "--oldcert",
                "o",
                "--key",
                "k",
                "--trusted",
                "t"
            ])
            .is_ok()
        );
        assert!(
            parse_args(&[
                "--server",
                "ca",
                "--oldcert",
                "o",
                "--revreason",
                "7",
                "--secret",
                "pass:x"
            ])
            .is_err()
        );
    }
}
