//! Body checks: the right body type, one certificate response for our request with a
//! certificate for our key, sane polling, and a revocation answer about our certificate
//! (RFC 4210 §5.3, RFC 9483 §4).

use std::time::Duration;

use cmp_proto::crmf::CertId;
use cmp_proto::spki::SubjectPublicKeyInfoOwned;
use cmp_proto::x509_cert::Certificate;
use cmp_proto::{
    BodyType, CertOrEncCert, CertRepMessage, PkiBody, PkiStatus, PollRepContent, RevRepContent,
};

use crate::error::{Error, Result};

/// The refusal an error body carries, if `body` is one (RFC 4210 §5.3.21).
pub fn refusal(body: &PkiBody) -> Option<Error> {
    match body {
        PkiBody::Error(content) => Some(Error::ErrorMessage {
            content: content.clone(),
        }),
        _ => None,
    }
}

/// The body is one of `expected` (ir→ip, cr/p10cr→cp, kur→kup, rr→rp, genm→genp,
/// certConf→pkiConf, pollReq→pollRep or a certificate response); an error body is
/// reported as the peer's refusal.
pub fn check_body_type(
    body: &PkiBody,
    expected: &[BodyType],
    description: &'static str,
) -> Result<()> {
    if let Some(refused) = refusal(body) {
        return Err(refused);
    }
    let got = body.body_type();
    if expected.contains(&got) {
        Ok(())
    } else {
        Err(Error::UnexpectedBody {
            expected: description,
            got,
        })
    }
}

/// What a certificate response says about our request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertOutcome {
    /// Granted: the certificate, and whether the CA changed what we asked.
    Granted {
        /// The issued certificate.
        certificate: Box<Certificate>,
        /// The status was grantedWithMods.
        with_mods: bool,
    },
    /// Not decided yet: poll (RFC 4210 §5.3.22).
    Waiting,
}

/// Exactly one CertResponse, for our certReqId, mapped to an outcome; a rejection is
/// the peer's refusal with its failInfo and text (RFC 9483 §4.1, cmp-notes check 7).
pub fn check_cert_response(
    rep: &CertRepMessage,
    body: BodyType,
    cert_req_id: i64,
) -> Result<CertOutcome> {
    let [response] = rep.response.as_slice() else {
        return Err(Error::ResponseCount {
            got: rep.response.len(),
        });
    };
    if response.cert_req_id != cert_req_id {
        return Err(Error::CertReqIdMismatch {
            expected: cert_req_id,
            got: response.cert_req_id,
        });
    }
    match response.status.status {
        PkiStatus::Accepted | PkiStatus::GrantedWithMods => {
            let pair = response
                .certified_key_pair
                .as_ref()
                .ok_or(Error::MissingCertificate)?;
            match &pair.cert_or_enc_cert {
                CertOrEncCert::Certificate(cert) => Ok(CertOutcome::Granted {
                    certificate: Box::new(cert.clone()),
                    with_mods: response.status.status == PkiStatus::GrantedWithMods,
                }),
                CertOrEncCert::EncryptedCert(_) => Err(Error::EncryptedCertificate),
            }
        }
        PkiStatus::Waiting => Ok(CertOutcome::Waiting),
        _ => Err(Error::Rejected {
            body,
            status: response.status.clone(),
        }),
    }
}

/// The issued certificate certifies the key we asked for (cmp-notes check 7): else the
/// client must reject it with certConf (failInfo incorrectData).
pub fn check_issued_key(cert: &Certificate, requested: &SubjectPublicKeyInfoOwned) -> Result<()> {
    if cert.tbs_certificate().subject_public_key_info() == requested {
        Ok(())
    } else {
        Err(Error::PublicKeyMismatch)
    }
}

/// One pollRep entry for our request, with a checkAfter in `0..=max` seconds
/// (RFC 4210 §5.3.22; a negative or huge value must not stall or break us).
pub fn check_poll_rep(
    content: &PollRepContent,
    cert_req_id: i64,
    max: Duration,
) -> Result<Duration> {
    let [entry] = content.as_slice() else {
        return Err(Error::PollRepMismatch);
    };
    if entry.cert_req_id != cert_req_id {
        return Err(Error::PollRepMismatch);
    }
    match u64::try_from(entry.check_after) {
        Ok(secs) if secs <= max.as_secs() => Ok(Duration::from_secs(secs)),
        _ => Err(Error::CheckAfterOutOfRange {
            seconds: entry.check_after,
            max: max.as_secs(),
        }),
    }
}

