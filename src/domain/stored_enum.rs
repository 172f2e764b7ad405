//! `stored_enum!`: an enum kept in the database as text — its variants with their stored spellings, `as_str`,
//! a `FromStr` that refuses any other text (an unknown stored value is an error, never a default), and
//! `Serialize`/`Deserialize` as the stored spelling. One definition instead of the same four items per type.

/// Declares `pub enum $name` (deriving `Debug, Clone, Copy, PartialEq, Eq, Hash`, plus what the caller
/// adds), its `as_str`, `FromStr` with the error type `$error` ("unknown $what …"), and `Serialize`.
macro_rules! stored_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident, error $error:ident($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// The stored form.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $text ),+
                }
            }
        }

        /// A stored value that is none of the type's spellings.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $error(pub String);

        impl std::fmt::Display for $error {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "unknown {} {:?}", $what, self.0)
            }
        }

        impl std::error::Error for $error {}

        impl std::str::FromStr for $name {
            type Err = $error;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $( $text => Ok(Self::$variant), )+
                    other => Err($error(other.to_owned())),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
