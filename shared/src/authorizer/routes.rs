//! The route table (`infra/routes.toml`): which scopes each route of the protected API needs.

use crate::config::ConfigError;
use crate::domain::Scope;
use serde::Deserialize;

/// `infra/routes.toml` as of this build.
pub const BUILT_IN: &str = include_str!("../../../infra/routes.toml");

const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Literal(String),
    /// `{name}`: exactly one segment.
    Param,
    /// `{name+}`: one or more segments, last only.
    Greedy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Upper case; `ANY` for every method.
    pub method: String,
    /// As written in the table, e.g. `/orders/{id}`.
    pub path: String,
    /// Every one of these must be in the token's scope.
    pub scopes: Scope,
    /// Whether the route takes DPoP-bound tokens (RFC 9449 section 7).
    pub dpop: RouteDpop,
    pub(crate) segments: Vec<Segment>,
}

/// A route's `dpop` setting. A route that takes DPoP is served by an authorizer whose
/// results API Gateway does not cache (the template's `XecureDpopAuthorizer`, TTL 0): each
/// call's proof is new, and a cached answer would let a replayed or missing proof in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteDpop {
    /// Bearer tokens only; a DPoP-bound token is refused (its proof cannot be checked
    /// behind a cached TOKEN authorizer).
    #[default]
    Off,
    /// Bearer tokens, and DPoP-bound tokens with a valid proof.
    Accepted,
    /// DPoP-bound tokens with a valid proof only.
    Required,
}

impl RouteDpop {
    pub fn takes_proofs(self) -> bool {
        self != RouteDpop::Off
    }
}

impl Route {
    /// `GET /orders/{id}`, for logs.
    pub fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    pub fn allows(&self, granted: &Scope) -> bool {
        self.scopes.is_subset_of(granted)
    }

    /// The `METHOD/path` part of an execute-api ARN that covers this route: parameters become
    /// `*` (IAM wildcards match any characters, `/` included; `policy.rs` handles the overlap).
    pub fn arn_resource(&self) -> String {
        self.resource("*", "*", "*")
    }

    /// One concrete request path of this route, with parameter values no literal can equal.
    pub(crate) fn sample_resource(&self) -> String {
        self.resource("GET", "%00", "%00/%00")
    }

    /// `METHOD/path` with `ANY`, `{param}` and `{greedy+}` written as given.
    fn resource(&self, any_method: &str, param: &str, greedy: &str) -> String {
        let method = if self.method == "ANY" {
            any_method
        } else {
            &self.method
        };
        let path: Vec<&str> = self
            .segments
            .iter()
            .map(|segment| match segment {
                Segment::Literal(text) => text.as_str(),
                Segment::Param => param,
                Segment::Greedy => greedy,
            })
            .collect();
        format!("{method}/{}", path.join("/"))
    }

    fn matches(&self, method: &str, segments: &[&str]) -> bool {
        if self.method != "ANY" && self.method != method {
            return false;
        }
        let mut rest = segments;
        for (index, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Greedy => return index + 1 == self.segments.len() && !rest.is_empty(),
                Segment::Literal(text) => match rest.split_first() {
                    Some((first, tail)) if first == text => rest = tail,
                    _ => return false,
                },
                Segment::Param => match rest.split_first() {
                    Some((first, tail)) if !first.is_empty() => rest = tail,
                    _ => return false,
                },
            }
        }
        rest.is_empty()
    }

    /// More literal segments win, as in API Gateway's route selection.
    fn specificity(&self) -> (usize, usize) {
        let literals = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        let greedy = usize::from(!self.segments.contains(&Segment::Greedy));
        (literals, greedy)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTable {
    routes: Vec<Route>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    route: Vec<RouteEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteEntry {
    method: String,
    path: String,
    scopes: Vec<String>,
    #[serde(default)]
    dpop: RouteDpop,
}

pub(crate) fn invalid(why: String) -> ConfigError {
    ConfigError::Invalid {
        name: "XECURE_ROUTES_FILE",
        why,
    }
}

fn parse_path(path: &str) -> Result<Vec<Segment>, ConfigError> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(invalid(format!("path '{path}' must start with /")));
    };
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<&str> = rest.split('/').collect();
    let mut segments = Vec::with_capacity(parts.len());
    for (index, part) in parts.iter().enumerate() {
        let segment = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) if name.ends_with('+') && index + 1 == parts.len() && name.len() > 1 => {
                Segment::Greedy
            }
            Some(name) if is_literal(name) => Segment::Param,
            _ if is_literal(part) => Segment::Literal((*part).to_owned()),
            _ => return Err(invalid(format!("path '{path}' has a bad segment '{part}'"))),
        };
        segments.push(segment);
    }
    Ok(segments)
}

/// Unreserved characters (RFC 3986 section 2.3) plus `:` and `@`: no wildcard or separator.
fn is_literal(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~:@".contains(c))
}

