//! The file formats of the compliance report, stored by their extension.

stored_enum! {
    /// A file format of the report.
    pub enum ReportFormat, error UnknownReportFormat("report format") {
        Json = "json",
        Csv = "csv",
        Pdf = "pdf",
    }
}

impl ReportFormat {
    /// `json`, `csv` or `pdf` in any case, as people type it (a command-line flag, a query parameter).
    #[must_use]
    pub fn parse_any_case(text: &str) -> Option<Self> {
        text.to_ascii_lowercase().parse().ok()
    }

    /// The file name's extension (also the stored form).
    #[must_use]
    pub fn extension(self) -> &'static str {
        self.as_str()
    }

    #[must_use]
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Pdf => "application/pdf",
        }
    }
}
