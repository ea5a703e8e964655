//! What a CertificateRequest asks for, verified, and the CMP request that asks the CA
//! for it.
//!
//! cert-manager hands an issuer a PKCS#10 request ([RFC 2986]) in `spec.request`, and
//! beside it `spec.duration`, `spec.usages` and `spec.isCA`. [`RequestedCertificate`]
//! reads all four, refuses anything malformed, oversized or inconsistent, and verifies
//! the CSR's self-signature: that signature is the requester's proof that it holds the
//! private key ([RFC 2986 §3], [RFC 4211 §4]), and having checked it ourselves is what
//! lets us vouch for it to the CA with `raVerified`, as an RA does.
//!
//! [`RequestedCertificate::cmp_request`] then makes the request to send:
//!
//! - `p10cr` ([RFC 4210 §5.3.4]): the CSR, forwarded byte for byte. The CA reads
//!   subject, SANs and extensions from it; `duration`, `usages` and `isCA` reach the CA
//!   only as far as the CSR's own extensions say them (cert-manager encodes the usages
//!   and, for a CA, basicConstraints in the CSR).
//! - `ir`/`cr` ([RFC 4210 §5.3.1], [§5.3.3]): one CRMF CertReqMsg, certReqId 0, whose
//!   template carries the CSR's public key and subject, its SANs, keyUsage and
//!   extendedKeyUsage from `usages`, basicConstraints from `isCA`, the requested end of
//!   validity, the CSR's other requested extensions, and `raVerified` proof-of-possession
//!   ([RFC 4211 §4]; an RA replacing the requester's POP: [RFC 9483 §5.2.3.2], requesting
//!   on behalf of an end entity: [RFC 9483 §5.3.1]). No private key is ever needed.
//!
//! The choices, and where they come from:
//!
//! - **Validity**: only `notAfter = now + duration` is sent; `notBefore` is left to the
//!   CA ([RFC 4211 §5]: either end of OptionalValidity may be absent). The CA starts the
//!   certificate when it issues it, which may be later than `now` (approval, polling), and
//!   a `notBefore` of ours would be in the CA's future whenever its clock lags ours, which
//!   CAs refuse or "correct" (grantedWithMods). Without `duration`, no validity is sent
//!   and the CA's profile decides (cert-manager's own CA issuer would use 90 days,
//!   `DefaultCertificateDuration`; a CMP CA has its own profile for that).
//! - **Usages**: cert-manager's semantics, as its CA issuer applies them
//!   (`pkg/util/pki/csr.go`, `KeyUsagesForCertificateOrCertificateRequest`): an empty
//!   `usages` means `digital signature` and `key encipherment`
//!   (`pkg/apis/certmanager/v1`, `DefaultKeyUsages`); `isCA` adds `cert sign`; names map
//!   to keyUsage bits or extendedKeyUsage OIDs as in `pkg/api/util` (`KeyUsageType`,
//!   `ExtKeyUsageType`), `signing` being `digital signature` and `s/mime` being
//!   `email protection`. When the CSR itself carries keyUsage or extendedKeyUsage they
//!   must say the same (`CertificateTemplateValidateAndOverrideKeyUsages`), and a
//!   basicConstraints in the CSR must agree with `isCA`
//!   (`CertificateTemplateValidateAndOverrideBasicConstraints`).
//! - **Criticality**: subjectAltName is critical exactly when the subject is empty
//!   ([RFC 5280 §4.2.1.6]); keyUsage is critical ([RFC 5280 §4.2.1.3]: "SHOULD mark this
//!   extension as critical"); extendedKeyUsage is not ([RFC 5280 §4.2.1.12] leaves it to
//!   the issuer; critical EKUs break relying parties that do not know every purpose);
//!   basicConstraints with cA is critical ([RFC 5280 §4.2.1.9]: "MUST mark the extension
//!   as critical"), and is left out of end-entity requests (absent means not a CA).
//!   Other requested extensions keep the CSR's criticality.
//!
//! [RFC 2986]: https://www.rfc-editor.org/rfc/rfc2986
//! [RFC 2986 §3]: https://www.rfc-editor.org/rfc/rfc2986#section-3
//! [RFC 4210 §5.3.1]: https://www.rfc-editor.org/rfc/rfc4210#section-5.3.1
//! [§5.3.3]: https://www.rfc-editor.org/rfc/rfc4210#section-5.3.3
//! [RFC 4210 §5.3.4]: https://www.rfc-editor.org/rfc/rfc4210#section-5.3.4
//! [RFC 4211 §4]: https://www.rfc-editor.org/rfc/rfc4211#section-4
//! [RFC 4211 §5]: https://www.rfc-editor.org/rfc/rfc4211#section-5
//! [RFC 5280 §4.2.1.3]: https://www.rfc-editor.org/rfc/rfc5280#section-4.2.1.3
//! [RFC 5280 §4.2.1.6]: https://www.rfc-editor.org/rfc/rfc5280#section-4.2.1.6
//! [RFC 5280 §4.2.1.9]: https://www.rfc-editor.org/rfc/rfc5280#section-4.2.1.9
//! [RFC 5280 §4.2.1.12]: https://www.rfc-editor.org/rfc/rfc5280#section-4.2.1.12
//! [RFC 9483 §5.2.3.2]: https://www.rfc-editor.org/rfc/rfc9483#section-5.2.3.2
//! [RFC 9483 §5.3.1]: https://www.rfc-editor.org/rfc/rfc9483#section-5.3.1

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cmp_client::transaction::EnrollmentRequest;
use cmp_proto::builder::CertRequestBuilder;
use cmp_proto::crmf::{CertReqMsg, CertTemplate, OptionalValidity};
use cmp_proto::oid;
use cmp_proto::protection::verify_csr;
use const_oid::{AssociatedOid, ObjectIdentifier};
use der::asn1::OctetString;
use der::flagset::FlagSet;
use der::{DateTime, Decode, Encode, Tag, Tagged};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
};
use x509_cert::name::Name;
use x509_cert::request::{CertReq, ExtensionReq};
use x509_cert::time::Time;

use crate::api::RequestType;
use crate::cert_manager::CertificateRequestSpec;

