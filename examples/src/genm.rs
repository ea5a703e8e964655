//! `cmpv2 genm`: general messages (genm/genp, RFC 4210 §5.3.19, RFC 9483 §4.3): ask the
//! CA for information and print what it answers.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;

use cmp_proto::der::asn1::{Any, ObjectIdentifier};
use cmp_proto::der::{Decode, Encode, EncodePem, pem::LineEnding};
use cmp_proto::spki::AlgorithmIdentifierOwned;
use cmp_proto::time::TemplateTime;
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::crl::CertificateList;
use cmp_proto::x509_cert::ext::pkix::CrlDistributionPoints;
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::{CertReqTemplateContent, CrlSource, CrlStatus, InfoTypeAndValue, oid};

use crate::Failure;
use crate::client_options::{
    ArgParser, ClientOptions, cert_summary, certs_pem, check_output, client_failure, dn_text, once,
    print_line, read_cert, write_output,
};
use crate::inspect::{extension_names, key_alg, oid_short};

/// The info types that can be asked for by name (case does not matter).
const INFO_TYPES: &[(&str, ObjectIdentifier)] = &[
    ("caCerts", oid::IT_CA_CERTS),
    ("signKeyPairTypes", oid::IT_SIGN_KEY_PAIR_TYPES),
    ("certReqTemplate", oid::IT_CERT_REQ_TEMPLATE),
    ("rootCaCert", oid::IT_ROOT_CA_CERT),
    ("crlStatusList", oid::IT_CRL_STATUS_LIST),
    ("encKeyPairTypes", oid::IT_ENC_KEY_PAIR_TYPES),
    ("preferredSymmAlg", oid::IT_PREFERRED_SYMM_ALG),
    ("caKeyUpdateInfo", oid::IT_CA_KEY_UPDATE_INFO),
    ("currentCRL", oid::IT_CURRENT_CRL),
    ("caProtEncCert", oid::IT_CA_PROT_ENC_CERT),
];

/// `id-regCtrl-algId` (RFC 9483 §4.3.3): the key algorithm a certReqTemplate asks for.
const REG_CTRL_ALG_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.5.1.11");
/// `id-regCtrl-rsaKeyLen` (RFC 9483 §4.3.3): the RSA key length it asks for.
const REG_CTRL_RSA_KEY_LEN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.5.1.12");

/// What `genm` was asked to do.
#[derive(Debug)]
pub struct Options {
    client: ClientOptions,
    info_types: Vec<ObjectIdentifier>,
    oldwithold: Option<PathBuf>,
    crlcert: Option<PathBuf>,
    cacertsout: Option<PathBuf>,
    newwithnew: Option<PathBuf>,
    crlout: Option<PathBuf>,
}

fn parse_info_type(text: &str) -> Result<ObjectIdentifier, Failure> {
    if let Some((_, oid)) = INFO_TYPES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(text))
    {
        return Ok(*oid);
    }
    ObjectIdentifier::new(text).map_err(|_| {
        let names: Vec<&str> = INFO_TYPES.iter().map(|(name, _)| *name).collect();
        Failure::usage(format!(
            "--infotype: {text:?} is not one of {} or a dotted OID",
            names.join(", ")
        ))
    })
}

