//! The `consent` function: the consent screen (`GET/POST /consent`) and the user's
//! connected apps (`GET /apps`, `POST /apps/revoke`, `GET /api/apps`,
//! `DELETE /api/apps/{client_id}`).

pub mod apps;
pub mod handler;
