//! Building the probes: the info types and MAC variants asked about, and the requests
//! meant to be refused.

use std::str::FromStr;

use cmp_client::ClientConfig;
use cmp_proto::builder::{CertRequestBuilder, random_bytes};
use cmp_proto::crmf::{CertReqMsg, PopoSigningKey, ProofOfPossession};
use cmp_proto::der::Encode;
use cmp_proto::der::asn1::{BitString, ObjectIdentifier, SetOfVec};
use cmp_proto::oid;
use cmp_proto::protection::{
    HashAlg, KeyType, MacAlgorithm, PbmSettings, Pbmac1Settings, Protector, SigningKey,
};
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::x509_cert::name::Name;
use cmp_proto::x509_cert::request::{CertReq, CertReqInfo, Version};

use crate::Failure;

/// Info types asked for after caCerts, when genm works (RFC 9483 §4.3, RFC 4210 §5.3.19).
pub(super) const GENM_INFO_TYPES: &[(&str, ObjectIdentifier)] = &[
    ("certReqTemplate", oid::IT_CERT_REQ_TEMPLATE),
    ("signKeyPairTypes", oid::IT_SIGN_KEY_PAIR_TYPES),
    ("currentCRL", oid::IT_CURRENT_CRL),
];

/// PasswordBasedMac settings (RFC 4211 §4.4), 16 bytes of salt.
const fn pbm(owf: HashAlg, mac: HashAlg, iterations: u32) -> MacAlgorithm {
    MacAlgorithm::PasswordBasedMac(PbmSettings {
        owf,
        iterations,
        mac,
        salt_len: 16,
    })
}

/// A MAC variant the probe tries.
pub(super) struct MacVariant {
    /// Its finding's key, after `mac.`.
    pub(super) key: &'static str,
    pub(super) label: &'static str,
    pub(super) algorithm: MacAlgorithm,
    /// The `cmpv2 enroll` options that send it.
    pub(super) options: &'static str,
}

/// The MAC variants probed: the defaults of cmpv2 and OpenSSL, an older SHA-1 one, the
/// iteration counts seen in the field (cmp-notes: some CAs refuse more than 2,047;
/// go-pkicmp sends 262,144), and PBMAC1 (RFC 9481 §6.1.2). cmpv2's default first.
pub(super) const MAC_VARIANTS: &[MacVariant] = &[
    MacVariant {
        key: "pbm-sha256-hmac-sha256-500",
        label: "MAC: PBM SHA-256/HMAC-SHA256, 500 it. (cmpv2)",
        algorithm: pbm(HashAlg::Sha256, HashAlg::Sha256, 500),
        options: "",
    },
    MacVariant {
        key: "pbm-sha256-hmac-sha1-500",
        label: "MAC: PBM SHA-256/HMAC-SHA1, 500 it. (OpenSSL)",
        algorithm: pbm(HashAlg::Sha256, HashAlg::Sha1, 500),
        options: "--mac-alg pbm-hmac-sha1",
    },
    MacVariant {
        key: "pbm-sha1-hmac-sha1-500",
        label: "MAC: PBM SHA-1/HMAC-SHA1, 500 it.",
        algorithm: pbm(HashAlg::Sha1, HashAlg::Sha1, 500),
        options: "--mac-alg pbm-sha1",
    },
    MacVariant {
        key: "pbm-sha256-hmac-sha256-2047",
        label: "MAC: PBM SHA-256/HMAC-SHA256, 2,047 it.",
        algorithm: pbm(HashAlg::Sha256, HashAlg::Sha256, 2_047),
        options: "--mac-iterations 2047",
    },
    MacVariant {
        key: "pbm-sha256-hmac-sha256-10000",
        label: "MAC: PBM SHA-256/HMAC-SHA256, 10,000 it.",
        algorithm: pbm(HashAlg::Sha256, HashAlg::Sha256, 10_000),
        options: "--mac-iterations 10000",
    },
    MacVariant {
        key: "pbm-sha256-hmac-sha256-262144",
        label: "MAC: PBM SHA-256/HMAC-SHA256, 262,144 it.",
        algorithm: pbm(HashAlg::Sha256, HashAlg::Sha256, 262_144),
        options: "--mac-iterations 262144",
    },
    MacVariant {
        key: "pbmac1-sha256-10000",
        label: "MAC: PBMAC1 SHA-256/HMAC-SHA256, 10,000 it.",
        algorithm: MacAlgorithm::Pbmac1(Pbmac1Settings {
            prf: HashAlg::Sha256,
            iterations: 10_000,
            mac: HashAlg::Sha256,
            salt_len: 16,
        }),
        options: "--mac-alg pbmac1",
    },
];

