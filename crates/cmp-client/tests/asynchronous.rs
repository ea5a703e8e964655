//! The async client and HTTP transport (`cmp_client::asynchronous`) against OpenSSL's
//! mock server: enrollment, polling, concurrent enrollments sharing one transport,
//! revocation, general messages, the error message that ends a refused transaction,
//! and a transport error; and the typed general messages against a scripted CA that
//! answers with real values.
#![cfg(feature = "tokio")]

mod openssl_mock;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use cmp_client::asynchronous::{AsyncClient, AsyncHttpTransport, AsyncTransport};
use cmp_client::checks::Trust;
use cmp_client::transaction::{Enrollment, EnrollmentRequest};
use cmp_client::transport::{HttpTransport, TransportError};
use cmp_client::{ClientConfig, Error};
use cmp_proto::builder::{CertRequestBuilder, CrlReason, HeaderBuilder};
use cmp_proto::crmf::CertTemplate;
use cmp_proto::der::asn1::BitString;
use cmp_proto::der::{Decode, DecodePem, Encode};
use cmp_proto::protection::{MacAlgorithm, Protector, SharedSecret};
use cmp_proto::spki::AlgorithmIdentifierOwned;
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::certificate::Version;
use cmp_proto::x509_cert::crl::{CertificateList, TbsCertList};
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::x509_cert::name::Name;
use cmp_proto::x509_cert::time::Time;
use cmp_proto::{
    CertReqTemplateContent, InfoTypeAndValue, PkiBody, PkiFailureInfo, PkiMessage,
    RootCaKeyUpdateContent, oid,
};
use openssl_mock::*;

fn mac_config() -> ClientConfig {
    let secret = SharedSecret::from(secret().as_str());
    ClientConfig::new(
        Protector::Mac {
            secret: secret.clone(),
            reference: Some(b"1234".to_vec()),
            algorithm: MacAlgorithm::default(),
        },
        Trust {
            secret: Some(secret),
            ..Trust::default()
        },
    )
}

fn transport(url: &str, max_concurrent: usize) -> AsyncHttpTransport {
    let http = HttpTransport::builder(url).build().expect("transport");
    AsyncHttpTransport::with_max_concurrent_requests(http, max_concurrent)
}

fn client(server: &MockServer) -> AsyncClient<AsyncHttpTransport> {
    AsyncClient::new(mac_config(), transport(&server.url(), 4))
}

fn ir() -> EnrollmentRequest {
    let ee = key("ee.key");
    EnrollmentRequest::Ir(
        CertRequestBuilder::new(ee.public_key_info().expect("spki"))
            .subject(Name::from_str("CN=CMP End Entity").expect("DN"))
            .sign_pop(&ee)
            .expect("POP"),
    )
}

#[tokio::test]
async fn enrolls_with_mac_protection() {
    let server = MockServer::mac(&[]);
    let enrolled = client(&server).enroll(ir()).await.expect("enrolled");
    assert_eq!(enrolled.certificate, cert("ee.pem"));
    assert_eq!(enrolled.ca_pubs, vec![cert("root.pem")]);
    assert!(!enrolled.implicitly_confirmed);
}

#[tokio::test]
async fn drives_an_enrollment_the_caller_started() {
    let server = MockServer::mac(&[]);
    let client = client(&server);
    let (tx, request) =
        Enrollment::start(client.config(), ir(), SystemTime::now()).expect("started");
    let enrolled = client
        .drive_enrollment(tx, request)
        .await
        .expect("enrolled");
    assert_eq!(enrolled.certificate, cert("ee.pem"));
}

#[tokio::test]
async fn polls_until_the_certificate_comes() {
    let server = MockServer::mac(&["-poll_count", "2", "-check_after", "1"]);
    let enrolled = client(&server).enroll(ir()).await.expect("after polling");
    assert_eq!(enrolled.certificate, cert("ee.pem"));
}

