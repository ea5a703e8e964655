//! Revokes a certificate (rr/rp, RFC 9483 §4.2), signing the request with the
//! certificate being revoked and its key.
//!
//! ```text
//! cargo run -p cmp-client --example revoke -- [URL] [CERT] [KEY] [TRUSTED] [REASON]
//! ```
//!
//! Defaults: `http://127.0.0.1:8080/pkix/`, `ee.pem`, `ee.key`, `root.pem` (the
//! fixtures in crates/cmp-proto/tests/fixtures/keys) and reason `superseded`; other
//! reasons: unspecified, keyCompromise, affiliationChanged, cessationOfOperation.

use cmp_client::checks::Trust;
use cmp_client::transport::HttpTransport;
use cmp_client::{Client, ClientConfig};
use cmp_proto::builder::CrlReason;
use cmp_proto::der::DecodePem;
use cmp_proto::protection::{Protector, SigningKey};
use cmp_proto::x509_cert::Certificate;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let url = arg(0, "http://127.0.0.1:8080/pkix/");
    let cert = Certificate::from_pem(std::fs::read(arg(1, "ee.pem"))?)?;
    let key = SigningKey::from_pem(&std::fs::read_to_string(arg(2, "ee.key"))?)?;
    let root = Certificate::from_pem(std::fs::read(arg(3, "root.pem"))?)?;
    let reason = match arg(4, "superseded").as_str() {
        "unspecified" => CrlReason::Unspecified,
        "keyCompromise" => CrlReason::KeyCompromise,
        "affiliationChanged" => CrlReason::AffiliationChanged,
        "superseded" => CrlReason::Superseded,
        "cessationOfOperation" => CrlReason::CessationOfOperation,
        other => return Err(format!("unknown reason {other:?}").into()),
    };

    // Signed with the certificate to revoke: proof that its holder asks. (An RA may
    // instead sign with its own certificate, or a MAC may be used.)
    let protector = Protector::Signature {
        key,
        certificate: Box::new(cert.clone()),
        chain: vec![],
    };
    // CMP trust for the rp's signature, separate from TLS trust.
    let trust = Trust {
        anchors: vec![root],
        ..Trust::default()
    };
    let transport = HttpTransport::builder(url).build()?;
    let mut client = Client::new(ClientConfig::new(protector, trust), transport);

    // rr → rp. The client checks the rp's protection, transactionID and nonces, that it
    // holds exactly one status, and that the status is accepted; a rejection comes
    // back as an error with the CA's failInfo and text. No confirmation follows an rp.
    client.revoke(cert.clone(), Some(reason))?;
    println!(
        "revoked {} serial {} ({reason:?})",
        cert.tbs_certificate().subject(),
        cert.tbs_certificate().serial_number()
    );
    Ok(())
}
