//! Object identifiers used by CMP, CRMF and their algorithms.
//!
//! Grouped by the RFC that assigns them; each constant names its ASN.1 identifier.

use const_oid::ObjectIdentifier as Oid;

// RFC 4210 §5.3.19 / RFC 9480 §2.4 (id-it = id-pkix 4)
/// `id-it-caProtEncCert` (RFC 4210 §5.3.19.1).
pub const IT_CA_PROT_ENC_CERT: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.4.1");
/// `id-it-signKeyPairTypes` (RFC 4210 §5.3.19.2).
pub const IT_SIGN_KEY_PAIR_TYPES: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.4.2");
/// `id-it-encKeyPairTypes` (RFC 4210 §5.3.19.3).
pub const IT_ENC_KEY_PAIR_TYPES: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.4.3");
/// `id-it-preferredSymmAlg` (RFC 4210 §5.3.19.4).
pub const IT_PREFERRED_SYMM_ALG: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.4.4");
/// `id-it-caKeyUpdateInfo` (RFC 4210 §5.3.19.5, deprecated by RFC 9480).
pub const IT_CA_KEY_UPDATE_INFO: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.4.5");
/// `id-it-currentCRL` (RFC 4210 §5.3.19.6).
pub const IT_CURRENT_CRL: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.4.6");
/// `id-it-unsupportedOIDs` (RFC 4210 §5.3.19.7).
pub const IT_UNSUPPORTED_OIDS: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.4.7");
/// `id-it-keyPairParamReq` (RFC 4210 §5.3.19.9).
pub const IT_KEY_PAIR_PARAM_REQ: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.4.10");
/// `id-it-keyPairParamRep` (RFC 4210 §5.3.19.10).
pub const IT_KEY_PAIR_PARAM_REP: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.4.11");
/// `id-it-revPassphrase` (RFC 4210 §5.3.19.11).
pub const IT_REV_PASSPHRASE: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.4.12");
/// `id-it-implicitConfirm` (RFC 4210 §5.1.1.1).
pub const IT_IMPLICIT_CONFIRM: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.4.13");
/// `id-it-confirmWaitTime` (RFC 4210 §5.1.1.2).
pub const IT_CONFIRM_WAIT_TIME: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.4.14");
/// `id-it-origPKIMessage` (RFC 4210 §5.1.1.3).
pub const IT_ORIG_PKI_MESSAGE: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.4.15");
/// `id-it-suppLangTags` (RFC 4210 §5.3.19.13).
pub const IT_SUPP_LANG_TAGS: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.4.16");
/// `id-it-caCerts` (RFC 9480 §2.14).
pub const IT_CA_CERTS: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.4.17");
/// `id-it-rootCaKeyUpdate` (RFC 9480 §2.15).
pub const IT_ROOT_CA_KEY_UPDATE: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.4.18");
/// `id-it-certReqTemplate` (RFC 9480 §2.16).
pub const IT_CERT_REQ_TEMPLATE: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.4.19");
/// `id-kp-cmcCA` (RFC 6402 §2.10): a CA's certificate for CMC/CMP messages
/// (RFC 9483 §3.3, RFC 9810 §3.1.2).
pub const KP_CMC_CA: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.27");
/// `id-kp-cmcRA` (RFC 6402 §2.10): an RA's certificate for CMC/CMP messages.
pub const KP_CMC_RA: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.28");
/// `id-it-rootCaCert` (RFC 9480 §2.15).
pub const IT_ROOT_CA_CERT: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.4.20");
/// `id-it-certProfile` (RFC 9480 §2.4).
pub const IT_CERT_PROFILE: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.4.21");
/// `id-it-crlStatusList` (RFC 9480 §2.17).
pub const IT_CRL_STATUS_LIST: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.4.22");
/// `id-it-crls` (RFC 9480 §2.17).
pub const IT_CRLS: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.4.23");

// RFC 4211 §6 (id-regCtrl = id-pkip 1, id-regInfo = id-pkip 2)
/// `id-regCtrl-regToken` (RFC 4211 §6.1).
pub const REG_CTRL_REG_TOKEN: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.5.1.1");
/// `id-regCtrl-authenticator` (RFC 4211 §6.2).
pub const REG_CTRL_AUTHENTICATOR: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.5.1.2");
/// `id-regCtrl-pkiPublicationInfo` (RFC 4211 §6.3).
pub const REG_CTRL_PKI_PUBLICATION_INFO: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.5.1.3");
/// `id-regCtrl-pkiArchiveOptions` (RFC 4211 §6.4).
pub const REG_CTRL_PKI_ARCHIVE_OPTIONS: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.5.1.4");
/// `id-regCtrl-oldCertID` (RFC 4211 §6.5).
pub const REG_CTRL_OLD_CERT_ID: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.5.1.5");
/// `id-regCtrl-protocolEncrKey` (RFC 4211 §6.6).
pub const REG_CTRL_PROTOCOL_ENCR_KEY: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.5.1.6");
/// `id-regInfo-utf8Pairs` (RFC 4211 §7.1).
pub const REG_INFO_UTF8_PAIRS: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.5.2.1");
/// `id-regInfo-certReq` (RFC 4211 §7.2).
pub const REG_INFO_CERT_REQ: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.5.2.2");

