//! Request -> `xecure::oauth::interaction` -> page or redirect, for the consent screen. Every
//! client error is an `Ok` response (design rule 7).

use crate::{account, apps};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Error, Request, Response};
use xecure::domain::OpaqueToken;
use xecure::http::{form_pairs, json_error, no_route, request_context, route_path};
use xecure::oauth::interaction::{AuthorizationFlow, ConsentView, Decision, Step};
use xecure::oauth::metadata::{
    ACCOUNT_END_SESSION_PATH, ACCOUNT_PASSWORD_PATH, ACCOUNT_PATH,
    ACCOUNT_SIGN_OUT_EVERYWHERE_PATH, APPS_API_PATH, APPS_PATH, APPS_REVOKE_PATH, CONSENT_PATH,
    LOGOUT_PATH,
};
use xecure::oauth::{ErrorCode, OAuthError};
use xecure::web::branding::brand;
use xecure::web::cookie::session_cookie;
use xecure::web::csrf::{csrf_matches, csrf_token};
use xecure::web::pages::{ConsentPage, ScopeLine};
use xecure::web::{
    csrf_refused, error_page, form_target, host_of, html_with_images, method_not_allowed,
    query_params, step_response,
};

/// True for the paths this function serves (the local gateway and tests route by it).
pub fn serves(path: &str) -> bool {
    matches!(
        path,
        CONSENT_PATH
            | APPS_PATH
            | APPS_REVOKE_PATH
            | APPS_API_PATH
            | ACCOUNT_PATH
            | ACCOUNT_PASSWORD_PATH
            | ACCOUNT_END_SESSION_PATH
            | ACCOUNT_SIGN_OUT_EVERYWHERE_PATH
    ) || app_in_api(path).is_some()
}

/// The `{client_id}` of `/api/apps/{client_id}`.
fn app_in_api(path: &str) -> Option<&str> {
    path.strip_prefix(APPS_API_PATH)?
        .strip_prefix('/')
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

pub async fn handle(flow: &AuthorizationFlow, request: Request) -> Result<Response<Body>, Error> {
    let path = route_path(&request);
    let response = match (request.method().clone(), path) {
        (Method::GET, CONSENT_PATH) => show(flow, &request).await,
        (Method::POST, CONSENT_PATH) => decide(flow, &request).await,
        (Method::GET, APPS_PATH) => apps::page(flow, &request).await,
        (Method::POST, APPS_REVOKE_PATH) => apps::revoke(flow, &request).await,
        (Method::GET, ACCOUNT_PATH) => account::page(flow, &request).await,
        (Method::POST, ACCOUNT_PASSWORD_PATH) => account::change_password(flow, &request).await,
        (Method::POST, ACCOUNT_END_SESSION_PATH) => account::end_session(flow, &request).await,
        (Method::POST, ACCOUNT_SIGN_OUT_EVERYWHERE_PATH) => {
            account::sign_out_everywhere(flow, &request).await
        }
        (
            _,
            CONSENT_PATH
            | APPS_PATH
            | APPS_REVOKE_PATH
            | ACCOUNT_PATH
            | ACCOUNT_PASSWORD_PATH
            | ACCOUNT_END_SESSION_PATH
            | ACCOUNT_SIGN_OUT_EVERYWHERE_PATH,
        ) => method_not_allowed(),
        (Method::GET, APPS_API_PATH) => apps::list_json(flow, &request).await,
        (Method::DELETE, _) if app_in_api(path).is_some() => {
            let client_id = app_in_api(path).unwrap_or_default().to_owned();
            apps::revoke_json(flow, &request, &client_id).await
        }
        (_, _) if serves(path) => json_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "GET /api/apps lists, DELETE /api/apps/{client_id} revokes",
        ),
        _ => no_route(&request),
    };
    Ok(response)
}

