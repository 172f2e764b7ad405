//! SARIF 2.1.0 (every run): one finding per result location (one for a result without any). Severity from
//! the rule's `properties.security-severity` (a CVSS score, or a word as Semgrep writes it) when present,
//! else the result's `level`, else its rule's default level (SARIF's default is `warning`). A suppressed
//! result is imported inactive.

use std::fmt::Write;

use serde_json::Value;

use super::{ParseError, ParsedFinding, cwe_number, first_line, severity_word};
use crate::domain::Severity;
use crate::domain::scan_type::ScanType;

const SCAN: ScanType = ScanType::Sarif;

pub fn parse(bytes: &[u8]) -> Result<Vec<ParsedFinding>, ParseError> {
    let log: Value = serde_json::from_slice(bytes).map_err(|err| ParseError::json(SCAN, &err))?;
    let runs = log
        .get("runs")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError::invalid(SCAN, "no \"runs\" array: not a SARIF log"))?;
    if runs.is_empty() {
        return Err(ParseError::invalid(SCAN, "the log has no runs"));
    }
    let mut findings = Vec::new();
    for (index, run) in runs.iter().enumerate() {
        let driver = run
            .pointer("/tool/driver")
            .ok_or_else(|| ParseError::at(SCAN, "a run has no tool.driver", format!("runs[{index}]")))?;
        let rules = driver.get("rules").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for result in run.get("results").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
            let rule = rule_of(result, rules);
            let base = finding(result, rule);
            let locations = result.get("locations").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            if locations.is_empty() {
                findings.push(base);
                continue;
            }
            for location in locations {
                let physical = location.get("physicalLocation");
                let mut at = base.clone();
                at.file_path = physical.and_then(|p| text(p, "/artifactLocation/uri"));
                at.line = physical
                    .and_then(|p| p.pointer("/region/startLine"))
                    .and_then(Value::as_u64)
                    .and_then(|l| u32::try_from(l).ok());
                if let Some(snippet) = physical.and_then(|p| text(p, "/region/snippet/text")) {
                    let _ = write!(at.description, "\n\n**Snippet:**\n```\n{snippet}\n```");
                }
                findings.push(at);
            }
        }
    }
    Ok(findings)
}

/// The rule a result refers to: by `ruleIndex`, else by `ruleId` (or `rule.id`).
fn rule_of<'a>(result: &Value, rules: &'a [Value]) -> Option<&'a Value> {
    if let Some(index) = result.get("ruleIndex").and_then(Value::as_u64) {
        return usize::try_from(index).ok().and_then(|i| rules.get(i));
    }
    let id = rule_id(result, None)?;
    rules.iter().find(|rule| rule.get("id").and_then(Value::as_str) == Some(id.as_str()))
}

fn rule_id(result: &Value, rule: Option<&Value>) -> Option<String> {
    result
        .get("ruleId")
        .and_then(Value::as_str)
        .or_else(|| result.pointer("/rule/id").and_then(Value::as_str))
        .or_else(|| rule.and_then(|r| r.get("id")).and_then(Value::as_str))
        .map(str::to_owned)
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    value.pointer(pointer).and_then(Value::as_str).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
}

fn finding(result: &Value, rule: Option<&Value>) -> ParsedFinding {
    let message = text(result, "/message/text").or_else(|| text(result, "/message/markdown")).unwrap_or_default();
    let rule_id = rule_id(result, rule);
    let title = rule
        .and_then(|r| text(r, "/shortDescription/text"))
        .or_else(|| Some(first_line(&message, 150)).filter(|t| !t.is_empty()))
        .or_else(|| rule_id.clone())
        .unwrap_or_default();
    let mut description = message;
    if let Some(full) = rule.and_then(|r| text(r, "/fullDescription/text")) {
        let _ = write!(description, "\n\n**Rule:** {full}");
    }
    let help = rule.and_then(|r| text(r, "/help/markdown").or_else(|| text(r, "/help/text")));
    let help_is_link = help.as_deref().is_some_and(|h| h.starts_with("http") && !h.contains(char::is_whitespace));
    let references = rule.and_then(|r| text(r, "/helpUri")).or_else(|| help.clone().filter(|_| help_is_link));
    let suppressed = result.get("suppressions").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
    ParsedFinding {
        severity: Some(severity(result, rule)),
        description,
        mitigation: help.filter(|_| !help_is_link),
        references,
        cwe: cwe(result, rule),
        vulnerability_ids: rule_id.iter().filter(|id| id.starts_with("CVE-")).cloned().collect(),
        unique_id_from_tool: fingerprint(result),
        active: suppressed.then_some(false),
        title,
        ..ParsedFinding::default()
    }
}

fn severity(result: &Value, rule: Option<&Value>) -> Severity {
    let security = rule.and_then(|r| r.pointer("/properties/security-severity"));
    let from_security = security.and_then(|value| match value {
        Value::String(text) => text.trim().parse::<f64>().ok().map(cvss).or_else(|| severity_word(text)),
        Value::Number(number) => number.as_f64().map(cvss),
        _ => None,
    });
    from_security.unwrap_or_else(|| {
        let level = result
            .get("level")
            .or_else(|| rule.and_then(|r| r.pointer("/defaultConfiguration/level")))
            .and_then(Value::as_str)
            .unwrap_or("warning");
        match level {
            "error" => Severity::High,
            "note" | "none" => Severity::Info,
            _ => Severity::Medium,
        }
    })
}

/// A CVSS score's severity band.
fn cvss(score: f64) -> Severity {
    match score {
        s if s >= 9.0 => Severity::Critical,
        s if s >= 7.0 => Severity::High,
        s if s >= 4.0 => Severity::Medium,
        s if s > 0.0 => Severity::Low,
        _ => Severity::Info,
    }
}

/// The first CWE among the rule's tags (`external/cwe/cwe-079`, `CWE-79`) and the result's or rule's taxa.
fn cwe(result: &Value, rule: Option<&Value>) -> Option<u32> {
    let tags = rule.and_then(|r| r.pointer("/properties/tags")).and_then(Value::as_array);
    let from_tags =
        tags.into_iter().flatten().filter_map(Value::as_str).filter(|t| t.to_ascii_lowercase().contains("cwe"));
    let taxa = [result.get("taxa"), rule.and_then(|r| r.get("relationships"))]
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|t| t.get("id").or_else(|| t.pointer("/target/id")).and_then(Value::as_str));
    from_tags.chain(taxa).find_map(cwe_number)
}

/// The tool's stable id: its `fingerprints`, else its `partialFingerprints`, as sorted `key:value` pairs.
fn fingerprint(result: &Value) -> Option<String> {
    ["fingerprints", "partialFingerprints"].iter().find_map(|key| {
        let map = result.get(*key)?.as_object()?;
        let mut pairs: Vec<String> = map.iter().filter_map(|(k, v)| v.as_str().map(|v| format!("{k}:{v}"))).collect();
        pairs.sort();
        (!pairs.is_empty()).then(|| pairs.join("|"))
    })
}
