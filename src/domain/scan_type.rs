//! The scanner report formats an import accepts, by DefectDojo's `scan_type` names.

stored_enum! {
    /// A report format (DefectDojo's `scan_type`).
    pub enum ScanType, error UnknownScanType("scan type") {
        Sarif = "SARIF",
        Trivy = "Trivy Scan",
        Generic = "Generic Findings Import",
        Zap = "ZAP Scan",
    }
}

impl ScanType {
    pub const ALL: [ScanType; 4] = [Self::Sarif, Self::Trivy, Self::Generic, Self::Zap];

    /// Every name, comma-separated: what a request with an unknown `scan_type` is told to choose from.
    #[must_use]
    pub fn names() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }

    /// The fields DefectDojo hashes to recognise the same finding in this format's reports (its
    /// `HASHCODE_FIELDS_PER_SCANNER` defaults).
    #[must_use]
    pub fn hash_fields(self) -> &'static [HashField] {
        use HashField::{Cwe, Description, FilePath, Line, Severity, Title, VulnerabilityIds};
        match self {
            Self::Sarif | Self::Generic => &[Title, Cwe, Line, FilePath, Description],
            Self::Trivy => &[Title, Severity, VulnerabilityIds, Cwe, Description],
            Self::Zap => &[Title, Cwe, Severity],
        }
    }

    /// Whether a re-import matches by the tool's own id before the hash (DefectDojo's
    /// `unique_id_from_tool_or_hash_code`): SARIF's fingerprints are stable across runs.
    #[must_use]
    pub fn matches_by_tool_id(self) -> bool {
        matches!(self, Self::Sarif)
    }
}

/// A field of a finding that can take part in its deduplication hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashField {
    Title,
    Severity,
    Cwe,
    Line,
    FilePath,
    Description,
    VulnerabilityIds,
}
