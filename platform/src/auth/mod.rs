//! Passwords, tokens and the `Caller` every handler starts from.

pub mod handlers;
pub mod password;
pub mod token;

pub use token::{Caller, Claims, MaybeCaller};
