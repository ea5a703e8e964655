//! The issuer's CMP path end to end against the test CA (`cmp-server`) over real HTTP:
//! a CMP client built from an issuer spec, a request signed as an RA (raVerified), the
//! status PEM assembled, "waiting" turned into a requeue, and a restart in the middle of
//! a transaction resumed from the journal instead of enrolling twice.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cmp_client::transaction::{Enrollment, EnrollmentRequest};
use cmp_proto::builder::CertRequestBuilder;
use cmp_proto::protection::{KeyType, SharedSecret, SigningKey};
use cmp_server::http::{HttpOptions, bind, serve};
use cmp_server::{MacCredential, Responder, TestCa, TestCaConfig};
use cmpv2_issuer::api::{
    IssuerSpec, MacKind, Protection, RequestType, SecretKeySelector, SharedSecretProtection,
};
use cmpv2_issuer::ca::{Disposition, IssuerCredentials, ca_client, disposition, issued_pem};
use cmpv2_issuer::signer::{Journal, SignError, Signed, sign};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use zeroize::Zeroizing;

const RA_REF: &str = "issuer-ra";
const SECRET: &str = "issuer-ra-secret";

struct Ca {
    url: String,
    responder: Arc<Responder<TestCa>>,
    _runtime: tokio::runtime::Runtime,
}

/// The test CA behind `cmpv2 serve`'s HTTP transfer, on a free port.
fn start_ca(config: TestCaConfig) -> Ca {
    let ca = TestCa::new(config).expect("CA");
    let mut rc = ca.responder_config();
    rc.credentials.mac.insert(
        RA_REF.as_bytes().to_vec(),
        MacCredential {
            secret: SharedSecret::from(SECRET),
            may_act_as_ra: true,
        },
    );
    let responder = Arc::new(Responder::new(rc, ca));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let (listener, addr): (_, SocketAddr) = runtime
        .block_on(bind(([127, 0, 0, 1], 0).into()))
        .expect("bind");
    runtime.spawn(serve(
        listener,
        Arc::clone(&responder),
        HttpOptions::default(),
        std::future::pending(),
    ));
    Ca {
        url: format!("http://{addr}/.well-known/cmp"),
        responder,
        _runtime: runtime,
    }
}

fn spec(url: &str) -> IssuerSpec {
    IssuerSpec {
        url: url.to_owned(),
        protection: Protection {
            shared_secret: Some(SharedSecretProtection {
                secret_ref: SecretKeySelector {
                    name: "cmp".into(),
                    key: "secret".into(),
                },
                reference: RA_REF.into(),
                mac: MacKind::Pbm,
                iterations: None,
            }),
            signature: None,
        },
        trust_anchors: None,
        tls: None,
        request_type: RequestType::Cr,
        implicit_confirm: false,
        recipient: None,
        expected_sender: None,
        certificate_profile: None,
        compatibility: Default::default(),
        health_check: Default::default(),
        limits: Default::default(),
    }
}

fn credentials(ca: &Ca) -> IssuerCredentials {
    let root = ca.responder.ca().root();
    IssuerCredentials {
        shared_secret: Some(Zeroizing::new(SECRET.as_bytes().to_vec())),
        trust_anchors: Some(
            der::EncodePem::to_pem(root, der::pem::LineEnding::LF)
                .expect("pem")
                .into_bytes(),
        ),
        ..IssuerCredentials::default()
    }
}

/// The checkpoint as the cluster would keep it, and every write made to it.
#[derive(Default)]
struct MemoryJournal {
    current: Option<Vec<u8>>,
    records: Vec<Vec<u8>>,
    clears: usize,
}

impl MemoryJournal {
    fn last(&self) -> Option<&[u8]> {
        self.current.as_deref()
    }
}

#[derive(Debug)]
struct Never;

impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("never")
    }
}

impl std::error::Error for Never {}

impl Journal for MemoryJournal {
    type Error = Never;

    async fn record(&mut self, checkpoint: &[u8]) -> Result<(), Never> {
        self.records.push(checkpoint.to_vec());
        self.current = Some(checkpoint.to_vec());
        Ok(())
    }

    async fn clear(&mut self) -> Result<(), Never> {
        self.clears += 1;
        self.current = None;
        Ok(())
    }
}

