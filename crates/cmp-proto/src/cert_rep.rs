//! Certificate responses: CertRepMessage and what it holds (RFC 4210 §5.3.4).

use der::asn1::OctetString;
use der::{Choice, Sequence};
use x509_cert::Certificate;

use crate::crmf::{EncryptedKey, PkiPublicationInfo};
use crate::status::PkiStatusInfo;

/// The body of ip, cp, kup and ccp.
///
/// [RFC 4210 §5.3.4](https://www.rfc-editor.org/rfc/rfc4210#section-5.3.4):
/// ```text
/// CertRepMessage ::= SEQUENCE {
///     caPubs   [1] SEQUENCE SIZE (1..MAX) OF CMPCertificate OPTIONAL,
///     response     SEQUENCE OF CertResponse }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CertRepMessage {
    /// CA certificates the requester may want to trust.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub ca_pubs: Option<Vec<Certificate>>,
    /// One response per request.
    pub response: Vec<CertResponse>,
}

/// The answer to one certificate request.
///
/// [RFC 4210 §5.3.4](https://www.rfc-editor.org/rfc/rfc4210#section-5.3.4):
/// ```text
/// CertResponse ::= SEQUENCE {
///     certReqId           INTEGER,
///     status              PKIStatusInfo,
///     certifiedKeyPair    CertifiedKeyPair    OPTIONAL,
///     rspInfo             OCTET STRING        OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CertResponse {
    /// The certReqId of the request this answers (-1 answers a p10cr, RFC 9483 §4.1.4).
    pub cert_req_id: i64,
    /// The outcome.
    pub status: PkiStatusInfo,
    /// The certificate, when granted.
    #[asn1(optional = "true")]
    pub certified_key_pair: Option<CertifiedKeyPair>,
    /// Registration info, analogous to regInfo.
    #[asn1(optional = "true")]
    pub rsp_info: Option<OctetString>,
}

impl CertResponse {
    /// The certificate in clear, when the response carries one.
    pub fn certificate(&self) -> Option<&Certificate> {
        match &self.certified_key_pair.as_ref()?.cert_or_enc_cert {
            CertOrEncCert::Certificate(cert) => Some(cert),
            CertOrEncCert::EncryptedCert(_) => None,
        }
    }
}

/// A certificate and, for centrally generated keys, its private key.
///
/// [RFC 4210 §5.3.4](https://www.rfc-editor.org/rfc/rfc4210#section-5.3.4), updated by
/// [RFC 9480 §2.7](https://www.rfc-editor.org/rfc/rfc9480#section-2.7):
/// ```text
/// CertifiedKeyPair ::= SEQUENCE {
///     certOrEncCert       CertOrEncCert,
///     privateKey      [0] EncryptedKey        OPTIONAL,
///     publicationInfo [1] PKIPublicationInfo  OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CertifiedKeyPair {
    /// The certificate, in clear or encrypted.
    pub cert_or_enc_cert: CertOrEncCert,
    /// A centrally generated private key.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub private_key: Option<EncryptedKey>,
    /// Where the CA published the certificate.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub publication_info: Option<PkiPublicationInfo>,
}

/// The certificate, in clear or encrypted for indirect proof of possession.
///
/// [RFC 4210 §5.3.4](https://www.rfc-editor.org/rfc/rfc4210#section-5.3.4), updated by
/// [RFC 9480 §2.7](https://www.rfc-editor.org/rfc/rfc9480#section-2.7):
/// ```text
/// CertOrEncCert ::= CHOICE {
///     certificate     [0] CMPCertificate,
///     encryptedCert   [1] EncryptedKey }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
#[allow(clippy::large_enum_variant)]
pub enum CertOrEncCert {
    /// The certificate in clear.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", constructed = "true")]
    Certificate(Certificate),
    /// The certificate encrypted to the requested key.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", constructed = "true")]
    EncryptedCert(EncryptedKey),
}
