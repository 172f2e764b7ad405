//! Scanner report parsers: pure functions from a report to normalised findings, one file per format
//! (`sarif`, `trivy`, `generic`, `zap`). No database; they read from any `BufRead` and hand each finding
//! on as soon as it is read (`parse_each`), so the import use case stores a large report in batches.
//! Generic JSON and ZAP XML are read as streams (memory bounded by one finding); a SARIF or Trivy report is
//! read whole first (their findings refer to rules and results elsewhere in the document).
//!
//! Each finding carries DefectDojo's deduplication hash over the fields its format uses
//! (`ScanType::hash_fields`), so the same finding in next week's report is recognised.

mod generic;
mod sarif;
mod trivy;
mod zap;

#[cfg(test)]
mod tests;

use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest, Sha256};

use crate::domain::Severity;
use crate::domain::scan_type::{HashField, ScanType};

/// One finding as a report states it, normalised across formats.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedFinding {
    pub title: String,
    /// `None` only while a parser builds it; every returned finding has one.
    pub severity: Option<Severity>,
    pub description: String,
    pub mitigation: Option<String>,
    pub references: Option<String>,
    pub cwe: Option<u32>,
    /// CVE and other advisory ids, the first being the main one.
    pub vulnerability_ids: Vec<String>,
    pub component_name: Option<String>,
    pub component_version: Option<String>,
    pub file_path: Option<String>,
    pub line: Option<u32>,
    /// URLs (or hosts) where it was found.
    pub endpoints: Vec<String>,
    /// The tool's own stable id of the finding (SARIF fingerprints, Generic `unique_id_from_tool`).
    pub unique_id_from_tool: Option<String>,
    /// The report's own date for the finding (Generic), else the scan's date applies.
    pub date: Option<NaiveDate>,
    /// `Some(false)`: the report says it is not active (a SARIF suppression, a Generic `active: false`).
    pub active: Option<bool>,
    pub verified: Option<bool>,
    pub mitigated_at: Option<DateTime<Utc>>,
    /// DefectDojo's deduplication hash (hex SHA-256), set by `parse`.
    pub hash_code: String,
}

/// Why a report could not be read: nothing of it is imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not this format at all, or broken (truncated JSON/XML); `at` says where when the parser knows.
    #[error("the file is not a valid {scan_type} report{}: {reason}", at.as_deref().map(|a| format!(" ({a})")).unwrap_or_default())]
    Invalid { scan_type: &'static str, reason: String, at: Option<String> },
}

impl ParseError {
    fn invalid(scan_type: ScanType, reason: impl Into<String>) -> Self {
        Self::Invalid { scan_type: scan_type.as_str(), reason: reason.into(), at: None }
    }

    fn at(scan_type: ScanType, reason: impl Into<String>, at: String) -> Self {
        Self::Invalid { scan_type: scan_type.as_str(), reason: reason.into(), at: Some(at) }
    }

    #[must_use]
    pub fn unreadable(scan_type: ScanType, err: &std::io::Error) -> Self {
        Self::invalid(scan_type, format!("the file could not be read: {err}"))
    }

    fn json(scan_type: ScanType, err: &serde_json::Error) -> Self {
        Self::at(scan_type, err.to_string(), format!("line {}, column {}", err.line(), err.column()))
    }
}

/// What a format's parser hands each finding to: `Ok(true)` reads on, `Ok(false)` stops early (whoever
/// took the findings is gone), an error ends the parse with it.
type Emit<'a> = dyn FnMut(ParsedFinding) -> Result<bool, ParseError> + 'a;

/// The findings of a report of `scan_type`, each with its hash, in the report's order.
pub fn parse(scan_type: ScanType, bytes: &[u8]) -> Result<Vec<ParsedFinding>, ParseError> {
    let mut findings = Vec::new();
    parse_each(scan_type, bytes, &mut |finding| {
        findings.push(finding);
        true
    })?;
    Ok(findings)
}

/// Reads a report of `scan_type` from `reader`, handing each finding (with its hash) to `each` as soon as
/// it is read; `each` returns `false` to stop. An error may come after some findings were handed on: the
/// caller keeps nothing of a report that fails.
pub fn parse_each(
    scan_type: ScanType,
    mut reader: impl std::io::BufRead,
    each: &mut dyn FnMut(ParsedFinding) -> bool,
) -> Result<(), ParseError> {
    let mut finished = |mut finding: ParsedFinding| {
        if finding.title.trim().is_empty() {
            return Err(ParseError::invalid(scan_type, "a finding has no title"));
        }
        finding.severity.get_or_insert(Severity::Info);
        finding.hash_code = hash_code(scan_type, &finding);
        Ok(each(finding))
    };
    let whole = |reader: &mut dyn std::io::BufRead| {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map_err(|err| ParseError::unreadable(scan_type, &err))?;
        Ok::<_, ParseError>(bytes)
    };
    let findings = match scan_type {
        ScanType::Sarif => sarif::parse(&whole(&mut reader)?)?,
        ScanType::Trivy => trivy::parse(&whole(&mut reader)?)?,
        ScanType::Generic => return generic::parse_each(reader, &mut finished),
        ScanType::Zap => return zap::parse_each(reader, &mut finished),
    };
    for finding in findings {
        if !finished(finding)? {
            break;
        }
    }
    Ok(())
}

/// DefectDojo's hash: SHA-256 over the format's hash fields, each as text, concatenated.
#[must_use]
pub fn hash_code(scan_type: ScanType, finding: &ParsedFinding) -> String {
    let mut text = String::new();
    for field in scan_type.hash_fields() {
        match field {
            HashField::Title => text.push_str(&finding.title),
            HashField::Severity => text.push_str(finding.severity.map_or("", Severity::as_str)),
            HashField::Cwe => text.push_str(&finding.cwe.unwrap_or(0).to_string()),
            HashField::Line => text.push_str(&finding.line.map(|l| l.to_string()).unwrap_or_default()),
            HashField::FilePath => text.push_str(finding.file_path.as_deref().unwrap_or("")),
            HashField::Description => text.push_str(&finding.description),
            HashField::VulnerabilityIds => text.push_str(&finding.vulnerability_ids.join("|")),
        }
    }
    crate::security::token::to_hex(&Sha256::digest(text.trim().as_bytes()))
}

/// A severity as scanners write it, in any case: DefectDojo's five names plus `UNKNOWN`/`none`/
/// `informational` (Info) and `moderate` (Medium).
fn severity_word(text: &str) -> Option<Severity> {
    match text.trim().to_ascii_lowercase().as_str() {
        "critical" => Some(Severity::Critical),
        "high" => Some(Severity::High),
        "medium" | "moderate" => Some(Severity::Medium),
        "low" => Some(Severity::Low),
        "info" | "informational" | "unknown" | "none" => Some(Severity::Info),
        _ => None,
    }
}

/// `CWE-79`, `cwe-079`, `external/cwe/cwe-79` or `79` → 79 (0 and negatives are no CWE).
fn cwe_number(text: &str) -> Option<u32> {
    let lower = text.trim().to_ascii_lowercase();
    let digits = lower.rsplit("cwe-").next().unwrap_or(&lower);
    digits.parse::<u32>().ok().filter(|n| *n > 0)
}

/// The first `limit` characters of `text`'s first line (titles from long messages).
fn first_line(text: &str, limit: usize) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if line.chars().count() > limit {
        let mut cut: String = line.chars().take(limit.saturating_sub(3)).collect();
        cut.push_str("...");
        cut
    } else {
        line.to_owned()
    }
}
