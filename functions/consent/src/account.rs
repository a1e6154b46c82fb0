//! The account page (`GET /account`) and its forms: change the password, sign out one
//! session, sign out everywhere. Every form carries the CSRF token bound to the session
//! cookie (security rule 12) and answers 303 (rule 11), except a refused password change,
//! which shows the page again with why.

use crate::apps::{app_line, session_of, to_login_for};
use lambda_http::http::header::RETRY_AFTER;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use xecure::domain::{LoginSession, OpaqueToken, Password};
use xecure::http::request_context;
use xecure::oauth::interaction::{AuthorizationFlow, PasswordChange, SessionView};
use xecure::oauth::metadata::{
    ACCOUNT_END_SESSION_PATH, ACCOUNT_PASSWORD_PATH, ACCOUNT_PATH,
    ACCOUNT_SIGN_OUT_EVERYWHERE_PATH, APPS_PATH,
};
use xecure::web::branding::brand;
use xecure::web::cookie::{cookie_path, session_cookie, set_session_cookie};
use xecure::web::csrf::csrf_token;
use xecure::web::pages::{AccountActions, AccountPage, SessionLine};
use xecure::web::{
    csrf_checked_form, error_page, html, query_params, see_other, to_signed_out, with_cookie,
    with_header,
};

/// What the page says after a form (`?done=`): fixed messages, never text from the request.
fn notice(done: &str) -> Option<&'static str> {
    match done {
        "password" => Some("Your password is changed. Every other session is signed out."),
        "session" => Some("That session is signed out."),
        _ => None,
    }
}

fn session_line(view: &SessionView) -> SessionLine {
    SessionLine {
        reference: view.reference.clone(),
        device: view.device.clone(),
        source_ip: view
            .source_ip
            .clone()
            .unwrap_or_else(|| "an unknown address".into()),
        signed_in_at: view.signed_in_at.human_utc(),
        current: view.current,
    }
}

async fn render(
    flow: &AuthorizationFlow,
    session: &LoginSession,
    cookie: &OpaqueToken,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response<Body> {
    let (sessions, apps) = match (
        flow.account_sessions(session).await,
        flow.connected_apps(session).await,
    ) {
        (Ok(sessions), Ok(apps)) => (sessions, apps),
        (Err(error), _) | (_, Err(error)) => return error_page(&error),
    };
    let config = flow.config();
    let (password, end_session, everywhere, apps_page) = (
        config.endpoint(ACCOUNT_PASSWORD_PATH),
        config.endpoint(ACCOUNT_END_SESSION_PATH),
        config.endpoint(ACCOUNT_SIGN_OUT_EVERYWHERE_PATH),
        config.endpoint(APPS_PATH),
    );
    let csrf = csrf_token(cookie);
    let username = session.username.to_string();
    let page = AccountPage {
        brand: brand(),
        actions: AccountActions {
            password: &password,
            end_session: &end_session,
            sign_out_everywhere: &everywhere,
            apps: &apps_page,
        },
        csrf: &csrf,
        username: &username,
        notice,
        error,
        sessions: sessions.iter().map(session_line).collect(),
        apps: apps.iter().map(app_line).collect(),
        account_writes: flow.account_writes(),
    };
    html(status, &page, &[])
}

/// The live session and the cookie that names it, or the login page (which comes back).
async fn signed_in(
    flow: &AuthorizationFlow,
    request: &Request,
) -> Result<(LoginSession, OpaqueToken), Response<Body>> {
    match (
        session_of(flow, request).await,
        session_cookie(request.headers()),
    ) {
        (Ok(Some(session)), Some(cookie)) => Ok((session, cookie)),
        (Err(error), _) => Err(error_page(&error)),
        _ => Err(to_login_for(flow, "account")),
    }
}

/// `GET /account`.
pub async fn page(flow: &AuthorizationFlow, request: &Request) -> Response<Body> {
    let (session, cookie) = match signed_in(flow, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let done = query_params(request)
        .ok()
        .and_then(|p| p.get("done").and_then(notice));
    render(flow, &session, &cookie, done, None, StatusCode::OK).await
}

fn back_with(flow: &AuthorizationFlow, done: &str) -> Response<Body> {
    see_other(&format!(
        "{}?done={done}",
        flow.config().endpoint(ACCOUNT_PATH)
    ))
}

/// `POST /account/password`: current and new password.
pub async fn change_password(flow: &AuthorizationFlow, request: &Request) -> Response<Body> {
    let params = match csrf_checked_form(request) {
        Ok(params) => params,
        Err(refused) => return *refused,
    };
    let (session, cookie) = match signed_in(flow, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let current = Password::new(params.get("current").unwrap_or_default());
    let new = Password::new(params.get("new").unwrap_or_default());
    let context = request_context(request);
    match flow.change_password(&session, current, new, &context).await {
        Ok(PasswordChange::Changed { cookie }) => {
            let path = cookie_path(&flow.config().issuer);
            with_cookie(
                back_with(flow, "password"),
                &set_session_cookie(&cookie, &path, flow.interaction().session_ttl),
            )
        }
        Ok(PasswordChange::Refused {
            message,
            retry_after_secs,
        }) => {
            let status = match retry_after_secs {
                Some(_) => StatusCode::TOO_MANY_REQUESTS,
                None => StatusCode::BAD_REQUEST,
            };
            let page = render(flow, &session, &cookie, None, Some(&message), status).await;
            match retry_after_secs {
                Some(secs) => with_header(page, RETRY_AFTER, &secs.to_string()),
                None => page,
            }
        }
        Err(error) => error_page(&error),
    }
}

/// `POST /account/sessions/end`: one of the user's own sessions.
pub async fn end_session(flow: &AuthorizationFlow, request: &Request) -> Response<Body> {
    let params = match csrf_checked_form(request) {
        Ok(params) => params,
        Err(refused) => return *refused,
    };
    let (session, _) = match signed_in(flow, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let reference = params.get("session").unwrap_or_default();
    match flow
        .end_session(&session, reference, &request_context(request))
        .await
    {
        // Ending an already ended session lands on the same page: it is gone from the list.
        Ok(_) => back_with(flow, "session"),
        Err(error) => error_page(&error),
    }
}

/// `POST /account/sign-out-everywhere`: every session ends, this one too (rule 16).
pub async fn sign_out_everywhere(flow: &AuthorizationFlow, request: &Request) -> Response<Body> {
    if let Err(refused) = csrf_checked_form(request) {
        return *refused;
    }
    let (session, _) = match signed_in(flow, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if let Err(error) = flow
        .sign_out_everywhere(&session, &request_context(request))
        .await
    {
        return error_page(&error);
    }
    to_signed_out(flow.config())
}
