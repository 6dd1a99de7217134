//! Authentication: random tokens and their hashes ([`tokens`]), HS256 access
//! tokens with key ids ([`jwt`]), bcrypt passwords and the password policy
//! ([`password`]), who is calling ([`principal`]) and what each route
//! admits ([`access`]).

pub mod access;
pub mod jwt;
pub mod password;
pub mod principal;
pub mod tokens;

pub use jwt::{Claims, JwtKeys};
pub use principal::{Caller, MaybeCaller, Principal, User, Via};