/// Parses the arguments of `genm`; `None` when help was asked for.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Option<Options>, Failure> {
    let mut p = ArgParser::new("genm", args);
    let mut client = ClientOptions::default();
    let mut info_types = Vec::new();
    let (mut oldwithold, mut crlcert) = (None, None);
    let (mut cacertsout, mut newwithnew, mut crlout) = (None, None, None);
    while let Some(name) = p.next_option()? {
        match name.as_str() {
            "--help" => return Ok(None),
            "--infotype" => {
                let oid = parse_info_type(&p.string(&name)?)?;
                if !info_types.contains(&oid) {
                    info_types.push(oid);
                }
            }
            "--oldwithold" => once(&mut oldwithold, &name, p.path(&name)?)?,
            "--crlcert" => once(&mut crlcert, &name, p.path(&name)?)?,
            "--cacertsout" => once(&mut cacertsout, &name, p.path(&name)?)?,
            "--newwithnew" => once(&mut newwithnew, &name, p.path(&name)?)?,
            "--crlout" => once(&mut crlout, &name, p.path(&name)?)?,
            _ => {
                if !client.accept(&name, &mut p)? {
                    return Err(p.unknown(&name));
                }
            }
        }
    }
    if info_types.is_empty() {
        return Err(Failure::usage(
            "missing --infotype NAME (for example caCerts or signKeyPairTypes)",
        ));
    }
    let needs = |option: &Option<PathBuf>, name: &str, info: ObjectIdentifier, what: &str| {
        if option.is_some() && !info_types.contains(&info) {
            Err(Failure::usage(format!("{name} is for --infotype {what}")))
        } else {
            Ok(())
        }
    };
    needs(
        &oldwithold,
        "--oldwithold",
        oid::IT_ROOT_CA_CERT,
        "rootCaCert",
    )?;
    needs(
        &newwithnew,
        "--newwithnew",
        oid::IT_ROOT_CA_CERT,
        "rootCaCert",
    )?;
    needs(
        &crlcert,
        "--crlcert",
        oid::IT_CRL_STATUS_LIST,
        "crlStatusList",
    )?;
    needs(
        &crlout,
        "--crlout",
        oid::IT_CRL_STATUS_LIST,
        "crlStatusList",
    )?;
    needs(&cacertsout, "--cacertsout", oid::IT_CA_CERTS, "caCerts")?;
    if info_types.contains(&oid::IT_ROOT_CA_CERT) && oldwithold.is_none() {
        return Err(Failure::usage(
            "--infotype rootCaCert needs --oldwithold FILE (the root CA certificate held now)",
        ));
    }
    if info_types.contains(&oid::IT_CRL_STATUS_LIST) && crlcert.is_none() {
        return Err(Failure::usage(
            "--infotype crlStatusList needs --crlcert FILE (a certificate whose CRL is wanted)",
        ));
    }
    client.validate(false)?;
    Ok(Some(Options {
        client,
        info_types,
        oldwithold,
        crlcert,
        cacertsout,
        newwithnew,
        crlout,
    }))
}

/// Which CRL `cert` is on: its first CRL distribution point name, else its issuer
/// (RFC 9483 §4.3.4).
fn crl_status(cert: &Certificate) -> Result<CrlStatus, Failure> {
    let tbs = cert.tbs_certificate();
    let dps = tbs
        .get_extension::<CrlDistributionPoints>()
        .map_err(|e| Failure::input(format!("--crlcert: malformed cRLDistributionPoints: {e}")))?;
    let dpn = dps.and_then(|(_, dps)| dps.0.into_iter().find_map(|dp| dp.distribution_point));
    let source = match dpn {
        Some(dpn) => CrlSource::Dpn(dpn),
        None => CrlSource::Issuer(vec![GeneralName::DirectoryName(tbs.issuer().clone())]),
    };
    Ok(CrlStatus {
        source,
        this_update: None,
    })
}

