//! Enrolls a new certificate with an initialization request (ir) protected by a shared
//! secret (MAC), prints it and writes key and certificate to a directory.
//!
//! ```text
//! cargo run -p cmp-client --example enroll_with_secret -- \
//!     [URL] [REFERENCE] [SECRET] [OUT_DIR] [KEY_FILE]
//! ```
//!
//! Defaults: `http://127.0.0.1:8080/pkix/`, reference `1234`, secret `insta`, a fresh
//! directory under the system temp dir, and a freshly generated P-256 key. Give
//! KEY_FILE (PEM) to certify an existing key instead: OpenSSL's mock server always
//! issues the same certificate, so it only works with that certificate's key.

use std::path::PathBuf;

use cmp_client::checks::Trust;
use cmp_client::transaction::EnrollmentRequest;
use cmp_client::transport::HttpTransport;
use cmp_client::{Client, ClientConfig};
use cmp_proto::builder::CertRequestBuilder;
use cmp_proto::der::EncodePem;
use cmp_proto::der::pem::LineEnding;
use cmp_proto::protection::{KeyType, MacAlgorithm, Protector, SharedSecret, SigningKey};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8080/pkix/".into());
    let reference = args.next().unwrap_or_else(|| "1234".into());
    let secret = SharedSecret::from(args.next().unwrap_or_else(|| "insta".into()).as_str());
    let out_dir = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("cmp-enroll-{}", std::process::id())));
    let key = match args.next() {
        Some(file) => SigningKey::from_pem(&std::fs::read_to_string(file)?)?,
        None => SigningKey::generate(KeyType::P256)?,
    };

    // Requests are MAC-protected; the reference in senderKID tells the CA which secret
    // to check with (EJBCA: the RA shared secret, or the end entity's password).
    let protector = Protector::Mac {
        secret: secret.clone(),
        reference: Some(reference.into_bytes()),
        algorithm: MacAlgorithm::default(),
    };
    // CMP trust: what the *responses'* protection is checked against. Here the CA
    // answers with a MAC under the same secret. This is separate from TLS trust (which
    // server we connect to, HttpTransportBuilder::tls_roots_*): an RA or proxy may
    // terminate TLS, while CMP protection is end to end.
    let trust = Trust {
        secret: Some(secret),
        ..Trust::default()
    };
    let transport = HttpTransport::builder(url).build()?;
    let mut client = Client::new(ClientConfig::new(protector, trust), transport);

    // The certificate template: public key and subject, with a proof-of-possession
    // signed by the new key (the CA checks we hold it).
    let request = CertRequestBuilder::new(key.public_key_info()?)
        .subject("CN=CMP End Entity".parse()?)
        .sign_pop(&key)?;

    // ir → ip → certConf → pkiConf (polling if the CA says "waiting"). For every
    // response the client checks protection, transactionID, nonces, sender, body type,
    // certReqId and status, and that the certificate certifies *our* key; if not, it
    // rejects it in certConf and returns an error.
    let enrolled = client.enroll(EnrollmentRequest::Ir(request))?;
    let cert_pem = enrolled.certificate.to_pem(LineEnding::LF)?;
    println!(
        "subject: {}",
        enrolled.certificate.tbs_certificate().subject()
    );
    print!("{cert_pem}");

    std::fs::create_dir_all(&out_dir)?;
    write_private(&out_dir.join("key.pem"), key.to_pkcs8_pem()?.as_bytes())?;
    std::fs::write(out_dir.join("cert.pem"), cert_pem)?;
    println!("key and certificate written to {}", out_dir.display());
    Ok(())
}

/// Writes a private key readable by its owner only (on Unix).
fn write_private(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(data)
}
