//! Passwords, tokens and the `Caller` every handler starts from.

pub mod handlers;
/// argon2id password hashes (the kit's, shared with the city).
pub use citygrid_kit::password;
pub mod token;

pub use token::{Caller, Claims, MaybeCaller};
