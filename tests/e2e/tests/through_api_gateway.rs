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
    let forged = format!("{access}x");
    let forged = gateway.call("GET", "/orders", Some(&forged)).await;
    assert_eq!(forged, StatusCode::UNAUTHORIZED);

    let revoked = browser
        .call(&system, "DELETE", &format!("/api/apps/{WEB}"))
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    let after = system.api_gateway().await;
    let status = after.call("GET", "/orders", Some(&access)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a revoked app's token");
}
xecure_e2e::on_both_stores!(
    api_calls_through_the_local_api_gateway,
    calls_pass_by_consented_scope_and_stop_once_the_app_is_revoked
);
