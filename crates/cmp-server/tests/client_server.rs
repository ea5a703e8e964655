//! Our client against our responder and test CA, in process: every flow, and a negative
//! test for every request check (each asserting the failInfo the responder answers
//! with, and that the client reports the refusal).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cmp_client::checks::Trust;
use cmp_client::transaction::EnrollmentRequest;
use cmp_client::transport::{Transport, TransportError};
use cmp_client::{Client, ClientConfig, Error as ClientError};
use cmp_proto::builder::{CertRequestBuilder, CrlReason, HeaderBuilder};
use cmp_proto::protection::{
    KeyType, MacAlgorithm, Pbmac1Settings, Protector, SharedSecret, SigningKey,
};
use cmp_proto::{BodyType, Limits, PkiBody, PkiFailureInfo, PkiMessage, ReceivedMessage};
use cmp_server::ca::TestCaConfig;
use cmp_server::{Credentials, Outcome, Responder, TestCa};
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

const REF: &[u8] = b"client-1";
const RA_REF: &[u8] = b"ra-1";
const SECRET: &str = "client-server-secret";

/// Sends each request straight to the responder.
struct InProcess(Arc<Responder<TestCa>>);

impl Transport for InProcess {
    fn send(&mut self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(self.0.handle(request, SystemTime::now()).bytes)
    }
}

struct Setup {
    responder: Arc<Responder<TestCa>>,
    root: Certificate,
    /// A client certificate and key issued by the test CA, for signature protection.
    signer: Option<(Certificate, SigningKey, Vec<Certificate>)>,
}

fn setup_with(config: TestCaConfig, implicit: bool) -> Setup {
    let ca = TestCa::new(config).expect("test CA");
    let root = ca.root().clone();
    let mut rc = ca.responder_config();
    rc.grant_implicit_confirm = implicit;
    rc.credentials = Credentials::default()
        .with_mac(REF.to_vec(), SharedSecret::from(SECRET))
        .with_signer_anchor(root.clone());
    rc.credentials.mac.insert(
        RA_REF.to_vec(),
        cmp_server::MacCredential {
            secret: SharedSecret::from(SECRET),
            may_act_as_ra: true,
        },
    );
    Setup {
        responder: Arc::new(Responder::new(rc, ca)),
        root,
        signer: None,
    }
}

fn setup() -> Setup {
    setup_with(TestCaConfig::default(), false)
}

fn mac_protector(reference: &[u8]) -> Protector {
    Protector::Mac {
        secret: SharedSecret::from(SECRET),
        reference: Some(reference.to_vec()),
        algorithm: MacAlgorithm::default(),
    }
}

fn trust(s: &Setup) -> Trust {
    Trust {
        secret: Some(SharedSecret::from(SECRET)),
        anchors: vec![s.root.clone()],
        ..Trust::default()
    }
}

fn client(s: &Setup, protector: Protector) -> Client<InProcess> {
    Client::new(
        ClientConfig::new(protector, trust(s)),
        InProcess(Arc::clone(&s.responder)),
    )
}

fn ir(key: &SigningKey, subject: &str) -> EnrollmentRequest {
    EnrollmentRequest::Ir(
        CertRequestBuilder::new(key.public_key_info().expect("spki"))
            .subject(subject.parse().expect("dn"))
            .sign_pop(key)
            .expect("pop"),
    )
}

/// Enrolls a certificate with MAC and returns it with its key and chain.
fn enrolled_signer(s: &mut Setup) -> (Certificate, SigningKey, Vec<Certificate>) {
    if let Some(signer) = &s.signer {
        return signer.clone();
    }
    let key = SigningKey::generate(KeyType::P256).expect("key");
    let enrolled = client(s, mac_protector(REF))
        .enroll(ir(&key, "CN=signer.example"))
        .expect("enroll signer");
    let signer = (enrolled.certificate, key, enrolled.extra_certs);
    s.signer = Some(signer.clone());
    signer
}

fn signature_protector(signer: &(Certificate, SigningKey, Vec<Certificate>)) -> Protector {
    Protector::Signature {
        key: signer.1.clone(),
        certificate: Box::new(signer.0.clone()),
        chain: signer.2.clone(),
    }
}

#[test]
fn ir_with_mac_is_issued_for_the_requested_key_and_confirmed() {
    let s = setup();
    let key = SigningKey::generate(KeyType::P256).expect("key");
    let enrolled = client(&s, mac_protector(REF))
        .enroll(ir(&key, "CN=mac.example"))
        .expect("enroll");
    let tbs = enrolled.certificate.tbs_certificate();
    assert_eq!(
        tbs.subject_public_key_info(),
        &key.public_key_info().expect("spki")
    );
    assert_eq!(tbs.subject().to_string(), "CN=mac.example");
    assert!(!enrolled.implicitly_confirmed);
    assert_eq!(s.responder.ca().issued_count(), 1);
    // Confirmed: nothing left open.
    assert_eq!(s.responder.table_sizes().0, 0);
}

