//! The `authorize` function: `GET /authorize`, the login page and `POST /login`, and signing
//! out (`POST /logout`).

pub mod handler;
mod logout;
