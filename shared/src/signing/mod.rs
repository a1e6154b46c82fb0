//! Token-signing keys: generation, sealing at rest, rotation, and the keyring a container
//! loads once per cold start (design section 4, "Keys").

mod generate;
mod keyring;
mod live;
mod prepared;
mod rotate;
pub mod seal;

pub use generate::{generate_key, GeneratedKey, SigningAlgorithm};
pub use keyring::{Keyring, KeyringError, VerifyingKey};
pub use live::{LiveKeyring, KEYRING_RELOAD, NO_SIGNING_KEY_RETRY};
#[cfg(any(test, feature = "testing"))]
pub(crate) use prepared::PreparedKey;
pub use rotate::{ensure_id_token_key, rotate_signing_key};
pub use seal::{KeySealer, KmsKeySealer, LocalKeySealer, SealError};