/// A CRMF cr for a fresh key with raVerified POP, as the issuer sends for a CSR, and
/// the key's SubjectPublicKeyInfo.
fn cr(subject: &str) -> (EnrollmentRequest, SubjectPublicKeyInfoOwned) {
    let key = SigningKey::generate(KeyType::P256).expect("key");
    let spki = key.public_key_info().expect("spki");
    (cr_for(&spki, subject), spki)
}

/// A CRMF cr for `spki`, as the issuer builds it again from the same CSR.
fn cr_for(spki: &SubjectPublicKeyInfoOwned, subject: &str) -> EnrollmentRequest {
    let msg = CertRequestBuilder::new(spki.clone())
        .subject(subject.parse().expect("dn"))
        .ra_verified();
    EnrollmentRequest::Cr(msg)
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

#[test]
fn a_request_is_issued_and_its_status_pem_carries_chain_and_roots() {
    let ca = start_ca(TestCaConfig::default());
    let client = ca_client(&spec(&ca.url), &credentials(&ca)).expect("client");
    let mut journal = MemoryJournal::default();
    let (request, spki) = cr("CN=app.example");
    let signed =
        block_on(sign(&client, &mut journal, None, &spki, || Ok(request))).expect("issued");
    let Signed::Issued(enrolled) = signed else {
        panic!("expected a certificate, got {signed:?}");
    };
    assert_eq!(
        enrolled
            .certificate
            .tbs_certificate()
            .subject_public_key_info(),
        &spki
    );
    // ir/cr and certConf, each journaled before it went out.
    assert_eq!(journal.records.len(), 2);
    let pem = issued_pem(&enrolled, &client.config().trust.anchors).expect("pem");
    let chain = Certificate::load_pem_chain(pem.chain.as_bytes()).expect("chain");
    assert_eq!(chain.len(), 2, "leaf and the issuing CA");
    assert_eq!(chain[0], enrolled.certificate);
    assert_eq!(&chain[1], ca.responder.ca().issuing());
    let roots = Certificate::load_pem_chain(pem.ca.as_bytes()).expect("ca");
    assert_eq!(roots, vec![ca.responder.ca().root().clone()]);
    assert_eq!(ca.responder.ca().issued_count(), 1);
}

#[test]
fn waiting_requeues_and_a_restarted_issuer_resumes_the_same_transaction() {
    let ca = start_ca(TestCaConfig {
        poll_count: 2,
        check_after: Duration::from_secs(1),
        ..TestCaConfig::default()
    });
    let mut journal = MemoryJournal::default();
    let (request, spki) = cr("CN=patient.example");
    {
        let client = ca_client(&spec(&ca.url), &credentials(&ca)).expect("client");
        let signed =
            block_on(sign(&client, &mut journal, None, &spki, || Ok(request))).expect("waiting");
        assert!(
            matches!(signed, Signed::Waiting(wait) if wait == Duration::from_secs(1)),
            "{signed:?}"
        );
    } // The issuer restarts: its client and runtime are gone; only the journal is left.
    let mut attempts = 0;
    let enrolled = loop {
        attempts += 1;
        assert!(attempts < 10, "the transaction never ended");
        let client = ca_client(&spec(&ca.url), &credentials(&ca)).expect("client");
        let checkpoint = journal.last().map(<[u8]>::to_vec);
        let signed = block_on(sign(
            &client,
            &mut journal,
            checkpoint.as_deref(),
            &spki,
            || panic!("a resumed transaction must not enroll again"),
        ))
        .expect("resumed");
        match signed {
            Signed::Issued(enrolled) => break enrolled,
            Signed::Waiting(wait) => std::thread::sleep(wait),
        }
    };
    assert_eq!(
        enrolled.certificate.tbs_certificate().subject().to_string(),
        "CN=patient.example"
    );
    assert_eq!(
        ca.responder.ca().issued_count(),
        1,
        "one certificate for one request"
    );
}

#[test]
fn a_lost_first_answer_is_abandoned_at_the_ca_before_enrolling_again() {
    let ca = start_ca(TestCaConfig::default());
    let client = ca_client(&spec(&ca.url), &credentials(&ca)).expect("client");
    // The issuer recorded its cr and sent it, then died before the answer arrived.
    let (request, spki) = cr("CN=crashed.example");
    let (transaction, bytes) =
        Enrollment::start(client.config(), request, std::time::SystemTime::now()).expect("start");
    let checkpoint = transaction.checkpoint().to_bytes().expect("checkpoint");
    let lost = ca.responder.handle(&bytes, std::time::SystemTime::now());
    assert!(
        matches!(lost.outcome, cmp_server::Outcome::Answered(_)),
        "{:?}",
        lost.outcome
    );
    assert_eq!(ca.responder.ca().issued_count(), 1);
    let first_serial = {
        let answer = cmp_proto::ReceivedMessage::decode(&lost.bytes, &cmp_proto::Limits::default())
            .expect("ip");
        let cmp_proto::PkiBody::Cp(rep) = &answer.message.body else {
            panic!("expected cp");
        };
        match &rep.response[0]
            .certified_key_pair
            .as_ref()
            .expect("cert")
            .cert_or_enc_cert
        {
            cmp_proto::CertOrEncCert::Certificate(c) => c.tbs_certificate().serial_number().clone(),
            _ => panic!("plain certificate expected"),
        }
    };

    let mut journal = MemoryJournal::default();
    let fresh = cr_for(&spki, "CN=crashed.example");
    let signed = block_on(sign(
        &client,
        &mut journal,
        Some(&checkpoint),
        &spki,
        || Ok(fresh),
    ))
    .expect("issued");
    assert!(matches!(signed, Signed::Issued(_)), "{signed:?}");
    assert_eq!(ca.responder.ca().issued_count(), 2);
    assert!(
        ca.responder.ca().is_revoked(&first_serial),
        "the unconfirmed first certificate is withdrawn: never two valid certificates"
    );
}

#[test]
fn a_lost_answer_with_implicit_confirmation_is_not_enrolled_twice() {
    let ca = start_ca(TestCaConfig::default());
    let mut spec = spec(&ca.url);
    spec.implicit_confirm = true;
    let client = ca_client(&spec, &credentials(&ca)).expect("client");
    let (request, spki) = cr("CN=final.example");
    let (transaction, _bytes) =
        Enrollment::start(client.config(), request, std::time::SystemTime::now()).expect("start");
    let checkpoint = transaction.checkpoint().to_bytes().expect("checkpoint");
    let mut journal = MemoryJournal::default();
    let err = block_on(sign(
        &client,
        &mut journal,
        Some(&checkpoint),
        &spki,
        || panic!("must not enroll again"),
    ))
    .unwrap_err();
    assert!(matches!(err, SignError::MayAlreadyBeIssued), "{err}");
    // The checkpoint stays for a person to look at, rewritten before the CA heard of it.
    assert_eq!(journal.last(), Some(checkpoint.as_slice()));
    assert_eq!(journal.clears, 0);
    assert_eq!(ca.responder.ca().issued_count(), 0);
}

#[test]
fn a_ca_rejection_fails_the_request_for_good() {
    let ca = start_ca(TestCaConfig {
        allowed_keys: vec![cmp_server::ca::AllowedKey::Rsa { min_bits: 2048 }],
        ..TestCaConfig::default()
    });
    let client = ca_client(&spec(&ca.url), &credentials(&ca)).expect("client");
    let mut journal = MemoryJournal::default();
    let (request, spki) = cr("CN=p256-not-allowed.example");
    let err = block_on(sign(&client, &mut journal, None, &spki, || Ok(request))).unwrap_err();
    let SignError::Cmp(cmp) = &err else {
        panic!("expected a CMP error, got {err}");
    };
    assert_eq!(disposition(cmp), Disposition::Permanent, "{cmp}");
    assert!(
        cmp.to_string().contains("badCertTemplate") || cmp.to_string().contains("badAlg"),
        "{cmp}"
    ); // The CA ended the transaction: nothing is left to resume.
    assert_eq!(journal.last(), None);
    assert_eq!(journal.clears, 1);
}

#[test]
fn an_unreachable_ca_is_retried() {
    let client =
        ca_client(&spec("http://127.0.0.1:9/"), &credentials_without_ca()).expect("client");
    let mut journal = MemoryJournal::default();
    let (request, spki) = cr("CN=offline.example");
    let err = block_on(sign(&client, &mut journal, None, &spki, || Ok(request))).unwrap_err();
    let SignError::Cmp(cmp) = &err else {
        panic!("expected a CMP error, got {err}");
    };
    assert_eq!(disposition(cmp), Disposition::Retry, "{cmp}");
    // Journaled before the attempt, then cleared: the connection was refused, so the CA
    // never saw the request and the retry starts afresh.
    assert_eq!((journal.records.len(), journal.clears), (1, 1));
    assert_eq!(journal.last(), None);
}

#[test]
fn an_unreachable_ca_with_implicit_confirmation_is_retried_not_failed() {
    let mut spec = spec("http://127.0.0.1:9/");
    spec.implicit_confirm = true;
    let client = ca_client(&spec, &credentials_without_ca()).expect("client");
    let mut journal = MemoryJournal::default();
    let (request, spki) = cr("CN=offline.example");
    let err = block_on(sign(&client, &mut journal, None, &spki, || Ok(request))).unwrap_err();
    assert!(
        matches!(&err, SignError::Cmp(e) if disposition(e) == Disposition::Retry),
        "{err}"
    );
    // Nothing left to resume, so the next attempt is not taken for a lost answer.
    assert_eq!(journal.last(), None);
    let (again, _) = cr("CN=offline.example");
    let err = block_on(sign(&client, &mut journal, None, &spki, || Ok(again))).unwrap_err();
    assert!(!matches!(err, SignError::MayAlreadyBeIssued), "{err}");
}

#[test]
fn a_checkpoint_for_another_key_is_not_resumed() {
    let ca = start_ca(TestCaConfig::default());
    let client = ca_client(&spec(&ca.url), &credentials(&ca)).expect("client");
    let (request, _spki) = cr("CN=one.example");
    let (transaction, _bytes) =
        Enrollment::start(client.config(), request, std::time::SystemTime::now()).expect("start");
    let checkpoint = transaction.checkpoint().to_bytes().expect("checkpoint");
    let (_, other_key) = cr("CN=other.example");
    let mut journal = MemoryJournal::default();
    let err = block_on(sign(
        &client,
        &mut journal,
        Some(&checkpoint),
        &other_key,
        || panic!("must not enroll"),
    ))
    .unwrap_err();
    assert!(matches!(err, SignError::CheckpointForAnotherKey), "{err}");
    assert!(journal.records.is_empty() && journal.clears == 0);
}

#[test]
fn polling_never_loops_in_process_even_when_check_after_is_zero() {
    let ca = start_ca(TestCaConfig {
        poll_count: 3,
        check_after: Duration::ZERO,
        ..TestCaConfig::default()
    });
    let client = ca_client(&spec(&ca.url), &credentials(&ca)).expect("client");
    let mut journal = MemoryJournal::default();
    let (request, spki) = cr("CN=eager.example");
    let mut signed =
        block_on(sign(&client, &mut journal, None, &spki, || Ok(request))).expect("waiting");
    let mut attempts = 1;
    while let Signed::Waiting(wait) = signed {
        // Each attempt sends at most one pollReq, then asks to be woken up to a second
        // later: never at once.
        assert!(
            !wait.is_zero() && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(attempts < 10, "the transaction never ended");
        std::thread::sleep(wait);
        attempts += 1;
        let before = journal.records.len();
        let checkpoint = journal.last().map(<[u8]>::to_vec);
        signed = block_on(sign(
            &client,
            &mut journal,
            checkpoint.as_deref(),
            &spki,
            || panic!("must not enroll again"),
        ))
        .expect("resumed");
        assert!(
            journal.records.len() - before <= 2,
            "one pollReq per attempt"
        );
    }
    assert!(attempts >= 3, "{attempts} attempts");
    assert_eq!(ca.responder.ca().issued_count(), 1);
}

fn credentials_without_ca() -> IssuerCredentials {
    IssuerCredentials {
        shared_secret: Some(Zeroizing::new(SECRET.as_bytes().to_vec())),
        ..IssuerCredentials::default()
    }
}