/// Bounds on what a CertificateRequest can make us decode. Anyone who may create a
/// CertificateRequest controls these inputs; the defaults admit every real request with
/// a wide margin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsrLimits {
    /// Largest `spec.request` accepted, PEM or DER, in bytes. Default 96 KiB: the PEM
    /// of a CSR at `max_csr_len` (base64 is 4/3 of the DER, plus line breaks and the
    /// boundaries).
    pub max_request_len: usize,
    /// Largest DER CSR accepted, in bytes. Default 64 KiB: a CSR with an RSA-8192 key and
    /// a thousand DNS names is under 40 KiB.
    pub max_csr_len: usize,
    /// Most attributes in the CSR. Default 16; cert-manager sends one (extensionRequest).
    pub max_attributes: usize,
    /// Most requested extensions. Default 64; cert-manager sends at most six.
    pub max_extensions: usize,
    /// Most subjectAltName entries. Default 1,024 (public CAs stop at 100 to 250).
    pub max_sans: usize,
    /// Most entries in `spec.usages`. Default 32; cert-manager knows 23 names.
    pub max_usages: usize,
    /// Longest `spec.duration`, in bytes. Default 64; Go writes the longest duration
    /// there is as `2562047h47m16.854775807s` (24 bytes).
    pub max_duration_len: usize,
}

impl Default for CsrLimits {
    fn default() -> Self {
        Self {
            max_request_len: 96 * 1024,
            max_csr_len: 64 * 1024,
            max_attributes: 16,
            max_extensions: 64,
            max_sans: 1024,
            max_usages: 32,
            max_duration_len: 64,
        }
    }
}

/// Why a CertificateRequest cannot be turned into a CMP request. Every variant is the
/// requester's doing (or, for [`Self::Encode`], a value no certificate can hold), so
/// none is worth retrying unchanged.
#[derive(Debug)]
#[non_exhaustive]
pub enum CsrError {
    /// `spec.request` is not a PKCS#10 CSR in PEM (`CERTIFICATE REQUEST`) or DER.
    NotACsr {
        /// What is wrong with it.
        reason: String,
    },
    /// A size or count is above its bound in [`CsrLimits`].
    TooLarge {
        /// What is too large.
        what: &'static str,
        /// Its size or count.
        value: usize,
        /// The bound.
        limit: usize,
    },
    /// A part of the CSR does not decode or breaks a rule of its RFC.
    Malformed {
        /// Which part.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The CSR's self-signature does not verify (RFC 2986 §3): it was altered, or not
    /// signed with the key it asks to certify.
    BadSignature,
    /// The CSR's key or signature algorithm is not one we verify (ECDSA P-256/P-384,
    /// RSA PKCS#1 v1.5 or PSS, Ed25519).
    UnsupportedAlgorithm {
        /// Which algorithm, and where.
        reason: String,
    },
    /// The CSR's key cannot be used: an RSA modulus outside 2,048–8,192 bits, a point
    /// off its curve, a key that does not fit the signature algorithm.
    UnusableKey {
        /// What is wrong with the key.
        reason: String,
    },
    /// The CSR names nobody: empty subject and no subjectAltName (RFC 5280 §4.1.2.6).
    NoName,
    /// `spec.duration` is not a positive Go duration that fits.
    BadDuration {
        /// The duration as given (bounded by [`CsrLimits::max_duration_len`]).
        duration: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `spec.usages` names a usage cert-manager does not define.
    UnknownUsage {
        /// The name (cut to 64 characters).
        usage: String,
    },
    /// The CSR's keyUsage or extendedKeyUsage say otherwise than `spec.usages` and
    /// `spec.isCA`.
    UsagesMismatch {
        /// What the CSR says.
        csr: String,
        /// What the spec says.
        spec: String,
    },
    /// The CSR's basicConstraints say otherwise than `spec.isCA`.
    IsCaMismatch {
        /// cA in the CSR.
        csr: bool,
        /// `spec.isCA`.
        spec: bool,
    },
    /// The request could not be encoded (a notAfter past the year 9999).
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// What went wrong.
        reason: String,
    },
}

impl fmt::Display for CsrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotACsr { reason } => {
                write!(
                    f,
                    "spec.request is not a PKCS#10 CSR in PEM or DER: {reason}"
                )
            }
            Self::TooLarge { what, value, limit } => {
                write!(f, "{what} is {value}, above the limit of {limit}")
            }
            Self::Malformed { what, reason } => write!(f, "malformed {what} in the CSR: {reason}"),
            Self::BadSignature => f.write_str(
                "the CSR's signature does not verify: it was altered or not signed with the \
                 key it names",
            ),
            Self::UnsupportedAlgorithm { reason } => {
                write!(f, "the CSR uses an unsupported algorithm: {reason}")
            }
            Self::UnusableKey { reason } => write!(f, "the CSR's key is not usable: {reason}"),
            Self::NoName => f.write_str("the CSR has neither a subject nor a subjectAltName"),
            Self::BadDuration { duration, reason } => {
                write!(f, "spec.duration {duration:?} is not usable: {reason}")
            }
            Self::UnknownUsage { usage } => write!(f, "spec.usages: unknown usage {usage:?}"),
            Self::UsagesMismatch { csr, spec } => write!(
                f,
                "the CSR asks for usages [{csr}] but spec.usages and spec.isCA say [{spec}]"
            ),
            Self::IsCaMismatch { csr, spec } => write!(
                f,
                "the CSR's basicConstraints say cA={csr} but spec.isCA is {spec}"
            ),
            Self::Encode { what, reason } => write!(f, "cannot encode {what}: {reason}"),
        }
    }
}

impl std::error::Error for CsrError {}

/// A CertificateRequest's CSR, duration, usages and isCA, parsed, bounded and verified.
///
/// Only [`Self::from_spec`] and [`Self::parse`] make one, so holding one means the CSR's
/// self-signature verified and the spec agrees with it.
///
/// ```
/// use std::time::SystemTime;
/// use cmp_client::transaction::EnrollmentRequest;
/// use cmpv2_issuer::api::RequestType;
/// use cmpv2_issuer::cert_manager::CertificateRequestSpec;
/// use cmpv2_issuer::csr::RequestedCertificate;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pem = include_bytes!(concat!(
///     env!("CARGO_MANIFEST_DIR"),
///     "/tests/fixtures/csr/p384.csr.pem"
/// ));
/// let spec = CertificateRequestSpec {
///     request: k8s_openapi::ByteString(pem.to_vec()),
///     duration: Some("2160h0m0s".into()),
///     usages: vec!["digital signature".into(), "server auth".into()],
///     ..CertificateRequestSpec::default()
/// };
/// let requested = RequestedCertificate::from_spec(&spec)?;
/// assert_eq!(requested.subject().to_string(), "CN=p384.example");
/// let cr = requested.cmp_request(RequestType::Cr, SystemTime::now())?;
/// assert!(matches!(cr, EnrollmentRequest::Cr(_)));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct RequestedCertificate {
    csr: CertReq,
    /// The CSR exactly as received (after PEM decoding); `csr` re-encodes to these bytes.
    csr_der: Vec<u8>,
    sans: Vec<GeneralName>,
    other_extensions: Vec<Extension>,
    duration: Option<Duration>,
    usages: Usages,
    is_ca: bool,
}

