//! Request -> response for the `consent` function. It will serve GET/POST /consent and the connected-apps page (issues 3 and 9);
//! until those land every path gets the shared JSON 404, never a 500.

use lambda_http::{Body, Error, Request, Response};

pub async fn handle(request: Request) -> Result<Response<Body>, Error> {
    Ok(xecure::http::no_route(&request))
}
