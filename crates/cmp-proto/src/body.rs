//! PKIBody: every message type of CMP (RFC 4210 §5.1.2, RFC 9480).

use der::Choice;
use der::asn1::Null;
use x509_cert::Certificate;
use x509_cert::request::CertReq;

use crate::announcement::OpaqueContent;
use crate::cert_rep::CertRepMessage;
use crate::confirm::CertConfirmContent;
use crate::crmf::CertReqMessages;
use crate::error_msg::ErrorMsgContent;
use crate::general::{GenMsgContent, GenRepContent};
use crate::message::NestedMessageContent;
use crate::poll::{PollRepContent, PollReqContent};
use crate::revocation::{RevRepContent, RevReqContent};

/// The message-specific part of a PKIMessage.
///
/// [RFC 4210 §5.1.2](https://www.rfc-editor.org/rfc/rfc4210#section-5.1.2), with the
/// polling bodies of §5.3.22 (EXPLICIT tags, as the CMP module says):
/// ```text
/// PKIBody ::= CHOICE {
///     ir       [0]  CertReqMessages,        --Initialization Req
///     ip       [1]  CertRepMessage,         --Initialization Resp
///     cr       [2]  CertReqMessages,        --Certification Req
///     cp       [3]  CertRepMessage,         --Certification Resp
///     p10cr    [4]  CertificationRequest,   --PKCS #10 Cert.  Req.
///     popdecc  [5]  POPODecKeyChallContent  --pop Challenge
///     popdecr  [6]  POPODecKeyRespContent,  --pop Response
///     kur      [7]  CertReqMessages,        --Key Update Request
///     kup      [8]  CertRepMessage,         --Key Update Response
///     krr      [9]  CertReqMessages,        --Key Recovery Req
///     krp      [10] KeyRecRepContent,       --Key Recovery Resp
///     rr       [11] RevReqContent,          --Revocation Request
///     rp       [12] RevRepContent,          --Revocation Response
///     ccr      [13] CertReqMessages,        --Cross-Cert.  Request
///     ccp      [14] CertRepMessage,         --Cross-Cert.  Resp
///     ckuann   [15] CAKeyUpdAnnContent,     --CA Key Update Ann.
///     cann     [16] CertAnnContent,         --Certificate Ann.
///     rann     [17] RevAnnContent,          --Revocation Ann.
///     crlann   [18] CRLAnnContent,          --CRL Announcement
///     pkiconf  [19] PKIConfirmContent,      --Confirmation
///     nested   [20] NestedMessageContent,   --Nested Message
///     genm     [21] GenMsgContent,          --General Message
///     genp     [22] GenRepContent,          --General Response
///     error    [23] ErrorMsgContent,        --Error Message
///     certConf [24] CertConfirmContent,     --Certificate confirm
///     pollReq  [25] PollReqContent,         --Polling request
///     pollRep  [26] PollRepContent          --Polling response }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
#[allow(clippy::large_enum_variant)]
pub enum PkiBody {
    /// Initialization request.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", constructed = "true")]
    Ir(CertReqMessages),
    /// Initialization response.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", constructed = "true")]
    Ip(CertRepMessage),
    /// Certification request.
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
    Cr(CertReqMessages),
    /// Certification response.
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", constructed = "true")]
    Cp(CertRepMessage),
    /// PKCS #10 certification request.
    #[asn1(context_specific = "4", tag_mode = "EXPLICIT", constructed = "true")]
    P10cr(CertReq),
    /// Proof-of-possession challenge (kept encoded).
    #[asn1(context_specific = "5", tag_mode = "EXPLICIT", constructed = "true")]
    Popdecc(OpaqueContent),
    /// Proof-of-possession response (kept encoded).
    #[asn1(context_specific = "6", tag_mode = "EXPLICIT", constructed = "true")]
    Popdecr(OpaqueContent),
    /// Key update request.
    #[asn1(context_specific = "7", tag_mode = "EXPLICIT", constructed = "true")]
    Kur(CertReqMessages),
    /// Key update response.
    #[asn1(context_specific = "8", tag_mode = "EXPLICIT", constructed = "true")]
    Kup(CertRepMessage),
    /// Key recovery request.
    #[asn1(context_specific = "9", tag_mode = "EXPLICIT", constructed = "true")]
    Krr(CertReqMessages),
    /// Key recovery response (kept encoded).
    #[asn1(context_specific = "10", tag_mode = "EXPLICIT", constructed = "true")]
    Krp(OpaqueContent),
    /// Revocation request.
    #[asn1(context_specific = "11", tag_mode = "EXPLICIT", constructed = "true")]
    Rr(RevReqContent),
    /// Revocation response.
    #[asn1(context_specific = "12", tag_mode = "EXPLICIT", constructed = "true")]
    Rp(RevRepContent),
    /// Cross-certification request.
    #[asn1(context_specific = "13", tag_mode = "EXPLICIT", constructed = "true")]
    Ccr(CertReqMessages),
    /// Cross-certification response.
    #[asn1(context_specific = "14", tag_mode = "EXPLICIT", constructed = "true")]
    Ccp(CertRepMessage),
    /// CA key update announcement (kept encoded).
    #[asn1(context_specific = "15", tag_mode = "EXPLICIT", constructed = "true")]
    Ckuann(OpaqueContent),
    /// Certificate announcement: `CertAnnContent ::= CMPCertificate`.
    #[asn1(context_specific = "16", tag_mode = "EXPLICIT", constructed = "true")]
    Cann(Certificate),
    /// Revocation announcement (kept encoded).
    #[asn1(context_specific = "17", tag_mode = "EXPLICIT", constructed = "true")]
    Rann(OpaqueContent),
    /// CRL announcement (kept encoded).
    #[asn1(context_specific = "18", tag_mode = "EXPLICIT", constructed = "true")]
    Crlann(OpaqueContent),
    /// Confirmation: `PKIConfirmContent ::= NULL`.
    #[asn1(context_specific = "19", tag_mode = "EXPLICIT", constructed = "true")]
    PkiConf(Null),
    /// Nested messages (RFC 9480 §2.3 batching, or an RA's wrapping).
    #[asn1(context_specific = "20", tag_mode = "EXPLICIT", constructed = "true")]
    Nested(NestedMessageContent),
    /// General message.
    #[asn1(context_specific = "21", tag_mode = "EXPLICIT", constructed = "true")]
    Genm(GenMsgContent),
    /// General response.
    #[asn1(context_specific = "22", tag_mode = "EXPLICIT", constructed = "true")]
    Genp(GenRepContent),
    /// Error.
    #[asn1(context_specific = "23", tag_mode = "EXPLICIT", constructed = "true")]
    Error(ErrorMsgContent),
    /// Certificate confirmation.
    #[asn1(context_specific = "24", tag_mode = "EXPLICIT", constructed = "true")]
    CertConf(CertConfirmContent),
    /// Polling request.
    #[asn1(context_specific = "25", tag_mode = "EXPLICIT", constructed = "true")]
    PollReq(PollReqContent),
    /// Polling response.
    #[asn1(context_specific = "26", tag_mode = "EXPLICIT", constructed = "true")]
    PollRep(PollRepContent),
}