#[test]
fn ir_with_pbmac1_is_answered_with_pbmac1() {
    let s = setup();
    let key = SigningKey::generate(KeyType::P256).expect("key");
    let protector = Protector::Mac {
        secret: SharedSecret::from(SECRET),
        reference: Some(REF.to_vec()),
        algorithm: MacAlgorithm::Pbmac1(Pbmac1Settings::default()),
    };
    let enrolled = client(&s, protector)
        .enroll(ir(&key, "CN=pbmac1.example"))
        .expect("enroll");
    assert_eq!(
        enrolled.certificate.tbs_certificate().subject().to_string(),
        "CN=pbmac1.example"
    );
}

#[test]
fn cr_p10cr_and_kur_with_signature_protection() {
    let mut s = setup();
    let signer = enrolled_signer(&mut s);
    let mut signed = client(&s, signature_protector(&signer));

    let key = SigningKey::generate(KeyType::P384).expect("key");
    let cr = EnrollmentRequest::Cr(
        CertRequestBuilder::new(key.public_key_info().expect("spki"))
            .subject("CN=cr.example".parse().expect("dn"))
            .sign_pop(&key)
            .expect("pop"),
    );
    let cert = signed.enroll(cr).expect("cr").certificate;
    assert_eq!(
        cert.tbs_certificate().subject_public_key_info(),
        &key.public_key_info().expect("spki")
    );

    let csr_der = std::fs::read(openssl_peer::keys_dir().join("ee.csr")).ok();
    let csr = csr_der
        .as_deref()
        .and_then(|bytes| {
            let text = std::str::from_utf8(bytes).ok()?;
            let (_, der) = der::pem::decode_vec(text.as_bytes()).ok()?;
            x509_cert::request::CertReq::from_der(&der).ok()
        })
        .expect("ee.csr fixture");
    let from_csr = signed
        .enroll(EnrollmentRequest::P10cr(csr.clone()))
        .expect("p10cr");
    assert_eq!(
        from_csr
            .certificate
            .tbs_certificate()
            .subject_public_key_info(),
        &csr.info.public_key
    );

    let new_key = SigningKey::generate(KeyType::P256).expect("key");
    let kur = EnrollmentRequest::Kur(
        CertRequestBuilder::new(new_key.public_key_info().expect("spki"))
            .subject(signer.0.tbs_certificate().subject().clone())
            .old_cert(&signer.0)
            .expect("old cert")
            .sign_pop(&new_key)
            .expect("pop"),
    );
    let updated = signed.enroll(kur).expect("kur").certificate;
    assert_eq!(
        updated.tbs_certificate().subject(),
        signer.0.tbs_certificate().subject()
    );
    assert_ne!(
        updated.tbs_certificate().serial_number(),
        signer.0.tbs_certificate().serial_number()
    );
}

#[test]
fn implicit_confirmation_is_granted_only_when_configured() {
    for grant in [false, true] {
        let s = setup_with(TestCaConfig::default(), grant);
        let key = SigningKey::generate(KeyType::P256).expect("key");
        let mut config = ClientConfig::new(mac_protector(REF), trust(&s));
        config.implicit_confirm = true;
        let enrolled = Client::new(config, InProcess(Arc::clone(&s.responder)))
            .enroll(ir(&key, "CN=implicit.example"))
            .expect("enroll");
        assert_eq!(enrolled.implicitly_confirmed, grant);
    }
}

#[test]
fn polling_until_the_ca_decides() {
    let s = setup_with(
        TestCaConfig {
            poll_count: 2,
            check_after: Duration::from_secs(1),
            ..TestCaConfig::default()
        },
        false,
    );
    let key = SigningKey::generate(KeyType::P256).expect("key");
    let enrolled = client(&s, mac_protector(REF))
        .enroll(ir(&key, "CN=poll.example"))
        .expect("enroll after polling");
    assert_eq!(
        enrolled.certificate.tbs_certificate().subject().to_string(),
        "CN=poll.example"
    );
    assert_eq!(s.responder.ca().issued_count(), 1);
}