/// One status, about the certificate we asked to revoke; a rejection is the peer's
/// refusal (RFC 4210 §5.3.10, RFC 9483 §4.2, cmp-notes check 10).
pub fn check_rev_rep(rp: &RevRepContent, cert: &Certificate) -> Result<()> {
    let [status] = rp.status.as_slice() else {
        return Err(Error::RevocationResponseMismatch {
            reason: "not exactly one status",
        });
    };
    if let Some(rev_certs) = &rp.rev_certs
        && rev_certs.as_slice() != [CertId::of(cert)]
    {
        return Err(Error::RevocationResponseMismatch {
            reason: "revCerts names another certificate",
        });
    }
    match status.status {
        PkiStatus::Accepted
        | PkiStatus::GrantedWithMods
        | PkiStatus::RevocationWarning
        | PkiStatus::RevocationNotification => Ok(()),
        _ => Err(Error::Rejected {
            body: BodyType::Rp,
            status: status.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::*;
    use cmp_proto::builder::{cert_rep, poll_rep, rev_rep};
    use cmp_proto::{CertResponse, PkiFailureInfo, PkiStatusInfo};

    fn ip() -> CertRepMessage {
        received("mac/ir/ip.der")
            .message
            .body
            .cert_rep()
            .expect("ip")
            .clone()
    }

    #[test]
    fn accepts_openssl_ip_for_our_request() {
        let outcome = check_cert_response(&ip(), BodyType::Ip, 0).expect("granted");
        assert_eq!(
            outcome,
            CertOutcome::Granted {
                certificate: Box::new(cert("ee.pem")),
                with_mods: false
            }
        );
    }

    #[test]
    fn rejects_wrong_body_type() {
        let body = received("mac/genm/genp.der").message.body;
        let err = check_body_type(&body, &[BodyType::Ip], "ip").unwrap_err();
        assert!(
            matches!(
                err,
                Error::UnexpectedBody {
                    got: BodyType::Genp,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn reports_error_body_as_refusal() {
        let body = received("mac/error/error.der").message.body;
        let err = check_body_type(&body, &[BodyType::Ip], "ip").unwrap_err();
        assert!(matches!(err, Error::ErrorMessage { .. }), "{err}");
        assert!(!err.is_forged_or_broken_response());
    }

    #[test]
    fn rejects_wrong_cert_req_id() {
        let err = check_cert_response(&ip(), BodyType::Ip, 1).unwrap_err();
        assert!(
            matches!(
                err,
                Error::CertReqIdMismatch {
                    expected: 1,
                    got: 0
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn rejects_more_or_fewer_than_one_response() {
        let mut two = ip();
        two.response.push(two.response[0].clone());
        assert!(matches!(
            check_cert_response(&two, BodyType::Ip, 0),
            Err(Error::ResponseCount { got: 2 })
        ));
        let mut none = ip();
        none.response.clear();
        assert!(matches!(
            check_cert_response(&none, BodyType::Ip, 0),
            Err(Error::ResponseCount { got: 0 })
        ));
    }

    #[test]
    fn rejects_granted_response_without_certificate() {
        let rep = cert_rep(
            CertResponse::without_certificate(0, PkiStatusInfo::accepted()),
            vec![],
        );
        assert!(matches!(
            check_cert_response(&rep, BodyType::Ip, 0),
            Err(Error::MissingCertificate)
        ));
    }

    #[test]
    fn reports_rejection_with_fail_info_and_text() {
        let rep = received("mac/rejection/ip_rejection.der")
            .message
            .body
            .cert_rep()
            .expect("ip")
            .clone();
        let err = check_cert_response(&rep, BodyType::Ip, 0).unwrap_err();
        let Error::Rejected { status, .. } = &err else {
            panic!("{err}")
        };
        assert!(status.failure_info().contains(PkiFailureInfo::BAD_POP));
        assert!(err.to_string().contains("mock rejection"), "{err}");
    }

    #[test]
    fn maps_waiting_to_polling() {
        let rep = received("mac/poll/ip_waiting.der")
            .message
            .body
            .cert_rep()
            .expect("ip")
            .clone();
        assert_eq!(
            check_cert_response(&rep, BodyType::Ip, 0).expect("waiting"),
            CertOutcome::Waiting
        );
    }

    #[test]
    fn rejects_certificate_for_another_key() {
        let ee = cert("ee.pem");
        check_issued_key(&ee, ee.tbs_certificate().subject_public_key_info()).expect("same key");
        let other = cert("client.pem");
        let err =
            check_issued_key(&ee, other.tbs_certificate().subject_public_key_info()).unwrap_err();
        assert!(matches!(err, Error::PublicKeyMismatch), "{err}");
    }

    #[test]
    fn bounds_check_after() {
        let max = Duration::from_secs(60);
        assert_eq!(
            check_poll_rep(&poll_rep(0, 5, None).expect("pollRep"), 0, max).expect("ok"),
            Duration::from_secs(5)
        );
        for bad in [-1, 61, i64::MAX] {
            let err =
                check_poll_rep(&poll_rep(0, bad, None).expect("pollRep"), 0, max).unwrap_err();
            assert!(
                matches!(err, Error::CheckAfterOutOfRange { .. }),
                "{bad}: {err}"
            );
        }
        let err = check_poll_rep(&poll_rep(3, 5, None).expect("pollRep"), 0, max).unwrap_err();
        assert!(matches!(err, Error::PollRepMismatch), "{err}");
        let mut two = poll_rep(0, 5, None).expect("pollRep");
        two.push(two[0].clone());
        assert!(matches!(
            check_poll_rep(&two, 0, max),
            Err(Error::PollRepMismatch)
        ));
    }

    #[test]
    fn checks_revocation_response() {
        let ee = cert("ee.pem");
        check_rev_rep(
            &rev_rep(PkiStatusInfo::accepted(), Some(CertId::of(&ee))),
            &ee,
        )
        .expect("ok");
        let other = rev_rep(
            PkiStatusInfo::accepted(),
            Some(CertId::of(&cert("client.pem"))),
        );
        assert!(matches!(
            check_rev_rep(&other, &ee),
            Err(Error::RevocationResponseMismatch { .. })
        ));
        let mut two = rev_rep(PkiStatusInfo::accepted(), None);
        two.status.push(PkiStatusInfo::accepted());
        assert!(matches!(
            check_rev_rep(&two, &ee),
            Err(Error::RevocationResponseMismatch { .. })
        ));
        let refused = rev_rep(
            PkiStatusInfo::rejection(PkiFailureInfo::BAD_CERT_ID, "unknown").expect("status"),
            None,
        );
        assert!(matches!(
            check_rev_rep(&refused, &ee),
            Err(Error::Rejected { .. })
        ));
        // OpenSSL's own rp passes.
        let PkiBody::Rp(rp) = received("mac/rr/rp.der").message.body else {
            panic!("rp")
        };
        check_rev_rep(&rp, &ee).expect("OpenSSL rp");
    }
}
