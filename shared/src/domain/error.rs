use thiserror::Error;

/// A value from outside failed to parse into a domain type. The message is safe to show to a
/// client: it never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    #[error("invalid {what}: {why}")]
    Invalid { what: &'static str, why: String },
}

impl DomainError {
    pub fn invalid(what: &'static str, why: impl Into<String>) -> Self {
        DomainError::Invalid {
            what,
            why: why.into(),
        }
    }
}
