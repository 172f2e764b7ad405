//! Parsed GraphQL documents trimmed to what they hold. A subscription keeps its document for as long as it
//! lasts, and the parser collects each selection set and argument list into a vector reserved from its
//! grammar's size hint — about 640 bytes for a selection of one or two fields — so an idle subscription held
//! three times the memory its document needs (the fan-out bench, BENCHMARKS.md "Fan-out memory").

use async_graphql::parser::types::{
    Directive, DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
};

/// Gives back the spare capacity of every selection set, argument and directive list and map in `document`
/// (argument values stay as parsed: async-graphql does not export their type).
pub fn compact(document: &mut ExecutableDocument) {
    match &mut document.operations {
        DocumentOperations::Single(operation) => compact_operation(&mut operation.node),
        DocumentOperations::Multiple(operations) => {
            operations.shrink_to_fit();
            for operation in operations.values_mut() {
                compact_operation(&mut operation.node);
            }
        }
    }
    document.fragments.shrink_to_fit();
    for fragment in document.fragments.values_mut() {
        compact_directives(&mut fragment.node.directives);
        compact_selection_set(&mut fragment.node.selection_set.node);
    }
}

fn compact_operation(operation: &mut OperationDefinition) {
    operation.variable_definitions.shrink_to_fit();
    for variable in &mut operation.variable_definitions {
        compact_directives(&mut variable.node.directives);
    }
    compact_directives(&mut operation.directives);
    compact_selection_set(&mut operation.selection_set.node);
}

fn compact_selection_set(selection_set: &mut SelectionSet) {
    selection_set.items.shrink_to_fit();
    for selection in &mut selection_set.items {
        match &mut selection.node {
            Selection::Field(field) => {
                let field = &mut field.node;
                field.arguments.shrink_to_fit();
                compact_directives(&mut field.directives);
                compact_selection_set(&mut field.selection_set.node);
            }
            Selection::FragmentSpread(spread) => compact_directives(&mut spread.node.directives),
            Selection::InlineFragment(fragment) => {
                compact_directives(&mut fragment.node.directives);
                compact_selection_set(&mut fragment.node.selection_set.node);
            }
        }
    }
}

fn compact_directives(directives: &mut Vec<async_graphql::Positioned<Directive>>) {
    directives.shrink_to_fit();
    for directive in directives {
        directive.node.arguments.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The capacities of every selection set's vector, depth first.
    fn capacities(selection_set: &SelectionSet, out: &mut Vec<(usize, usize)>) {
        out.push((selection_set.items.len(), selection_set.items.capacity()));
        for selection in &selection_set.items {
            if let Selection::Field(field) = &selection.node {
                out.push((field.node.arguments.len(), field.node.arguments.capacity()));
                capacities(&field.node.selection_set.node, out);
            }
        }
    }

    fn as_json(document: &ExecutableDocument) -> serde_json::Value {
        serde_json::to_value(document).expect("serializes")
    }

    fn operation_capacities(document: &ExecutableDocument) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (_, operation) in document.operations.iter() {
            capacities(&operation.node.selection_set.node, &mut out);
        }
        out
    }

    #[test]
    fn every_vector_keeps_its_items_and_no_spare_room() {
        let query = "subscription { slaEvents(kinds: [BREACH], severities: [CRITICAL, HIGH]) { kind finding { id \
                     title } } }";
        let mut document = async_graphql::parser::parse_query(query).expect("parses");
        let before = operation_capacities(&document);
        assert!(before.iter().any(|(len, capacity)| capacity > len), "the parser reserved no spare room: {before:?}");
        compact(&mut document);
        let after = operation_capacities(&document);
        assert!(after.iter().all(|(len, capacity)| len == capacity), "{after:?}");
        assert_eq!(
            before.iter().map(|(len, _)| len).collect::<Vec<_>>(),
            after.iter().map(|(len, _)| len).collect::<Vec<_>>()
        );
        // The same document as before, item for item, positions included.
        assert_eq!(as_json(&document), as_json(&async_graphql::parser::parse_query(query).expect("parses")));
    }

    #[test]
    fn fragments_are_compacted_too() {
        let query = "query Q { ...F } fragment F on QueryRoot { findings(filter: {severities: [LOW]}) { totalCount } }";
        let mut document = async_graphql::parser::parse_query(query).expect("parses");
        compact(&mut document);
        let fragment = &document.fragments.values().next().expect("a fragment").node;
        assert_eq!(fragment.selection_set.node.items.len(), fragment.selection_set.node.items.capacity());
        assert_eq!(as_json(&document), as_json(&async_graphql::parser::parse_query(query).expect("parses")));
    }
}
