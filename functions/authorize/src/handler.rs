//! Request -> `xecure::oauth::interaction` -> page or redirect. Every client error is an
//! `Ok` response (design rule 7): an error page, a redirect to the client, or the login form
//! again.

use crate::logout;
use lambda_http::http::header::RETRY_AFTER;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Error, Request, Response};
use xecure::domain::{OpaqueToken, Password};
use xecure::http::{form, no_route, request_context, route_path};
use xecure::oauth::interaction::{AuthorizationFlow, LoginView};
use xecure::oauth::login::LoginOutcome;
use xecure::oauth::metadata::{
    ACCOUNT_PATH, APPS_PATH, AUTHORIZE_PATH, CONSENT_PATH, LOGIN_PATH, LOGOUT_PATH,
};
use xecure::oauth::{ErrorCode, OAuthError, Params};
use xecure::web::branding::brand;
use xecure::web::cookie::{cookie_path, session_cookie, set_session_cookie};
use xecure::web::csrf::{csrf_matches, csrf_token};
use xecure::web::pages::LoginPage;
use xecure::web::{
    csrf_refused, error_page, form_target, html, method_not_allowed, query_params, see_other,
    step_response, with_cookie, with_handle, with_header,
};

pub async fn handle(flow: &AuthorizationFlow, request: Request) -> Result<Response<Body>, Error> {
    let response = match (request.method().clone(), route_path(&request)) {
        (Method::GET, AUTHORIZE_PATH) => authorize(flow, &request).await,
        (Method::GET, LOGIN_PATH) => login_page(flow, &request).await,
        (Method::POST, LOGIN_PATH) => login(flow, &request).await,
        (Method::POST, LOGOUT_PATH) => logout::log_out(flow, &request).await,
        (Method::GET, LOGOUT_PATH) => logout::signed_out(flow, &request).await,
        (_, AUTHORIZE_PATH | LOGIN_PATH | LOGOUT_PATH) => method_not_allowed(),
        _ => no_route(&request),
    };
    Ok(response)
}

/// `GET /authorize` (RFC 6749 section 4.1.1).
async fn authorize(flow: &AuthorizationFlow, request: &Request) -> Response<Body> {
    let params = match query_params(request) {
        Ok(params) => params,
        Err(error) => return error_page(&error),
    };
    let cookie = session_cookie(request.headers());
    let session = match flow.session(cookie.as_ref()).await {
        Ok(session) => session,
        Err(error) => return error_page(&error),
    };
    let step = flow
        .begin(&params, session.as_ref(), &request_context(request))
        .await;
    step_response(step, flow.config())
}

/// What a login continues. The connected-apps page is the only other place a login can
/// return to, named by a fixed value (`return=apps`) that maps to a URL we build: no
/// browser-supplied URL is ever a redirect target (no open redirector).
enum LoginFor {
    Authorization {
        handle: String,
        view: Box<LoginView>,
    },
    /// A page of the user's own (connected apps, account), which the login returns to.
    OwnPage(&'static str),
}

/// The `return` value that sends a login on to the connected-apps page.
pub const RETURN_TO_APPS: &str = "apps";
pub const RETURN_TO_ACCOUNT: &str = "account";

/// The `return` values the login page takes, and where each leads: fixed, never a URL
/// from the request (no open redirector, rule 2).
fn own_page(name: &str) -> Option<&'static str> {
    match name {
        RETURN_TO_APPS => Some(RETURN_TO_APPS),
        RETURN_TO_ACCOUNT => Some(RETURN_TO_ACCOUNT),
        _ => None,
    }
}

async fn login_for(flow: &AuthorizationFlow, params: &Params) -> Result<LoginFor, Response<Body>> {
    match (params.get("request"), params.get("return").map(own_page)) {
        (Some(handle), None) => match flow.login_view(handle).await {
            Ok(view) => Ok(LoginFor::Authorization {
                handle: handle.to_owned(),
                view: Box::new(view),
            }),
            Err(step) => Err(step_response(step, flow.config())),
        },
        (None, Some(Some(page))) => Ok(LoginFor::OwnPage(page)),
        _ => Err(error_page(&OAuthError::new(
            ErrorCode::InvalidRequest,
            "This sign-in link is not valid. Go back to the app, or to your connected apps, and start again.",
        ))),
    }
}

