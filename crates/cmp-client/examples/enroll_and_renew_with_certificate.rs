//! Signature protection with an existing certificate: a certification request (cr) for
//! a new key, then a key update request (kur) that renews the new certificate, signed
//! with it.
//!
//! ```text
//! cargo run -p cmp-client --example enroll_and_renew_with_certificate -- \
//!     [URL] [CERT] [KEY] [TRUSTED] [NEW_KEY_FILE]
//! ```
//!
//! Defaults: `http://127.0.0.1:8080/pkix/`, `client.pem`, `client.key`, `root.pem` (run
//! it in crates/cmp-proto/tests/fixtures/keys against `openssl cmp -port 8080 -srv_cert
//! server.pem -srv_key server.key -srv_trusted root.pem -rsp_cert ee.pem ...`). New
//! keys are generated (P-256) unless NEW_KEY_FILE is given; the mock server always
//! issues ee.pem, so there it must be ee.key.

use cmp_client::checks::Trust;
use cmp_client::transaction::EnrollmentRequest;
use cmp_client::transport::HttpTransport;
use cmp_client::{Client, ClientConfig};
use cmp_proto::builder::CertRequestBuilder;
use cmp_proto::der::DecodePem;
use cmp_proto::protection::{KeyType, Protector, SigningKey};
use cmp_proto::x509_cert::Certificate;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let url = arg(0, "http://127.0.0.1:8080/pkix/");
    let cert = Certificate::from_pem(std::fs::read(arg(1, "client.pem"))?)?;
    let key = SigningKey::from_pem(&std::fs::read_to_string(arg(2, "client.key"))?)?;
    let root = Certificate::from_pem(std::fs::read(arg(3, "root.pem"))?)?;
    let new_key = || -> Result<SigningKey, Box<dyn std::error::Error>> {
        Ok(match args.get(4) {
            Some(file) => SigningKey::from_pem(&std::fs::read_to_string(file)?)?,
            None => SigningKey::generate(KeyType::P256)?,
        })
    };
    // CMP trust: the CA's signed responses must chain to this root. TLS trust (for
    // https://, HttpTransportBuilder::tls_roots_*) is a separate setting, because the
    // TLS server may be a load balancer or RA, not the CA that signs CMP messages.
    let trust = Trust {
        anchors: vec![root],
        ..Trust::default()
    };
    let subject = cert.tbs_certificate().subject().clone();

    // 1. cr, signed with the existing certificate and key. The certificate goes first
    //    in extraCerts (EJBCA requires that) and its subject is the header sender.
    let mut client = signing_client(&url, key, cert, &trust)?;
    let key1 = new_key()?;
    let request = CertRequestBuilder::new(key1.public_key_info()?)
        .subject(subject.clone())
        .sign_pop(&key1)?;
    // The client verifies the CA's signature, that the signer chains to the trust
    // anchors and names the header sender, the nonces, and that the certificate is for
    // key1 before it confirms it (certConf).
    let cert1 = client.enroll(EnrollmentRequest::Cr(request))?.certificate;
    println!(
        "cr:  issued serial {}",
        cert1.tbs_certificate().serial_number()
    );

    // 2. kur: renew cert1 with another new key. RFC 9483 §4.1.3: sign the kur with the
    //    certificate being updated, and name it in the oldCertID control.
    let key2 = new_key()?;
    let request = CertRequestBuilder::new(key2.public_key_info()?)
        .subject(subject)
        .old_cert(&cert1)?
        .sign_pop(&key2)?;
    let mut client = signing_client(&url, key1, cert1, &trust)?;
    let cert2 = client.enroll(EnrollmentRequest::Kur(request))?.certificate;
    println!(
        "kur: issued serial {}",
        cert2.tbs_certificate().serial_number()
    );
    Ok(())
}

/// A client that signs its requests with `key` and `cert`.
fn signing_client(
    url: &str,
    key: SigningKey,
    cert: Certificate,
    trust: &Trust,
) -> Result<Client<HttpTransport>, Box<dyn std::error::Error>> {
    let protector = Protector::Signature {
        key,
        certificate: Box::new(cert),
        chain: vec![],
    };
    let config = ClientConfig::new(protector, trust.clone());
    Ok(Client::new(config, HttpTransport::builder(url).build()?))
}