impl RequestedCertificate {
    /// Reads and verifies `spec` within the default [`CsrLimits`].
    pub fn from_spec(spec: &CertificateRequestSpec) -> Result<Self, CsrError> {
        Self::parse(spec, &CsrLimits::default())
    }

    /// Reads and verifies `spec` within `limits`.
    pub fn parse(spec: &CertificateRequestSpec, limits: &CsrLimits) -> Result<Self, CsrError> {
        let csr_der = csr_der(&spec.request.0, limits)?;
        let csr = CertReq::from_der(&csr_der).map_err(|e| CsrError::NotACsr {
            reason: e.to_string(),
        })?;
        // The signature is checked over a re-encoding of what was decoded; equal bytes
        // make that the signed bytes as received, and make p10cr forward them unchanged.
        let reencoded = csr.to_der().map_err(|e| CsrError::NotACsr {
            reason: e.to_string(),
        })?;
        if reencoded != csr_der {
            return Err(CsrError::NotACsr {
                reason: "it is BER, not DER: it does not re-encode to the same bytes".into(),
            });
        }
        check_signature_parameters(&csr.algorithm)?;
        verify_csr(&csr, &cmp_proto::Limits::default()).map_err(signature_error)?;

        let requested = requested_extensions(&csr, limits)?;
        let mut sans = Vec::new();
        let mut csr_key_usage = None;
        let mut csr_extended = None;
        let mut csr_basic = None;
        let mut other_extensions = Vec::new();
        for ext in requested {
            let value = ext.extn_value.as_bytes();
            match ext.extn_id {
                id if id == SubjectAltName::OID => {
                    sans = SubjectAltName::from_der(value)
                        .map_err(malformed("subjectAltName"))?
                        .0;
                    if sans.is_empty() {
                        // GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName
                        return Err(CsrError::Malformed {
                            what: "subjectAltName",
                            reason: "it holds no name (RFC 5280 §4.2.1.6: SIZE (1..MAX))".into(),
                        });
                    }
                    if sans.len() > limits.max_sans {
                        return Err(CsrError::TooLarge {
                            what: "subjectAltName entries",
                            value: sans.len(),
                            limit: limits.max_sans,
                        });
                    }
                }
                id if id == KeyUsage::OID => {
                    csr_key_usage =
                        Some(KeyUsage::from_der(value).map_err(malformed("keyUsage"))?.0);
                }
                id if id == ExtendedKeyUsage::OID => {
                    csr_extended = Some(
                        ExtendedKeyUsage::from_der(value)
                            .map_err(malformed("extendedKeyUsage"))?
                            .0,
                    );
                }
                id if id == BasicConstraints::OID => {
                    csr_basic = Some(
                        BasicConstraints::from_der(value).map_err(malformed("basicConstraints"))?,
                    );
                }
                _ => other_extensions.push(ext),
            }
        }
        if csr.info.subject.is_empty() && sans.is_empty() {
            return Err(CsrError::NoName);
        }

        let duration = spec
            .duration
            .as_deref()
            .map(|d| parse_go_duration(d, limits))
            .transpose()?;
        let usages = Usages::from_cert_manager(&spec.usages, spec.is_ca, limits)?;
        if csr_key_usage.is_some() || csr_extended.is_some() {
            let csr_usages = Usages {
                key_usage: csr_key_usage.unwrap_or_default(),
                extended: csr_extended.unwrap_or_default(),
            };
            if !csr_usages.same_as(&usages) {
                return Err(CsrError::UsagesMismatch {
                    csr: csr_usages.to_string(),
                    spec: usages.to_string(),
                });
            }
        }
        if let Some(basic) = csr_basic
            && basic.ca != spec.is_ca
        {
            return Err(CsrError::IsCaMismatch {
                csr: basic.ca,
                spec: spec.is_ca,
            });
        }

        Ok(Self {
            csr,
            csr_der,
            sans,
            other_extensions,
            duration,
            usages,
            is_ca: spec.is_ca,
        })
    }

    /// The CSR, DER, exactly as it came in `spec.request`.
    pub fn csr_der(&self) -> &[u8] {
        &self.csr_der
    }

    /// The subject the CSR asks for (possibly empty, then the SANs name the subject).
    pub fn subject(&self) -> &Name {
        &self.csr.info.subject
    }