#[test]
fn revocation_reaches_the_crl_and_general_messages_answer() {
    let s = setup();
    let key = SigningKey::generate(KeyType::P256).expect("key");
    let mut c = client(&s, mac_protector(REF));
    let cert = c
        .enroll(ir(&key, "CN=rr.example"))
        .expect("enroll")
        .certificate;
    c.revoke(cert.clone(), Some(CrlReason::KeyCompromise))
        .expect("rr");
    assert!(
        s.responder
            .ca()
            .is_revoked(cert.tbs_certificate().serial_number())
    );

    let status = cmp_proto::CrlStatus {
        source: cmp_proto::CrlSource::Issuer(vec![GeneralName::DirectoryName(
            cert.tbs_certificate().issuer().clone(),
        )]),
        this_update: None,
    };
    let crls = c.crls(&[status]).expect("genm crls");
    let listed = crls.iter().any(|crl| {
        crl.tbs_cert_list
            .revoked_certificates
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|e| &e.serial_number == cert.tbs_certificate().serial_number())
    });
    assert!(listed, "revoked serial on the CRL");
    let ca_certs = c.ca_certs().expect("caCerts");
    assert!(ca_certs.contains(&s.root));
    assert!(
        !c.sign_key_pair_types()
            .expect("signKeyPairTypes")
            .is_empty()
    );

    // Revoking it again is refused with certRevoked.
    let err = c.revoke(cert, None).unwrap_err();
    assert_refused(&err, PkiFailureInfo::CERT_REVOKED);
}

fn assert_refused(err: &ClientError, bit: PkiFailureInfo) {
    let text = err.to_string();
    let name = PkiFailureInfo::NAMED
        .iter()
        .find(|(b, _)| *b == bit)
        .map(|(_, n)| *n)
        .expect("named bit");
    assert!(text.contains(name), "expected {name} in: {text}");
}

/// Sends `message` and returns the refusal's failInfo.
fn refusal(s: &Setup, message: &PkiMessage) -> (PkiFailureInfo, cmp_server::Error) {
    let response = s
        .responder
        .handle(&message.to_der().expect("encode"), SystemTime::now());
    let Outcome::Refused(error) = response.outcome else {
        panic!("expected a refusal, got {:?}", response.outcome);
    };
    let answer = ReceivedMessage::decode(&response.bytes, &Limits::default()).expect("decodes");
    let PkiBody::Error(content) = &answer.message.body else {
        panic!("expected an error message");
    };
    (content.pki_status_info.failure_info(), error)
}

fn name(dn: &str) -> GeneralName {
    GeneralName::DirectoryName(dn.parse::<Name>().expect("dn"))
}

fn ir_message(protector: Option<&Protector>, popo: bool) -> PkiMessage {
    let key = SigningKey::generate(KeyType::P256).expect("key");
    let builder = CertRequestBuilder::new(key.public_key_info().expect("spki"))
        .subject("CN=negative.example".parse().expect("dn"));
    let req = if popo {
        builder.sign_pop(&key).expect("pop")
    } else {
        builder.without_pop()
    };
    HeaderBuilder::new(name("CN=negative.example"), name("CN=CA"))
        .expect("header")
        .build(PkiBody::Ir(vec![req]), protector)
        .expect("build")
}

#[test]
fn rejects_bad_mac() {
    let s = setup();
    let wrong = Protector::Mac {
        secret: SharedSecret::from("not the secret"),
        reference: Some(REF.to_vec()),
        algorithm: MacAlgorithm::default(),
    };
    let (bits, _) = refusal(&s, &ir_message(Some(&wrong), true));
    assert!(bits.contains(PkiFailureInfo::BAD_MESSAGE_CHECK));
    assert_eq!(s.responder.ca().issued_count(), 0);
}

#[test]
fn rejects_unknown_reference() {
    let s = setup();
    let (bits, error) = refusal(&s, &ir_message(Some(&mac_protector(b"nobody")), true));
    assert!(bits.contains(PkiFailureInfo::BAD_MESSAGE_CHECK));
    assert!(
        matches!(error, cmp_server::Error::UnknownReference),
        "{error}"
    );
}

#[test]
fn an_unknown_reference_and_a_wrong_mac_get_the_same_answer() {
    // Finding 9 of issue 16: the answer must not tell which senderKIDs exist.
    let s = setup();
    let answer = |protector: &Protector| {
        let response = s.responder.handle(
            &ir_message(Some(protector), true).to_der().expect("encode"),
            SystemTime::now(),
        );
        let msg = ReceivedMessage::decode(&response.bytes, &Limits::default())
            .expect("decodes")
            .message;
        let PkiBody::Error(content) = msg.body else {
            panic!("expected an error message")
        };
        (
            content.pki_status_info,
            msg.header.protection_alg.map(|a| a.oid),
            msg.extra_certs.map(|c| c.len()),
        )
    };
    let wrong_secret = Protector::Mac {
        secret: SharedSecret::from("not the secret"),
        reference: Some(REF.to_vec()),
        algorithm: MacAlgorithm::default(),
    };
    let unknown = answer(&mac_protector(b"nobody"));
    assert_eq!(unknown, answer(&wrong_secret));
    assert!(
        unknown
            .0
            .failure_info()
            .contains(PkiFailureInfo::BAD_MESSAGE_CHECK)
    );
    assert!(!unknown.0.text().unwrap_or_default().contains("senderKID"));
}

