//! Request -> response for the `token` function. It will serve POST /token, /revoke, /introspect, metadata and JWKS (issue 4);
//! until those land every path gets the shared JSON 404, never a 500.

use lambda_http::{Body, Error, Request, Response};

pub async fn handle(request: Request) -> Result<Response<Body>, Error> {
    Ok(xecure::http::no_route(&request))
}