    /// The public key to certify.
    pub fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.csr.info.public_key
    }

    /// The subjectAltName entries of the CSR's extensionRequest, every GeneralName type
    /// as it came.
    pub fn sans(&self) -> &[GeneralName] {
        &self.sans
    }

    /// The requested extensions other than subjectAltName, keyUsage, extendedKeyUsage and
    /// basicConstraints (which come from the spec), as the CSR had them.
    pub fn other_extensions(&self) -> &[Extension] {
        &self.other_extensions
    }

    /// `spec.duration`, if given.
    pub fn duration(&self) -> Option<Duration> {
        self.duration
    }

    /// keyUsage and extendedKeyUsage, from `spec.usages` and `spec.isCA`.
    pub fn usages(&self) -> &Usages {
        &self.usages
    }

    /// `spec.isCA`.
    pub fn is_ca(&self) -> bool {
        self.is_ca
    }

    /// The CMP request for this certificate: the CSR itself for `p10cr`, a CRMF request
    /// with raVerified POP for `ir` and `cr` (see [`Self::cert_template`]). `now` starts
    /// the requested validity.
    pub fn cmp_request(
        &self,
        request_type: RequestType,
        now: SystemTime,
    ) -> Result<EnrollmentRequest, CsrError> {
        Ok(match request_type {
            RequestType::P10cr => EnrollmentRequest::P10cr(self.csr.clone()),
            RequestType::Ir => EnrollmentRequest::Ir(self.cert_req_msg(now)?),
            RequestType::Cr => EnrollmentRequest::Cr(self.cert_req_msg(now)?),
        })
    }

    /// The CertReqMsg of `ir`/`cr`: certReqId 0 (RFC 9483 §4.1.1), the template of
    /// [`Self::cert_template`], and raVerified, since the CSR's signature, which proves
    /// possession, was verified here (RFC 4211 §4; RFC 9483 §5.2.3.2).
    pub fn cert_req_msg(&self, now: SystemTime) -> Result<CertReqMsg, CsrError> {
        Ok(CertRequestBuilder::from_template(self.cert_template(now)?).ra_verified())
    }

    /// The CRMF CertTemplate (RFC 4211 §5): publicKey and subject from the CSR; validity
    /// with only notAfter = `now` + duration, when a duration is given; extensions
    /// subjectAltName (critical when the subject is empty, RFC 5280 §4.2.1.6), keyUsage
    /// (critical, §4.2.1.3) when any bit is set, extendedKeyUsage (not critical,
    /// §4.2.1.12) when any purpose is asked, basicConstraints cA (critical, §4.2.1.9)
    /// for a CA, then the CSR's other requested extensions as they came.
    pub fn cert_template(&self, now: SystemTime) -> Result<CertTemplate, CsrError> {
        let mut extensions = Vec::new();
        if !self.sans.is_empty() {
            extensions.push(extension(
                self.subject().is_empty(),
                &SubjectAltName(self.sans.clone()),
            )?);
        }
        if !self.usages.key_usage.is_empty() {
            extensions.push(extension(true, &KeyUsage(self.usages.key_usage))?);
        }
        if !self.usages.extended.is_empty() {
            extensions.push(extension(
                false,
                &ExtendedKeyUsage(self.usages.extended.clone()),
            )?);
        }
        if self.is_ca {
            extensions.push(extension(
                true,
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: None,
                },
            )?);
        }
        extensions.extend(self.other_extensions.iter().cloned());
        let validity = self
            .duration
            .map(|duration| -> Result<OptionalValidity, CsrError> {
                Ok(OptionalValidity {
                    not_before: None,
                    not_after: Some(not_after(now, duration)?.into()),
                })
            })
            .transpose()?;
        Ok(CertTemplate {
            subject: Some(self.subject().clone()),
            public_key: Some(self.public_key().clone()),
            validity,
            extensions: (!extensions.is_empty()).then_some(extensions),
            ..CertTemplate::default()
        })
    }
}

/// The CMP request for a CertificateRequest: [`RequestedCertificate::from_spec`], then
/// [`RequestedCertificate::cmp_request`].
pub fn cmp_request(
    spec: &CertificateRequestSpec,
    request_type: RequestType,
    now: SystemTime,
) -> Result<EnrollmentRequest, CsrError> {
    RequestedCertificate::from_spec(spec)?.cmp_request(request_type, now)
}

/// The DER of `spec.request`: PEM (RFC 7468 §7, label `CERTIFICATE REQUEST`, or the
/// legacy `NEW CERTIFICATE REQUEST`, with any line width and optional explanatory text
/// before it), or DER as it is when it starts as a SEQUENCE does.
fn csr_der(request: &[u8], limits: &CsrLimits) -> Result<Vec<u8>, CsrError> {
    if request.len() > limits.max_request_len {
        return Err(CsrError::TooLarge {
            what: "spec.request in bytes",
            value: request.len(),
            limit: limits.max_request_len,
        });
    }
    let der = if request.first() == Some(&0x30) {
        request.to_vec()
    } else {
        pem_csr(request)?
    };
    if der.len() > limits.max_csr_len {
        return Err(CsrError::TooLarge {
            what: "CSR in bytes",
            value: der.len(),
            limit: limits.max_csr_len,
        });
    }
    Ok(der)
}

fn pem_csr(pem: &[u8]) -> Result<Vec<u8>, CsrError> {
    let not_pem = |e: der::pem::Error| CsrError::NotACsr {
        reason: format!("not DER, and not PEM: {e}"),
    };
    let mut decoder = der::pem::Decoder::new_detect_wrap(pem).map_err(not_pem)?;
    let label = decoder.type_label();
    if label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST" {
        return Err(CsrError::NotACsr {
            reason: format!(
                "the PEM label is {:?}, not \"CERTIFICATE REQUEST\"",
                bounded(label)
            ),
        });
    }
    let mut der = Vec::new();
    decoder.decode_to_end(&mut der).map_err(not_pem)?;
    Ok(der)
}

/// The extensions of the CSR's extensionRequest attribute (PKCS#9, RFC 2985 §5.4.2;
/// RFC 2986 §4.1), at most one such attribute with one value, no extension twice
/// (RFC 5280 §4.2). Other attributes (challengePassword, ...) say nothing about the
/// certificate and are left in the CSR.
fn requested_extensions(csr: &CertReq, limits: &CsrLimits) -> Result<Vec<Extension>, CsrError> {
    let attributes = &csr.info.attributes;
    if attributes.len() > limits.max_attributes {
        return Err(CsrError::TooLarge {
            what: "CSR attributes",
            value: attributes.len(),
            limit: limits.max_attributes,
        });
    }
    let mut found = attributes.iter().filter(|a| a.oid == ExtensionReq::OID);
    let Some(attribute) = found.next() else {
        return Ok(Vec::new());
    };
    if found.next().is_some() {
        return Err(CsrError::Malformed {
            what: "extensionRequest",
            reason: "the attribute appears twice".into(),
        });
    }
    let mut values = attribute.values.iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(CsrError::Malformed {
            what: "extensionRequest",
            reason: "the attribute must have exactly one value (RFC 2985 §5.4.2)".into(),
        });
    };
    let extensions: Vec<Extension> = value.decode_as().map_err(malformed("extensionRequest"))?;
    if extensions.len() > limits.max_extensions {
        return Err(CsrError::TooLarge {
            what: "requested extensions",
            value: extensions.len(),
            limit: limits.max_extensions,
        });
    }
    for (i, ext) in extensions.iter().enumerate() {
        if extensions[..i].iter().any(|e| e.extn_id == ext.extn_id) {
            return Err(CsrError::Malformed {
                what: "extensionRequest",
                reason: format!("extension {} appears twice (RFC 5280 §4.2)", ext.extn_id),
            });
        }
    }
    Ok(extensions)
}

