//! `cmpv2 update`: key update (kur) of a certificate, by default signed with that
//! certificate and its key (RFC 9483 §4.1.3), confirmed with certConf.

use std::ffi::OsString;
use std::path::PathBuf;

use cmp_client::transaction::EnrollmentRequest;
use cmp_proto::x509_cert::ext::pkix::SubjectAltName;

use crate::Failure;
use crate::client_options::{
    ArgParser, ClientOptions, PendingKey, client_failure, once, read_cert,
};
use crate::enroll::{CertOptions, cert_request, finish, san_extension};

/// What `update` was asked to do.
#[derive(Debug)]
pub struct Options {
    client: ClientOptions,
    cert: CertOptions,
    oldcert: PathBuf,
}

/// Parses the arguments of `update`; `None` when help was asked for.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Option<Options>, Failure> {
    let mut p = ArgParser::new("update", args);
    let mut client = ClientOptions::default();
    let mut cert = CertOptions::default();
    let mut oldcert = None;
    while let Some(name) = p.next_option()? {
        match name.as_str() {
            "--help" => return Ok(None),
            "--oldcert" => once(&mut oldcert, &name, p.path(&name)?)?,
            _ => {
                if !client.accept(&name, &mut p)? && !cert.accept(&name, &mut p)? {
                    return Err(p.unknown(&name));
                }
            }
        }
    }
    let oldcert = oldcert
        .ok_or_else(|| Failure::usage("missing --oldcert FILE (the certificate to update)"))?;
    if client.secret.is_none() && client.key.is_none() {
        return Err(Failure::usage(
            "missing --key FILE (the private key of --oldcert), or --secret for MAC protection",
        ));
    }
    client.validate(true)?;
    cert.validate()?;
    Ok(Some(Options {
        client,
        cert,
        oldcert,
    }))
}

/// Runs `update`.
pub fn run(options: Options) -> Result<(), Failure> {
    let Options {
        client,
        cert,
        oldcert,
    } = options;
    cert.outputs.check()?;
    let old = read_cert(&oldcert, "--oldcert")?;
    let tbs = old.tbs_certificate();
    let subject = cert
        .template
        .subject
        .clone()
        .unwrap_or_else(|| tbs.subject().clone());
    // Ask for the old subjectAltName again unless --san says otherwise.
    let san = match san_extension(&cert.template.sans, &subject) {
        Some(san) => Some(san),
        None => tbs.get_extension::<SubjectAltName>().map_err(|e| {
            Failure::input(format!(
                "--oldcert {}: malformed subjectAltName: {e}",
                oldcert.display()
            ))
        })?,
    };
    let key = cert.new_key.get()?;
    let msg = cert_request(&key, subject, san, cert.template.days, Some(&old))?;
    let pending = match &cert.outputs.keyout {
        Some(path) => Some((PendingKey::write(&key, path)?, path.as_path())),
        None => None,
    };
    let trusted = if cert.outputs.p12_truststore_out.is_some() {
        client.trusted_certs()?
    } else {
        Vec::new()
    };
    let mut client = client.connect(Some(&old), None)?;
    let enrolled = client
        .enroll(EnrollmentRequest::Kur(msg))
        .map_err(|e| client_failure(&e))?;
    finish(
        "updated",
        &enrolled,
        &cert.outputs,
        pending,
        Some(&key),
        &trusted,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Option<Options>, Failure> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn update_needs_the_old_certificate_and_its_key_or_a_secret() {
        let base = [
            "--server",
            "ca",
            "--trusted",
            "t",
            "--certout",
            "c",
            "--newkey",
            "n",
        ];
        let with = |extra: &[&str]| {
            let mut args = base.to_vec();
            args.extend_from_slice(extra);
            parse_args(&args)
        };
        assert!(with(&["--oldcert", "o", "--key", "k"]).is_ok());
        assert!(with(&["--key", "k"]).is_err(), "no --oldcert");
        assert!(with(&["--oldcert", "o"]).is_err(), "no --key");
        assert!(with(&["--oldcert", "o", "--secret", "pass:x"]).is_ok());
        assert!(with(&["--oldcert", "o", "--key", "k", "--csr", "r"]).is_err());
    }
}
