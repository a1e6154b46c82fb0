//! DynamoDB expressions with their placeholders kept together. Real DynamoDB rejects a request
//! whose ExpressionAttributeValues or Names include one its expressions never use (moto does
//! not), so every expression is checked for that before it is sent.

use crate::ports::{StoreError, StoreResult};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

#[derive(Debug, Clone, Default)]
pub(super) struct Expr {
    pub update: Option<String>,
    pub condition: Option<String>,
    pub key_condition: Option<String>,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Expr {
    pub fn condition(text: &str) -> Self {
        Expr {
            condition: Some(text.to_owned()),
            ..Expr::default()
        }
    }

    pub fn update(text: &str) -> Self {
        Expr {
            update: Some(text.to_owned()),
            ..Expr::default()
        }
    }

    pub fn key_condition(text: &str) -> Self {
        Expr {
            key_condition: Some(text.to_owned()),
            ..Expr::default()
        }
    }

    pub fn and_condition(mut self, text: &str) -> Self {
        self.condition = Some(text.to_owned());
        self
    }

    pub fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names
            .insert(placeholder.to_owned(), attribute.to_owned());
        self
    }

    pub fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }

    /// Err if a placeholder is defined but no expression uses it.
    pub fn checked(self) -> StoreResult<Self> {
        let texts: Vec<&str> = [&self.update, &self.condition, &self.key_condition]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        let used = |placeholder: &str| texts.iter().any(|text| mentions(text, placeholder));
        let unused: Vec<&String> = self
            .names
            .keys()
            .chain(self.values.keys())
            .filter(|p| !used(p))
            .collect();
        if unused.is_empty() {
            Ok(self)
        } else {
            Err(StoreError::InvalidRequest(format!(
                "unused expression placeholders {unused:?}"
            )))
        }
    }

    pub fn names_or_none(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    pub fn values_or_none(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// Whole-word occurrence: `:now` must not count as a use inside `:nowish`.
fn mentions(text: &str, placeholder: &str) -> bool {
    text.match_indices(placeholder).any(|(at, _)| {
        let next = text[at + placeholder.len()..].chars().next();
        !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unused_values_and_names_are_rejected_before_sending() {
        let ok = Expr::condition("#r = :now")
            .name("#r", "redeemed_at")
            .value(":now", AttributeValue::N("1".into()));
        assert!(ok.checked().is_ok());
        let unused_value = Expr::condition("attribute_not_exists(#r)")
            .name("#r", "redeemed_at")
            .value(":now", AttributeValue::N("1".into()));
        assert!(unused_value.checked().is_err());
        let prefix_only = Expr::condition("#r = :nowish")
            .name("#r", "r")
            .value(":now", AttributeValue::N("1".into()));
        assert!(prefix_only.checked().is_err());
        let unused_name = Expr::update("SET #a = :v")
            .name("#a", "a")
            .name("#b", "b")
            .value(":v", AttributeValue::N("1".into()));
        assert!(unused_name.checked().is_err());
    }
}