/// The signatureAlgorithm's parameters, which the signature does not cover, as their
/// RFCs fix them: NULL or absent for RSA PKCS#1 v1.5 (RFC 4055 §5), absent for ECDSA
/// (RFC 5758 §3.2) and Ed25519 (RFC 8410 §3). Anything else there would be unverified
/// bytes that p10cr forwards to the CA. (RSASSA-PSS parameters are read by the
/// verification itself.)
fn check_signature_parameters(algorithm: &AlgorithmIdentifierOwned) -> Result<(), CsrError> {
    let params = algorithm.parameters.as_ref();
    let is_null = params.is_some_and(|p| p.tag() == Tag::Null && p.value().is_empty());
    let allowed = match algorithm.oid {
        oid::SHA1_WITH_RSA
        | oid::SHA224_WITH_RSA
        | oid::SHA256_WITH_RSA
        | oid::SHA384_WITH_RSA
        | oid::SHA512_WITH_RSA => params.is_none() || is_null,
        oid::ECDSA_WITH_SHA224
        | oid::ECDSA_WITH_SHA256
        | oid::ECDSA_WITH_SHA384
        | oid::ECDSA_WITH_SHA512
        | oid::ED25519 => params.is_none(),
        _ => true,
    };
    if allowed {
        Ok(())
    } else {
        Err(CsrError::Malformed {
            what: "signatureAlgorithm",
            reason: format!(
                "parameters not allowed for {} (RFC 4055 §5, RFC 5758 §3.2, RFC 8410 §3)",
                algorithm.oid
            ),
        })
    }
}

/// The error for a failed CSR signature check, by who is to blame.
fn signature_error(e: cmp_proto::Error) -> CsrError {
    match e {
        cmp_proto::Error::ProtectionInvalid { .. } => CsrError::BadSignature,
        cmp_proto::Error::UnsupportedAlgorithm { .. }
        | cmp_proto::Error::BadAlgorithmParameters { .. } => CsrError::UnsupportedAlgorithm {
            reason: e.to_string(),
        },
        cmp_proto::Error::Key { .. }
        | cmp_proto::Error::LimitExceeded { .. }
        | cmp_proto::Error::BelowMinimum { .. } => CsrError::UnusableKey {
            reason: e.to_string(),
        },
        other => CsrError::Malformed {
            what: "signature",
            reason: other.to_string(),
        },
    }
}

fn malformed(what: &'static str) -> impl FnOnce(der::Error) -> CsrError {
    move |e| CsrError::Malformed {
        what,
        reason: e.to_string(),
    }
}

fn extension<T: AssociatedOid + Encode>(critical: bool, value: &T) -> Result<Extension, CsrError> {
    let encode = |e: der::Error| CsrError::Encode {
        what: "extension",
        reason: e.to_string(),
    };
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der().map_err(encode)?).map_err(encode)?,
    })
}

/// `now + duration`, in whole seconds (DER times have no fractions, RFC 5280
/// §4.1.2.5.1), as UTCTime through 2049 and GeneralizedTime after (RFC 5280 §4.1.2.5).
fn not_after(now: SystemTime, duration: Duration) -> Result<Time, CsrError> {
    let out_of_range = || CsrError::Encode {
        what: "notAfter",
        reason: "now + spec.duration is outside the years 1970 to 9999".into(),
    };
    let end = now
        .checked_add(duration)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .ok_or_else(out_of_range)?;
    let date = DateTime::from_unix_duration(Duration::from_secs(end.as_secs()))
        .map_err(|_| out_of_range())?;
    Ok(Time::from(date))
}

/// At most 64 characters of `s`, for error messages.
fn bounded(s: &str) -> String {
    s.chars().take(64).collect()
}

/// keyUsage bits and extendedKeyUsage purposes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usages {
    /// keyUsage bits (RFC 5280 §4.2.1.3); none means no keyUsage extension.
    pub key_usage: FlagSet<KeyUsages>,
    /// extendedKeyUsage purposes (RFC 5280 §4.2.1.12), each once, in the order named;
    /// none means no extendedKeyUsage extension.
    pub extended: Vec<ObjectIdentifier>,
}

/// cert-manager's default when `usages` is empty (`DefaultKeyUsages` in
/// `pkg/apis/certmanager/v1`).
pub const DEFAULT_USAGES: [&str; 2] = ["digital signature", "key encipherment"];

/// A cert-manager usage name's meaning.
#[derive(Clone, Copy)]
enum Usage {
    Key(KeyUsages),
    Extended(ObjectIdentifier),
}

/// cert-manager's usage names (`KeyUsage` constants of `pkg/apis/certmanager/v1`) and
/// what they mean (`keyUsages` and `extKeyUsages` of `pkg/api/util`).
const USAGES: [(&str, Usage); 23] = [
    ("signing", Usage::Key(KeyUsages::DigitalSignature)),
    ("digital signature", Usage::Key(KeyUsages::DigitalSignature)),
    ("content commitment", Usage::Key(KeyUsages::NonRepudiation)),
    ("key encipherment", Usage::Key(KeyUsages::KeyEncipherment)),
    ("key agreement", Usage::Key(KeyUsages::KeyAgreement)),
    ("data encipherment", Usage::Key(KeyUsages::DataEncipherment)),
    ("cert sign", Usage::Key(KeyUsages::KeyCertSign)),
    ("crl sign", Usage::Key(KeyUsages::CRLSign)),
    ("encipher only", Usage::Key(KeyUsages::EncipherOnly)),
    ("decipher only", Usage::Key(KeyUsages::DecipherOnly)),
    ("any", Usage::Extended(eku::ANY)),
    ("server auth", Usage::Extended(eku::SERVER_AUTH)),
    ("client auth", Usage::Extended(eku::CLIENT_AUTH)),
    ("code signing", Usage::Extended(eku::CODE_SIGNING)),
    ("email protection", Usage::Extended(eku::EMAIL_PROTECTION)),
    ("s/mime", Usage::Extended(eku::EMAIL_PROTECTION)),
    ("ipsec end system", Usage::Extended(eku::IPSEC_END_SYSTEM)),
    ("ipsec tunnel", Usage::Extended(eku::IPSEC_TUNNEL)),
    ("ipsec user", Usage::Extended(eku::IPSEC_USER)),
    ("timestamping", Usage::Extended(eku::TIME_STAMPING)),
    ("ocsp signing", Usage::Extended(eku::OCSP_SIGNING)),
    ("microsoft sgc", Usage::Extended(eku::MICROSOFT_SGC)),
    ("netscape sgc", Usage::Extended(eku::NETSCAPE_SGC)),
];

