//! A page of rows as a Relay connection needs it (`service::page` fetches one).

/// One page of rows, in ascending id order, with what a Relay connection needs.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total_count: u64,
    pub has_previous_page: bool,
    pub has_next_page: bool,
}

impl<T> Page<T> {
    /// The same page with each item turned into another.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total_count: self.total_count,
            has_previous_page: self.has_previous_page,
            has_next_page: self.has_next_page,
        }
    }
}