/// Eight enrollments in spawned tasks on a multi-threaded runtime, sharing one client
/// and so one transport.
///
/// OpenSSL's mock server holds one transaction at a time: a new ir/cr/genm/rr aborts the
/// one in progress ("Assuming that last transaction ... got aborted"), and it serves one
/// connection at a time, keeping it open until the transaction ends. Overlapping
/// transactions therefore fail against it whatever the client does (unbounded, they time
/// out; with one request at a time, the second ir aborts the first). So the tasks run
/// concurrently but take turns for whole transactions; concurrency of the transport
/// itself is tested against the echo server below.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_enrollments_share_one_transport() {
    let server = MockServer::mac(&[]);
    let client = Arc::new(client(&server));
    let one_transaction_at_a_time = Arc::new(tokio::sync::Mutex::new(()));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let client = Arc::clone(&client);
            let turn = Arc::clone(&one_transaction_at_a_time);
            tokio::spawn(async move {
                let _turn = turn.lock().await;
                client.enroll(ir()).await
            })
        })
        .collect();
    for task in tasks {
        let enrolled = task.await.expect("task").expect("enrolled");
        assert_eq!(enrolled.certificate, cert("ee.pem"));
    }
}

/// An HTTP/1.1 server answering every POST with its own body as
/// `application/pkixcmp`, a thread per connection, recording the most requests it was
/// handling at once. Each answer is held back a little so that requests overlap.
fn echo_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/pkix/", listener.local_addr().expect("addr"));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let most_seen = Arc::clone(&most);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let (in_flight, most) = (Arc::clone(&in_flight), Arc::clone(&most));
            std::thread::spawn(move || echo_connection(stream, &in_flight, &most));
        }
    });
    (url, most_seen)
}

fn echo_connection(stream: TcpStream, in_flight: &AtomicUsize, most: &AtomicUsize) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    loop {
        let mut length = 0;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().expect("content length");
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        most.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(50));
        in_flight.fetch_sub(1, Ordering::SeqCst);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/pkixcmp\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&body).is_err() {
            return;
        }
    }
}

/// 40 requests at once over one transport limited to 4: all answered, correctly, and
/// never more than 4 in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_are_bounded() {
    let (url, most) = echo_server();
    let transport = transport(&url, 4);
    assert_eq!(transport.max_concurrent_requests(), 4);
    let tasks: Vec<_> = (0..40u8)
        .map(|i| {
            let transport = transport.clone();
            tokio::spawn(async move { (i, transport.send(vec![i; 100 + usize::from(i)]).await) })
        })
        .collect();
    for task in tasks {
        let (i, response) = task.await.expect("task");
        assert_eq!(response.expect("echo"), vec![i; 100 + usize::from(i)]);
    }
    let most = most.load(Ordering::SeqCst);
    assert!((1..=4).contains(&most), "{most} requests in flight at once");
}

#[tokio::test]
async fn revokes_and_sends_general_messages() {
    let server = MockServer::mac(&[]);
    let client = client(&server);
    client
        .revoke(cert("ee.pem"), Some(CrlReason::Superseded))
        .await
        .expect("revoked");
    let infos = client
        .general_message(vec![InfoTypeAndValue::request(oid::IT_SIGN_KEY_PAIR_TYPES)])
        .await
        .expect("genp");
    assert_eq!(infos[0].info_type, oid::IT_SIGN_KEY_PAIR_TYPES);
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let client = AsyncClient::new(
        mac_config(),
        transport(&format!("http://127.0.0.1:{port}/pkix/"), 2),
    );
    let err = client.enroll(ir()).await.unwrap_err();
    assert!(
        matches!(err, Error::Transport(TransportError::Unreachable { .. })),
        "{err:?}"
    );
}

/// Passes every request to `inner` and keeps a copy of each request and response.
struct Recording<T> {
    inner: T,
    exchanges: std::sync::Mutex<Vec<(Vec<u8>, Vec<u8>)>>,
}

