//! `cmpv2 demo`: the whole life of a certificate against the embedded test CA, in a few
//! readable lines.
//!
//! Starts the test CA and its CMP responder in process on a free loopback port, then
//! with [`cmp_client::Client`] over HTTP: enrolls with a shared secret (ir, certConf),
//! renews by key update signed with the new certificate (kur), fetches the CA
//! certificates (genm caCerts), revokes the renewed certificate (rr) and shows it on the
//! CA's CRL (genm crls). Every file goes to one folder, named at the end.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use cmp_client::checks::Trust;
use cmp_client::transaction::EnrollmentRequest;
use cmp_client::transport::HttpTransport;
use cmp_client::{Client, ClientConfig};
use cmp_proto::builder::{CertRequestBuilder, CrlReason};
use cmp_proto::der::EncodePem;
use cmp_proto::der::pem::LineEnding;
use cmp_proto::protection::{KeyType, MacAlgorithm, Protector, SharedSecret, SigningKey};
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::ext::pkix::SubjectAltName;
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::{CrlSource, CrlStatus};
use cmp_server::ca::TestCaConfig;
use cmp_server::http::{HttpOptions, bind, serve};
use cmp_server::{Responder, TestCa};

use crate::Failure;
use crate::client_options::{ArgParser, cert_summary, certs_pem, private_file, serial_hex};

/// The reference and secret the demo's client and CA share.
const DEMO_REFERENCE: &str = "demo";

/// What `cmpv2 demo` was asked to do.
pub struct Options {
    out: Option<PathBuf>,
}

/// Parses the arguments of `demo`; `None` when help was asked for.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Option<Options>, Failure> {
    let mut p = ArgParser::new("demo", args);
    let mut o = Options { out: None };
    while let Some(name) = p.next_option()? {
        match name.as_str() {
            "--help" => return Ok(None),
            "--out" => o.out = Some(p.path(&name)?),
            _ => return Err(p.unknown(&name)),
        }
    }
    Ok(Some(o))
}

fn fail(step: &str) -> impl Fn(&dyn std::fmt::Display) -> Failure + '_ {
    move |e| Failure::input(format!("{step}: {e}"))
}