// MAC protection: RFC 4211 §4.4, RFC 8018, RFC 9481 §6
/// `id-PasswordBasedMac` (RFC 4211 §4.4, RFC 9481 §6.1.1).
pub const PASSWORD_BASED_MAC: Oid = Oid::new_unwrap("1.2.840.113533.7.66.13");
/// `id-PBMAC1` (RFC 8018 §A.5, RFC 9481 §6.1.2).
pub const PBMAC1: Oid = Oid::new_unwrap("1.2.840.113549.1.5.14");
/// `id-PBKDF2` (RFC 8018 §A.2).
pub const PBKDF2: Oid = Oid::new_unwrap("1.2.840.113549.1.5.12");
/// `hmac-sha1` as used by PasswordBasedMac (RFC 9481 §6.2.1).
pub const HMAC_SHA1: Oid = Oid::new_unwrap("1.3.6.1.5.5.8.1.2");
/// `id-hmacWithSHA1` (RFC 8018 §B.1.1), the PBKDF2 default PRF.
pub const HMAC_WITH_SHA1: Oid = Oid::new_unwrap("1.2.840.113549.2.7");
/// `id-hmacWithSHA224` (RFC 4231).
pub const HMAC_WITH_SHA224: Oid = Oid::new_unwrap("1.2.840.113549.2.8");
/// `id-hmacWithSHA256` (RFC 4231).
pub const HMAC_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.113549.2.9");
/// `id-hmacWithSHA384` (RFC 4231).
pub const HMAC_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.113549.2.10");
/// `id-hmacWithSHA512` (RFC 4231).
pub const HMAC_WITH_SHA512: Oid = Oid::new_unwrap("1.2.840.113549.2.11");

// Hash functions (RFC 9481 §2)
/// `id-sha1` (RFC 3279).
pub const SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
/// `id-sha224` (RFC 5754).
pub const SHA224: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.4");
/// `id-sha256` (RFC 5754).
pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
/// `id-sha384` (RFC 5754).
pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
/// `id-sha512` (RFC 5754).
pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");

// Signature algorithms (RFC 9481 §3)
/// `rsaEncryption` (RFC 8017).
pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
/// `id-mgf1` (RFC 8017).
pub const MGF1: Oid = Oid::new_unwrap("1.2.840.113549.1.1.8");
/// `id-RSASSA-PSS` (RFC 8017, RFC 4056).
pub const RSASSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
/// `sha1WithRSAEncryption` (RFC 8017), accepted for legacy peers only on verification.
pub const SHA1_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.5");
/// `sha224WithRSAEncryption` (RFC 8017).
pub const SHA224_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.14");
/// `sha256WithRSAEncryption` (RFC 8017).
pub const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
/// `sha384WithRSAEncryption` (RFC 8017).
pub const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
/// `sha512WithRSAEncryption` (RFC 8017).
pub const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
/// `id-ecPublicKey` (RFC 5480).
pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
/// `secp256r1` (RFC 5480).
pub const SECP256R1: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
/// `secp384r1` (RFC 5480).
pub const SECP384R1: Oid = Oid::new_unwrap("1.3.132.0.34");
/// `ecdsa-with-SHA224` (RFC 5758).
pub const ECDSA_WITH_SHA224: Oid = Oid::new_unwrap("1.2.840.10045.4.3.1");
/// `ecdsa-with-SHA256` (RFC 5758).
pub const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
/// `ecdsa-with-SHA384` (RFC 5758).
pub const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
/// `ecdsa-with-SHA512` (RFC 5758).
pub const ECDSA_WITH_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
/// `id-Ed25519` (RFC 8410).
pub const ED25519: Oid = Oid::new_unwrap("1.3.101.112");