impl<T: AsyncTransport + Sync> AsyncTransport for Recording<T> {
    async fn send(&self, request: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        let response = self.inner.send(request.clone()).await?;
        self.exchanges
            .lock()
            .expect("lock")
            .push((request, response.clone()));
        Ok(response)
    }
}

#[tokio::test]
async fn refused_ip_is_reported_to_the_ca_before_the_error_is_returned() {
    // The ip is genuine but not from the sender we insist on: the client refuses it while
    // OpenSSL waits for the certConf, and tells it so with an error message.
    let server = MockServer::mac(&[]);
    let mut config = mac_config();
    config.policy.expected_sender = Some(Name::from_str("CN=Another CA").expect("DN"));
    let recording = Recording {
        inner: transport(&server.url(), 2),
        exchanges: Default::default(),
    };
    let client = AsyncClient::new(config, recording);
    let err = client.enroll(ir()).await.unwrap_err();
    assert!(matches!(err, Error::UnexpectedSender { .. }), "{err}");
    let exchanges = client.transport().exchanges.lock().expect("lock");
    assert_eq!(exchanges.len(), 2, "ir, then the error message");
    let (request, response) = &exchanges[1];
    let sent = PkiMessage::from_der(request).expect("error message");
    let PkiBody::Error(content) = &sent.body else {
        panic!("sent {}", sent.body.body_type())
    };
    assert_eq!(
        content.pki_status_info.failure_info(),
        PkiFailureInfo::SIGNER_NOT_TRUSTED
    );
    let answer = PkiMessage::from_der(response).expect("answer");
    assert!(
        matches!(answer.body, PkiBody::PkiConf(_)),
        "OpenSSL answered {:?}",
        answer.body
    );
}

#[tokio::test]
async fn typed_general_messages_against_openssl() {
    // OpenSSL's mock server echoes each info type without a value: "nothing offered".
    let server = MockServer::mac(&[]);
    let client = client(&server);
    assert_eq!(client.ca_certs().await.expect("caCerts"), vec![]);
    // OpenSSL 3.0 predates RFC 9483 §4.3.2: it echoes our one rootCaCert entry instead
    // of answering rootCaKeyUpdate, which is no answer to the question.
    let err = client.root_ca_update(&cert("root.pem")).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::MissingInfo {
                info_type: "rootCaKeyUpdate"
            }
        ),
        "{err}"
    );
    assert_eq!(
        client.cert_req_template().await.expect("certReqTemplate"),
        None
    );
    assert_eq!(
        client
            .sign_key_pair_types()
            .await
            .expect("signKeyPairTypes"),
        vec![]
    );
}

fn root_update_cert(file: &str) -> Certificate {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/root-update")
        .join(file);
    Certificate::from_pem(std::fs::read(path).expect("fixture")).expect("PEM")
}

fn template() -> CertReqTemplateContent {
    CertReqTemplateContent {
        cert_template: CertTemplate {
            subject: Some(Name::from_str("CN=device-1,O=Example").expect("DN")),
            ..CertTemplate::default()
        },
        key_spec: None,
    }
}

fn key_types() -> Vec<AlgorithmIdentifierOwned> {
    [oid::ED25519, oid::RSA_ENCRYPTION]
        .map(|oid| AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        })
        .to_vec()
}

/// A CRL by root.pem's name. The client hands CRLs over undecided (checking them is
/// the caller's job), so the signature bytes are a stand-in.
fn crl() -> CertificateList {
    let alg = AlgorithmIdentifierOwned {
        oid: oid::ED25519,
        parameters: None,
    };
    CertificateList {
        tbs_cert_list: TbsCertList {
            version: Version::V2,
            signature: alg.clone(),
            issuer: cert("root.pem").tbs_certificate().subject().clone(),
            this_update: Time::now().expect("now"),
            next_update: None,
            revoked_certificates: None,
            crl_extensions: None,
        },
        signature_algorithm: alg,
        signature: BitString::from_bytes(&[0x5a; 64]).expect("bits"),
    }
}