/// Runs the demo.
pub fn run(o: Options) -> Result<(), Failure> {
    let out = o.out.unwrap_or_else(|| {
        let stamp = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        std::env::temp_dir().join(format!("cmpv2-demo-{stamp}"))
    });
    std::fs::create_dir_all(&out).map_err(|e| fail("output folder")(&e))?;

    // 1. The test CA, with its state in a folder, and a MAC credential for the client.
    let started = Instant::now();
    let secret_text =
        hex::encode(cmp_proto::builder::random_bytes(16).map_err(|e| fail("secret")(&e))?);
    let ca = TestCa::new(TestCaConfig {
        directory: Some(out.join("ca")),
        ..TestCaConfig::default()
    })
    .map_err(|e| fail("test CA")(&e))?;
    let root = ca.root().clone();
    let mut config = ca.responder_config();
    config.credentials = config.credentials.with_mac(
        DEMO_REFERENCE.as_bytes().to_vec(),
        SharedSecret::from(secret_text.as_str()),
    );
    println!(
        "test CA     {} (root {}), P-256, state in {}",
        ca.issuing().tbs_certificate().subject(),
        root.tbs_certificate().subject(),
        out.join("ca").display()
    );
    let responder = Arc::new(Responder::new(config, ca));

    // 2. Its CMP responder over HTTP on a free loopback port, in the background.
    let (url, _server) = start_server(Arc::clone(&responder))?;
    println!(
        "responder   {url} (ready in {} ms)",
        started.elapsed().as_millis()
    );

    // 3. ir with a shared secret; the answer is checked and confirmed with certConf.
    let trust = Trust {
        secret: Some(SharedSecret::from(secret_text.as_str())),
        anchors: vec![root.clone()],
        ..Trust::default()
    };
    let mac = Protector::Mac {
        secret: SharedSecret::from(secret_text.as_str()),
        reference: Some(DEMO_REFERENCE.as_bytes().to_vec()),
        algorithm: MacAlgorithm::default(),
    };
    let key = SigningKey::generate(KeyType::P256).map_err(|e| fail("key")(&e))?;
    let san = SubjectAltName(vec![GeneralName::DnsName(
        der::asn1::Ia5String::new("demo.example").map_err(|e| fail("SAN")(&e))?,
    )]);
    let request = CertRequestBuilder::new(key.public_key_info().map_err(|e| fail("key")(&e))?)
        .subject(
            "CN=demo.example,O=cmpv2 demo"
                .parse()
                .map_err(|e| fail("subject")(&e))?,
        )
        .extension(false, &san)
        .map_err(|e| fail("SAN")(&e))?
        .sign_pop(&key)
        .map_err(|e| fail("POP")(&e))?;
    let mut client = http_client(mac, &trust, &url)?;
    let t = Instant::now();
    let first = client
        .enroll(EnrollmentRequest::Ir(request))
        .map_err(|e| fail("ir")(&e))?;
    println!(
        "enrolled    ir + certConf with MAC, {} ms: {}",
        t.elapsed().as_millis(),
        cert_summary(&first.certificate)
    );
    write_key(&out.join("key.pem"), &key)?;
    write(&out.join("cert.pem"), &pem(&first.certificate)?)?;

    // 4. kur: a new key, the request signed with the certificate being replaced.
    let new_key = SigningKey::generate(KeyType::P256).map_err(|e| fail("key")(&e))?;
    let signer = Protector::Signature {
        key: key.clone(),
        certificate: Box::new(first.certificate.clone()),
        chain: first.extra_certs.clone(),
    };
    let request = CertRequestBuilder::new(new_key.public_key_info().map_err(|e| fail("key")(&e))?)
        .subject(first.certificate.tbs_certificate().subject().clone())
        .extension(false, &san)
        .map_err(|e| fail("SAN")(&e))?
        .old_cert(&first.certificate)
        .map_err(|e| fail("kur")(&e))?
        .sign_pop(&new_key)
        .map_err(|e| fail("POP")(&e))?;
    let mut signed = http_client(signer, &trust, &url)?;
    let t = Instant::now();
    let renewed = signed
        .enroll(EnrollmentRequest::Kur(request))
        .map_err(|e| fail("kur")(&e))?;
    println!(
        "renewed     kur + certConf signed by the old certificate, {} ms: serial {} -> {}",
        t.elapsed().as_millis(),
        serial_hex(&first.certificate),
        serial_hex(&renewed.certificate)
    );
    write_key(&out.join("renewed-key.pem"), &new_key)?;
    write(&out.join("renewed-cert.pem"), &pem(&renewed.certificate)?)?;

    // 5. genm caCerts.
    let t = Instant::now();
    let ca_certs = client.ca_certs().map_err(|e| fail("genm caCerts")(&e))?;
    println!(
        "CA certs    genm caCerts, {} ms: {} certificates ({})",
        t.elapsed().as_millis(),
        ca_certs.len(),
        ca_certs
            .iter()
            .map(|c| c.tbs_certificate().subject().to_string())
            .collect::<Vec<_>>()
            .join("; ")
    );
    write(&out.join("ca-certs.pem"), &certs_pem(&ca_certs)?)?;

    // 6. rr: revoke the renewed certificate (superseded), with the shared secret.
    let t = Instant::now();
    client
        .revoke(renewed.certificate.clone(), Some(CrlReason::Superseded))
        .map_err(|e| fail("rr")(&e))?;
    println!(
        "revoked     rr with MAC, {} ms: serial {} (superseded)",
        t.elapsed().as_millis(),
        serial_hex(&renewed.certificate)
    );

    // 7. The CA's CRL lists it.
    let t = Instant::now();
    let status = CrlStatus {
        source: CrlSource::Issuer(vec![GeneralName::DirectoryName(
            renewed.certificate.tbs_certificate().issuer().clone(),
        )]),
        this_update: None,
    };
    let crls = client.crls(&[status]).map_err(|e| fail("genm crls")(&e))?;
    let serial = renewed.certificate.tbs_certificate().serial_number();
    let listed = crls.iter().any(|crl| {
        crl.tbs_cert_list
            .revoked_certificates
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|entry| &entry.serial_number == serial)
    });
    println!(
        "CRL         genm crls, {} ms: {} CRL, renewed certificate {}",
        t.elapsed().as_millis(),
        crls.len(),
        if listed { "listed" } else { "NOT listed" }
    );
    let crl_pem = crls
        .iter()
        .map(|c| c.to_pem(LineEnding::LF))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail("CRL")(&e))?
        .concat();
    write(&out.join("crl.pem"), &crl_pem)?;
    if !listed {
        return Err(Failure::input("the revoked certificate is not on the CRL"));
    }
    println!(
        "files       {}: key.pem cert.pem renewed-key.pem renewed-cert.pem ca-certs.pem crl.pem ca/",
        out.display()
    );
    println!("done in {} ms", started.elapsed().as_millis());
    Ok(())
}

type DemoClient = Client<HttpTransport>;

fn http_client(protector: Protector, trust: &Trust, url: &str) -> Result<DemoClient, Failure> {
    let transport = HttpTransport::builder(url)
        .build()
        .map_err(|e| fail("transport")(&e))?;
    Ok(Client::new(
        ClientConfig::new(protector, trust.clone()),
        transport,
    ))
}

/// Starts the HTTP server on a thread of its own; it stops when the process ends.
fn start_server(
    responder: Arc<Responder<TestCa>>,
) -> Result<(String, std::thread::JoinHandle<()>), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| fail("runtime")(&e))?;
    let (listener, local) = runtime
        .block_on(bind(([127, 0, 0, 1], 0).into()))
        .map_err(|e| fail("listen")(&e))?;
    let handle = std::thread::spawn(move || {
        let _ = runtime.block_on(serve(
            listener,
            responder,
            HttpOptions::default(),
            std::future::pending(),
        ));
    });
    // Give the accept loop a moment; connections queue in the backlog anyway.
    std::thread::sleep(Duration::from_millis(1));
    Ok((format!("http://{local}/pkix/"), handle))
}

fn pem(cert: &Certificate) -> Result<String, Failure> {
    cert.to_pem(LineEnding::LF).map_err(|e| fail("PEM")(&e))
}

fn write(path: &Path, contents: &str) -> Result<(), Failure> {
    std::fs::write(path, contents).map_err(|e| Failure::input(format!("{}: {e}", path.display())))
}

fn write_key(path: &Path, key: &SigningKey) -> Result<(), Failure> {
    use std::io::Write as _;
    let pem = key.to_pkcs8_pem().map_err(|e| fail("key")(&e))?;
    // The demo's own folder: a second run replaces its keys.
    let _ = std::fs::remove_file(path);
    private_file(path)
        .and_then(|mut f| f.write_all(pem.as_bytes()))
        .map_err(|e| Failure::input(format!("{}: {e}", path.display())))
}
