//! Private signing keys are never stored in plaintext (design section 4): each is encrypted
//! with AES-256-GCM under a data key, with the key id as associated data so a sealed key
//! cannot be moved to another key record. In AWS the data key comes from KMS
//! (GenerateDataKey, and one Decrypt per key per cold start); locally it is a key-encryption
//! key file in the data directory, readable only by its owner.

use crate::domain::{KeyId, SealedPrivateKey};
use async_trait::async_trait;
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SealError {
    #[error("key sealing service unavailable: {0}")]
    Unavailable(String),
    #[error("sealed key is corrupt or was sealed for another key: {0}")]
    Corrupt(String),
}

#[async_trait]
pub trait KeySealer: Send + Sync {
    async fn seal(&self, kid: &KeyId, private_key: &[u8]) -> Result<SealedPrivateKey, SealError>;
    async fn unseal(&self, kid: &KeyId, sealed: &SealedPrivateKey) -> Result<Vec<u8>, SealError>;
}

/// What `SealedPrivateKey::blob` holds (base64 of this, as JSON).
#[derive(Serialize, Deserialize)]
struct Envelope {
    /// The data key as KMS encrypted it (KMS scheme only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    encrypted_data_key: Option<String>,
    nonce: String,
    ciphertext: String,
}

const DATA_KEY_LEN: usize = 32;

fn aead_key(data_key: &[u8]) -> Result<LessSafeKey, SealError> {
    let key = UnboundKey::new(&AES_256_GCM, data_key)
        .map_err(|_| SealError::Corrupt("data key is not 256 bits".into()))?;
    Ok(LessSafeKey::new(key))
}

fn encrypt(
    data_key: &[u8],
    kid: &KeyId,
    plaintext: &[u8],
    encrypted_data_key: Option<String>,
) -> Result<String, SealError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| SealError::Unavailable("no randomness for a nonce".into()))?;
    let mut buffer = plaintext.to_vec();
    aead_key(data_key)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(kid.as_str().as_bytes()),
            &mut buffer,
        )
        .map_err(|_| SealError::Corrupt("encryption failed".into()))?;
    let envelope = Envelope {
        encrypted_data_key,
        nonce: STANDARD.encode(nonce),
        ciphertext: STANDARD.encode(buffer),
    };
    let json = serde_json::to_vec(&envelope).map_err(|e| SealError::Corrupt(e.to_string()))?;
    Ok(STANDARD.encode(json))
}

fn parse_envelope(sealed: &SealedPrivateKey, scheme: &str) -> Result<Envelope, SealError> {
    if sealed.scheme != scheme {
        return Err(SealError::Corrupt(format!(
            "sealed with '{}', this sealer opens '{scheme}'",
            sealed.scheme
        )));
    }
    let json = STANDARD
        .decode(&sealed.blob)
        .map_err(|e| SealError::Corrupt(e.to_string()))?;
    serde_json::from_slice(&json).map_err(|e| SealError::Corrupt(e.to_string()))
}

fn decrypt(data_key: &[u8], kid: &KeyId, envelope: &Envelope) -> Result<Vec<u8>, SealError> {
    let corrupt = || SealError::Corrupt(format!("cannot decrypt the key {kid}"));
    let nonce: [u8; NONCE_LEN] = STANDARD
        .decode(&envelope.nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(corrupt)?;
    let mut buffer = STANDARD
        .decode(&envelope.ciphertext)
        .map_err(|_| corrupt())?;
    let plaintext = aead_key(data_key)?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(kid.as_str().as_bytes()),
            &mut buffer,
        )
        .map_err(|_| corrupt())?;
    Ok(plaintext.to_vec())
}

/// Local runs: a 256-bit key-encryption key in `<data dir>/signing-kek` (mode 0600).
pub struct LocalKeySealer {
    kek: [u8; DATA_KEY_LEN],
}

pub const LOCAL_SCHEME: &str = "local-aes256gcm";
pub const KEK_FILE: &str = "signing-kek";

impl LocalKeySealer {
    /// Reads the key-encryption key, creating it on first use.
    pub fn open(data_dir: &Path) -> Result<Self, SealError> {
        let path: PathBuf = data_dir.join(KEK_FILE);
        let unavailable =
            |e: std::io::Error| SealError::Unavailable(format!("{}: {e}", path.display()));
        if !path.exists() {
            crate::private_dir::create_private_dir(data_dir).map_err(unavailable)?;
            let mut kek = [0u8; DATA_KEY_LEN];
            SystemRandom::new()
                .fill(&mut kek)
                .map_err(|_| SealError::Unavailable("no randomness".into()))?;
            write_owner_only(&path, &kek).map_err(unavailable)?;
        }
        let bytes = std::fs::read(&path).map_err(unavailable)?;
        let kek = bytes
            .try_into()
            .map_err(|_| SealError::Corrupt(format!("{} is not a 256-bit key", path.display())))?;
        Ok(LocalKeySealer { kek })
    }
}

fn write_owner_only(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?.write_all(bytes)
}