/// A CA in the test's process that answers each genm with a MAC-protected genp holding
/// a real value for every info type asked about.
struct GenpCa;

impl GenpCa {
    fn answer(request: &[u8]) -> Vec<u8> {
        let genm = PkiMessage::from_der(request).expect("genm");
        let PkiBody::Genm(asked) = &genm.body else {
            panic!("{}", genm.body.body_type())
        };
        if asked.iter().any(|i| i.info_type == oid::IT_ROOT_CA_CERT) {
            // RFC 9483 §4.3.2: rootCaCert alone, not beside a rootCaKeyUpdate request.
            assert_eq!(asked.len(), 1, "a root CA update genm holds one entry");
        }
        let genp = asked
            .iter()
            .filter_map(|itav| match itav.info_type {
                oid::IT_CA_CERTS => Some(InfoTypeAndValue::ca_certs_value(&[
                    cert("root.pem"),
                    cert("server.pem"),
                ])),
                // Asked with rootCaCert, answered with rootCaKeyUpdate.
                oid::IT_ROOT_CA_CERT => Some(InfoTypeAndValue::root_ca_key_update_value(
                    &RootCaKeyUpdateContent {
                        new_with_new: root_update_cert("new-with-new.pem"),
                        new_with_old: Some(root_update_cert("new-with-old.pem")),
                        old_with_new: Some(root_update_cert("old-with-new.pem")),
                    },
                )),
                oid::IT_CERT_REQ_TEMPLATE => {
                    Some(InfoTypeAndValue::cert_req_template_value(&template()))
                }
                oid::IT_SIGN_KEY_PAIR_TYPES => {
                    Some(InfoTypeAndValue::sign_key_pair_types_value(&key_types()))
                }
                oid::IT_CRL_STATUS_LIST => Some(InfoTypeAndValue::crls_value(&[crl()])),
                _ => None,
            })
            .collect::<Result<Vec<_>, _>>()
            .expect("genp values");
        let ca = GeneralName::DirectoryName(cert("server.pem").tbs_certificate().subject().clone());
        let protector = mac_config().protector;
        HeaderBuilder::reply_to(&genm.header, ca)
            .expect("header")
            .build(PkiBody::Genp(genp), Some(&protector))
            .expect("genp")
            .to_der()
            .expect("DER")
    }
}

impl AsyncTransport for GenpCa {
    async fn send(&self, request: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        Ok(Self::answer(&request))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_general_messages_read_what_the_ca_offers() {
    // In spawned tasks: the futures are Send, so an issuer can run them anywhere.
    let client = Arc::new(AsyncClient::new(mac_config(), GenpCa));
    let ca_certs = tokio::spawn({
        let client = Arc::clone(&client);
        async move { client.ca_certs().await }
    });
    let root_update = tokio::spawn({
        let client = Arc::clone(&client);
        async move { client.root_ca_update(&cert("root.pem")).await }
    });
    assert_eq!(
        ca_certs.await.expect("task").expect("caCerts"),
        vec![cert("root.pem"), cert("server.pem")]
    );
    assert_eq!(
        root_update.await.expect("task").expect("rootCaKeyUpdate"),
        Some(root_update_cert("new-with-new.pem")),
        "validated against root.pem"
    );
    assert_eq!(
        client.cert_req_template().await.expect("certReqTemplate"),
        Some(template())
    );
    assert_eq!(
        client
            .sign_key_pair_types()
            .await
            .expect("signKeyPairTypes"),
        key_types()
    );
    assert_eq!(client.crls(&[]).await.expect("crls"), vec![crl()]);
}

#[tokio::test]
async fn root_ca_update_not_linked_to_our_root_is_refused() {
    let client = AsyncClient::new(mac_config(), GenpCa);
    let err = client
        .root_ca_update(&cert("server.pem"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RootUpdateInvalid { .. }), "{err}");
}
