//! `/logout`: signing out, and the OpenID Connect end session endpoint (RP-Initiated Logout
//! 1.0). `POST /logout` ends the session (CSRF token of the session required, security rule
//! 12) and answers 303 (rule 11). A GET never signs out on its own say (a link or an image
//! could do it): with a live session it shows the form that does; without one, that no one is
//! signed in. The one exception is an app's request whose `id_token_hint` (signed here) is the
//! ID token of this very sign-in: the app had that sign-in and may end it. The app's
//! parameters are checked first on every path, and its `post_logout_redirect_uri` must be one
//! it registered (never an open redirector, rule 2); only an app the operator trusts is
//! redirected to on its own, a self-registered one is offered as a link (rule 20). The cookie is cleared too, but what
//! protects the user is the deleted session: a copy of the cookie opens nothing.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use xecure::http::{form, request_context};
use xecure::oauth::interaction::{AuthorizationFlow, EndSessionRequest};
use xecure::oauth::metadata::{ACCOUNT_PATH, LOGOUT_PATH};
use xecure::oauth::{OAuthError, Params};
use xecure::web::branding::brand;
use xecure::web::cookie::session_cookie;
use xecure::web::csrf::csrf_token;
use xecure::web::pages::SignedOutPage;
use xecure::web::{
    csrf_checked_form, error_page, form_target, host_of, html, query_params, see_other,
    signed_out_to, to_signed_out,
};

/// Ends the session the cookie names, then sends the browser where the app asked, or to
/// the signed-out page.
async fn end_session(
    flow: &AuthorizationFlow,
    request: &Request,
    app: &EndSessionRequest,
) -> Response<Body> {
    let cookie = session_cookie(request.headers());
    let client = app.client.as_ref().map(|(id, _)| id);
    if let Err(error) = flow
        .log_out(cookie.as_ref(), client, &request_context(request))
        .await
    {
        return error_page(&error);
    }
    match &app.return_to {
        Some(location) if app.redirects => signed_out_to(flow.config(), location),
        // Rule 20: a self-registered app's URI is offered as a link on the signed-out page.
        Some(_) => signed_out_to(
            flow.config(),
            &app.signed_out_page(&flow.config().endpoint(LOGOUT_PATH)),
        ),
        None => to_signed_out(flow.config()),
    }
}

/// `POST /logout`: our own confirmation form (it carries the session's CSRF token), or an
/// app's logout request sent as a form (RP-Initiated Logout 1.0 section 2: the endpoint
/// takes GET and POST), which is treated exactly as its GET.
pub async fn log_out(flow: &AuthorizationFlow, request: &Request) -> Response<Body> {
    let sent = match form(request) {
        Ok(sent) => sent,
        Err(error) => return error_page(&error),
    };
    if sent.get("csrf").is_none() {
        return app_request(flow, request, Ok(sent)).await;
    }
    let params = match csrf_checked_form(request) {
        Ok(params) => params,
        Err(refused) => return *refused,
    };
    match flow.end_session_request(&params).await {
        Ok(app) => end_session(flow, request, &app).await,
        Err(error) => error_page(&error),
    }
}

/// `GET /logout`: the sign-out form, or an app's logout request in the query.
pub async fn signed_out(flow: &AuthorizationFlow, request: &Request) -> Response<Body> {
    app_request(flow, request, query_params(request)).await
}

async fn app_request(
    flow: &AuthorizationFlow,
    request: &Request,
    params: Result<Params, OAuthError>,
) -> Response<Body> {
    let app = match params {
        Ok(params) => flow.end_session_request(&params).await,
        Err(error) => Err(error),
    };
    let app = match app {
        Ok(app) => app,
        Err(error) => return error_page(&error),
    };
    let cookie = session_cookie(request.headers());
    let session = match flow.session(cookie.as_ref()).await {
        Ok(session) => session,
        Err(error) => return error_page(&error),
    };
    match &session {
        Some(session) if app.hint_names(session) => return end_session(flow, request, &app).await,
        // Nothing to end: straight back to the app, if it asked and is trusted (else the
        // page below offers the link).
        None => {
            if let Some(location) = app.return_to.as_ref().filter(|_| app.redirects) {
                return see_other(location);
            }
        }
        Some(_) => {}
    }
    let account = flow.config().endpoint(ACCOUNT_PATH);
    let action = flow.config().endpoint(LOGOUT_PATH);
    let csrf = cookie.as_ref().map(csrf_token).unwrap_or_default();
    let username = session
        .as_ref()
        .map(|s| s.username.to_string())
        .unwrap_or_default();
    // After the form's POST the browser goes to the app's URI: the CSP must allow it.
    let targets: Vec<String> = app
        .return_uri
        .as_ref()
        .and_then(|uri| form_target(uri.as_str()))
        .into_iter()
        .collect();
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
            requested_by: app.client.as_ref().map(|(_, name)| name.as_str()),
            carried: &app.carried,
            // A native app's private-use URI has no host: its whole address is the label.
            continue_to: app.return_to.as_deref().filter(|_| session.is_none()).zip(
                app.return_uri
                    .as_ref()
                    .map(|uri| host_of(uri.as_str()).unwrap_or_else(|| uri.to_string())),
            ),
        },
        &targets,
    )
}
