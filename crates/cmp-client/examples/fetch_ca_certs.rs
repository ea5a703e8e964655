//! Asks the CA for its CA certificates (genm caCerts, RFC 9480 §2.14) and for the key
//! types it accepts (signKeyPairTypes, RFC 4210 §5.3.19.2).
//!
//! ```text
//! cargo run -p cmp-client --example fetch_ca_certs -- [URL] [REFERENCE] [SECRET]
//! ```
//!
//! Defaults: `http://127.0.0.1:8080/pkix/`, reference `1234`, secret `insta`.

use cmp_client::checks::Trust;
use cmp_client::transport::HttpTransport;
use cmp_client::{Client, ClientConfig};
use cmp_proto::der::EncodePem;
use cmp_proto::der::pem::LineEnding;
use cmp_proto::protection::{MacAlgorithm, Protector, SharedSecret};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8080/pkix/".into());
    let reference = args.next().unwrap_or_else(|| "1234".into());
    let secret = SharedSecret::from(args.next().unwrap_or_else(|| "insta".into()).as_str());

    // A genm is protected like any request. With a CA that signs its answers, put its
    // root (or pinned certificate) in `Trust::anchors` instead of a secret.
    let protector = Protector::Mac {
        secret: secret.clone(),
        reference: Some(reference.into_bytes()),
        algorithm: MacAlgorithm::default(),
    };
    let trust = Trust {
        secret: Some(secret),
        ..Trust::default()
    };
    let transport = HttpTransport::builder(url).build()?;
    let mut client = Client::new(ClientConfig::new(protector, trust), transport);

    // genm → genp. The genp passes the same checks as every response (protection,
    // transactionID, nonces, body type). Certificates from caCerts are what the CA
    // *offers*: they arrived under the protection we checked, but deciding to trust
    // them as anchors is up to you (compare fingerprints out of band).
    let ca_certs = client.ca_certs()?;
    println!("caCerts: {} certificate(s)", ca_certs.len());
    for cert in &ca_certs {
        println!("  {}", cert.tbs_certificate().subject());
        print!("{}", cert.to_pem(LineEnding::LF)?);
    }

    // Each general message is its own transaction. A CA that does not support an info
    // type may answer with an error or with an empty value (reported as empty here).
    let types = client.sign_key_pair_types()?;
    println!("signKeyPairTypes: {} algorithm(s)", types.len());
    for alg in &types {
        println!("  {}", alg.oid);
    }
    Ok(())
}
