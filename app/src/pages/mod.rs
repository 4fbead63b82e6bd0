//! One module per screen.

pub mod account;
pub mod duo;
pub mod inline;
pub mod login;
pub mod sessions;
