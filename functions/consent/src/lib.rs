//! The `consent` function: the consent screen (`GET/POST /consent`), the user's connected
//! apps (`GET /apps`, `POST /apps/revoke`, `GET /api/apps`, `DELETE /api/apps/{client_id}`)
//! and account page (`GET /account`, `POST /account/password`, `/account/sessions/end`,
//! `/account/sign-out-everywhere`).

pub mod account;
pub mod apps;
pub mod handler;
