//! The `authorize` function: `GET /authorize`, the login page and `POST /login`.

pub mod handler;
