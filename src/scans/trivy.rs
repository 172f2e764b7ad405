//! Trivy JSON: the current report (`SchemaVersion` 2, `Results`), the legacy one (a top-level array of
//! targets) and the Kubernetes cluster report (`Resources`, or `Vulnerabilities`/`Misconfigurations` lists of
//! resources). Vulnerabilities, misconfigurations, secrets and licences each become a finding, titled as
//! DefectDojo titles them; `UNKNOWN` severity is Info.

use std::fmt::Write;

use serde_json::Value;

use super::{ParseError, ParsedFinding, cwe_number, severity_word};
use crate::domain::scan_type::ScanType;

const SCAN: ScanType = ScanType::Trivy;

pub fn parse(bytes: &[u8]) -> Result<Vec<ParsedFinding>, ParseError> {
    let report: Value = serde_json::from_slice(bytes).map_err(|err| ParseError::json(SCAN, &err))?;
    let mut findings = Vec::new();
    for (target, prefix) in targets(&report)? {
        findings.extend(of_target(target, prefix.as_deref()));
    }
    Ok(findings)
}

/// Every scanned target, with the Kubernetes resource it belongs to (as a title prefix) in a cluster report.
fn targets(report: &Value) -> Result<Vec<(&Value, Option<String>)>, ParseError> {
    if let Some(legacy) = report.as_array() {
        return Ok(legacy.iter().map(|t| (t, None)).collect());
    }
    let Some(object) = report.as_object() else {
        return Err(ParseError::invalid(SCAN, "neither a report object nor a list of targets"));
    };
    if let Some(results) = object.get("Results") {
        let results = results.as_array().ok_or_else(|| ParseError::invalid(SCAN, "\"Results\" is not a list"))?;
        return Ok(results.iter().map(|t| (t, None)).collect());
    }
    if object.contains_key("ClusterName") {
        let resources = ["Resources", "Vulnerabilities", "Misconfigurations"]
            .iter()
            .filter_map(|key| object.get(*key).and_then(Value::as_array))
            .flatten();
        let mut targets = Vec::new();
        for resource in resources {
            let name = ["Namespace", "Kind", "Name"]
                .iter()
                .filter_map(|key| resource.get(*key).and_then(Value::as_str).filter(|s| !s.is_empty()))
                .collect::<Vec<_>>()
                .join(" / ");
            let results = resource.get("Results").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            targets.extend(results.iter().map(|t| (t, Some(name.clone()).filter(|n| !n.is_empty()))));
        }
        return Ok(targets);
    }
    if object.get("SchemaVersion").is_some() {
        return Ok(Vec::new()); // a report of nothing found has no Results at all
    }
    Err(ParseError::invalid(SCAN, "no \"Results\", no target list and no cluster: not a Trivy report"))
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str).map(str::trim).filter(|t| !t.is_empty())
}

fn strings(value: &Value, key: &str) -> Vec<String> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

fn references(entry: &Value) -> Option<String> {
    let mut all = strings(entry, "References");
    if let Some(primary) = text(entry, "PrimaryURL").filter(|p| !all.iter().any(|r| r == p)) {
        all.insert(0, primary.to_owned());
    }
    (!all.is_empty()).then(|| all.join("\n"))
}

fn line(entry: &Value, pointer: &str) -> Option<u32> {
    entry.pointer(pointer).and_then(Value::as_u64).and_then(|l| u32::try_from(l).ok()).filter(|l| *l > 0)
}

/// A finding of `entry` (its `Severity`, `UNKNOWN` when absent) in the target `name`.
fn found(title: String, entry: &Value, description: String, name: &str) -> ParsedFinding {
    ParsedFinding {
        title,
        severity: severity_word(text(entry, "Severity").unwrap_or("UNKNOWN")),
        description,
        file_path: Some(name.to_owned()).filter(|n| !n.is_empty()),
        ..ParsedFinding::default()
    }
}