/// extendedKeyUsage purposes (RFC 5280 §4.2.1.12; the IPsec ones from RFC 2459
/// §4.2.1.13; the two server-gated-crypto ones are vendor OIDs Go's `crypto/x509` knows).
pub mod eku {
    use const_oid::ObjectIdentifier as Oid;

    /// anyExtendedKeyUsage.
    pub const ANY: Oid = Oid::new_unwrap("2.5.29.37.0");
    /// id-kp-serverAuth.
    pub const SERVER_AUTH: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.1");
    /// id-kp-clientAuth.
    pub const CLIENT_AUTH: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.2");
    /// id-kp-codeSigning.
    pub const CODE_SIGNING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.3");
    /// id-kp-emailProtection.
    pub const EMAIL_PROTECTION: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.4");
    /// id-kp-ipsecEndSystem.
    pub const IPSEC_END_SYSTEM: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.5");
    /// id-kp-ipsecTunnel.
    pub const IPSEC_TUNNEL: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.6");
    /// id-kp-ipsecUser.
    pub const IPSEC_USER: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.7");
    /// id-kp-timeStamping.
    pub const TIME_STAMPING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.8");
    /// id-kp-OCSPSigning.
    pub const OCSP_SIGNING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.9");
    /// Microsoft Server Gated Crypto.
    pub const MICROSOFT_SGC: Oid = Oid::new_unwrap("1.3.6.1.4.1.311.10.3.3");
    /// Netscape Server Gated Crypto.
    pub const NETSCAPE_SGC: Oid = Oid::new_unwrap("2.16.840.1.113730.4.1");
}

impl Usages {
    /// What cert-manager's `usages` and `isCA` ask for: the named usages
    /// ([`DEFAULT_USAGES`] when none is named), plus keyCertSign for a CA; an unknown
    /// name is an error, as in cert-manager.
    pub fn from_cert_manager(
        names: &[String],
        is_ca: bool,
        limits: &CsrLimits,
    ) -> Result<Self, CsrError> {
        if names.len() > limits.max_usages {
            return Err(CsrError::TooLarge {
                what: "spec.usages entries",
                value: names.len(),
                limit: limits.max_usages,
            });
        }
        let mut usages = Self::default();
        if is_ca {
            usages.key_usage |= KeyUsages::KeyCertSign;
        }
        let named: Vec<&str> = if names.is_empty() {
            DEFAULT_USAGES.to_vec()
        } else {
            names.iter().map(String::as_str).collect()
        };
        for name in named {
            match USAGES.iter().find(|(n, _)| *n == name).map(|(_, u)| *u) {
                Some(Usage::Key(bit)) => usages.key_usage |= bit,
                Some(Usage::Extended(oid)) => {
                    if !usages.extended.contains(&oid) {
                        usages.extended.push(oid);
                    }
                }
                None => {
                    return Err(CsrError::UnknownUsage {
                        usage: bounded(name),
                    });
                }
            }
        }
        Ok(usages)
    }

    /// The same bits and the same purposes, in any order.
    fn same_as(&self, other: &Self) -> bool {
        self.key_usage == other.key_usage
            && self.extended.iter().all(|o| other.extended.contains(o))
            && other.extended.iter().all(|o| self.extended.contains(o))
    }
}

impl fmt::Display for Usages {
    /// cert-manager's names, an OID for a purpose it has no name for.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names = Vec::new();
        for (name, usage) in USAGES {
            if name == "signing" || name == "s/mime" {
                continue; // aliases
            }
            if let Usage::Key(bit) = usage
                && self.key_usage.contains(bit)
            {
                names.push(name.to_owned());
            }
        }
        for oid in &self.extended {
            let name = USAGES.iter().find_map(|(name, usage)| match usage {
                Usage::Extended(o) if o == oid && *name != "s/mime" => Some(*name),
                _ => None,
            });
            names.push(name.map_or_else(|| oid.to_string(), str::to_owned));
        }
        f.write_str(&names.join(", "))
    }
}

