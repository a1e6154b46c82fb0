//! The pages' branding, from the environment (the same variables for `xecure serve` and the
//! Lambda functions), so a deployment is branded without a rebuild: product name, logo,
//! primary colour, support and privacy links, and extra CSS. The CSP stays strict (security
//! rule 12): the stylesheet, extra CSS included, is allowed by its SHA-256 hash computed once
//! at startup, and only the logo's origin is added to `img-src`.
//!
//! A value that does not pass its check (a colour that is not a hex colour, a logo that is
//! not https, CSS that would close the style element) is left out and logged: the pages
//! then look like the default, never like something an attacker wrote.

use super::stylesheet::CSS;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

pub const NAME_VARIABLE: &str = "XECURE_BRAND_NAME";
pub const LOGO_VARIABLE: &str = "XECURE_BRAND_LOGO_URL";
pub const COLOUR_VARIABLE: &str = "XECURE_BRAND_COLOR";
pub const SUPPORT_VARIABLE: &str = "XECURE_BRAND_SUPPORT_URL";
pub const PRIVACY_VARIABLE: &str = "XECURE_BRAND_PRIVACY_URL";
pub const CSS_VARIABLE: &str = "XECURE_BRAND_CSS";

const DEFAULT_NAME: &str = "Xecure";
const MAX_NAME_CHARS: usize = 60;
const MAX_EXTRA_CSS: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branding {
    pub product_name: String,
    pub logo_url: Option<String>,
    pub support_url: Option<String>,
    pub privacy_url: Option<String>,
    /// The whole stylesheet: ours, the colour, then the extra CSS.
    pub stylesheet: String,
    /// `'sha256-…'` of `stylesheet`, for `style-src`.
    pub style_source: String,
    /// The logo's origin, for `img-src`.
    pub logo_origin: Option<String>,
}

/// Branding values as configured, before their checks.
#[derive(Debug, Default, Clone)]
pub struct BrandingSettings {
    pub product_name: Option<String>,
    pub logo_url: Option<String>,
    pub primary_colour: Option<String>,
    pub support_url: Option<String>,
    pub privacy_url: Option<String>,
    pub extra_css: Option<String>,
}

impl BrandingSettings {
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        BrandingSettings {
            product_name: var(NAME_VARIABLE),
            logo_url: var(LOGO_VARIABLE),
            primary_colour: var(COLOUR_VARIABLE),
            support_url: var(SUPPORT_VARIABLE),
            privacy_url: var(PRIVACY_VARIABLE),
            extra_css: var(CSS_VARIABLE),
        }
    }
}

fn refused<T>(variable: &str, why: &str) -> Option<T> {
    tracing::error!(variable, why, "branding value left out");
    None
}

/// An https URL with a host and no user information.
fn https_url(variable: &str, raw: Option<String>) -> Option<url::Url> {
    let raw = raw?;
    match url::Url::parse(&raw) {
        // The logo's origin goes into the CSP: a host of letters, digits, dots and hyphens
        // only (a WHATWG host may hold `;` or `,`, which would start another directive).
        Ok(url)
            if url.scheme() == "https"
                && url.username().is_empty()
                && url.password().is_none()
                && url.host_str().is_some_and(|host| {
                    !host.is_empty()
                        && host
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
                }) =>
        {
            Some(url)
        }
        _ => refused(
            variable,
            "not an https URL with a plain host and no credentials",
        ),
    }
}

/// `#1a56db`, `#fff`: the only form a colour may take (it goes into the stylesheet).
fn hex_colour(raw: Option<String>) -> Option<String> {
    let raw = raw?;
    let digits = raw.strip_prefix('#')?;
    if matches!(digits.len(), 3 | 6) && digits.chars().all(|c| c.is_ascii_hexdigit()) {
        Some(raw)
    } else {
        refused(COLOUR_VARIABLE, "not a hex colour like #1a56db")
    }
}

/// Extra CSS cannot leave the style element (`</style`) or be huge.
fn extra_css(raw: Option<String>) -> Option<String> {
    let raw = raw?;
    if raw.len() > MAX_EXTRA_CSS || raw.to_ascii_lowercase().contains("</style") {
        return refused(
            CSS_VARIABLE,
            "longer than 16 KiB or closes the style element",
        );
    }
    Some(raw)
}

impl Branding {
    pub fn new(settings: BrandingSettings) -> Self {
        let product_name = settings
            .product_name
            .map(|name| name.chars().take(MAX_NAME_CHARS).collect::<String>())
            .unwrap_or_else(|| DEFAULT_NAME.to_owned());
        let logo = https_url(LOGO_VARIABLE, settings.logo_url);
        let mut stylesheet = CSS.to_owned();
        if let Some(colour) = hex_colour(settings.primary_colour) {
            stylesheet.push_str(&format!(
                "button{{background:{colour};border-color:{colour}}}a{{color:{colour}}}.notice{{border-left-color:{colour}}}"
            ));
        }
        if let Some(css) = extra_css(settings.extra_css) {
            stylesheet.push_str(&css);
        }
        let style_source = format!("'sha256-{}'", STANDARD.encode(Sha256::digest(&stylesheet)));
        Branding {
            product_name,
            logo_origin: logo.as_ref().map(|url| url.origin().ascii_serialization()),
            logo_url: logo.map(String::from),
            support_url: https_url(SUPPORT_VARIABLE, settings.support_url).map(String::from),
            privacy_url: https_url(PRIVACY_VARIABLE, settings.privacy_url).map(String::from),
            stylesheet,
            style_source,
        }
    }
}

static BRANDING: LazyLock<Branding> = LazyLock::new(|| Branding::new(BrandingSettings::from_env()));

/// This process's branding, read from the environment once.
pub fn brand() -> &'static Branding {
    &BRANDING
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_values_brand_the_pages_and_bad_ones_are_left_out() {
        let branded = Branding::new(BrandingSettings {
            product_name: Some("Acme ID".into()),
            logo_url: Some("https://cdn.acme.example/logo.svg".into()),
            primary_colour: Some("#aa3300".into()),
            support_url: Some("https://acme.example/help".into()),
            privacy_url: Some("javascript:alert(1)".into()),
            extra_css: Some("h1{letter-spacing:.02em}".into()),
        });
        assert_eq!(branded.product_name, "Acme ID");
        assert_eq!(
            branded.logo_origin.as_deref(),
            Some("https://cdn.acme.example")
        );
        assert!(branded.stylesheet.contains("background:#aa3300"));
        assert!(branded.stylesheet.ends_with("h1{letter-spacing:.02em}"));
        assert_eq!(branded.privacy_url, None);
        assert_ne!(
            branded.style_source,
            Branding::new(BrandingSettings::default()).style_source
        );

        let hostile = Branding::new(BrandingSettings {
            logo_url: Some("http://acme.example/logo.png".into()),
            primary_colour: Some("red;}body{display:none".into()),
            extra_css: Some("</style><script>alert(1)</script>".into()),
            ..BrandingSettings::default()
        });
        assert_eq!(hostile, Branding::new(BrandingSettings::default()));
    }

    #[test]
    fn a_logo_url_cannot_add_to_the_content_security_policy_or_carry_credentials() {
        for logo in [
            "https://x.example;sandbox/l.png",
            "https://x.example,img-src/l.png",
            "https://:secret@x.example/l.png",
            "https://user@x.example/l.png",
        ] {
            let branded = Branding::new(BrandingSettings {
                logo_url: Some(logo.into()),
                ..BrandingSettings::default()
            });
            assert_eq!(branded.logo_origin, None, "{logo}");
        }
    }
}