/// Runs `genm`: one genm/genp exchange per `--infotype`. The RFC 9483 types go through
/// the typed calls of [`cmp_client::Client`] (which validate a new root CA certificate
/// against the old one); others are asked for as they are and printed as they come.
pub fn run(options: Options) -> Result<(), Failure> {
    check_output(options.cacertsout.as_deref(), "--cacertsout")?;
    check_output(options.newwithnew.as_deref(), "--newwithnew")?;
    check_output(options.crlout.as_deref(), "--crlout")?;
    let old_root = match &options.oldwithold {
        Some(path) => Some(read_cert(path, "--oldwithold")?),
        None => None,
    };
    let crl_cert = match &options.crlcert {
        Some(path) => Some(read_cert(path, "--crlcert")?),
        None => None,
    };
    let mut client = options.client.connect(None, None)?;
    let failed = |e: cmp_client::Error| client_failure(&e);

    let mut text = String::new();
    let mut ca_certs: Option<Vec<Certificate>> = None;
    let mut new_root: Option<Certificate> = None;
    let mut crls = Vec::new();
    for info_type in &options.info_types {
        match *info_type {
            oid::IT_CA_CERTS => {
                let certs = client.ca_certs().map_err(failed)?;
                write_certs(&mut text, "caCerts", &certs);
                ca_certs = Some(certs);
            }
            oid::IT_SIGN_KEY_PAIR_TYPES => {
                let algs = client.sign_key_pair_types().map_err(failed)?;
                let _ = writeln!(text, "signKeyPairTypes: {}", algorithms(&algs));
            }
            oid::IT_CERT_REQ_TEMPLATE => match client.cert_req_template().map_err(failed)? {
                Some(content) => write_template(&mut text, &content),
                None => text.push_str("certReqTemplate: none (the CA has no template)\n"),
            },
            oid::IT_ROOT_CA_CERT => {
                let old = old_root
                    .as_ref()
                    .ok_or_else(|| Failure::usage("--infotype rootCaCert needs --oldwithold"))?;
                match client.root_ca_update(old).map_err(failed)? {
                    Some(root) => {
                        let _ = writeln!(
                            text,
                            "rootCaKeyUpdate: new root {} (linked to --oldwithold)",
                            cert_summary(&root)
                        );
                        new_root = Some(root);
                    }
                    None => text
                        .push_str("rootCaKeyUpdate: none (the root CA certificate is current)\n"),
                }
            }
            oid::IT_CRL_STATUS_LIST => {
                let cert = crl_cert
                    .as_ref()
                    .ok_or_else(|| Failure::usage("--infotype crlStatusList needs --crlcert"))?;
                let list = client.crls(&[crl_status(cert)?]).map_err(failed)?;
                write_crls(&mut text, &list);
                crls.extend(list);
            }
            other => {
                let answer = client
                    .general_message(vec![InfoTypeAndValue::request(other)])
                    .map_err(failed)?;
                if answer.is_empty() {
                    let _ = writeln!(text, "{}: the CA sent no information", oid_short(&other));
                }
                for itav in &answer {
                    describe(&mut text, itav);
                }
            }
        }
    }

    if let Some(path) = &options.cacertsout {
        match &ca_certs {
            Some(certs) if !certs.is_empty() => {
                write_output(path, "--cacertsout", &certs_pem(certs)?)?;
                let _ = writeln!(text, "caCerts ({}) → {}", certs.len(), path.display());
            }
            _ => eprintln!(
                "cmpv2: the CA sent no CA certificates; {} not written",
                path.display()
            ),
        }
    }
    if let Some(path) = &options.newwithnew {
        match &new_root {
            Some(cert) => {
                write_output(
                    path,
                    "--newwithnew",
                    &certs_pem(std::slice::from_ref(cert))?,
                )?;
                let _ = writeln!(text, "newWithNew → {}", path.display());
            }
            None => eprintln!(
                "cmpv2: the CA sent no new root CA certificate; {} not written",
                path.display()
            ),
        }
    }
    if let Some(path) = &options.crlout {
        if crls.is_empty() {
            eprintln!("cmpv2: the CA sent no CRL; {} not written", path.display());
        } else {
            let mut pem = String::new();
            for crl in &crls {
                pem.push_str(
                    &crl.to_pem(LineEnding::LF)
                        .map_err(|e| Failure::input(format!("cannot encode a CRL: {e}")))?,
                );
            }
            write_output(path, "--crlout", &pem)?;
            let _ = writeln!(text, "crls ({}) → {}", crls.len(), path.display());
        }
    }
    print_line(text.trim_end())
}

fn write_certs(out: &mut String, name: &str, certs: &[Certificate]) {
    if certs.is_empty() {
        let _ = writeln!(out, "{name}: none");
        return;
    }
    let _ = writeln!(out, "{name}: {} certificate(s)", certs.len());
    for (i, cert) in certs.iter().enumerate() {
        let _ = writeln!(out, "  [{i}] {}", cert_summary(cert));
    }
}

fn write_crls(out: &mut String, list: &[CertificateList]) {
    if list.is_empty() {
        out.push_str("crls: none (the CRL held is current)\n");
        return;
    }
    let _ = writeln!(out, "crls: {} CRL(s)", list.len());
    for (i, crl) in list.iter().enumerate() {
        let tbs = &crl.tbs_cert_list;
        let revoked = tbs.revoked_certificates.as_ref().map_or(0, Vec::len);
        let _ = writeln!(
            out,
            "  [{i}] issuer {} thisUpdate {} ({revoked} revoked)",
            dn_text(&tbs.issuer),
            tbs.this_update
        );
    }
}

fn write_template(out: &mut String, content: &CertReqTemplateContent) {
    let t = &content.cert_template;
    out.push_str("certReqTemplate:\n");
    if let Some(subject) = &t.subject {
        let _ = writeln!(out, "  subject:    {}", dn_text(subject));
    }
    if let Some(key) = &t.public_key {
        let _ = writeln!(out, "  publicKey:  {}", key_alg(key));
    }
    if let Some(validity) = &t.validity {
        let show = |t: &Option<TemplateTime>| {
            t.as_ref()
                .map_or_else(|| "-".to_owned(), ToString::to_string)
        };
        let _ = writeln!(
            out,
            "  validity:   {} .. {}",
            show(&validity.not_before),
            show(&validity.not_after)
        );
    }
    let exts = extension_names(t.extensions.as_ref());
    if !exts.is_empty() {
        let _ = writeln!(out, "  extensions: {}", exts.join(", "));
    }
    for spec in content.key_spec.iter().flatten() {
        let detail = match spec.value_type {
            REG_CTRL_ALG_ID => spec
                .decode_value::<AlgorithmIdentifierOwned>()
                .map(|a| format!("algId {}", algorithms(&[a]))),
            REG_CTRL_RSA_KEY_LEN => spec
                .decode_value::<i64>()
                .map(|bits| format!("rsaKeyLen {bits}")),
            other => Ok(oid_short(&other)),
        };
        let detail = detail.unwrap_or_else(|e| format!("malformed ({e})"));
        let _ = writeln!(out, "  keySpec:    {detail}");
    }
}