/// Parses a Go duration (`time.ParseDuration`, how cert-manager's `metav1.Duration`
/// reads and writes `spec.duration`): a sequence of decimal numbers, each with an
/// optional fraction and a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`), such as
/// `2160h0m0s`, `1h30m`, `90m` or `1.5h`; an optional leading `+`.
///
/// Stricter than Go where a certificate needs it: the duration must be positive (so
/// `0` and any `-` are refused), and at most `limits.max_duration_len` bytes. Like Go,
/// it must fit in 2^63-1 nanoseconds (about 292 years). Fractions finer than a
/// nanosecond are dropped.
///
/// ```
/// use std::time::Duration;
/// use cmpv2_issuer::csr::{CsrLimits, parse_go_duration};
///
/// let limits = CsrLimits::default();
/// assert_eq!(parse_go_duration("2160h0m0s", &limits)?, Duration::from_secs(90 * 86_400));
/// assert_eq!(parse_go_duration("1.5h", &limits)?, Duration::from_secs(5_400));
/// assert!(parse_go_duration("90d", &limits).is_err());
/// # Ok::<(), cmpv2_issuer::csr::CsrError>(())
/// ```
pub fn parse_go_duration(input: &str, limits: &CsrLimits) -> Result<Duration, CsrError> {
    if input.len() > limits.max_duration_len {
        return Err(CsrError::TooLarge {
            what: "spec.duration in bytes",
            value: input.len(),
            limit: limits.max_duration_len,
        });
    }
    let bad = |reason| CsrError::BadDuration {
        duration: input.to_owned(),
        reason,
    };
    let mut rest = input.strip_prefix('+').unwrap_or(input);
    if rest.starts_with('-') {
        return Err(bad("a negative duration"));
    }
    if rest.is_empty() {
        return Err(bad("it is empty"));
    }
    if rest == "0" {
        return Err(bad("a certificate cannot be valid for zero time"));
    }
    const MAX_NANOS: u128 = i64::MAX as u128;
    let overflow = || bad("longer than 2^63-1 nanoseconds (about 292 years)");
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (whole, after) = split_digits(rest);
        let (fraction, after) = match after.strip_prefix('.') {
            Some(after) => {
                let (fraction, after) = split_digits(after);
                (Some(fraction), after)
            }
            None => (None, after),
        };
        if whole.is_empty() && fraction.is_none_or(str::is_empty) {
            return Err(bad("expected a number"));
        }
        let unit_len = after
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let unit: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(bad("a number without a unit (ns, us, ms, s, m, h)")),
            _ => return Err(bad("an unknown unit (not ns, us, ms, s, m or h)")),
        };
        let mut value: u128 = 0;
        for digit in whole.bytes() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u128::from(digit - b'0')))
                .filter(|v| *v <= MAX_NANOS)
                .ok_or_else(overflow)?;
        }
        let mut nanos = value.checked_mul(unit).ok_or_else(overflow)?;
        if let Some(fraction) = fraction {
            // 19 digits keep every nanosecond of an hour (3.6e12 ns) and fit in u128
            // once multiplied by it.
            let (mut numerator, mut scale) = (0u128, 1u128);
            for digit in fraction.bytes().take(19) {
                numerator = numerator * 10 + u128::from(digit - b'0');
                scale *= 10;
            }
            nanos = nanos
                .checked_add(numerator * unit / scale)
                .ok_or_else(overflow)?;
        }
        total = total
            .checked_add(nanos)
            .filter(|t| *t <= MAX_NANOS)
            .ok_or_else(overflow)?;
        rest = after;
    }
    if total == 0 {
        return Err(bad("a certificate cannot be valid for zero time"));
    }
    let nanos = u64::try_from(total).map_err(|_| overflow())?;
    Ok(Duration::from_nanos(nanos))
}

