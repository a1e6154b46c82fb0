//! The connected-apps page (`GET /apps`, `POST /apps/revoke`) and the same as JSON for account
//! UIs (`GET /api/apps`, `DELETE /api/apps/{client_id}`), all with the user's session cookie.
//!
//! The page's revoke form carries the CSRF token bound to the cookie (security rule 12) and
//! answers 303 (rule 11). The JSON API needs no token: a cross-site page cannot send DELETE
//! without a CORS preflight, which is never approved here, and the cookie is `SameSite=Lax`,
//! so no cross-site request made by script carries it.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use xecure::domain::LoginSession;
use xecure::http::{json, json_error, request_context};
use xecure::oauth::interaction::{AuthorizationFlow, ConnectedApp};
use xecure::oauth::metadata::{APPS_PATH, APPS_REVOKE_PATH, LOGIN_PATH, LOGOUT_PATH};
use xecure::oauth::OAuthError;
use xecure::web::branding::brand;
use xecure::web::cookie::session_cookie;
use xecure::web::csrf::csrf_token;
use xecure::web::pages::{AppLine, AppsPage, ScopeLine};
use xecure::web::{csrf_checked_form, error_page, html, query_params, see_other};

/// The login page, set to come back to `page` (apps or account): a fixed, server-built URL.
pub(crate) fn to_login_for(flow: &AuthorizationFlow, page: &str) -> Response<Body> {
    see_other(&format!(
        "{}?return={page}",
        flow.config().endpoint(LOGIN_PATH)
    ))
}

fn to_login(flow: &AuthorizationFlow) -> Response<Body> {
    to_login_for(flow, "apps")
}

pub(crate) async fn session_of(
    flow: &AuthorizationFlow,
    request: &Request,
) -> Result<Option<LoginSession>, OAuthError> {
    flow.session(session_cookie(request.headers()).as_ref())
        .await
}

/// `GET /apps`: without a session, 303 to the login page, which returns here.
pub async fn page(flow: &AuthorizationFlow, request: &Request) -> Response<Body> {
    let session = match session_of(flow, request).await {
        Ok(Some(session)) => session,
        Ok(None) => return to_login(flow),
        Err(error) => return error_page(&error),
    };
    // A live session implies the cookie it was found by.
    let Some(cookie) = session_cookie(request.headers()) else {
        return to_login(flow);
    };
    let apps = match flow.connected_apps(&session).await {
        Ok(apps) => apps,
        Err(error) => return error_page(&error),
    };
    let notice = query_params(request)
        .ok()
        .filter(|params| params.get("revoked") == Some("1"))
        .map(|_| "Access revoked. That app can no longer use your account.");
    let action = flow.config().endpoint(APPS_REVOKE_PATH);
    let sign_out = flow.config().endpoint(LOGOUT_PATH);
    let csrf = csrf_token(&cookie);
    let username = session.username.to_string();
    let page = AppsPage {
        brand: brand(),
        action: &action,
        sign_out: &sign_out,
        csrf: &csrf,
        username: &username,
        notice,
        apps: apps.iter().map(app_line).collect(),
    };
    html(StatusCode::OK, &page, &[])
}

pub(crate) fn app_line(app: &ConnectedApp) -> AppLine<'_> {
    AppLine {
        client_id: app.client_id.as_str(),
        client_name: &app.client_name,
        scopes: app
            .scopes
            .iter()
            .map(|scope| ScopeLine {
                name: &scope.name,
                description: &scope.description,
            })
            .collect(),
        granted_at: app.granted_at.human_utc(),
        last_used_at: app.last_used_at.human_utc(),
    }
}

/// `POST /apps/revoke`: CSRF first, then the session; 303 back to the page.
pub async fn revoke(flow: &AuthorizationFlow, request: &Request) -> Response<Body> {
    let params = match csrf_checked_form(request) {
        Ok(params) => params,
        Err(refused) => return *refused,
    };
    let session = match session_of(flow, request).await {
        Ok(Some(session)) => session,
        Ok(None) => return to_login(flow),
        Err(error) => return error_page(&error),
    };
    let client_id = params.get("client_id").unwrap_or_default();
    match flow
        .revoke_app(&session, client_id, &request_context(request))
        .await
    {
        // Revoking what is already revoked lands on the same page: the app is gone from it.
        Ok(_) => see_other(&format!("{}?revoked=1", flow.config().endpoint(APPS_PATH))),
        Err(error) => error_page(&error),
    }
}

fn login_required() -> Response<Body> {
    json_error(
        StatusCode::UNAUTHORIZED,
        "login_required",
        "sign in first: this API works with the session cookie of the login page",
    )
}

fn refused(error: &OAuthError) -> Response<Body> {
    let status = StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    json_error(status, error.code.as_str(), &error.description)
}

/// `GET /api/apps`.
pub async fn list_json(flow: &AuthorizationFlow, request: &Request) -> Response<Body> {
    let session = match session_of(flow, request).await {
        Ok(Some(session)) => session,
        Ok(None) => return login_required(),
        Err(error) => return refused(&error),
    };
    match flow.connected_apps(&session).await {
        Ok(apps) => {
            let apps: Vec<_> = apps
                .iter()
                .map(|app| {
                    json!({
                        "client_id": app.client_id.as_str(),
                        "client_name": app.client_name,
                        "scopes": app.scopes.iter().map(|s| json!({
                            "name": s.name,
                            "description": s.description,
                        })).collect::<Vec<_>>(),
                        "granted_at": app.granted_at.rfc3339(),
                        "last_used_at": app.last_used_at.rfc3339(),
                    })
                })
                .collect();
            json(StatusCode::OK, &json!({ "apps": apps }), true)
        }
        Err(error) => refused(&error),
    }
}

/// `DELETE /api/apps/{client_id}`: 204, or 404 if the user has no active grant to it.
pub async fn revoke_json(
    flow: &AuthorizationFlow,
    request: &Request,
    client_id: &str,
) -> Response<Body> {
    let session = match session_of(flow, request).await {
        Ok(Some(session)) => session,
        Ok(None) => return login_required(),
        Err(error) => return refused(&error),
    };
    match flow
        .revoke_app(&session, client_id, &request_context(request))
        .await
    {
        Ok(true) => {
            let mut response = json(StatusCode::NO_CONTENT, &json!({}), true);
            *response.body_mut() = Body::Empty;
            response
        }
        Ok(false) => json_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no app with this client_id has access to your account",
        ),
        Err(error) => refused(&error),
    }
}
