//! `pass_on!`: turns a GraphQL input into the service's struct of the same field names, naming each field
//! once. The input is destructured exhaustively, so a field added to it and not passed on does not compile.

/// `pass_on!(input => Input to Target { same, names, ...; converted: expression, ... })`: the fields before
/// `;` move as they are, each after it takes its expression (which may use the field's own value). Fields
/// the target has and the input has not follow `also`.
macro_rules! pass_on {
    (
        $input:expr => $from:ident to $to:ident {
            $($same:ident),* $(,)? ; $($converted:ident : $value:expr),* $(,)?
        } $(also { $($extra:ident : $extra_value:expr),* $(,)? })?
    ) => {{
        let $from { $($same,)* $($converted,)* } = $input;
        $to { $($same,)* $($converted: $value,)* $($($extra: $extra_value,)*)? }
    }};
}