/// The leading ASCII digits of `s`, and the rest.
fn split_digits(s: &str) -> (&str, &str) {
    s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duration(s: &str) -> Result<Duration, CsrError> {
        parse_go_duration(s, &CsrLimits::default())
    }

    fn reason(s: &str) -> &'static str {
        match duration(s) {
            Err(CsrError::BadDuration { reason, .. }) => reason,
            other => panic!("{s:?}: expected BadDuration, got {other:?}"),
        }
    }

    #[test]
    fn go_durations_as_cert_manager_writes_them() {
        let h = |h: u64| Duration::from_secs(h * 3600);
        assert_eq!(duration("2160h0m0s").expect("90 days"), h(2160));
        assert_eq!(duration("1h30m").expect("1h30m"), Duration::from_secs(5400));
        assert_eq!(duration("90m").expect("90m"), Duration::from_secs(5400));
        assert_eq!(duration("45s").expect("45s"), Duration::from_secs(45));
        assert_eq!(duration("1.5h").expect("1.5h"), Duration::from_secs(5400));
        assert_eq!(duration(".5h").expect(".5h"), Duration::from_secs(1800));
        assert_eq!(duration("1.h").expect("1.h"), h(1));
        assert_eq!(duration("+1h").expect("+1h"), h(1));
        assert_eq!(duration("1h1h").expect("1h1h"), h(2));
        assert_eq!(duration("1.5s").expect("1.5s"), Duration::from_millis(1500));
        assert_eq!(duration("500ms").expect("ms"), Duration::from_millis(500));
        assert_eq!(duration("7us").expect("us"), Duration::from_micros(7));
        assert_eq!(
            duration("7µs").expect("micro sign"),
            Duration::from_micros(7)
        );
        assert_eq!(duration("7μs").expect("greek mu"), Duration::from_micros(7));
        assert_eq!(duration("3ns").expect("ns"), Duration::from_nanos(3));
        // Go's own String() of the longest duration, and sub-nanosecond digits dropped.
        assert_eq!(
            duration("2562047h47m16.854775807s").expect("max"),
            Duration::from_nanos(i64::MAX as u64)
        );
        assert_eq!(
            duration("0.1234567891234s").expect("fraction"),
            Duration::from_nanos(123_456_789)
        );
    }

    #[test]
    fn refuses_garbage_durations() {
        assert_eq!(reason(""), "it is empty");
        assert_eq!(reason("+"), "it is empty");
        assert_eq!(reason("-1h"), "a negative duration");
        assert_eq!(reason("+-1h"), "a negative duration");
        assert_eq!(reason("0"), "a certificate cannot be valid for zero time");
        assert_eq!(reason("0s"), "a certificate cannot be valid for zero time");
        assert_eq!(
            reason("0h0m0.0s"),
            "a certificate cannot be valid for zero time"
        );
        assert_eq!(
            reason("10"),
            "a number without a unit (ns, us, ms, s, m, h)"
        );
        assert_eq!(
            reason("1h30"),
            "a number without a unit (ns, us, ms, s, m, h)"
        );
        assert_eq!(reason("1d"), "an unknown unit (not ns, us, ms, s, m or h)");
        assert_eq!(reason("1H"), "an unknown unit (not ns, us, ms, s, m or h)");
        assert_eq!(reason("1 h"), "an unknown unit (not ns, us, ms, s, m or h)");
        assert_eq!(reason("1hx"), "an unknown unit (not ns, us, ms, s, m or h)");
        assert_eq!(reason("h"), "expected a number");
        assert_eq!(reason(".h"), "expected a number");
        assert_eq!(reason("1h."), "expected a number");
        assert_eq!(
            reason("1..5h"),
            "a number without a unit (ns, us, ms, s, m, h)"
        );
        assert_eq!(reason(" 1h"), "expected a number");
        assert_eq!(reason("1h "), "an unknown unit (not ns, us, ms, s, m or h)");
        assert_eq!(reason("١h"), "expected a number"); // Arabic-Indic digit one
    }

    #[test]
    fn refuses_durations_that_overflow() {
        let overflow = "longer than 2^63-1 nanoseconds (about 292 years)";
        // One nanosecond past Go's limit, by sum, by unit and by sheer digits.
        assert_eq!(reason("2562047h47m16.854775808s"), overflow);
        assert_eq!(reason("9223372036854775807ns1ns"), overflow);
        assert_eq!(reason("2562048h"), overflow);
        assert_eq!(
            reason("99999999999999999999999999999999999999999h"),
            overflow
        );
        assert_eq!(reason("18446744073709551616s"), overflow);
    }

    #[test]
    fn duration_length_is_bounded() {
        let long = format!("{}1h", "0".repeat(63));
        assert!(matches!(
            duration(&long),
            Err(CsrError::TooLarge {
                value: 65,
                limit: 64,
                ..
            })
        ));
        // Leading zeros are fine within the bound.
        assert_eq!(
            duration(&format!("{}1h", "0".repeat(60))).expect("zeros"),
            Duration::from_secs(3600)
        );
    }

    fn usages(names: &[&str], is_ca: bool) -> Result<Usages, CsrError> {
        let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        Usages::from_cert_manager(&names, is_ca, &CsrLimits::default())
    }

    #[test]
    fn empty_usages_are_cert_managers_default() {
        let u = usages(&[], false).expect("default");
        assert_eq!(
            u.key_usage,
            KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment
        );
        assert!(u.extended.is_empty());
        let ca = usages(&[], true).expect("CA default");
        assert_eq!(
            ca.key_usage,
            KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment | KeyUsages::KeyCertSign
        );
    }

    #[test]
    fn every_cert_manager_usage_name_maps() {
        for (name, usage) in USAGES {
            let u = usages(&[name], false).expect(name);
            match usage {
                Usage::Key(bit) => {
                    assert_eq!(u.key_usage, FlagSet::from(bit), "{name}");
                    assert!(u.extended.is_empty(), "{name}");
                }
                Usage::Extended(oid) => {
                    assert!(u.key_usage.is_empty(), "{name}");
                    assert_eq!(u.extended, vec![oid], "{name}");
                }
            }
        }
        let u = usages(&["signing", "s/mime", "email protection"], false).expect("aliases");
        assert_eq!(u.key_usage, FlagSet::from(KeyUsages::DigitalSignature));
        assert_eq!(u.extended, vec![eku::EMAIL_PROTECTION]);
        assert_eq!(u.to_string(), "digital signature, email protection");
    }

    #[test]
    fn unknown_usage_is_an_error() {
        for name in [
            "Server Auth",
            "serverAuth",
            "server-auth",
            "",
            "digital signature ",
        ] {
            match usages(&["digital signature", name], false) {
                Err(CsrError::UnknownUsage { usage }) => assert_eq!(usage, name),
                other => panic!("{name:?}: {other:?}"),
            }
        }
        let long = "x".repeat(1000);
        match usages(&[&long], false) {
            Err(CsrError::UnknownUsage { usage }) => assert_eq!(usage.len(), 64),
            other => panic!("{other:?}"),
        }
        let many = vec!["any"; 33];
        assert!(matches!(
            usages(&many, false),
            Err(CsrError::TooLarge { value: 33, .. })
        ));
    }

    #[test]
    fn request_that_is_neither_pem_nor_der_is_refused() {
        let limits = CsrLimits::default();
        for input in [
            &b""[..],
            b"hello",
            b"-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n",
            b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
        ] {
            assert!(
                matches!(csr_der(input, &limits), Err(CsrError::NotACsr { .. })),
                "{input:?}"
            );
        }
        let big = vec![0x30; limits.max_request_len + 1];
        assert!(matches!(
            csr_der(&big, &limits),
            Err(CsrError::TooLarge { .. })
        ));
    }

    /// The p384 fixture with its extensionRequest attribute replaced by `attributes`.
    /// Only the structure is checked here; the signature no longer matters.
    fn with_attributes(attributes: Vec<x509_cert::attr::Attribute>) -> CertReq {
        let pem = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/csr/p384.csr.pem"
        ));
        let (_, der) = der::pem::decode_vec(pem).expect("PEM");
        let mut csr = CertReq::from_der(&der).expect("CSR");
        csr.info.attributes = attributes.try_into().expect("SET OF");
        csr
    }

    fn extension_request(values: &[Vec<Extension>]) -> x509_cert::attr::Attribute {
        let values: Vec<der::Any> = values
            .iter()
            .map(|exts| der::Any::encode_from(exts).expect("any"))
            .collect();
        x509_cert::attr::Attribute {
            oid: ExtensionReq::OID,
            values: values.try_into().expect("SET OF"),
        }
    }

    fn san(name: &str) -> Extension {
        extension(
            false,
            &SubjectAltName(vec![GeneralName::DnsName(
                der::asn1::Ia5String::new(name).expect("IA5"),
            )]),
        )
        .expect("extension")
    }

    fn malformed_reason(csr: &CertReq) -> String {
        match requested_extensions(csr, &CsrLimits::default()) {
            Err(CsrError::Malformed { reason, .. }) => reason,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn extension_request_must_be_single_and_without_repeats() {
        let ok = with_attributes(vec![extension_request(&[vec![san("a.example")]])]);
        assert_eq!(
            requested_extensions(&ok, &CsrLimits::default()).expect("one"),
            vec![san("a.example")]
        );
        let none = with_attributes(Vec::new());
        assert!(
            requested_extensions(&none, &CsrLimits::default())
                .expect("none")
                .is_empty()
        );

        let repeated = with_attributes(vec![extension_request(&[vec![
            san("a.example"),
            san("b.example"),
        ]])]);
        assert!(malformed_reason(&repeated).contains("appears twice (RFC 5280 §4.2)"));
        let two_values = with_attributes(vec![extension_request(&[
            vec![san("a.example")],
            vec![san("b.example")],
        ])]);
        assert!(malformed_reason(&two_values).contains("exactly one value"));
        let no_value = with_attributes(vec![extension_request(&[])]);
        assert!(malformed_reason(&no_value).contains("exactly one value"));
    }

    #[test]
    fn not_after_is_whole_seconds_and_switches_to_generalized_time_in_2050() {
        let now = UNIX_EPOCH + Duration::from_millis(1_700_000_000_999);
        let t = not_after(now, Duration::from_secs(60)).expect("time");
        assert!(matches!(t, Time::UtcTime(_)));
        assert_eq!(t.to_unix_duration(), Duration::from_secs(1_700_000_060));
        // 2050-01-01T00:00:00Z
        let t = not_after(UNIX_EPOCH, Duration::from_secs(2_524_608_000)).expect("2050");
        assert!(matches!(t, Time::GeneralTime(_)));
    }
}