/// `GET /consent?request=…`: the screen, or straight on when consent is remembered.
async fn show(flow: &AuthorizationFlow, request: &Request) -> Response<Body> {
    let params = match query_params(request) {
        Ok(params) => params,
        Err(error) => return error_page(&error),
    };
    let handle = params.get("request").unwrap_or_default();
    let cookie = session_cookie(request.headers());
    let session = match flow.session(cookie.as_ref()).await {
        Ok(session) => session,
        Err(error) => return error_page(&error),
    };
    let step = flow
        .resume(handle, session.as_ref(), &request_context(request))
        .await;
    match (step, cookie) {
        (Step::ShowConsent(view), Some(cookie)) => screen(flow, &view, handle, &cookie),
        (step, _) => step_response(step, flow.config()),
    }
}

/// `POST /consent`: the decision, with the CSRF token bound to the session cookie.
async fn decide(flow: &AuthorizationFlow, request: &Request) -> Response<Body> {
    let form = match ConsentForm::parse(request) {
        Ok(form) => form,
        Err(error) => return error_page(&error),
    };
    let cookie = session_cookie(request.headers());
    if !csrf_matches(cookie.as_ref(), form.csrf.as_deref()) {
        return csrf_refused();
    }
    let session = match flow.session(cookie.as_ref()).await {
        Ok(session) => session,
        Err(error) => return error_page(&error),
    };
    let step = flow
        .decide(
            &form.request,
            session.as_ref(),
            form.decision,
            &request_context(request),
        )
        .await;
    step_response(step, flow.config())
}

fn screen(
    flow: &AuthorizationFlow,
    view: &ConsentView,
    handle: &str,
    cookie: &OpaqueToken,
) -> Response<Body> {
    let consent_url = flow.config().endpoint(CONSENT_PATH);
    let sign_out = flow.config().endpoint(LOGOUT_PATH);
    let redirect_host = host_of(view.redirect_uri.as_str())
        .unwrap_or_else(|| view.redirect_uri.as_str().to_owned());
    let links = &view.links;
    let page = ConsentPage {
        logo_uri: links.logo_uri.as_deref(),
        policy_uri: links.policy_uri.as_deref(),
        tos_uri: links.tos_uri.as_deref(),
        redirect_host: &redirect_host,
        verified: view.verified,
        sign_out: &sign_out,
        brand: brand(),
        action: &consent_url,
        request: handle,
        csrf: &csrf_token(cookie),
        client_name: &view.client_name,
        username: &view.username,
        scopes: view
            .scopes
            .iter()
            .map(|scope| ScopeLine {
                name: &scope.name,
                description: &scope.description,
            })
            .collect(),
    };
    let targets: Vec<String> = form_target(view.redirect_uri.as_str())
        .into_iter()
        .collect();
    // The logo was checked to be https when registered; its origin is allowed for this page.
    let logo_origin: Vec<String> = links
        .logo_uri
        .as_deref()
        .and_then(form_target)
        .into_iter()
        .collect();
    html_with_images(StatusCode::OK, &page, &targets, &logo_origin)
}

/// The consent form: `scope` repeats (one per ticked box); every other field appears once.
struct ConsentForm {
    request: String,
    csrf: Option<String>,
    decision: Decision,
}

impl ConsentForm {
    fn parse(request: &Request) -> Result<Self, OAuthError> {
        let bad = |why: &str| OAuthError::new(ErrorCode::InvalidRequest, why);
        let pairs = form_pairs(request)?;
        let single = |name: &str| -> Result<Option<String>, OAuthError> {
            let mut values = pairs.iter().filter(|(n, _)| n == name).map(|(_, v)| v);
            let first = values.next().cloned();
            if values.next().is_some() {
                return Err(bad(&format!("the field '{name}' is repeated")));
            }
            Ok(first)
        };
        let handle = single("request")?.unwrap_or_default();
        let csrf = single("csrf")?;
        let decision = match single("decision")?.as_deref() {
            Some("approve") => Decision::Approve(
                pairs
                    .iter()
                    .filter(|(n, _)| n == "scope")
                    .map(|(_, v)| v.clone())
                    .collect(),
            ),
            Some("deny") => Decision::Deny,
            _ => return Err(bad("decision must be approve or deny")),
        };
        Ok(ConsentForm {
            request: handle,
            csrf,
            decision,
        })
    }
}
