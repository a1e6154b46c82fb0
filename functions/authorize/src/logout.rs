//! `POST /logout` ends the session (CSRF token of the session required, security rule 12)
//! and answers 303 (rule 11) to `GET /logout`. A GET never signs out (a link or an image
//! could do it): with a live session it shows the form that does; without one, that no one
//! is signed in. The cookie is cleared too, but
//! what protects the user is the deleted session: a copy of the cookie opens nothing.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use xecure::http::request_context;
use xecure::oauth::interaction::AuthorizationFlow;
use xecure::oauth::metadata::{ACCOUNT_PATH, LOGOUT_PATH};
use xecure::web::branding::brand;
use xecure::web::cookie::session_cookie;
use xecure::web::csrf::csrf_token;
use xecure::web::pages::SignedOutPage;
use xecure::web::{csrf_checked_form, error_page, html, to_signed_out};

pub async fn log_out(flow: &AuthorizationFlow, request: &Request) -> Response<Body> {
    if let Err(refused) = csrf_checked_form(request) {
        return *refused;
    }
    let cookie = session_cookie(request.headers());
    if let Err(error) = flow
        .log_out(cookie.as_ref(), &request_context(request))
        .await
    {
        return error_page(&error);
    }
    to_signed_out(flow.config())
}

pub async fn signed_out(flow: &AuthorizationFlow, request: &Request) -> Response<Body> {
    let account = flow.config().endpoint(ACCOUNT_PATH);
    let action = flow.config().endpoint(LOGOUT_PATH);
    let cookie = session_cookie(request.headers());
    let session = match flow.session(cookie.as_ref()).await {
        Ok(session) => session,
        Err(error) => return error_page(&error),
    };
    let csrf = cookie.as_ref().map(csrf_token).unwrap_or_default();
    let username = session
        .as_ref()
        .map(|s| s.username.to_string())
        .unwrap_or_default();
    html(
        StatusCode::OK,
        &SignedOutPage {
            brand: brand(),
            apps: &account,
            sign_out: session.is_some().then_some((
                action.as_str(),
                csrf.as_str(),
                username.as_str(),
            )),
        },
        &[],
    )
}