/// A CN no earlier probe used (EJBCA keeps every end entity, and refuses a key that
/// another subject holds).
pub(super) fn unique_name(what: &str) -> Result<Name, Failure> {
    let tag = hex::encode(random_bytes(6).map_err(build_failure)?);
    Name::from_str(&format!("CN=cmpv2-probe-{what}-{tag}"))
        .map_err(|e| Failure::input(format!("cannot make a subject name: {e}")))
}

pub(super) fn build_failure(e: impl std::fmt::Display) -> Failure {
    Failure::input(format!("cannot build a probe message: {e}"))
}

/// A fresh P-256 key.
pub(super) fn fresh_key() -> Result<SigningKey, Failure> {
    SigningKey::generate(KeyType::P256).map_err(build_failure)
}

/// A certificate request for `key` whose signature POP (RFC 4211 §4.1) is well formed
/// but signs other bytes than the CertRequest, so that no CA may grant it.
pub(super) fn invalid_pop_request(key: &SigningKey, subject: &Name) -> Result<CertReqMsg, Failure> {
    let request = CertRequestBuilder::new(key.public_key_info().map_err(build_failure)?)
        .subject(subject.clone())
        .request()
        .clone();
    let signature = key
        .sign(b"cmpv2 probe: a proof-of-possession that is wrong on purpose")
        .map_err(build_failure)?;
    Ok(CertReqMsg {
        cert_req: request,
        popo: Some(ProofOfPossession::Signature(PopoSigningKey {
            poposk_input: None,
            algorithm_identifier: key.algorithm_identifier().map_err(build_failure)?,
            signature: BitString::from_bytes(&signature).map_err(build_failure)?,
        })),
        reg_info: None,
    })
}

/// A PKCS#10 request (RFC 2986 §4) for `subject`, signed with `key`, for p10cr.
pub(super) fn csr(key: &SigningKey, subject: Name) -> Result<CertReq, Failure> {
    let info = CertReqInfo {
        version: Version::V1,
        subject,
        public_key: key.public_key_info().map_err(build_failure)?,
        attributes: SetOfVec::new(),
    };
    let signature = key
        .sign(&info.to_der().map_err(build_failure)?)
        .map_err(build_failure)?;
    Ok(CertReq {
        info,
        algorithm: key.algorithm_identifier().map_err(build_failure)?,
        signature: BitString::from_bytes(&signature).map_err(build_failure)?,
    })
}

/// The sender the client puts in its headers (RFC 9483 §3.1): the configured one, the
/// signer certificate's subject, or the NULL-DN.
pub(super) fn sender(config: &ClientConfig) -> GeneralName {
    if let Some(sender) = &config.sender {
        return sender.clone();
    }
    match &config.protector {
        Protector::Signature { certificate, .. } => {
            GeneralName::DirectoryName(certificate.tbs_certificate().subject().clone())
        }
        Protector::Mac { .. } => GeneralName::DirectoryName(Name::default()),
    }
}

#[cfg(test)]
mod tests {
    use cmp_proto::Limits;

    use super::*;

    #[test]
    fn invalid_pop_does_not_verify_but_is_well_formed() {
        let key = fresh_key().expect("key");
        let subject = Name::from_str("CN=x").expect("name");
        let request = invalid_pop_request(&key, &subject).expect("request");
        let err = cmp_proto::protection::verify_signature_pop(
            &request,
            &GeneralName::DirectoryName(Name::default()),
            &Limits::default(),
        );
        assert!(err.is_err(), "the POP must not verify");
        let good = CertRequestBuilder::new(key.public_key_info().expect("spki"))
            .subject(subject)
            .sign_pop(&key)
            .expect("signed");
        assert_eq!(good.cert_req, request.cert_req);
    }

    #[test]
    fn csr_verifies() {
        let key = fresh_key().expect("key");
        let request = csr(&key, Name::from_str("CN=x").expect("name")).expect("csr");
        cmp_proto::protection::verify_csr(&request, &Limits::default()).expect("verifies");
    }
}