/// The kind of a [`PkiBody`], without its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // each variant is the RFC short name of PkiBody's alternative
pub enum BodyType {
    Ir,
    Ip,
    Cr,
    Cp,
    P10cr,
    Popdecc,
    Popdecr,
    Kur,
    Kup,
    Krr,
    Krp,
    Rr,
    Rp,
    Ccr,
    Ccp,
    Ckuann,
    Cann,
    Rann,
    Crlann,
    PkiConf,
    Nested,
    Genm,
    Genp,
    Error,
    CertConf,
    PollReq,
    PollRep,
}

impl BodyType {
    /// The RFC's short name (`ir`, `pkiconf` is spelled `pkiConf` as OpenSSL does, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Ir => "ir",
            Self::Ip => "ip",
            Self::Cr => "cr",
            Self::Cp => "cp",
            Self::P10cr => "p10cr",
            Self::Popdecc => "popdecc",
            Self::Popdecr => "popdecr",
            Self::Kur => "kur",
            Self::Kup => "kup",
            Self::Krr => "krr",
            Self::Krp => "krp",
            Self::Rr => "rr",
            Self::Rp => "rp",
            Self::Ccr => "ccr",
            Self::Ccp => "ccp",
            Self::Ckuann => "ckuann",
            Self::Cann => "cann",
            Self::Rann => "rann",
            Self::Crlann => "crlann",
            Self::PkiConf => "pkiConf",
            Self::Nested => "nested",
            Self::Genm => "genm",
            Self::Genp => "genp",
            Self::Error => "error",
            Self::CertConf => "certConf",
            Self::PollReq => "pollReq",
            Self::PollRep => "pollRep",
        }
    }

    /// The context tag number of this alternative.
    pub fn tag_number(self) -> u8 {
        self as u8
    }
}

impl core::fmt::Display for BodyType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl PkiBody {
    /// The kind of body.
    pub fn body_type(&self) -> BodyType {
        match self {
            Self::Ir(_) => BodyType::Ir,
            Self::Ip(_) => BodyType::Ip,
            Self::Cr(_) => BodyType::Cr,
            Self::Cp(_) => BodyType::Cp,
            Self::P10cr(_) => BodyType::P10cr,
            Self::Popdecc(_) => BodyType::Popdecc,
            Self::Popdecr(_) => BodyType::Popdecr,
            Self::Kur(_) => BodyType::Kur,
            Self::Kup(_) => BodyType::Kup,
            Self::Krr(_) => BodyType::Krr,
            Self::Krp(_) => BodyType::Krp,
            Self::Rr(_) => BodyType::Rr,
            Self::Rp(_) => BodyType::Rp,
            Self::Ccr(_) => BodyType::Ccr,
            Self::Ccp(_) => BodyType::Ccp,
            Self::Ckuann(_) => BodyType::Ckuann,
            Self::Cann(_) => BodyType::Cann,
            Self::Rann(_) => BodyType::Rann,
            Self::Crlann(_) => BodyType::Crlann,
            Self::PkiConf(_) => BodyType::PkiConf,
            Self::Nested(_) => BodyType::Nested,
            Self::Genm(_) => BodyType::Genm,
            Self::Genp(_) => BodyType::Genp,
            Self::Error(_) => BodyType::Error,
            Self::CertConf(_) => BodyType::CertConf,
            Self::PollReq(_) => BodyType::PollReq,
            Self::PollRep(_) => BodyType::PollRep,
        }
    }

    /// The CertRepMessage of an ip, cp, kup or ccp.
    pub fn cert_rep(&self) -> Option<&CertRepMessage> {
        match self {
            Self::Ip(m) | Self::Cp(m) | Self::Kup(m) | Self::Ccp(m) => Some(m),
            _ => None,
        }
    }

    /// The CertReqMessages of an ir, cr, kur, krr or ccr.
    pub fn cert_req(&self) -> Option<&CertReqMessages> {
        match self {
            Self::Ir(m) | Self::Cr(m) | Self::Kur(m) | Self::Krr(m) | Self::Ccr(m) => Some(m),
            _ => None,
        }
    }
}
