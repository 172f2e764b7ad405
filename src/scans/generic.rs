//! DefectDojo's Generic Findings Import: JSON (`{"findings": [...]}`) or CSV with a header row. Every
//! finding needs a title and one of the five severities; CSV rows with the same severity, title and
//! description are one finding with each row's URL as an endpoint (as DefectDojo merges them).
//!
//! JSON is read as a stream: each entry of `findings` is handed on as soon as it is read, so memory holds
//! one finding, not the report. CSV findings are handed on at the end (a later row may add an endpoint).

use std::collections::HashMap;
use std::fmt::Write;
use std::io::BufRead;

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{Emit, ParseError, ParsedFinding, cwe_number};
use crate::domain::Severity;
use crate::domain::scan_type::ScanType;

const SCAN: ScanType = ScanType::Generic;

pub fn parse_each(mut reader: impl BufRead, emit: &mut Emit<'_>) -> Result<(), ParseError> {
    match first_non_space(&mut reader)? {
        Some(b'{') => json(reader, emit),
        Some(b'[') => Err(ParseError::invalid(SCAN, "a JSON report is an object with a \"findings\" list")),
        _ => csv(reader, emit),
    }
}

/// The first byte that is not white space, left unread (the white space before it is consumed).
fn first_non_space(reader: &mut impl BufRead) -> Result<Option<u8>, ParseError> {
    loop {
        let buffer = reader.fill_buf().map_err(|err| ParseError::unreadable(SCAN, &err))?;
        if buffer.is_empty() {
            return Ok(None);
        }
        let (spaces, found) = match buffer.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(at) => (at, buffer.get(at).copied()),
            None => (buffer.len(), None),
        };
        reader.consume(spaces);
        if found.is_some() {
            return Ok(found);
        }
    }
}

fn severity(text: &str, at: &str) -> Result<Severity, ParseError> {
    let severity: Severity = text.parse().map_err(|_| {
        ParseError::at(
            SCAN,
            format!("severity {text:?} is not one of Critical, High, Medium, Low, Info"),
            at.to_owned(),
        )
    })?;
    Ok(severity)
}

/// `2021-01-06`, an RFC 3339 instant, `01/30/2018` (month first, as DefectDojo documents) or `28/02/2021`
/// (day first, when the first number cannot be a month).
fn date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .or_else(|| DateTime::parse_from_rfc3339(text).ok().map(|at| at.date_naive()))
        .or_else(|| NaiveDate::parse_from_str(text, "%m/%d/%Y").ok())
        .or_else(|| NaiveDate::parse_from_str(text, "%d/%m/%Y").ok())
}

fn instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|at| at.with_timezone(&Utc))
        .ok()
        .or_else(|| date(text).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|at| at.and_utc()))
}

/// The JSON report's reading state: where findings go, and why the reading stopped when it was not serde's
/// doing (a bad finding, or nobody taking findings any more).
struct JsonStream<'e, 'f> {
    emit: &'e mut Emit<'f>,
    saw_findings: bool,
    failure: Option<ParseError>,
    stopped: bool,
}

fn json(reader: impl BufRead, emit: &mut Emit<'_>) -> Result<(), ParseError> {
    let mut stream = JsonStream { emit, saw_findings: false, failure: None, stopped: false };
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let read = (&mut stream).deserialize(&mut deserializer).and_then(|()| deserializer.end());
    if let Some(failure) = stream.failure {
        return Err(failure);
    }
    if stream.stopped {
        return Ok(());
    }
    read.map_err(|err| ParseError::json(SCAN, &err))?;
    if !stream.saw_findings {
        return Err(ParseError::invalid(SCAN, "no \"findings\" list"));
    }
    Ok(())
}

impl<'de> DeserializeSeed<'de> for &mut JsonStream<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for &mut JsonStream<'_, '_> {
    type Value = ();
    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("an object with a \"findings\" list")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "findings" {
                map.next_value_seed(FindingList(&mut *self))?;
                self.saw_findings = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// The `findings` list, read one entry at a time.
struct FindingList<'s, 'e, 'f>(&'s mut JsonStream<'e, 'f>);

impl<'de> DeserializeSeed<'de> for FindingList<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FindingList<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a list of findings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0_usize;
        while let Some(entry) = seq.next_element::<Value>()? {
            match json_finding(&entry, &format!("findings[{index}]")).and_then(|finding| (self.0.emit)(finding)) {
                Ok(true) => {}
                Ok(false) => {
                    self.0.stopped = true;
                    return Err(A::Error::custom("stopped"));
                }
                Err(failure) => {
                    self.0.failure = Some(failure);
                    return Err(A::Error::custom("a finding is not valid"));
                }
            }
            index += 1;
        }
        Ok(())
    }
}

