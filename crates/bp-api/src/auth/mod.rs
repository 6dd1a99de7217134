//! Authentication: random tokens and their hashes ([`tokens`]), HS256 access
//! tokens with key ids ([`jwt`]), bcrypt passwords and the password policy
//! ([`password`]), and who is calling ([`principal`]).

pub mod jwt;
pub mod password;
pub mod principal;
pub mod tokens;

pub use jwt::{Claims, JwtKeys};
pub use principal::{Caller, MaybeCaller, Principal, User, Via};