fn of_target(target: &Value, resource: Option<&str>) -> Vec<ParsedFinding> {
    let name = text(target, "Target").unwrap_or("");
    let kind = text(target, "Type").unwrap_or("");
    let titled = |title: String| match resource {
        Some(resource) => format!("{resource}: {title}"),
        None => title,
    };
    let list = |key: &str| target.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let mut findings = Vec::new();
    for vuln in list("Vulnerabilities") {
        let id = text(vuln, "VulnerabilityID").unwrap_or("");
        let package = text(vuln, "PkgName").unwrap_or("");
        let version = text(vuln, "InstalledVersion").unwrap_or("");
        let fixed = text(vuln, "FixedVersion");
        let mut description = format!("**Target:** {name}\n**Type:** {kind}\n**Package:** {package} {version}\n");
        if let Some(fixed) = fixed {
            let _ = writeln!(description, "**Fixed version:** {fixed}");
        }
        if let Some(title) = text(vuln, "Title") {
            let _ = writeln!(description, "\n{title}");
        }
        let _ = write!(description, "\n{}", text(vuln, "Description").unwrap_or(""));
        findings.push(ParsedFinding {
            mitigation: fixed.map(|f| format!("Upgrade {package} to version {f}")),
            references: references(vuln),
            cwe: strings(vuln, "CweIDs").iter().find_map(|c| cwe_number(c)),
            vulnerability_ids: Some(id.to_owned()).filter(|i| !i.is_empty()).into_iter().collect(),
            component_name: Some(package.to_owned()).filter(|p| !p.is_empty()),
            component_version: Some(version.to_owned()).filter(|v| !v.is_empty()),
            ..found(titled(format!("{id} {package} {version}").trim().to_owned()), vuln, description, name)
        });
    }
    for misconfiguration in list("Misconfigurations") {
        let id = text(misconfiguration, "ID").unwrap_or("");
        let title = text(misconfiguration, "Title").unwrap_or("");
        let description = format!(
            "**Target:** {name}\n**Type:** {}\n\n{}\n\n{}",
            text(misconfiguration, "Type").unwrap_or(kind),
            text(misconfiguration, "Description").unwrap_or(""),
            text(misconfiguration, "Message").unwrap_or("")
        );
        findings.push(ParsedFinding {
            mitigation: text(misconfiguration, "Resolution").map(str::to_owned),
            references: references(misconfiguration),
            line: line(misconfiguration, "/CauseMetadata/StartLine"),
            ..found(titled(format!("{id} - {title}")), misconfiguration, description, name)
        });
    }
    for secret in list("Secrets") {
        let title = text(secret, "Title").or_else(|| text(secret, "RuleID")).unwrap_or("secret");
        let description = format!(
            "**Target:** {name}\n**Rule:** {}\n**Category:** {}\n**Match:** {}",
            text(secret, "RuleID").unwrap_or(""),
            text(secret, "Category").unwrap_or(""),
            text(secret, "Match").unwrap_or("")
        );
        findings.push(ParsedFinding {
            mitigation: Some("Remove the secret from the source and rotate it.".to_owned()),
            line: line(secret, "/StartLine"),
            ..found(titled(format!("Secret detected in {name} - {title}")), secret, description, name)
        });
    }
    for license in list("Licenses") {
        let license_name = text(license, "Name").unwrap_or("");
        let package = text(license, "PkgName").unwrap_or("");
        let description = format!(
            "**Target:** {name}\n**Package:** {package}\n**Licence:** {license_name}\n**Category:** {}",
            text(license, "Category").unwrap_or("")
        );
        let title = titled(format!("License detected in {name} - {license_name} ({package})"));
        findings.push(ParsedFinding {
            references: text(license, "Link").map(str::to_owned),
            component_name: Some(package.to_owned()).filter(|p| !p.is_empty()),
            file_path: text(license, "FilePath").map(str::to_owned),
            ..found(title, license, description, name)
        });
    }
    findings
}