#[test]
fn a_revoked_signer_certificate_authenticates_no_request() {
    // Finding 3 of issue 16: cr and ir signed by a certificate revoked for keyCompromise
    // were granted; only kur checked revocation.
    let mut s = setup();
    let signer = enrolled_signer(&mut s);
    client(&s, mac_protector(REF))
        .revoke(signer.0.clone(), Some(CrlReason::KeyCompromise))
        .expect("rr");
    let issued = s.responder.ca().issued_count();
    let mut signed = client(&s, signature_protector(&signer));
    let key = SigningKey::generate(KeyType::P256).expect("key");
    for request in [
        ir(&key, "CN=signer.example"),
        EnrollmentRequest::Cr(
            CertRequestBuilder::new(key.public_key_info().expect("spki"))
                .subject("CN=signer.example".parse().expect("dn"))
                .sign_pop(&key)
                .expect("pop"),
        ),
    ] {
        let err = signed.enroll(request).unwrap_err();
        assert_refused(&err, PkiFailureInfo::CERT_REVOKED);
    }
    assert!(signed.ca_certs().is_err(), "nor a genm");
    assert_eq!(s.responder.ca().issued_count(), issued, "nothing issued");
}

#[test]
fn one_requester_cannot_fill_the_transaction_table() {
    // Finding 7 of issue 16: one MAC client opened 10,000 transactions (ir answered,
    // certConf never sent) and everyone else got systemUnavail for five minutes.
    let ca = TestCa::new(TestCaConfig::default()).expect("test CA");
    let mut rc = ca.responder_config();
    rc.limits.max_transactions_per_requester = 3;
    rc.credentials = Credentials::default()
        .with_mac(REF.to_vec(), SharedSecret::from(SECRET))
        .with_mac(RA_REF.to_vec(), SharedSecret::from(SECRET));
    let responder = Responder::new(rc, ca);
    let open = |reference: &[u8]| {
        let ir = ir_message(Some(&mac_protector(reference)), true);
        responder.handle(&ir.to_der().expect("encode"), SystemTime::now())
    };
    for _ in 0..3 {
        assert!(matches!(open(REF).outcome, Outcome::Answered(BodyType::Ip)));
    }
    let refused = open(REF);
    assert!(
        matches!(
            refused.outcome,
            Outcome::Refused(cmp_server::Error::RequesterBusy)
        ),
        "{:?}",
        refused.outcome
    );
    let answer = ReceivedMessage::decode(&refused.bytes, &Limits::default()).expect("decodes");
    let PkiBody::Error(content) = &answer.message.body else {
        panic!("expected an error message")
    };
    assert!(
        content
            .pki_status_info
            .failure_info()
            .contains(PkiFailureInfo::SYSTEM_UNAVAIL)
    );
    // Everyone else still gets in.
    assert!(!matches!(open(RA_REF).outcome, Outcome::Refused(_)));
}

#[test]
fn a_mac_credential_revokes_only_what_was_issued_to_it_unless_policy_says_any() {
    // Finding 10 of issue 16: any MAC credential could revoke any certificate.
    let with_policy = |policy| {
        let ca = TestCa::new(TestCaConfig::default()).expect("test CA");
        let mut rc = ca.responder_config();
        rc.revocation = policy;
        rc.credentials = Credentials::default()
            .with_mac(REF.to_vec(), SharedSecret::from(SECRET))
            .with_mac(b"other-account".to_vec(), SharedSecret::from(SECRET))
            .with_signer_anchor(ca.root().clone());
        rc.credentials.mac.insert(
            RA_REF.to_vec(),
            cmp_server::MacCredential {
                secret: SharedSecret::from(SECRET),
                may_act_as_ra: true,
            },
        );
        let root = ca.root().clone();
        Setup {
            responder: Arc::new(Responder::new(rc, ca)),
            root,
            signer: None,
        }
    };
    let enroll = |s: &Setup| {
        let key = SigningKey::generate(KeyType::P256).expect("key");
        client(s, mac_protector(REF))
            .enroll(ir(&key, "CN=owned.example"))
            .expect("enroll")
            .certificate
    };
    let s = with_policy(cmp_server::RevocationPolicy::OwnCertificates);
    let cert = enroll(&s);
    let err = client(&s, mac_protector(b"other-account"))
        .revoke(cert.clone(), None)
        .unwrap_err();
    assert_refused(&err, PkiFailureInfo::NOT_AUTHORIZED);
    assert!(err.to_string().contains("not issued to them"), "{err}");
    client(&s, mac_protector(REF))
        .revoke(cert, None)
        .expect("the owner revokes");
    let cert = enroll(&s);
    client(&s, mac_protector(RA_REF))
        .revoke(cert, None)
        .expect("an RA revokes any");

    // A renewal by kur stays its owner's.
    let mut s = s;
    let signer = enrolled_signer(&mut s);
    let new_key = SigningKey::generate(KeyType::P256).expect("key");
    let renewed = client(&s, signature_protector(&signer))
        .enroll(EnrollmentRequest::Kur(
            CertRequestBuilder::new(new_key.public_key_info().expect("spki"))
                .subject(signer.0.tbs_certificate().subject().clone())
                .old_cert(&signer.0)
                .expect("oldCertID")
                .sign_pop(&new_key)
                .expect("pop"),
        ))
        .expect("kur")
        .certificate;
    client(&s, mac_protector(REF))
        .revoke(renewed, None)
        .expect("the account that enrolled the original revokes its renewal");

    let s = with_policy(cmp_server::RevocationPolicy::MacAccountsRevokeAny);
    let cert = enroll(&s);
    client(&s, mac_protector(b"other-account"))
        .revoke(cert, None)
        .expect("any account, by policy");
}