/// `GET /login?request=…` or `GET /login?return=apps`: the form, with a CSRF token bound to
/// this browser's cookie (set here if the browser has none yet).
async fn login_page(flow: &AuthorizationFlow, request: &Request) -> Response<Body> {
    let params = match query_params(request) {
        Ok(params) => params,
        Err(error) => return error_page(&error),
    };
    let purpose = match login_for(flow, &params).await {
        Ok(purpose) => purpose,
        Err(response) => return response,
    };
    let (cookie, fresh) = match session_cookie(request.headers()) {
        Some(cookie) => (cookie, false),
        None => (flow.new_browser_cookie(), true),
    };
    let page = login_form(flow, &purpose, &cookie, "", None, StatusCode::OK);
    if fresh {
        let path = cookie_path(&flow.config().issuer);
        with_cookie(
            page,
            &set_session_cookie(&cookie, &path, flow.interaction().pending_ttl),
        )
    } else {
        page
    }
}

/// `POST /login`: check the CSRF token, then the credentials; on success a new session
/// (a new cookie value, so a planted cookie never becomes a session) and 303 on to consent
/// or to the connected-apps page.
async fn login(flow: &AuthorizationFlow, request: &Request) -> Response<Body> {
    let params = match form(request) {
        Ok(params) => params,
        Err(error) => return error_page(&error),
    };
    let Some(cookie) = session_cookie(request.headers())
        .filter(|cookie| csrf_matches(Some(cookie), params.get("csrf")))
    else {
        return csrf_refused();
    };
    let purpose = match login_for(flow, &params).await {
        Ok(purpose) => purpose,
        Err(response) => return response,
    };
    let username = params.get("username").unwrap_or_default();
    let password = Password::new(params.get("password").unwrap_or_default());
    let context = request_context(request);
    let client = match &purpose {
        LoginFor::Authorization { view, .. } => Some(&view.client.id),
        LoginFor::OwnPage(_) => None,
    };
    let outcome = flow
        .login_service()
        .login(username, password, client, &context)
        .await;
    let shown_name: String = username.chars().take(64).collect();
    match outcome {
        Ok(LoginOutcome::LoggedIn { cookie, .. }) => {
            let next = match &purpose {
                LoginFor::Authorization { handle, .. } => {
                    with_handle(&flow.config().endpoint(CONSENT_PATH), handle)
                }
                LoginFor::OwnPage(RETURN_TO_ACCOUNT) => flow.config().endpoint(ACCOUNT_PATH),
                LoginFor::OwnPage(_) => flow.config().endpoint(APPS_PATH),
            };
            let path = cookie_path(&flow.config().issuer);
            with_cookie(
                see_other(&next),
                &set_session_cookie(&cookie, &path, flow.interaction().session_ttl),
            )
        }
        Ok(LoginOutcome::Refused) => login_form(
            flow,
            &purpose,
            &cookie,
            &shown_name,
            Some("The username or password is incorrect."),
            StatusCode::OK,
        ),
        Ok(LoginOutcome::LockedOut { retry_after_secs }) => {
            let message = format!(
                "Too many failed sign-in attempts. Try again in {} minutes.",
                retry_after_secs.div_ceil(60).max(1)
            );
            with_header(
                login_form(
                    flow,
                    &purpose,
                    &cookie,
                    &shown_name,
                    Some(&message),
                    StatusCode::TOO_MANY_REQUESTS,
                ),
                RETRY_AFTER,
                &retry_after_secs.to_string(),
            )
        }
        // Rule 19: the hashing queue is full; the attempt was neither checked nor counted.
        Ok(LoginOutcome::Busy { retry_after_secs }) => with_header(
            login_form(
                flow,
                &purpose,
                &cookie,
                &shown_name,
                Some("Sign-in is busy right now. Try again in a moment."),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            RETRY_AFTER,
            &retry_after_secs.to_string(),
        ),
        Err(error) => error_page(&error),
    }
}

fn login_form(
    flow: &AuthorizationFlow,
    purpose: &LoginFor,
    cookie: &OpaqueToken,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response<Body> {
    let login_url = flow.config().endpoint(LOGIN_PATH);
    let csrf = csrf_token(cookie);
    let (page, targets) = match purpose {
        LoginFor::Authorization { handle, view } => (
            LoginPage {
                brand: brand(),
                action: &login_url,
                request: Some(handle),
                return_to: None,
                csrf: &csrf,
                client_name: Some(&view.client.display_name),
                // OIDC Core section 3.1.2.1 `login_hint`, until the user types a name.
                username: match (username, &view.login_hint) {
                    ("", Some(hint)) => hint.as_str(),
                    _ => username,
                },
                error,
            },
            form_target(view.redirect_uri.as_str())
                .into_iter()
                .collect(),
        ),
        LoginFor::OwnPage(page) => (
            LoginPage {
                brand: brand(),
                action: &login_url,
                request: None,
                return_to: Some(page),
                csrf: &csrf,
                client_name: None,
                username,
                error,
            },
            Vec::new(),
        ),
    };
    html(status, &page, &targets)
}
