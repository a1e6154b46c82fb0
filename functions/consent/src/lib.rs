//! The `consent` function: the consent screen, `GET/POST /consent`.

pub mod handler;
