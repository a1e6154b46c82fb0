//! The server-rendered pages, through askama: templates are checked at compile time and every
//! `{{ value }}` is HTML-escaped. No JavaScript; one small inline stylesheet allowed by hash.

use super::branding::Branding;
use askama::Template;

/// `'sha256-…'`: the CSP source that allows exactly the stylesheet above.

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub brand: &'a Branding,
    pub action: &'a str,
    /// The pending authorization request this login continues, if any.
    pub request: Option<&'a str>,
    /// Otherwise the server-chosen page to return to (`apps`).
    pub return_to: Option<&'a str>,
    pub csrf: &'a str,
    /// The app asking, when the login continues an authorization request.
    pub client_name: Option<&'a str>,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

pub struct ScopeLine<'a> {
    pub name: &'a str,
    pub description: &'a str,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub brand: &'a Branding,
    pub action: &'a str,
    pub request: &'a str,
    pub csrf: &'a str,
    pub client_name: &'a str,
    pub username: &'a str,
    pub scopes: Vec<ScopeLine<'a>>,
    /// The app's logo (https, from its registration).
    pub logo_uri: Option<&'a str>,
    pub policy_uri: Option<&'a str>,
    pub tos_uri: Option<&'a str>,
    /// The host the decision sends the browser to (the redirect URI's).
    pub redirect_host: &'a str,
    pub verified: bool,
    /// `GET /logout`: "Not you? Sign out".
    pub sign_out: &'a str,
}

/// One app on the connected-apps page.
pub struct AppLine<'a> {
    pub client_id: &'a str,
    pub client_name: &'a str,
    pub scopes: Vec<ScopeLine<'a>>,
    pub granted_at: String,
    pub last_used_at: String,
}

#[derive(Template)]
#[template(path = "apps.html")]
pub struct AppsPage<'a> {
    pub brand: &'a Branding,
    pub action: &'a str,
    /// The sign-out form's target (`POST /logout`), with the same CSRF token.
    pub sign_out: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub notice: Option<&'a str>,
    pub apps: Vec<AppLine<'a>>,
}

pub struct SessionLine {
    pub reference: String,
    pub device: String,
    pub source_ip: String,
    pub signed_in_at: String,
    pub current: bool,
}

/// Where each form of the account page posts.
pub struct AccountActions<'a> {
    pub password: &'a str,
    pub end_session: &'a str,
    pub sign_out_everywhere: &'a str,
    pub apps: &'a str,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage<'a> {
    pub brand: &'a Branding,
    pub actions: AccountActions<'a>,
    pub csrf: &'a str,
    pub username: &'a str,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
    pub sessions: Vec<SessionLine>,
    pub apps: Vec<AppLine<'a>>,
    /// Whether this deployment lets the page write the account (password change, sign out
    /// everywhere): `xecure serve` does; the consent Lambda does not (security rule 22).
    pub account_writes: bool,
}

/// `GET /logout`: with a session, a form that signs out (a GET never does); without one,
/// what is true: nobody is signed in here.
#[derive(Template)]
#[template(path = "signed_out.html")]
pub struct SignedOutPage<'a> {
    pub brand: &'a Branding,
    pub apps: &'a str,
    /// The sign-out form (action, CSRF token, username) when a session is live.
    pub sign_out: Option<(&'a str, &'a str, &'a str)>,
    /// The app that asked to sign the user out (RP-Initiated Logout), if any.
    pub requested_by: Option<&'a str>,
    /// Its logout parameters, carried through the form to the POST.
    pub carried: &'a [(&'static str, String)],
    /// Once signed out: the self-registered app's registered return address (URL, host),
    /// offered as a link rather than redirected to (rule 20).
    pub continue_to: Option<(&'a str, String)>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub brand: &'a Branding,
    pub title: &'a str,
    pub message: &'a str,
    pub code: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::branding::brand;

    #[test]
    fn values_are_escaped() {
        let page = LoginPage {
            brand: brand(),
            action: "/login",
            request: Some("r\"><script>"),
            return_to: None,
            csrf: "c",
            client_name: Some("<img src=x onerror=alert(1)>"),
            username: "a&b",
            error: Some("<b>"),
        }
        .render()
        .unwrap();
        assert!(!page.contains("<img"));
        assert!(!page.contains("<script>"));
        assert!(page.contains("&#60;img src=x onerror=alert(1)&#62;"));
        assert!(page.contains("value=\"r&#34;&#62;&#60;script&#62;\""));
        assert!(page.contains("value=\"a&#38;b\""));
    }

    #[test]
    fn pages_have_a_language_labels_and_one_heading() {
        let page = ConsentPage {
            brand: brand(),
            action: "/consent",
            request: "r",
            csrf: "c",
            client_name: "Photo App",
            username: "alice",
            scopes: vec![ScopeLine {
                name: "orders:read",
                description: "See your orders",
            }],
            logo_uri: None,
            policy_uri: None,
            tos_uri: None,
            redirect_host: "photos.example",
            verified: true,
            sign_out: "/logout",
        }
        .render()
        .unwrap();
        assert!(page.contains("<html lang=\"en\">"));
        assert_eq!(page.matches("<h1>").count(), 1);
        assert!(page.contains("<label for=\"scope-1\">"));
        assert!(page.contains("id=\"scope-1\""));
    }
}
