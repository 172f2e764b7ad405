//! The work a GraphQL document asks for, measured before anything else walks it: fields counted with every
//! fragment expanded (aliases and `__typename` count) and the nesting depth through fields and fragments.
//!
//! Why it exists: async-graphql's own checks (recursion depth, directives, depth, complexity) walk a
//! fragment once per spread, so a 1 KB document whose fragments each spread the next one twice costs them
//! 2^levels steps before a single resolver runs. Here each fragment is measured once and reused, so the
//! measure is linear in the document's size; anything over the limits is refused before those checks.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, ServerError, ServerResult, Variables};

/// What a document that passed asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryCost {
    /// Fields selected, with fragments expanded where they are spread.
    pub fields: u64,
    /// The deepest nesting, counting each field with a selection and each fragment as a level.
    pub depth: usize,
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostError {
    #[error(
        "the query selects more than {max} fields once its fragments are expanded (aliases and __typename \
         count): ask for less, or split it into several requests"
    )]
    TooManyFields { max: u64 },
    #[error("the query nests deeper than {max} levels through its fields and fragments")]
    TooDeep { max: usize },
    #[error("fragment {0} spreads itself")]
    FragmentCycle(String),
}

/// The limits a document must stay within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostLimits {
    pub max_fields: u64,
    pub max_depth: usize,
}

/// Measures `document` (every operation in it: validation looks at all of them), stopping at the first
/// limit crossed. Time and stack are bounded by the document's size and `max_depth`, whatever its fragments.
pub fn measure(document: &ExecutableDocument, limits: CostLimits) -> Result<QueryCost, CostError> {
    let mut walk = Walk { document, limits, fragments: HashMap::new(), fields: 0 };
    let mut depth = 0;
    for (_, operation) in document.operations.iter() {
        let levels = walk.selection_set(&operation.node.selection_set.node, 0)?;
        depth = depth.max(levels);
    }
    Ok(QueryCost { fields: walk.fields, depth })
}

/// A fragment's measure, relative to where it is spread.
#[derive(Debug, Clone, Copy)]
enum Measured {
    InProgress,
    Done { fields: u64, levels: usize },
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    limits: CostLimits,
    fragments: HashMap<&'a Name, Measured>,
    /// Fields counted so far in the whole document.
    fields: u64,
}

impl<'a> Walk<'a> {
    /// Counts the fields of `set` (found at `depth`) into `self.fields`; returns the levels below it.
    fn selection_set(&mut self, set: &'a SelectionSet, depth: usize) -> Result<usize, CostError> {
        if depth > self.limits.max_depth {
            return Err(CostError::TooDeep { max: self.limits.max_depth });
        }
        let mut levels = 0;
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    self.add_fields(1)?;
                    let children = &field.node.selection_set.node;
                    if !children.items.is_empty() {
                        levels = levels.max(1 + self.selection_set(children, depth + 1)?);
                    }
                }
                Selection::InlineFragment(fragment) => {
                    levels = levels.max(1 + self.selection_set(&fragment.node.selection_set.node, depth + 1)?);
                }
                Selection::FragmentSpread(spread) => {
                    levels = levels.max(1 + self.fragment(&spread.node.fragment_name.node, depth + 1)?);
                }
            }
        }
        Ok(levels)
    }

    /// Adds a named fragment's fields, measuring it the first time it is spread.
    fn fragment(&mut self, name: &'a Name, depth: usize) -> Result<usize, CostError> {
        // An unknown fragment counts nothing here; validation reports it.
        let Some(definition) = self.document.fragments.get(name) else { return Ok(0) };
        match self.fragments.get(name).copied() {
            Some(Measured::InProgress) => Err(CostError::FragmentCycle(name.to_string())),
            Some(Measured::Done { fields, levels }) => {
                if depth + levels > self.limits.max_depth {
                    return Err(CostError::TooDeep { max: self.limits.max_depth });
                }
                self.add_fields(fields)?;
                Ok(levels)
            }
            None => {
                self.fragments.insert(name, Measured::InProgress);
                let before = self.fields;
                let levels = self.selection_set(&definition.node.selection_set.node, depth)?;
                self.fragments.insert(name, Measured::Done { fields: self.fields - before, levels });
                Ok(levels)
            }
        }
    }

    fn add_fields(&mut self, count: u64) -> Result<(), CostError> {
        self.fields = self.fields.saturating_add(count);
        if self.fields > self.limits.max_fields {
            return Err(CostError::TooManyFields { max: self.limits.max_fields });
        }
        Ok(())
    }
}

/// The refusal as a GraphQL error (`BAD_USER_INPUT`, like every other limit).
#[must_use]
pub fn refusal(err: &CostError) -> ServerError {
    let mut error = ServerError::new(err.to_string(), None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", "BAD_USER_INPUT");
    error.extensions = Some(extensions);
    error
}

/// Measures every document the schema parses (websocket operations; the HTTP endpoint measures what it parses
/// and keeps, and its schema has no extension: `graphql::schema_builder`) before async-graphql checks it, and
/// trims what it parsed (`compact_document`).
pub struct CostLimit(pub CostLimits);

impl ExtensionFactory for CostLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(CostLimitExtension(self.0))
    }
}