#[test]
fn rejects_unprotected_request() {
    let s = setup();
    let (bits, error) = refusal(&s, &ir_message(None, true));
    assert!(bits.contains(PkiFailureInfo::BAD_MESSAGE_CHECK));
    assert!(matches!(error, cmp_server::Error::Unprotected), "{error}");
}

#[test]
fn rejects_untrusted_signer() {
    let s = setup();
    // The fixtures' client certificate chains to another root.
    let keys = openssl_peer::keys_dir();
    let cert_pem = std::fs::read_to_string(keys.join("client.pem")).expect("client.pem");
    let cert = Certificate::load_pem_chain(cert_pem.as_bytes()).expect("pem")[0].clone();
    let key = SigningKey::from_pem(&std::fs::read_to_string(keys.join("client.key")).expect("key"))
        .expect("key");
    let protector = Protector::Signature {
        key,
        certificate: Box::new(cert.clone()),
        chain: Vec::new(),
    };
    let mut msg = ir_message(None, true);
    msg = HeaderBuilder::new(
        GeneralName::DirectoryName(cert.tbs_certificate().subject().clone()),
        name("CN=CA"),
    )
    .expect("header")
    .build(msg.body, Some(&protector))
    .expect("build");
    let (bits, error) = refusal(&s, &msg);
    assert!(bits.contains(PkiFailureInfo::SIGNER_NOT_TRUSTED), "{error}");
}

#[test]
fn rejects_replayed_transaction_id() {
    let s = setup();
    let msg = ir_message(Some(&mac_protector(REF)), true);
    let first = s
        .responder
        .handle(&msg.to_der().expect("der"), SystemTime::now());
    assert!(
        matches!(first.outcome, Outcome::Answered(_)),
        "{:?}",
        first.outcome
    );
    let (bits, error) = refusal(&s, &msg);
    assert!(
        bits.contains(PkiFailureInfo::TRANSACTION_ID_IN_USE),
        "{error}"
    );
    assert_eq!(s.responder.ca().issued_count(), 1);
}

#[test]
fn rejects_missing_pop() {
    let s = setup();
    let (bits, error) = refusal(&s, &ir_message(Some(&mac_protector(REF)), false));
    assert!(bits.contains(PkiFailureInfo::BAD_POP), "{error}");
}

#[test]
fn accepts_ra_verified_only_from_an_ra() {
    let s = setup();
    let key = SigningKey::generate(KeyType::P256).expect("key");
    let ra_verified = || {
        CertRequestBuilder::new(key.public_key_info().expect("spki"))
            .subject("CN=ra.example".parse().expect("dn"))
            .ra_verified()
    };
    let build = |reference: &[u8]| {
        HeaderBuilder::new(name("CN=ra"), name("CN=CA"))
            .expect("header")
            .build(
                PkiBody::Ir(vec![ra_verified()]),
                Some(&mac_protector(reference)),
            )
            .expect("build")
    };
    let (bits, error) = refusal(&s, &build(REF));
    assert!(bits.contains(PkiFailureInfo::NOT_AUTHORIZED), "{error}");
    assert!(matches!(error, cmp_server::Error::RaVerifiedNotAllowed));

    let answer = s
        .responder
        .handle(&build(RA_REF).to_der().expect("der"), SystemTime::now());
    assert!(
        matches!(answer.outcome, Outcome::Answered(BodyType::Ip)),
        "{:?}",
        answer.outcome
    );
}

