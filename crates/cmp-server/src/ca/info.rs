//! The test CA's answers to general messages (RFC 4210 §5.3.19, RFC 9480 §4.3).

use std::time::SystemTime;

use cmp_proto::crmf::CertTemplate;
use cmp_proto::{CertReqTemplateContent, InfoTypeAndValue, oid};
use der::asn1::Null;
use spki::AlgorithmIdentifierOwned;

use super::TestCa;
use super::policy::AllowedKey;

impl TestCa {
    /// The info a genm asks for, or `None` for an info type the test CA does not offer.
    pub(crate) fn answer(
        &self,
        request: &InfoTypeAndValue,
        now: SystemTime,
    ) -> Option<InfoTypeAndValue> {
        match request.info_type {
            // RFC 9480 §4.3.1: the certificates the requester may want to trust.
            oid::IT_CA_CERTS => InfoTypeAndValue::ca_certs_value(&self.ca_certs()).ok(),
            // RFC 9480 §4.3.2 (RFC 9483 §4.3.2): asked with rootCaCert, answered with
            // rootCaKeyUpdate. The test CA never rolls its root over, so the answer is
            // the info type without a value: no update.
            oid::IT_ROOT_CA_KEY_UPDATE | oid::IT_ROOT_CA_CERT => {
                Some(InfoTypeAndValue::request(oid::IT_ROOT_CA_KEY_UPDATE))
            }
            // RFC 9480 §4.3.3: a template with nothing fixed; the key types are in
            // signKeyPairTypes.
            oid::IT_CERT_REQ_TEMPLATE => {
                InfoTypeAndValue::cert_req_template_value(&CertReqTemplateContent {
                    cert_template: CertTemplate::default(),
                    key_spec: None,
                })
                .ok()
            }
            oid::IT_SIGN_KEY_PAIR_TYPES => {
                InfoTypeAndValue::sign_key_pair_types_value(&self.key_pair_types()).ok()
            }
            // RFC 9480 §4.3.4: whatever CRL was asked about, ours is the only one.
            oid::IT_CRL_STATUS_LIST | oid::IT_CRLS => {
                let crl = self.crl(now).ok()?;
                InfoTypeAndValue::crls_value(&[crl]).ok()
            }
            // RFC 4210 §5.3.19.6.
            oid::IT_CURRENT_CRL => {
                let crl = self.crl(now).ok()?;
                InfoTypeAndValue::with_value(oid::IT_CURRENT_CRL, &crl).ok()
            }
            _ => None,
        }
    }

    /// The algorithm identifiers of the key types the policy allows (RFC 9480 §4.3.5).
    fn key_pair_types(&self) -> Vec<AlgorithmIdentifierOwned> {
        let ec = |curve| AlgorithmIdentifierOwned {
            oid: oid::EC_PUBLIC_KEY,
            parameters: Some(der::asn1::Any::from(&curve)),
        };
        self.config
            .allowed_keys
            .iter()
            .map(|k| match k {
                AllowedKey::P256 => ec(oid::SECP256R1),
                AllowedKey::P384 => ec(oid::SECP384R1),
                AllowedKey::Rsa { .. } => AlgorithmIdentifierOwned {
                    oid: oid::RSA_ENCRYPTION,
                    parameters: Some(Null.into()),
                },
                AllowedKey::Ed25519 => AlgorithmIdentifierOwned {
                    oid: oid::ED25519,
                    parameters: None,
                },
            })
            .collect()
    }
}
