//! What one scan import did to a test's findings, as DefectDojo counts it (its `statistics.delta`).

/// Findings created, closed, reactivated and left untouched by one import or re-import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportStatistics {
    pub created: usize,
    pub closed: usize,
    pub reactivated: usize,
    pub untouched: usize,
}
