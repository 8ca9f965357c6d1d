//! Closed sets of words (states, roles, kinds…) as Rust enums stored in `TEXT` columns.
//!
//! Each crate writes its vocabulary out as plain enums, with their documentation and
//! `#[derive(AsExpression, FromSqlRow)] #[diesel(sql_type = Text)]`; [`vocabulary!`] then
//! gives each its names (`ALL`, `as_str`, `parse`, `Display`) and the diesel mapping, so
//! reading an unknown name is an error, never a silent default. A CHECK constraint in the
//! crate's migrations makes the database refuse what the code does not know.

/// Gives a vocabulary enum its names: `ALL`, `as_str`, `parse`, `Display`, and the diesel
/// mapping to a `TEXT` column. The enum is written out at each use, with its documentation.
#[macro_export]
macro_rules! vocabulary {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and serialised name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::__private::diesel::serialize::ToSql<$crate::__private::diesel::sql_types::Text, $crate::__private::diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut $crate::__private::diesel::serialize::Output<'b, '_, $crate::__private::diesel::pg::Pg>,
            ) -> $crate::__private::diesel::serialize::Result {
                std::io::Write::write_all(out, self.as_str().as_bytes())?;
                Ok($crate::__private::diesel::serialize::IsNull::No)
            }
        }

        impl $crate::__private::diesel::deserialize::FromSql<$crate::__private::diesel::sql_types::Text, $crate::__private::diesel::pg::Pg> for $name {
            fn from_sql(
                bytes: $crate::__private::diesel::pg::PgValue<'_>,
            ) -> $crate::__private::diesel::deserialize::Result<Self> {
                let text = std::str::from_utf8(bytes.as_bytes())?;
                $name::parse(text).ok_or_else(|| {
                    format!(concat!("unknown ", stringify!($name), " {:?}"), text).into()
                })
            }
        }
    };
}

#[doc(hidden)]
pub mod __private {
    pub use diesel;
}