#[async_trait]
impl KeySealer for LocalKeySealer {
    async fn seal(&self, kid: &KeyId, private_key: &[u8]) -> Result<SealedPrivateKey, SealError> {
        Ok(SealedPrivateKey {
            scheme: LOCAL_SCHEME.into(),
            blob: encrypt(&self.kek, kid, private_key, None)?,
        })
    }

    async fn unseal(&self, kid: &KeyId, sealed: &SealedPrivateKey) -> Result<Vec<u8>, SealError> {
        decrypt(&self.kek, kid, &parse_envelope(sealed, LOCAL_SCHEME)?)
    }
}

/// AWS: envelope encryption under a KMS key created by the template.
pub struct KmsKeySealer {
    client: aws_sdk_kms::Client,
    key_id: String,
}

pub const KMS_SCHEME: &str = "kms-envelope-aes256gcm";

impl KmsKeySealer {
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Self {
        KmsKeySealer {
            client,
            key_id: key_id.into(),
        }
    }

    pub fn from_config(config: &aws_config::SdkConfig, key_id: impl Into<String>) -> Self {
        KmsKeySealer::new(aws_sdk_kms::Client::new(config), key_id)
    }
}

fn kms_error(operation: &str, error: impl std::error::Error + 'static) -> SealError {
    SealError::Unavailable(format!(
        "KMS {operation}: {}",
        aws_sdk_kms::error::DisplayErrorContext(&error)
    ))
}

#[async_trait]
impl KeySealer for KmsKeySealer {
    async fn seal(&self, kid: &KeyId, private_key: &[u8]) -> Result<SealedPrivateKey, SealError> {
        let data_key = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
            .send()
            .await
            .map_err(|e| kms_error("GenerateDataKey", e))?;
        let plaintext = data_key
            .plaintext
            .ok_or_else(|| SealError::Unavailable("KMS returned no data key".into()))?;
        let encrypted = data_key
            .ciphertext_blob
            .ok_or_else(|| SealError::Unavailable("KMS returned no encrypted data key".into()))?;
        let blob = encrypt(
            plaintext.as_ref(),
            kid,
            private_key,
            Some(STANDARD.encode(encrypted.as_ref())),
        )?;
        Ok(SealedPrivateKey {
            scheme: KMS_SCHEME.into(),
            blob,
        })
    }

    async fn unseal(&self, kid: &KeyId, sealed: &SealedPrivateKey) -> Result<Vec<u8>, SealError> {
        let envelope = parse_envelope(sealed, KMS_SCHEME)?;
        let encrypted = envelope
            .encrypted_data_key
            .as_deref()
            .and_then(|edk| STANDARD.decode(edk).ok())
            .ok_or_else(|| SealError::Corrupt("no encrypted data key".into()))?;
        let data_key = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(encrypted))
            .send()
            .await
            .map_err(|e| kms_error("Decrypt", e))?;
        let plaintext = data_key
            .plaintext
            .ok_or_else(|| SealError::Unavailable("KMS returned no plaintext".into()))?;
        decrypt(plaintext.as_ref(), kid, &envelope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_sealing_round_trips_and_binds_the_kid() {
        let dir = tempfile::tempdir().unwrap();
        let sealer = LocalKeySealer::open(dir.path()).unwrap();
        let kid = KeyId::parse("key_a").unwrap();
        let sealed = sealer.seal(&kid, b"private key bytes").await.unwrap();
        assert!(!sealed.blob.contains("private"));
        assert_eq!(
            sealer.unseal(&kid, &sealed).await.unwrap(),
            b"private key bytes"
        );
        let other = KeyId::parse("key_b").unwrap();
        assert!(matches!(
            sealer.unseal(&other, &sealed).await,
            Err(SealError::Corrupt(_))
        ));
        // The same data directory opens the same key-encryption key after a restart.
        let reopened = LocalKeySealer::open(dir.path()).unwrap();
        assert_eq!(
            reopened.unseal(&kid, &sealed).await.unwrap(),
            b"private key bytes"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEK_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[tokio::test]
    async fn kms_envelope_round_trips_on_moto() {
        let (config, key_id) = crate::testing::moto::fresh_kms_key().await;
        let sealer = KmsKeySealer::from_config(&config, key_id);
        let kid = KeyId::parse("key_kms").unwrap();
        let sealed = sealer.seal(&kid, b"pkcs8 bytes").await.unwrap();
        assert_eq!(sealed.scheme, KMS_SCHEME);
        assert_eq!(sealer.unseal(&kid, &sealed).await.unwrap(), b"pkcs8 bytes");
        assert!(matches!(
            sealer
                .unseal(&KeyId::parse("key_other").unwrap(), &sealed)
                .await,
            Err(SealError::Corrupt(_))
        ));
        // A local sealer cannot open a KMS envelope, and says so.
        let dir = tempfile::tempdir().unwrap();
        let local = LocalKeySealer::open(dir.path()).unwrap();
        assert!(matches!(
            local.unseal(&kid, &sealed).await,
            Err(SealError::Corrupt(_))
        ));
    }
}
