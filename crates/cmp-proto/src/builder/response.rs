//! Response bodies: certificate, revocation, polling and error responses.

use x509_cert::Certificate;

use crate::cert_rep::{CertOrEncCert, CertRepMessage, CertResponse, CertifiedKeyPair};
use crate::crmf::CertId;
use crate::error::{Error, Result};
use crate::error_msg::ErrorMsgContent;
use crate::header::FreeText;
use crate::poll::{PollRep, PollRepContent};
use crate::revocation::RevRepContent;
use crate::status::{PkiStatus, PkiStatusInfo};

impl CertResponse {
    /// A granted request carrying `cert` (status accepted).
    pub fn granted(cert_req_id: i64, cert: Certificate) -> Self {
        Self::granted_with_status(cert_req_id, cert, PkiStatusInfo::accepted())
    }

    /// A granted request with the given status (accepted or grantedWithMods).
    pub fn granted_with_status(cert_req_id: i64, cert: Certificate, status: PkiStatusInfo) -> Self {
        Self {
            cert_req_id,
            status,
            certified_key_pair: Some(CertifiedKeyPair {
                cert_or_enc_cert: CertOrEncCert::Certificate(cert),
                private_key: None,
                publication_info: None,
            }),
            rsp_info: None,
        }
    }

    /// A response without a certificate: rejection, or waiting (RFC 4210 §5.3.22).
    pub fn without_certificate(cert_req_id: i64, status: PkiStatusInfo) -> Self {
        Self {
            cert_req_id,
            status,
            certified_key_pair: None,
            rsp_info: None,
        }
    }

    /// "waiting": the requester should poll.
    pub fn waiting(cert_req_id: i64) -> Self {
        Self::without_certificate(cert_req_id, PkiStatusInfo::new(PkiStatus::Waiting))
    }
}

/// A CertRepMessage with one response and, optionally, CA certificates to trust.
pub fn cert_rep(response: CertResponse, ca_pubs: Vec<Certificate>) -> CertRepMessage {
    CertRepMessage {
        ca_pubs: (!ca_pubs.is_empty()).then_some(ca_pubs),
        response: vec![response],
    }
}

/// A RevRepContent for one certificate (RFC 9483 §4.2).
pub fn rev_rep(status: PkiStatusInfo, cert_id: Option<CertId>) -> RevRepContent {
    RevRepContent {
        status: vec![status],
        rev_certs: cert_id.map(|id| vec![id]),
        crls: None,
    }
}

/// A PollRepContent telling the requester to wait `check_after` seconds.
pub fn poll_rep(
    cert_req_id: i64,
    check_after: i64,
    reason: Option<&str>,
) -> Result<PollRepContent> {
    Ok(vec![PollRep {
        cert_req_id,
        check_after,
        reason: reason
            .map(FreeText::new)
            .transpose()
            .map_err(Error::encode("pollRep reason"))?,
    }])
}

/// An ErrorMsgContent with the given status, code and details.
pub fn error_content(
    status: PkiStatusInfo,
    error_code: Option<i64>,
    details: Option<&str>,
) -> Result<ErrorMsgContent> {
    Ok(ErrorMsgContent {
        pki_status_info: status,
        error_code,
        error_details: details
            .map(FreeText::new)
            .transpose()
            .map_err(Error::encode("errorDetails"))?,
    })
}
