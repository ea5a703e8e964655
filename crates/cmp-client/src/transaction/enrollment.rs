//! Enrollment by ir, cr, kur or p10cr, with certConf/pkiConf, implicit confirmation and
//! polling (RFC 4210 §5.3.1–§5.3.4, §5.3.18, §5.3.22; RFC 9483 §4.1 and §4.4).

use std::time::{Duration, SystemTime};

use cmp_proto::builder::cert_status;
use cmp_proto::crmf::CertReqMsg;
use cmp_proto::spki::SubjectPublicKeyInfoOwned;
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::request::CertReq;
use cmp_proto::{BodyType, PVNO_CMP2000, PkiBody, PkiFailureInfo, PkiStatusInfo, PollReq};

use super::Next;
use super::exchange::Exchange;
use crate::checks::{self, CertOutcome};
use crate::config::ClientConfig;
use crate::error::{Error, Result};

/// What to enroll.
#[derive(Clone, Debug)]
pub enum EnrollmentRequest {
    /// Initialization request (first certificate from this CA).
    Ir(CertReqMsg),
    /// Certification request (a further certificate).
    Cr(CertReqMsg),
    /// Key update request; sign it with the certificate being updated (RFC 9483 §4.1.3).
    Kur(CertReqMsg),
    /// PKCS#10 request, forwarded as is.
    P10cr(CertReq),
}

impl EnrollmentRequest {
    fn body(&self) -> PkiBody {
        match self {
            Self::Ir(m) => PkiBody::Ir(vec![m.clone()]),
            Self::Cr(m) => PkiBody::Cr(vec![m.clone()]),
            Self::Kur(m) => PkiBody::Kur(vec![m.clone()]),
            Self::P10cr(csr) => PkiBody::P10cr(csr.clone()),
        }
    }

    /// The body that answers it.
    fn response_type(&self) -> BodyType {
        match self {
            Self::Ir(_) => BodyType::Ip,
            Self::Cr(_) | Self::P10cr(_) => BodyType::Cp,
            Self::Kur(_) => BodyType::Kup,
        }
    }

    /// certReqId of the request; -1 for p10cr (RFC 9483 §4.1.4).
    fn cert_req_id(&self) -> i64 {
        match self {
            Self::Ir(m) | Self::Cr(m) | Self::Kur(m) => m.cert_req.cert_req_id,
            Self::P10cr(_) => -1,
        }
    }

    fn public_key(&self) -> Result<SubjectPublicKeyInfoOwned> {
        match self {
            Self::Ir(m) | Self::Cr(m) | Self::Kur(m) => m
                .cert_req
                .cert_template
                .public_key
                .clone()
                .ok_or(Error::Config {
                    reason: "the certificate template carries no public key".into(),
                }),
            Self::P10cr(csr) => Ok(csr.info.public_key.clone()),
        }
    }
}

/// The result of an enrollment.
#[derive(Clone, Debug)]
pub struct Enrolled {
    /// The new certificate.
    pub certificate: Certificate,
    /// extraCerts of the final response (the signer and chains the CA sent).
    pub extra_certs: Vec<Certificate>,
    /// caPubs: CA certificates the CA suggests trusting.
    pub ca_pubs: Vec<Certificate>,
    /// The CA changed what was asked (grantedWithMods): compare before use.
    pub granted_with_mods: bool,
    /// The CA granted implicit confirmation, so no certConf was sent.
    pub implicitly_confirmed: bool,
}

#[derive(Debug)]
/// What the last request waits for.
enum Awaiting {
    /// ir/cr/kur/p10cr sent.
    Certificate,
    /// pollReq sent.
    PollRep,
    /// certConf sent accepting the certificate.
    Confirmation(Box<Enrolled>),
    /// certConf sent rejecting the certificate: the transaction ends in this error.
    RejectionAck(Box<Error>),
}

/// One enrollment transaction.
#[derive(Debug)]
pub struct Enrollment {
    exchange: Exchange,
    state: Awaiting,
    response_type: BodyType,
    cert_req_id: i64,
    requested_key: SubjectPublicKeyInfoOwned,
    deadline: SystemTime,
}

impl Enrollment {
    /// Starts an enrollment: returns the transaction and the first request to send.
    pub fn start(
        config: &ClientConfig,
        request: EnrollmentRequest,
        now: SystemTime,
    ) -> Result<(Self, Vec<u8>)> {
        let (exchange, bytes) = Exchange::start(config, request.body(), PVNO_CMP2000)?;
        Ok((
            Self {
                exchange,
                state: Awaiting::Certificate,
                response_type: request.response_type(),
                cert_req_id: request.cert_req_id(),
                requested_key: request.public_key()?,
                deadline: now + config.polling.deadline,
            },
            bytes,
        ))
    }