// X.509 extensions we build into templates (RFC 5280 §4.2.1)
/// `id-ce-subjectAltName`.
pub const CE_SUBJECT_ALT_NAME: Oid = Oid::new_unwrap("2.5.29.17");
/// `id-ce-keyUsage`.
pub const CE_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");
/// `id-ce-extKeyUsage`.
pub const CE_EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37");
/// `id-ce-basicConstraints`.
pub const CE_BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");

/// A readable name for an OID we know, for dumps and error messages.
pub fn name(oid: &Oid) -> Option<&'static str> {
    const NAMES: &[(Oid, &str)] = &[
        (PASSWORD_BASED_MAC, "PasswordBasedMac"),
        (PBMAC1, "PBMAC1"),
        (PBKDF2, "PBKDF2"),
        (HMAC_SHA1, "hmac-sha1"),
        (HMAC_WITH_SHA1, "hmacWithSHA1"),
        (HMAC_WITH_SHA224, "hmacWithSHA224"),
        (HMAC_WITH_SHA256, "hmacWithSHA256"),
        (HMAC_WITH_SHA384, "hmacWithSHA384"),
        (HMAC_WITH_SHA512, "hmacWithSHA512"),
        (SHA1, "sha1"),
        (SHA224, "sha224"),
        (SHA256, "sha256"),
        (SHA384, "sha384"),
        (SHA512, "sha512"),
        (RSA_ENCRYPTION, "rsaEncryption"),
        (RSASSA_PSS, "RSASSA-PSS"),
        (SHA1_WITH_RSA, "sha1WithRSAEncryption"),
        (SHA224_WITH_RSA, "sha224WithRSAEncryption"),
        (SHA256_WITH_RSA, "sha256WithRSAEncryption"),
        (SHA384_WITH_RSA, "sha384WithRSAEncryption"),
        (SHA512_WITH_RSA, "sha512WithRSAEncryption"),
        (EC_PUBLIC_KEY, "id-ecPublicKey"),
        (SECP256R1, "secp256r1"),
        (SECP384R1, "secp384r1"),
        (ECDSA_WITH_SHA224, "ecdsa-with-SHA224"),
        (ECDSA_WITH_SHA256, "ecdsa-with-SHA256"),
        (ECDSA_WITH_SHA384, "ecdsa-with-SHA384"),
        (ECDSA_WITH_SHA512, "ecdsa-with-SHA512"),
        (ED25519, "Ed25519"),
        (IT_CA_PROT_ENC_CERT, "caProtEncCert"),
        (IT_SIGN_KEY_PAIR_TYPES, "signKeyPairTypes"),
        (IT_ENC_KEY_PAIR_TYPES, "encKeyPairTypes"),
        (IT_PREFERRED_SYMM_ALG, "preferredSymmAlg"),
        (IT_CA_KEY_UPDATE_INFO, "caKeyUpdateInfo"),
        (IT_CURRENT_CRL, "currentCRL"),
        (IT_UNSUPPORTED_OIDS, "unsupportedOIDs"),
        (IT_KEY_PAIR_PARAM_REQ, "keyPairParamReq"),
        (IT_KEY_PAIR_PARAM_REP, "keyPairParamRep"),
        (IT_REV_PASSPHRASE, "revPassphrase"),
        (IT_IMPLICIT_CONFIRM, "implicitConfirm"),
        (IT_CONFIRM_WAIT_TIME, "confirmWaitTime"),
        (IT_ORIG_PKI_MESSAGE, "origPKIMessage"),
        (IT_SUPP_LANG_TAGS, "suppLangTags"),
        (IT_CA_CERTS, "caCerts"),
        (IT_ROOT_CA_KEY_UPDATE, "rootCaKeyUpdate"),
        (IT_CERT_REQ_TEMPLATE, "certReqTemplate"),
        (IT_ROOT_CA_CERT, "rootCaCert"),
        (IT_CERT_PROFILE, "certProfile"),
        (IT_CRL_STATUS_LIST, "crlStatusList"),
        (IT_CRLS, "crls"),
        (REG_CTRL_REG_TOKEN, "regToken"),
        (REG_CTRL_AUTHENTICATOR, "authenticator"),
        (REG_CTRL_PKI_PUBLICATION_INFO, "pkiPublicationInfo"),
        (REG_CTRL_PKI_ARCHIVE_OPTIONS, "pkiArchiveOptions"),
        (REG_CTRL_OLD_CERT_ID, "oldCertID"),
        (REG_CTRL_PROTOCOL_ENCR_KEY, "protocolEncrKey"),
        (REG_INFO_UTF8_PAIRS, "utf8Pairs"),
        (REG_INFO_CERT_REQ, "certReq"),
    ];
    NAMES.iter().find(|(o, _)| o == oid).map(|(_, n)| *n)
}