fn json_finding(entry: &Value, at: &str) -> Result<ParsedFinding, ParseError> {
    let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::trim).filter(|t| !t.is_empty());
    let owned = |key: &str| text(key).map(str::to_owned);
    let title = text("title").ok_or_else(|| ParseError::at(SCAN, "a finding has no title", at.to_owned()))?;
    let severity_text =
        text("severity").ok_or_else(|| ParseError::at(SCAN, "a finding has no severity", at.to_owned()))?;
    let mut vulnerability_ids: Vec<String> = owned("cve").into_iter().collect();
    for id in entry.get("vulnerability_ids").and_then(Value::as_array).into_iter().flatten() {
        let id = id.get("vulnerability_id").or(Some(id)).and_then(Value::as_str);
        vulnerability_ids.extend(id.map(str::to_owned).filter(|id| !vulnerability_ids.contains(id)));
    }
    let endpoints = entry
        .get("endpoints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|endpoint| match endpoint {
            Value::String(url) => Some(url.clone()),
            Value::Object(parts) => {
                let part = |key: &str| parts.get(key).and_then(Value::as_str).unwrap_or("");
                let host = part("host");
                (!host.is_empty()).then(|| {
                    let scheme = Some(part("protocol")).filter(|p| !p.is_empty()).map(|p| format!("{p}://"));
                    let port_part =
                        parts.get("port").and_then(Value::as_u64).map(|p| format!(":{p}")).unwrap_or_default();
                    format!("{}{host}{port_part}{}", scheme.unwrap_or_default(), part("path"))
                })
            }
            _ => None,
        })
        .collect();
    let mut description = owned("description").unwrap_or_default();
    if let Some(impact) = text("impact") {
        let _ = write!(description, "\n\n**Impact:** {impact}");
    }
    let number =
        |key: &str| entry.get(key).and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())));
    Ok(ParsedFinding {
        title: title.to_owned(),
        severity: Some(severity(severity_text, at)?),
        description,
        mitigation: owned("mitigation"),
        references: owned("references"),
        cwe: number("cwe").and_then(|c| cwe_number(&c.to_string())),
        vulnerability_ids,
        component_name: owned("component_name"),
        component_version: owned("component_version"),
        file_path: owned("file_path"),
        line: number("line").and_then(|l| u32::try_from(l).ok()),
        endpoints,
        unique_id_from_tool: owned("unique_id_from_tool"),
        date: text("date").and_then(date),
        active: entry.get("active").and_then(Value::as_bool),
        verified: entry.get("verified").and_then(Value::as_bool),
        mitigated_at: entry
            .get("is_mitigated")
            .and_then(Value::as_bool)
            .filter(|m| *m)
            .and_then(|_| text("mitigated").and_then(instant)),
        ..ParsedFinding::default()
    })
}

fn csv(reader: impl BufRead, emit: &mut Emit<'_>) -> Result<(), ParseError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(reader);
    let headers = reader
        .headers()
        .map_err(|err| ParseError::invalid(SCAN, format!("not JSON, and not CSV either: {err}")))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(title_at), Some(severity_at)) = (column("Title"), column("Severity")) else {
        return Err(ParseError::invalid(SCAN, "a CSV report needs Title and Severity columns"));
    };
    let mut findings: Vec<ParsedFinding> = Vec::new();
    // (severity, title, description) of each finding, as the rows say them: rows alike are one finding.
    let mut keys: HashMap<(Severity, String, String), usize> = HashMap::new();
    for (index, record) in reader.records().enumerate() {
        let at = format!("CSV row {}", index + 2);
        let record = record.map_err(|err| ParseError::at(SCAN, err.to_string(), at.clone()))?;
        let cell = |at: Option<usize>| at.and_then(|i| record.get(i)).filter(|c| !c.is_empty());
        let flag = |name: &str| cell(column(name)).map(|c| c.eq_ignore_ascii_case("true"));
        let title = cell(Some(title_at)).ok_or_else(|| ParseError::at(SCAN, "a row has no Title", at.clone()))?;
        let severity = severity(cell(Some(severity_at)).unwrap_or(""), &at)?;
        let description = cell(column("Description")).unwrap_or("").to_owned();
        let url = cell(column("Url")).map(str::to_owned);
        let key = (severity, title.to_owned(), description.clone());
        if let Some(same) = keys.get(&key).and_then(|i| findings.get_mut(*i)) {
            same.endpoints.extend(url.filter(|u| !same.endpoints.contains(u)));
            continue;
        }
        keys.insert(key, findings.len());
        let mut description = description;
        if let Some(impact) = cell(column("Impact")) {
            let _ = write!(description, "\n\n**Impact:** {impact}");
        }
        findings.push(ParsedFinding {
            title: title.to_owned(),
            severity: Some(severity),
            description,
            mitigation: cell(column("Mitigation")).map(str::to_owned),
            references: cell(column("References")).map(str::to_owned),
            cwe: cell(column("CweId")).and_then(cwe_number),
            vulnerability_ids: cell(column("CVE")).map(str::to_owned).into_iter().collect(),
            endpoints: url.into_iter().collect(),
            date: cell(column("Date")).and_then(date),
            active: flag("Active"),
            verified: flag("Verified"),
            mitigated_at: flag("IsMitigated")
                .filter(|m| *m)
                .and_then(|_| cell(column("MitigatedDate")).and_then(instant)),
            ..ParsedFinding::default()
        });
    }
    for finding in findings {
        if !emit(finding)? {
            break;
        }
    }
    Ok(())
}