impl RouteTable {
    /// The table as written: methods, paths and scopes checked, not yet its policies
    /// (`route_config.rs` adds that check, which needs the policy builder).
    pub(crate) fn parse_entries(text: &str) -> Result<Self, ConfigError> {
        let file: TableFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let mut routes: Vec<Route> = Vec::with_capacity(file.route.len());
        for entry in file.route {
            let method = entry.method.to_ascii_uppercase();
            if !METHODS.contains(&method.as_str()) {
                return Err(invalid(format!("unknown method '{}'", entry.method)));
            }
            let scopes = Scope::from_tokens(&entry.scopes)
                .map_err(|e| invalid(format!("{method} {}: {e}", entry.path)))?;
            if scopes.is_empty() {
                return Err(invalid(format!("{method} {} needs a scope", entry.path)));
            }
            let segments = parse_path(&entry.path)?;
            let route = Route {
                method,
                path: entry.path,
                scopes,
                dpop: entry.dpop,
                segments,
            };
            if routes
                .iter()
                .any(|r| r.method == route.method && r.segments == route.segments)
            {
                return Err(invalid(format!("{} is listed twice", route.name())));
            }
            routes.push(route);
        }
        Ok(RouteTable { routes })
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The route serving `method path`, the most specific if several match.
    pub fn find(&self, method: &str, path: &str) -> Option<&Route> {
        let segments: Vec<&str> = match path.trim_start_matches('/') {
            "" => Vec::new(),
            rest => rest.split('/').collect(),
        };
        self.routes
            .iter()
            .filter(|route| route.matches(method, &segments))
            .max_by_key(|route| route.specificity())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RouteTable {
        RouteTable::built_in().unwrap()
    }

    #[test]
    fn the_built_in_table_parses_and_matches() {
        let table = table();
        assert_eq!(
            table.find("GET", "/orders/42").unwrap().path,
            "/orders/{id}"
        );
        assert_eq!(table.find("GET", "/orders").unwrap().path, "/orders");
        assert_eq!(
            table.find("POST", "/orders").unwrap().scopes.to_string(),
            "orders:write"
        );
        assert!(table.find("GET", "/orders/42/items").is_none());
        assert!(table.find("PUT", "/orders/42").is_none());
        assert!(table.find("GET", "/admin").is_none());
        assert!(table.find("GET", "/orders//").is_none());
    }

    #[test]
    fn literals_beat_parameters_and_greedy_matches_the_rest() {
        let table = RouteTable::parse(
            r#"
            [[route]]
            method = "GET"
            path = "/files/{path+}"
            scopes = ["files:read"]
            [[route]]
            method = "GET"
            path = "/files/{id}"
            scopes = ["files:read"]
            [[route]]
            method = "GET"
            path = "/files/shared"
            scopes = ["files:shared"]
            "#,
        )
        .unwrap();
        assert_eq!(
            table.find("GET", "/files/shared").unwrap().path,
            "/files/shared"
        );
        assert_eq!(table.find("GET", "/files/a").unwrap().path, "/files/{id}");
        assert_eq!(
            table.find("GET", "/files/a/b/c").unwrap().path,
            "/files/{path+}"
        );
    }

    #[test]
    fn bad_tables_are_refused() {
        for text in [
            "[[route]]\nmethod = \"FETCH\"\npath = \"/a\"\nscopes = [\"x\"]",
            "[[route]]\nmethod = \"GET\"\npath = \"a\"\nscopes = [\"x\"]",
            "[[route]]\nmethod = \"GET\"\npath = \"/a*\"\nscopes = [\"x\"]",
            "[[route]]\nmethod = \"GET\"\npath = \"/{p+}/a\"\nscopes = [\"x\"]",
            "[[route]]\nmethod = \"GET\"\npath = \"/a\"\nscopes = []",
            "[[route]]\nmethod = \"GET\"\npath = \"/a\"\nscopes = [\"x\"]\n[[route]]\nmethod = \"get\"\npath = \"/a\"\nscopes = [\"y\"]",
        ] {
            assert!(RouteTable::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn every_route_scope_is_in_the_catalogue() {
        let catalogue = crate::scopes::ScopeCatalogue::built_in();
        for route in table().routes() {
            for scope in route.scopes.iter() {
                assert!(
                    catalogue.knows(scope),
                    "{} needs unknown scope {scope}",
                    route.name()
                );
            }
        }
    }

    #[test]
    fn arn_resources_use_wildcards_for_parameters() {
        let table = table();
        let route = table.find("GET", "/orders/7").unwrap();
        assert_eq!(route.arn_resource(), "GET/orders/*");
        assert_eq!(
            table.find("GET", "/profile").unwrap().arn_resource(),
            "GET/profile"
        );
    }
}
