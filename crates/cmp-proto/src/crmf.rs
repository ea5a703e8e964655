//! CRMF, the Certificate Request Message Format
//! ([RFC 4211](https://www.rfc-editor.org/rfc/rfc4211)), as used by CMP.
//!
//! The CRMF module uses IMPLICIT tagging; a tag on a CHOICE (`Name`, `Time`,
//! `GeneralName`, `POPOPrivKey`) is EXPLICIT all the same (X.680 §31.2.7).

mod controls;
mod encrypted;
mod pop;
mod request;
mod template;

pub use controls::{AttributeTypeAndValue, CertId, Controls, PkiPublicationInfo, SinglePubInfo};
pub use encrypted::{EncryptedKey, EncryptedValue};
pub use pop::{
    AuthInfo, PkMacValue, PopoPrivKey, PopoSigningKey, PopoSigningKeyInput, ProofOfPossession,
};
pub use request::{CertReqMessages, CertReqMsg, CertRequest};
pub use template::{CertTemplate, OptionalValidity};