/// Decodes an `ANY` as `T`.
fn decode<T: for<'a> Decode<'a, Error = der::Error>>(any: &Any) -> Result<T, der::Error> {
    T::from_der(&any.to_der()?)
}

fn algorithms(algs: &[AlgorithmIdentifierOwned]) -> String {
    if algs.is_empty() {
        return "none".to_owned();
    }
    algs.iter()
        .map(|a| {
            let name = oid_short(&a.oid);
            match a
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
            {
                Some(curve) => format!("{name} {}", oid_short(&curve)),
                None => name,
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Appends a readable description of one genp entry of a type asked for as is.
fn describe(out: &mut String, itav: &InfoTypeAndValue) {
    let name = oid_short(&itav.info_type);
    let Some(value) = &itav.info_value else {
        let _ = writeln!(out, "{name}: none (the CA sent no value)");
        return;
    };
    let algs = match itav.info_type {
        oid::IT_ENC_KEY_PAIR_TYPES | oid::IT_SIGN_KEY_PAIR_TYPES => {
            Some(decode::<Vec<AlgorithmIdentifierOwned>>(value))
        }
        oid::IT_PREFERRED_SYMM_ALG => {
            Some(decode::<AlgorithmIdentifierOwned>(value).map(|a| vec![a]))
        }
        _ => None,
    };
    match algs {
        Some(Ok(algs)) => {
            let _ = writeln!(out, "{name}: {}", algorithms(&algs));
        }
        Some(Err(e)) => {
            let _ = writeln!(out, "{name}: malformed value: {e}");
        }
        None => {
            let _ = writeln!(out, "{name}: value of {} bytes", value.value().len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_types_by_name_or_oid() {
        assert_eq!(parse_info_type("caCerts").expect("name"), oid::IT_CA_CERTS);
        assert_eq!(
            parse_info_type("SIGNKEYPAIRTYPES").expect("any case"),
            oid::IT_SIGN_KEY_PAIR_TYPES
        );
        assert_eq!(
            parse_info_type("1.3.6.1.5.5.7.4.19").expect("dotted"),
            oid::IT_CERT_REQ_TEMPLATE
        );
        assert!(parse_info_type("nonsense").is_err());
    }

    #[test]
    fn entries_are_described_readably() {
        let mut out = String::new();
        let algs = [AlgorithmIdentifierOwned {
            oid: oid::ED25519,
            parameters: None,
        }];
        let itav =
            InfoTypeAndValue::with_value(oid::IT_ENC_KEY_PAIR_TYPES, &algs.to_vec()).expect("itav");
        describe(&mut out, &itav);
        describe(&mut out, &InfoTypeAndValue::request(oid::IT_CURRENT_CRL));
        write_certs(&mut out, "caCerts", &[]);
        assert_eq!(
            out,
            "encKeyPairTypes: Ed25519\ncurrentCRL: none (the CA sent no value)\ncaCerts: none\n"
        );
    }

    #[test]
    fn options_that_belong_to_another_info_type_are_refused() {
        let parse_args = |args: &[&str]| parse(args.iter().map(OsString::from)).map(|_| ());
        let mac = ["--server", "ca", "--secret", "pass:x"];
        let with = |extra: &[&str]| {
            let mut args = mac.to_vec();
            args.extend_from_slice(extra);
            parse_args(&args)
        };
        assert!(with(&["--infotype", "caCerts", "--cacertsout", "c"]).is_ok());
        assert!(with(&[]).is_err(), "no --infotype");
        assert!(with(&["--infotype", "signKeyPairTypes", "--cacertsout", "c"]).is_err());
        assert!(
            with(&["--infotype", "crlStatusList"]).is_err(),
            "no --crlcert"
        );
        assert!(with(&["--infotype", "crlStatusList", "--crlcert", "c"]).is_ok());
        assert!(
            with(&["--infotype", "rootCaCert"]).is_err(),
            "no --oldwithold"
        );
    }
}