struct CostLimitExtension(CostLimits);

#[async_graphql::async_trait::async_trait]
impl Extension for CostLimitExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = async_graphql::parser::parse_query(query)?;
        measure(&document, self.0).map_err(|err| refusal(&err))?;
        let mut document = next.run(ctx, query, variables).await?;
        // A subscription keeps its document while it lasts.
        super::compact_document::compact(&mut document);
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    const LIMITS: CostLimits = CostLimits { max_fields: 2_000, max_depth: 64 };

    fn cost(query: &str) -> Result<QueryCost, CostError> {
        measure(&async_graphql::parser::parse_query(query).expect("parses"), LIMITS)
    }

    /// `fragment F0 { ...F1 ...F1 }` … `fragment F{levels} { __typename }`: 2^levels fields when expanded.
    fn fragment_bomb(levels: usize) -> String {
        let mut query = String::from("query { ...F0 }\n");
        for level in 0..levels {
            let _ = writeln!(query, "fragment F{level} on QueryRoot {{ ...F{next} ...F{next} }}", next = level + 1);
        }
        let _ = writeln!(query, "fragment F{levels} on QueryRoot {{ __typename }}");
        query
    }

    #[test]
    fn fields_aliases_and_typename_each_count() {
        assert_eq!(cost("{ me { id username } a: me { id } __typename }"), Ok(QueryCost { fields: 6, depth: 1 }));
    }

    #[test]
    fn a_fragment_counts_once_per_spread() {
        let query = "{ me { ...U } b: me { ...U } } fragment U on User { id username email }";
        assert_eq!(cost(query), Ok(QueryCost { fields: 8, depth: 2 }));
    }

    #[test]
    fn inline_fragments_count_their_fields() {
        assert_eq!(cost("{ me { ... on User { id } } }"), Ok(QueryCost { fields: 2, depth: 2 }));
    }

    #[test]
    fn a_fragment_bomb_is_refused_quickly_however_deep() {
        assert_eq!(cost(&fragment_bomb(10)), Ok(QueryCost { fields: 1_024, depth: 11 }));
        for levels in [11, 24, 30, 60] {
            assert_eq!(cost(&fragment_bomb(levels)), Err(CostError::TooManyFields { max: 2_000 }), "{levels} levels");
        }
    }

    #[test]
    fn a_long_chain_of_fragments_is_too_deep_not_a_stack_overflow() {
        let mut query = String::from("{ ...F0 }\n");
        for level in 0..5_000 {
            let _ = writeln!(query, "fragment F{level} on QueryRoot {{ ...F{} }}", level + 1);
        }
        query.push_str("fragment F5000 on QueryRoot { __typename }\n");
        assert_eq!(cost(&query), Err(CostError::TooDeep { max: 64 }));
    }

    #[test]
    fn a_fragment_measured_shallow_is_still_too_deep_when_spread_deeper() {
        let mut inner = String::from("id");
        for _ in 0..40 {
            inner = format!("a {{ {inner} }}");
        }
        let mut nested = String::from("...Deep");
        for _ in 0..30 {
            nested = format!("b {{ {nested} }}");
        }
        let query = format!("{{ ...Deep {nested} }} fragment Deep on QueryRoot {{ {inner} }}");
        assert_eq!(cost(&query), Err(CostError::TooDeep { max: 64 }));
    }

    #[test]
    fn a_fragment_cycle_is_refused_not_followed() {
        let query = "{ ...A } fragment A on QueryRoot { ...B } fragment B on QueryRoot { ...A }";
        assert!(matches!(cost(query), Err(CostError::FragmentCycle(_))));
    }

    struct Query;

    #[async_graphql::Object]
    impl Query {
        async fn a(&self) -> i32 {
            1
        }
        async fn b(&self) -> i32 {
            2
        }
    }

    #[tokio::test]
    async fn the_extension_measures_every_document_it_parses() {
        let limits = CostLimits { max_fields: 1, max_depth: 64 };
        let schema =
            async_graphql::Schema::build(Query, async_graphql::EmptyMutation, async_graphql::EmptySubscription)
                .extension(CostLimit(limits))
                .finish();
        let refused = schema.execute("{ a b }").await;
        assert_eq!(refused.errors.len(), 1, "{:?}", refused.errors);
        let code = refused.errors[0].extensions.as_ref().and_then(|e| e.get("code")).cloned();
        assert_eq!(code, Some(async_graphql::Value::from("BAD_USER_INPUT")));
        assert!(schema.execute("{ a }").await.errors.is_empty(), "within the limit");
    }

    #[test]
    fn every_operation_of_the_document_counts() {
        let query = "query A { me { id } } query B { me { id username } }";
        assert_eq!(cost(query), Ok(QueryCost { fields: 5, depth: 1 }));
    }
}
