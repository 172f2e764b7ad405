//! DefectDojo's `/api/v2/findings/` query parameters turned into the shared `FindingFilter` and DRF's
//! `limit`/`offset`: the runbook's spellings accepted, bad values refused, unknown names reported.

use std::collections::BTreeMap;

use crate::domain::Severity;
use crate::service::finding_filter::FindingFilter;

/// DRF's page size when `limit` is absent (DefectDojo's default).
pub const DEFAULT_LIMIT: u64 = 25;
/// The largest page; a larger `limit` is clamped to it, as DRF's `max_limit` does.
pub const MAX_LIMIT: u64 = 1000;

/// A parsed findings query.
#[derive(Debug, Clone, Default)]
pub struct FindingsQuery {
    pub filter: FindingFilter,
    pub limit: u64,
    pub offset: u64,
    /// Parameter names slawatch does not know (ignored, as DefectDojo does, but reported).
    pub ignored: Vec<String>,
}

/// Invalid values, by parameter name (DRF's validation-error shape).
pub type ParamErrors = BTreeMap<String, Vec<String>>;

/// Parses the query pairs of `/api/v2/findings/`, in order; for a repeated boolean the last value counts (as
/// Django's `QueryDict.get`), repeated `severity` values are alternatives.
pub fn findings_query(pairs: &[(String, String)]) -> Result<FindingsQuery, ParamErrors> {
    let mut query = FindingsQuery { limit: DEFAULT_LIMIT, ..FindingsQuery::default() };
    let mut errors = ParamErrors::new();
    let mut severities: Vec<Severity> = Vec::new();
    for (name, value) in pairs {
        let mut flag = |slot: &mut Option<bool>| match boolean(value) {
            Some(parsed) => *slot = Some(parsed),
            None => errors
                .entry(name.clone())
                .or_default()
                .push(format!("{value:?} is not a valid boolean: use true, false, 1 or 0")),
        };
        match name.as_str() {
            "active" => flag(&mut query.filter.active),
            "verified" => flag(&mut query.filter.verified),
            "is_mitigated" | "is_Mitigated" => flag(&mut query.filter.is_mitigated),
            "outside_of_sla" | "outside_sla" => flag(&mut query.filter.outside_sla),
            "severity" => {
                for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    match part.parse::<Severity>() {
                        Ok(severity) if !severities.contains(&severity) => severities.push(severity),
                        Ok(_) => {}
                        Err(_) => errors
                            .entry(name.clone())
                            .or_default()
                            .push(format!("{part:?} is not a severity: use Critical, High, Medium, Low or Info")),
                    }
                }
            }
            "product_name" => {
                let trimmed = value.trim();
                if trimmed.is_empty() {
                    errors.entry(name.clone()).or_default().push("give a product name".to_owned());
                } else {
                    query.filter.product_name = Some(trimmed.to_owned());
                }
            }
            "limit" => match value.trim().parse::<u64>() {
                Ok(limit) if limit > 0 => query.limit = limit.min(MAX_LIMIT),
                _ => errors.entry(name.clone()).or_default().push(format!("{value:?} is not a positive integer")),
            },
            "offset" => match value.trim().parse::<u64>() {
                Ok(offset) => query.offset = offset,
                Err(_) => errors.entry(name.clone()).or_default().push(format!("{value:?} is not an integer ≥ 0")),
            },
            // DRF's renderer switch: JSON is the only format, so it is accepted and changes nothing.
            "format" if value == "json" => {}
            _ => {
                if !query.ignored.contains(name) {
                    query.ignored.push(name.clone());
                }
            }
        }
    }
    if !severities.is_empty() {
        query.filter.severities = Some(severities);
    }
    if errors.is_empty() { Ok(query) } else { Err(errors) }
}

/// The booleans DefectDojo's and DRF's filters accept, in any case: `true`/`false`, `1`/`0`.
fn boolean(value: &str) -> Option<bool> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("true") || value == "1" {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") || value == "0" {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<FindingsQuery, ParamErrors> {
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        findings_query(&pairs)
    }

    #[test]
    fn the_runbook_spellings_and_python_booleans_are_understood() {
        let weekly = parse("outside_sla=true&active=true").expect("valid");
        assert_eq!((weekly.filter.outside_sla, weekly.filter.active), (Some(true), Some(true)));
        let exporter = parse("active=True&verified=True&severity=Critical&is_Mitigated=False&limit=1").expect("valid");
        assert_eq!(exporter.filter.active, Some(true));
        assert_eq!(exporter.filter.verified, Some(true));
        assert_eq!(exporter.filter.is_mitigated, Some(false));
        assert_eq!(exporter.filter.severities, Some(vec![Severity::Critical]));
        assert_eq!(exporter.limit, 1);
        let dojo = parse("outside_of_sla=1&is_mitigated=0&severity=HIGH,low").expect("valid");
        assert_eq!((dojo.filter.outside_sla, dojo.filter.is_mitigated), (Some(true), Some(false)));
        assert_eq!(dojo.filter.severities, Some(vec![Severity::High, Severity::Low]));
    }

    #[test]
    fn bad_values_are_refused_by_name_and_unknown_names_are_reported() {
        let errors = parse("active=maybe&severity=Urgent&limit=-3&offset=x").expect_err("invalid");
        assert_eq!(errors.keys().map(String::as_str).collect::<Vec<_>>(), ["active", "limit", "offset", "severity"]);
        let query = parse("o=-id&tags=web&tags=web&product_name=Royal-Bank-Integration").expect("valid");
        assert_eq!(query.ignored, ["o", "tags"]);
        assert_eq!(query.filter.product_name.as_deref(), Some("Royal-Bank-Integration"));
    }

    #[test]
    fn limits_default_and_clamp_as_drf_does() {
        assert_eq!(parse("").expect("valid").limit, DEFAULT_LIMIT);
        assert_eq!(parse("limit=100000&offset=50").expect("valid").limit, MAX_LIMIT);
        assert!(parse("limit=0").is_err());
    }
}
