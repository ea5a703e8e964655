//! Reads what an issuer's spec names from Secrets and ConfigMaps: the shared secret or
//! signing certificate, the CMP trust anchors, and TLS roots and client certificate.
//! A namespaced issuer reads its own namespace; a cluster issuer reads the cluster
//! resource namespace.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::{Api, Client};
use zeroize::Zeroizing;

use crate::api::{CertificateSource, IssuerSpec};
use crate::ca::IssuerCredentials;

/// Largest Secret or ConfigMap value read (certificates and keys are a few KiB).
pub const MAX_VALUE_SIZE: usize = 256 * 1024;

/// Why credentials could not be read: the issuer is not Ready, with this message.
/// Messages name the object and key, never a value.
#[derive(Debug)]
pub enum CredentialsError {
    /// The object does not exist (yet).
    NotFound {
        /// `Secret ns/name` or `ConfigMap ns/name`.
        object: String,
    },
    /// The object exists but lacks the key, or its value is unusable.
    BadValue {
        /// `Secret ns/name`.
        object: String,
        /// The key.
        key: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The API server failed or refused (RBAC, network).
    Api {
        /// What was read.
        object: String,
        /// The API error.
        source: kube::Error,
    },
}

impl std::fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound { object } => write!(f, "{object} not found"),
            Self::BadValue {
                object,
                key,
                reason,
            } => write!(f, "{object} key {key:?}: {reason}"),
            Self::Api { object, source } => write!(f, "cannot read {object}: {source}"),
        }
    }
}

impl std::error::Error for CredentialsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Api { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Reads every credential `spec` names, from `namespace`.
pub async fn read(
    client: &Client,
    namespace: &str,
    spec: &IssuerSpec,
) -> Result<IssuerCredentials, CredentialsError> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let mut credentials = IssuerCredentials::default();
    if let Some(mac) = &spec.protection.shared_secret {
        let value = secret_value(
            &secrets,
            namespace,
            &mac.secret_ref.name,
            &mac.secret_ref.key,
        )
        .await?;
        credentials.shared_secret = Some(value);
    }
    if let Some(signature) = &spec.protection.signature {
        credentials.signer = Some(tls_pair(&secrets, namespace, &signature.secret_name).await?);
    }
    if let Some(source) = &spec.trust_anchors {
        credentials.trust_anchors =
            Some(certificates(&secrets, &config_maps, namespace, source).await?);
    }
    if let Some(tls) = &spec.tls {
        if let Some(source) = &tls.ca_bundle {
            credentials.tls_roots =
                Some(certificates(&secrets, &config_maps, namespace, source).await?);
        }
        if let Some(name) = &tls.client_certificate_secret_name {
            credentials.tls_client = Some(tls_pair(&secrets, namespace, name).await?);
        }
    }
    Ok(credentials)
}

async fn secret(
    secrets: &Api<Secret>,
    namespace: &str,
    name: &str,
) -> Result<Secret, CredentialsError> {
    let object = format!("Secret {namespace}/{name}");
    match secrets.get_opt(name).await {
        Ok(Some(secret)) => Ok(secret),
        Ok(None) => Err(CredentialsError::NotFound { object }),
        Err(source) => Err(CredentialsError::Api { object, source }),
    }
}

fn value_of(
    secret: &Secret,
    namespace: &str,
    name: &str,
    key: &str,
) -> Result<Zeroizing<Vec<u8>>, CredentialsError> {
    let bad = |reason| CredentialsError::BadValue {
        object: format!("Secret {namespace}/{name}"),
        key: key.to_owned(),
        reason,
    };
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|b| Zeroizing::new(b.0.clone()))
        .ok_or_else(|| bad("missing"))?;
    if bytes.is_empty() {
        return Err(bad("empty"));
    }
    if bytes.len() > MAX_VALUE_SIZE {
        return Err(bad("larger than 256 KiB"));
    }
    Ok(bytes)
}

async fn secret_value(
    secrets: &Api<Secret>,
    namespace: &str,
    name: &str,
    key: &str,
) -> Result<Zeroizing<Vec<u8>>, CredentialsError> {
    let secret = secret(secrets, namespace, name).await?;
    value_of(&secret, namespace, name, key)
}

async fn tls_pair(
    secrets: &Api<Secret>,
    namespace: &str,
    name: &str,
) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), CredentialsError> {
    let secret = secret(secrets, namespace, name).await?;
    let chain = value_of(&secret, namespace, name, "tls.crt")?;
    let key = value_of(&secret, namespace, name, "tls.key")?;
    Ok((chain.to_vec(), key))
}

async fn certificates(
    secrets: &Api<Secret>,
    config_maps: &Api<ConfigMap>,
    namespace: &str,
    source: &CertificateSource,
) -> Result<Vec<u8>, CredentialsError> {
    match (&source.secret_ref, &source.config_map_ref) {
        (Some(s), None) => Ok(secret_value(secrets, namespace, &s.name, &s.key)
            .await?
            .to_vec()),
        (None, Some(c)) => {
            let object = format!("ConfigMap {namespace}/{}", c.name);
            let map = match config_maps.get_opt(&c.name).await {
                Ok(Some(map)) => map,
                Ok(None) => return Err(CredentialsError::NotFound { object }),
                Err(source) => return Err(CredentialsError::Api { object, source }),
            };
            let bad = |reason| CredentialsError::BadValue {
                object: object.clone(),
                key: c.key.clone(),
                reason,
            };
            let text = map
                .data
                .as_ref()
                .and_then(|d| d.get(&c.key))
                .ok_or_else(|| bad("missing"))?;
            if text.len() > MAX_VALUE_SIZE {
                return Err(bad("larger than 256 KiB"));
            }
            Ok(text.clone().into_bytes())
        }
        _ => Err(CredentialsError::BadValue {
            object: "certificate source".to_owned(),
            key: "secretRef/configMapRef".to_owned(),
            reason: "name exactly one of secretRef and configMapRef",
        }),
    }
}
