//! OWASP ZAP's XML report (`OWASPZAPReport`, with or without requests and responses): one finding per
//! `alertitem`, its instances' URLs as endpoints. `riskcode` 0–3 is Info, Low, Medium, High. Read as a stream
//! of events; a document type declaration is refused, so no entity can expand (only XML's five predefined
//! entities and character references are read).

use std::fmt::Write;

use quick_xml::Reader;
use quick_xml::events::{BytesRef, Event};

use super::{Emit, ParseError, ParsedFinding, cwe_number};
use crate::domain::Severity;
use crate::domain::scan_type::ScanType;

const SCAN: ScanType = ScanType::Zap;

/// The fields of the alert item being read.
#[derive(Default)]
struct Item {
    alert: String,
    name: String,
    riskcode: String,
    desc: String,
    solution: String,
    otherinfo: String,
    reference: String,
    cweid: String,
    uris: Vec<String>,
}

/// Reads the report as a stream of XML events, handing on each alert item as its end tag is read.
pub fn parse_each<R: std::io::BufRead>(source: R, emit: &mut Emit<'_>) -> Result<(), ParseError> {
    let mut reader = Reader::from_reader(source);
    let mut buf = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut item: Option<Item> = None;
    let mut seen_root = false;
    let position = |reader: &Reader<R>| format!("byte {}", reader.error_position());
    loop {
        let event =
            reader.read_event_into(&mut buf).map_err(|err| ParseError::at(SCAN, err.to_string(), position(&reader)))?;
        match event {
            Event::DocType(_) => {
                return Err(ParseError::at(
                    SCAN,
                    "a document type declaration (DTD) is not accepted",
                    position(&reader),
                ));
            }
            Event::Start(start) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                if path.is_empty() {
                    if name != "OWASPZAPReport" {
                        return Err(ParseError::invalid(
                            SCAN,
                            format!("the root element is <{name}>, not <OWASPZAPReport>"),
                        ));
                    }
                    seen_root = true;
                }
                if name == "alertitem" {
                    item = Some(Item::default());
                }
                if name == "uri"
                    && path.last().is_some_and(|parent| parent == "instance")
                    && let Some(item) = item.as_mut()
                {
                    item.uris.push(String::new());
                }
                path.push(name);
            }
            Event::Empty(_) | Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            Event::Text(text) => {
                let text =
                    text.xml_content().map_err(|err| ParseError::at(SCAN, err.to_string(), position(&reader)))?;
                append(&mut item, &path, &text);
            }
            Event::CData(data) => {
                let text = data.decode().map_err(|err| ParseError::at(SCAN, err.to_string(), position(&reader)))?;
                append(&mut item, &path, &text);
            }
            Event::GeneralRef(reference) => {
                let character = entity(&reference).ok_or_else(|| {
                    ParseError::at(SCAN, "an entity other than XML's predefined ones", position(&reader))
                })?;
                append(&mut item, &path, character.encode_utf8(&mut [0; 4]));
            }
            Event::End(_) => {
                if path.pop().as_deref() == Some("alertitem")
                    && let Some(done) = item.take()
                    && !emit(finding(done)?)?
                {
                    return Ok(());
                }
            }
            Event::Eof => break,
        }
        buf.clear();
    }
    if !seen_root {
        return Err(ParseError::invalid(SCAN, "no <OWASPZAPReport> element: not a ZAP XML report"));
    }
    if !path.is_empty() {
        return Err(ParseError::invalid(SCAN, format!("the file ends inside <{}>: truncated", path.join("><"))));
    }
    Ok(())
}

/// XML's five predefined entities and character references; anything else would need a DTD.
fn entity(reference: &BytesRef<'_>) -> Option<char> {
    if reference.is_char_ref() {
        return reference.resolve_char_ref().ok().flatten();
    }
    match reference.decode().ok()?.as_ref() {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => None,
    }
}

/// Adds text to the field of the alert item the reader is in (each instance's `<uri>` has its own entry).
fn append(item: &mut Option<Item>, path: &[String], text: &str) {
    let Some(item) = item.as_mut() else { return };
    let field = match path {
        [.., parent, name] if parent == "alertitem" => match name.as_str() {
            "alert" => &mut item.alert,
            "name" => &mut item.name,
            "riskcode" => &mut item.riskcode,
            "desc" => &mut item.desc,
            "solution" => &mut item.solution,
            "otherinfo" => &mut item.otherinfo,
            "reference" => &mut item.reference,
            "cweid" => &mut item.cweid,
            _ => return,
        },
        [.., instance, uri] if instance == "instance" && uri == "uri" => match item.uris.last_mut() {
            Some(last) => last,
            None => return,
        },
        _ => return,
    };
    field.push_str(text);
}

/// ZAP's descriptions are HTML paragraphs: tags become line breaks, so the text reads plainly.
fn plain(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                if !out.ends_with('\n') {
                    out.push('\n');
                }
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
}

fn finding(item: Item) -> Result<ParsedFinding, ParseError> {
    let severity = match item.riskcode.trim() {
        "0" => Severity::Info,
        "1" => Severity::Low,
        "2" => Severity::Medium,
        "3" => Severity::High,
        other => {
            return Err(ParseError::invalid(SCAN, format!("riskcode {other:?} of {:?} is not 0 to 3", item.alert)));
        }
    };
    let title = if item.alert.trim().is_empty() { item.name.trim() } else { item.alert.trim() }.to_owned();
    let mut description = plain(&item.desc);
    let other = plain(&item.otherinfo);
    if !other.is_empty() {
        let _ = write!(description, "\n\n**Other info:** {other}");
    }
    let mut endpoints: Vec<String> = Vec::new();
    for uri in item.uris.into_iter().map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()) {
        if !endpoints.contains(&uri) {
            endpoints.push(uri);
        }
    }
    Ok(ParsedFinding {
        title,
        severity: Some(severity),
        description,
        mitigation: Some(plain(&item.solution)).filter(|s| !s.is_empty()),
        references: Some(plain(&item.reference)).filter(|r| !r.is_empty()),
        cwe: cwe_number(&item.cweid),
        endpoints,
        ..ParsedFinding::default()
    })
}