#[test]
fn rejects_oversize_request() {
    let s = setup();
    let mut big = ir_message(Some(&mac_protector(REF)), true)
        .to_der()
        .expect("der");
    big.resize(Limits::default().max_message_size + 1, 0);
    let response = s.responder.handle(&big, SystemTime::now());
    assert!(matches!(
        response.outcome,
        Outcome::Refused(cmp_server::Error::Malformed(_))
    ));
    let answer = ReceivedMessage::decode(&response.bytes, &Limits::default()).expect("decodes");
    assert!(matches!(answer.message.body, PkiBody::Error(_)));
}

#[test]
fn rejects_unsupported_pvno_and_stale_message_time() {
    let s = setup();
    let key = SigningKey::generate(KeyType::P256).expect("key");
    let req = CertRequestBuilder::new(key.public_key_info().expect("spki"))
        .subject("CN=v.example".parse().expect("dn"))
        .sign_pop(&key)
        .expect("pop");
    let msg = HeaderBuilder::new(name("CN=v"), name("CN=CA"))
        .expect("header")
        .pvno(1)
        .build(PkiBody::Ir(vec![req]), Some(&mac_protector(REF)))
        .expect("build");
    let (bits, _) = refusal(&s, &msg);
    assert!(bits.contains(PkiFailureInfo::UNSUPPORTED_VERSION));

    // A request answered an hour later (messageTime an hour old) is a replay.
    let msg = ir_message(Some(&mac_protector(REF)), true);
    let later = SystemTime::now() + Duration::from_secs(3600);
    let response = s.responder.handle(&msg.to_der().expect("der"), later);
    assert!(
        matches!(
            response.outcome,
            Outcome::Refused(cmp_server::Error::BadTime)
        ),
        "{:?}",
        response.outcome
    );
}

#[test]
fn unconfirmed_certificate_is_revoked_when_the_transaction_expires() {
    let s = setup();
    let msg = ir_message(Some(&mac_protector(REF)), true);
    let now = SystemTime::now();
    let response = s.responder.handle(&msg.to_der().expect("der"), now);
    let answer = ReceivedMessage::decode(&response.bytes, &Limits::default()).expect("ip");
    let PkiBody::Ip(rep) = &answer.message.body else {
        panic!("expected ip");
    };
    let cert = match &rep.response[0]
        .certified_key_pair
        .as_ref()
        .expect("cert")
        .cert_or_enc_cert
    {
        cmp_proto::CertOrEncCert::Certificate(c) => c.clone(),
        _ => panic!("plain certificate expected"),
    };
    assert_eq!(s.responder.table_sizes().0, 1);
    s.responder.sweep(now + Duration::from_secs(301));
    assert_eq!(s.responder.table_sizes().0, 0);
    assert!(
        s.responder
            .ca()
            .is_revoked(cert.tbs_certificate().serial_number())
    );
}

#[test]
fn cert_conf_with_wrong_nonce_does_not_end_the_transaction() {
    let s = setup();
    let msg = ir_message(Some(&mac_protector(REF)), true);
    let now = SystemTime::now();
    let response = s.responder.handle(&msg.to_der().expect("der"), now);
    let ip = ReceivedMessage::decode(&response.bytes, &Limits::default()).expect("ip");
    let PkiBody::Ip(rep) = &ip.message.body else {
        panic!("expected ip");
    };
    let cert = match &rep.response[0]
        .certified_key_pair
        .as_ref()
        .expect("cert")
        .cert_or_enc_cert
    {
        cmp_proto::CertOrEncCert::Certificate(c) => c.clone(),
        _ => panic!("plain certificate expected"),
    };
    let (status, _) = cmp_proto::builder::cert_status(&cert, 0, None).expect("status");
    let conf = |recip_nonce| {
        HeaderBuilder::continue_from(&msg.header, recip_nonce)
            .expect("header")
            .build(
                PkiBody::CertConf(vec![status.clone()]),
                Some(&mac_protector(REF)),
            )
            .expect("build")
    };
    let wrong = conf(Some(
        der::asn1::OctetString::new(vec![7; 16]).expect("nonce"),
    ));
    let (bits, _) = refusal(&s, &wrong);
    assert!(bits.contains(PkiFailureInfo::BAD_RECIPIENT_NONCE));
    assert_eq!(s.responder.table_sizes().0, 1, "still open");

    let right = conf(ip.message.header.sender_nonce.clone());
    let done = s.responder.handle(&right.to_der().expect("der"), now);
    assert!(
        matches!(done.outcome, Outcome::Answered(BodyType::PkiConf)),
        "{:?}",
        done.outcome
    );
    assert!(
        !s.responder
            .ca()
            .is_revoked(cert.tbs_certificate().serial_number())
    );
}