    /// Takes the response to the last request: checks it and says what comes next.
    pub fn receive(
        mut self,
        config: &ClientConfig,
        response: &[u8],
        now: SystemTime,
    ) -> Result<Next<Self, Enrolled>> {
        let received = self.exchange.receive(config, response, now)?;
        let msg = received.message;
        match std::mem::replace(&mut self.state, Awaiting::Certificate) {
            Awaiting::Certificate => self.on_cert_response(config, &msg, now),
            Awaiting::PollRep => {
                if let PkiBody::PollRep(poll) = &msg.body {
                    let wait = checks::check_poll_rep(
                        poll,
                        self.cert_req_id,
                        config.polling.max_check_after,
                    )?;
                    self.poll(config, wait, now)
                } else {
                    self.on_cert_response(config, &msg, now)
                }
            }
            Awaiting::Confirmation(enrolled) => {
                checks::check_body_type(&msg.body, &[BodyType::PkiConf], "pkiConf")?;
                Ok(Next::Done(*enrolled))
            }
            Awaiting::RejectionAck(error) => {
                checks::check_body_type(&msg.body, &[BodyType::PkiConf], "pkiConf")?;
                Err(*error)
            }
        }
    }

    fn on_cert_response(
        mut self,
        config: &ClientConfig,
        msg: &cmp_proto::PkiMessage,
        now: SystemTime,
    ) -> Result<Next<Self, Enrolled>> {
        let expected = [self.response_type];
        checks::check_body_type(&msg.body, &expected, self.response_type.name())?;
        let rep = msg.body.cert_rep().ok_or(Error::UnexpectedBody {
            expected: self.response_type.name(),
            got: msg.body.body_type(),
        })?;
        match checks::check_cert_response(rep, self.response_type, self.cert_req_id)? {
            CertOutcome::Waiting => {
                if self.exchange.polled {
                    return Err(Error::WaitingAgain);
                }
                self.poll(config, Duration::ZERO, now)
            }
            CertOutcome::Granted {
                certificate,
                with_mods,
            } => {
                let extra_certs = msg.extra_certs.clone().unwrap_or_default();
                let ca_pubs = rep.ca_pubs.clone().unwrap_or_default();
                if let Err(problem) =
                    self.check_certificate(config, &certificate, &extra_certs, &ca_pubs, now)
                {
                    // Tell the CA we refuse it, then end in the problem (RFC 4210 §5.3.18).
                    let status = PkiStatusInfo::rejection(
                        PkiFailureInfo::INCORRECT_DATA,
                        &problem.to_string(),
                    )
                    .map_err(|e| {
                        Error::Build(cmp_proto::Error::Encode {
                            what: "statusInfo",
                            source: e,
                        })
                    })?;
                    let request = self.cert_conf(config, &certificate, Some(status))?;
                    self.state = Awaiting::RejectionAck(Box::new(problem));
                    return Ok(Next::Send {
                        transaction: self,
                        request,
                        wait: Duration::ZERO,
                    });
                }
                let implicitly_confirmed =
                    config.implicit_confirm && msg.header.has_implicit_confirm();
                let enrolled = Enrolled {
                    certificate: *certificate,
                    extra_certs,
                    ca_pubs,
                    granted_with_mods: with_mods,
                    implicitly_confirmed,
                };
                if implicitly_confirmed {
                    return Ok(Next::Done(enrolled));
                }
                let request = self.cert_conf(config, &enrolled.certificate, None)?;
                self.state = Awaiting::Confirmation(Box::new(enrolled));
                Ok(Next::Send {
                    transaction: self,
                    request,
                    wait: Duration::ZERO,
                })
            }
        }
    }

    fn check_certificate(
        &self,
        config: &ClientConfig,
        certificate: &Certificate,
        extra_certs: &[Certificate],
        ca_pubs: &[Certificate],
        now: SystemTime,
    ) -> Result<()> {
        checks::check_issued_key(certificate, &self.requested_key)?;
        if let Some(anchors) = &config.issued_cert_anchors {
            let intermediates: Vec<Certificate> =
                extra_certs.iter().chain(ca_pubs).cloned().collect();
            checks::validate_chain(
                certificate,
                &intermediates,
                anchors,
                now,
                &config.policy.limits,
            )
            .map_err(|reason| Error::CertificateUntrusted { reason })?;
        }
        Ok(())
    }

    fn cert_conf(
        &mut self,
        config: &ClientConfig,
        cert: &Certificate,
        status: Option<PkiStatusInfo>,
    ) -> Result<Vec<u8>> {
        let (entry, needs_v3) =
            cert_status(cert, self.cert_req_id, status).map_err(Error::Build)?;
        let pvno = if needs_v3 {
            cmp_proto::PVNO_CMP2021
        } else {
            PVNO_CMP2000
        };
        self.exchange
            .next(config, PkiBody::CertConf(vec![entry]), pvno)
    }

    fn poll(
        mut self,
        config: &ClientConfig,
        wait: Duration,
        now: SystemTime,
    ) -> Result<Next<Self, Enrolled>> {
        if now + wait > self.deadline {
            return Err(Error::PollingDeadline);
        }
        let request = self.exchange.next(
            config,
            PkiBody::PollReq(vec![PollReq {
                cert_req_id: self.cert_req_id,
            }]),
            PVNO_CMP2000,
        )?;
        self.exchange.polled = true;
        self.state = Awaiting::PollRep;
        Ok(Next::Send {
            transaction: self,
            request,
            wait,
        })
    }
}
