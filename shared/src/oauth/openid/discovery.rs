//! OpenID Connect Discovery 1.0 section 3: the provider's metadata, a superset of the RFC 8414
//! document (both built from `metadata::metadata`, so they never disagree), listing only what
//! is implemented.

use crate::config::OAuthConfig;
use crate::oauth::metadata::{metadata, LOGOUT_PATH, USERINFO_PATH};
use crate::scopes::ScopeCatalogue;
use crate::signing::SigningAlgorithm;
use serde_json::{json, Value};

/// `algorithms`: what the keyring can sign ID tokens with now; RS256 is always listed first
/// (Discovery section 3: "The algorithm RS256 MUST be included").
pub fn openid_configuration(
    config: &OAuthConfig,
    catalogue: &ScopeCatalogue,
    algorithms: impl IntoIterator<Item = SigningAlgorithm>,
) -> Value {
    let mut signing: Vec<&str> = vec![SigningAlgorithm::Rs256.jws_name()];
    signing.extend(
        algorithms
            .into_iter()
            .map(SigningAlgorithm::jws_name)
            .filter(|name| *name != SigningAlgorithm::Rs256.jws_name()),
    );
    let mut doc = metadata(config, catalogue);
    let openid = json!({
        "userinfo_endpoint": config.endpoint(USERINFO_PATH),
        // RP-Initiated Logout 1.0 section 2.1.
        "end_session_endpoint": config.endpoint(LOGOUT_PATH),
        // Section 8: every client sees the same `sub`, the user's stable id (never the
        // username, which can be reused after an account is removed).
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": signing,
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "prompt_values_supported": ["none", "login", "consent"],
        "display_values_supported": ["page"],
        "ui_locales_supported": ["en"],
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
    });
    if let (Value::Object(doc), Value::Object(openid)) = (&mut doc, openid) {
        doc.extend(openid);
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_has_every_required_field_and_agrees_with_rfc_8414() {
        let config = OAuthConfig::for_issuer("https://auth.example");
        let catalogue = ScopeCatalogue::built_in();
        let doc = openid_configuration(&config, &catalogue, [SigningAlgorithm::EdDsa]);
        // Discovery section 3, REQUIRED.
        for field in [
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "response_types_supported",
            "subject_types_supported",
            "id_token_signing_alg_values_supported",
        ] {
            assert!(doc.get(field).is_some(), "{field}");
        }
        // RECOMMENDED.
        for field in [
            "userinfo_endpoint",
            "registration_endpoint",
            "scopes_supported",
            "claims_supported",
        ] {
            assert!(doc.get(field).is_some(), "{field}");
        }
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            json!(["RS256", "EdDSA"])
        );
        assert!(doc["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("openid")));
        let oauth = metadata(&config, &catalogue);
        for (name, value) in oauth.as_object().unwrap() {
            assert_eq!(
                &doc[name], value,
                "{name} differs between the two documents"
            );
        }
    }
}