#[test]
fn root_ca_update_reports_no_update_and_cert_req_template_answers() {
    let s = setup();
    let mut c = client(&s, mac_protector(REF));
    assert_eq!(c.root_ca_update(&s.root).expect("rootCaKeyUpdate"), None);
    assert!(c.cert_req_template().expect("certReqTemplate").is_some());
}

#[test]
fn rejects_request_without_message_time() {
    let s = setup();
    let mut msg = ir_message(None, true);
    msg.header.message_time = None;
    let (bits, error) = refusal(&s, &msg);
    assert!(bits.contains(PkiFailureInfo::MISSING_TIME_STAMP), "{error}");
}

/// EJBCA bug ejbca-ce #445: the answer's sender has the RDNs of the signer's subject in
/// reverse order. With a two-RDN name the client refuses it by default and accepts it
/// only with `tolerate_reversed_rdns`.
#[test]
fn reversed_rdn_sender_needs_the_switch() {
    let ca = TestCa::new(TestCaConfig::default()).expect("CA");
    let root = ca.root().clone();
    let subject = ca.server_name();
    let rdns: Vec<String> = subject.to_string().split(',').map(str::to_owned).collect();
    assert!(rdns.len() >= 2, "a multi-RDN name: {subject}");
    let reversed: Name = rdns
        .iter()
        .rev()
        .cloned()
        .collect::<Vec<_>>()
        .join(",")
        .parse()
        .expect("reversed DN");
    assert_ne!(reversed, subject);
    let mut rc = ca.responder_config();
    rc.name = GeneralName::DirectoryName(reversed);
    rc.credentials = rc
        .credentials
        .with_mac(REF.to_vec(), SharedSecret::from(SECRET));
    let mut s = Setup {
        responder: Arc::new(Responder::new(rc, ca)),
        root,
        signer: None,
    };
    // The signer is enrolled with MAC (a MAC answer has no certificate to compare the
    // sender with); then requests are signed, so the answers are signed by the CMP
    // server certificate and their sender is compared with its subject.
    let signer = enrolled_signer(&mut s);
    let key = SigningKey::generate(KeyType::P256).expect("key");
    let err = client(&s, signature_protector(&signer))
        .enroll(ir(&key, "CN=strict.example"))
        .unwrap_err();
    assert!(err.to_string().contains("sender"), "{err}");

    let mut config = ClientConfig::new(signature_protector(&signer), trust(&s));
    config.policy.tolerate_reversed_rdns = true;
    let enrolled = Client::new(config, InProcess(Arc::clone(&s.responder)))
        .enroll(ir(&key, "CN=tolerant.example"))
        .expect("accepted with the switch");
    assert_eq!(
        enrolled.certificate.tbs_certificate().subject().to_string(),
        "CN=tolerant.example"
    );
}

/// Sends each request to the responder and keeps the body type of every answer.
struct Recording {
    responder: Arc<Responder<TestCa>>,
    answers: Arc<std::sync::Mutex<Vec<&'static str>>>,
}

impl Recording {
    fn new(s: &Setup) -> (Self, Arc<std::sync::Mutex<Vec<&'static str>>>) {
        let answers = Arc::default();
        let transport = Self {
            responder: Arc::clone(&s.responder),
            answers: Arc::clone(&answers),
        };
        (transport, answers)
    }
}

impl Transport for Recording {
    fn send(&mut self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let bytes = self.responder.handle(request, SystemTime::now()).bytes;
        let answer = PkiMessage::from_der(&bytes).expect("the responder answers in DER");
        self.answers
            .lock()
            .expect("not poisoned")
            .push(answer.body.body_type().name());
        Ok(bytes)
    }
}

/// The client refuses the ip (here: a sender it does not expect) and tells the CA with an
/// error message (RFC 4210 §5.3.21): the responder ends the transaction at once and
/// revokes the certificate that will never be confirmed, instead of holding it until the
/// transaction times out.
#[test]
fn client_error_message_ends_the_transaction_and_revokes_the_unconfirmed_certificate() {
    let s = setup();
    let mut config = ClientConfig::new(mac_protector(REF), trust(&s));
    config.policy.expected_sender = Some("CN=not the CA".parse().expect("dn"));
    let (transport, answers) = Recording::new(&s);
    let mut c = Client::new(config, transport);
    let key = SigningKey::generate(KeyType::P256).expect("key");
    let err = c.enroll(ir(&key, "CN=refused.example")).unwrap_err();
    assert!(
        matches!(err, ClientError::UnexpectedSender { .. }),
        "expected UnexpectedSender, got {err}"
    );
    assert_eq!(*answers.lock().expect("not poisoned"), ["ip", "pkiConf"]);
    assert_eq!(s.responder.table_sizes().0, 0, "the transaction is over");
    assert_eq!(s.responder.ca().issued_count(), 1);
    let crl = s.responder.ca().crl(SystemTime::now()).expect("crl");
    let revoked = crl.tbs_cert_list.revoked_certificates.unwrap_or_default();
    assert_eq!(revoked.len(), 1, "the unconfirmed certificate is revoked");
}

