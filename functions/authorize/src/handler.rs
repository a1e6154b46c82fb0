//! Request -> response for the `authorize` function. It will serve GET /authorize, the login page and POST /login (issue 3);
//! until those land every path gets the shared JSON 404, never a 500.

use lambda_http::{Body, Error, Request, Response};

pub async fn handle(request: Request) -> Result<Response<Body>, Error> {
    Ok(xecure::http::no_route(&request))
}
