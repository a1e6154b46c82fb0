//! The whole way of a third-party app, on both stores: the user connects it through the
//! authorize, consent and token functions, and its calls to the company's API pass the
//! local API Gateway (the authorizer invoked as API Gateway invokes it, its policy evaluated
//! against each call's method ARN, the demo API behind it). Revoking the app on the
//! connected-apps page stops its calls at every gateway container that starts after it.

use lambda_http::http::StatusCode;
use xecure_e2e::*;

async fn calls_pass_by_consented_scope_and_stop_once_the_app_is_revoked(system: System) {
    let mut browser = Browser::default();
    let tokens = connect_app(&system, &mut browser, "profile:read orders:read").await;
    let access = text(&tokens, "access_token");
    let gateway = system.api_gateway().await;
    let calls = [
        ("GET", "/orders", StatusCode::OK),
        ("GET", "/profile", StatusCode::OK),
        // orders:write was not asked for, so not consented.
        ("POST", "/orders", StatusCode::FORBIDDEN),
    ];
    for (method, path, expected) in calls {
        let status = gateway.call(method, path, Some(&access)).await;
        assert_eq!(status, expected, "{method} {path}");
    }
    let anonymous = gateway.call("GET", "/orders", None).await;
    assert_eq!(anonymous, StatusCode::UNAUTHORIZED);
    // One character of the signature changed: a token the provider never signed.
    let mut forged = access.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let forged = gateway.call("GET", "/orders", Some(&forged)).await;
    assert_eq!(forged, StatusCode::UNAUTHORIZED);

    let revoked = browser
        .call(&system, "DELETE", &format!("/api/apps/{WEB}"))
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    // Connected again: the new consent's token passes the same new gateway the old one
    // cannot, so the 401 is the revocation's.
    let again = connect_app(&system, &mut browser, "profile:read orders:read").await;
    let after = system.api_gateway().await;
    let status = after.call("GET", "/orders", Some(&access)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a revoked app's token");
    let new_access = text(&again, "access_token");
    let status = after.call("GET", "/orders", Some(&new_access)).await;
    assert_eq!(status, StatusCode::OK, "the token of the new consent");
}
xecure_e2e::on_both_stores!(
    api_calls_through_the_local_api_gateway,
    calls_pass_by_consented_scope_and_stop_once_the_app_is_revoked
);