/// Polling that would outlast the client's deadline ends with an error message to the
/// CA (systemUnavail), which drops the queued request: nothing is issued later.
#[test]
fn client_error_message_at_the_polling_deadline_ends_the_transaction() {
    let s = setup_with(
        TestCaConfig {
            poll_count: 5,
            check_after: Duration::from_secs(10),
            ..TestCaConfig::default()
        },
        false,
    );
    let mut config = ClientConfig::new(mac_protector(REF), trust(&s));
    config.polling.deadline = Duration::from_secs(5);
    let (transport, answers) = Recording::new(&s);
    let mut c = Client::new(config, transport);
    let key = SigningKey::generate(KeyType::P256).expect("key");
    let err = c.enroll(ir(&key, "CN=patient.example")).unwrap_err();
    assert!(
        matches!(err, ClientError::PollingDeadline),
        "expected PollingDeadline, got {err}"
    );
    assert_eq!(
        answers.lock().expect("not poisoned").last(),
        Some(&"pkiConf")
    );
    assert_eq!(s.responder.table_sizes().0, 0, "the transaction is over");
    assert_eq!(s.responder.ca().issued_count(), 0);
}

/// A requester that restarted lost our ip and so our nonce: its error message may come
/// without recipNonce (RFC 4210 §5.3.21), but only the requester that opened the
/// transaction may end it, and a recipNonce it carries must still match.
#[test]
fn error_message_without_recip_nonce_ends_only_the_requesters_own_transaction() {
    let s = setup();
    let ir = ir_message(Some(&mac_protector(REF)), true);
    let first = s
        .responder
        .handle(&ir.to_der().expect("der"), SystemTime::now());
    let answer = ReceivedMessage::decode(&first.bytes, &Limits::default()).expect("ip");
    let PkiBody::Ip(rep) = &answer.message.body else {
        panic!("expected ip");
    };
    let cert = match &rep.response[0]
        .certified_key_pair
        .as_ref()
        .expect("cert")
        .cert_or_enc_cert
    {
        cmp_proto::CertOrEncCert::Certificate(c) => c.clone(),
        _ => panic!("plain certificate expected"),
    };
    let error_message = |protector: &Protector, recip_nonce: Option<&[u8]>| {
        let content = cmp_proto::builder::error_content(
            cmp_proto::PkiStatusInfo::rejection(PkiFailureInfo::SYSTEM_FAILURE, "lost the answer")
                .expect("status"),
            None,
            None,
        )
        .expect("content");
        let mut header = HeaderBuilder::new(name("CN=negative.example"), name("CN=CA"))
            .expect("header")
            .transaction_id(
                ir.header
                    .transaction_id
                    .as_ref()
                    .expect("transactionID")
                    .as_bytes(),
            )
            .expect("tid");
        if let Some(nonce) = recip_nonce {
            header = header.recip_nonce(Some(der::asn1::OctetString::new(nonce).expect("nonce")));
        }
        header
            .build(PkiBody::Error(content), Some(protector))
            .expect("build")
    };
    // Another requester (the RA credential) cannot end it.
    let (_, error) = refusal(&s, &error_message(&mac_protector(RA_REF), None));
    assert!(
        matches!(error, cmp_server::Error::NotTheRequester),
        "{error}"
    );
    // A wrong recipNonce is refused.
    let (bits, error) = refusal(&s, &error_message(&mac_protector(REF), Some(&[7; 16])));
    assert!(
        bits.contains(PkiFailureInfo::BAD_RECIPIENT_NONCE),
        "{error}"
    );
    assert_eq!(s.responder.table_sizes().0, 1, "still open");
    // The requester itself, without recipNonce, ends it; the certificate is withdrawn.
    let ended = s.responder.handle(
        &error_message(&mac_protector(REF), None)
            .to_der()
            .expect("der"),
        SystemTime::now(),
    );
    assert!(
        matches!(ended.outcome, Outcome::Answered(BodyType::PkiConf)),
        "{:?}",
        ended.outcome
    );
    assert_eq!(s.responder.table_sizes().0, 0);
    assert!(
        s.responder
            .ca()
            .is_revoked(cert.tbs_certificate().serial_number())
    );
}
