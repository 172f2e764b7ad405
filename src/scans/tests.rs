//! The parsers on the real reports in `tests/fixtures/scans/` (DefectDojo's unit-test scans, BSD-3-Clause;
//! see the folder's README and licence). Expected figures are read from the files, not from the parsers.

use std::collections::BTreeMap;

use super::{ParseError, ParsedFinding, parse};
use crate::domain::Severity;
use crate::domain::scan_type::ScanType;

macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/scans/", $path)).as_slice()
    };
}

fn ok(scan_type: ScanType, bytes: &[u8]) -> Vec<ParsedFinding> {
    parse(scan_type, bytes).unwrap_or_else(|err| panic!("{err}"))
}

fn by_severity(findings: &[ParsedFinding]) -> BTreeMap<Severity, usize> {
    let mut counts = BTreeMap::new();
    for finding in findings {
        *counts.entry(finding.severity.expect("a severity")).or_default() += 1;
    }
    counts
}

fn counts(pairs: &[(Severity, usize)]) -> BTreeMap<Severity, usize> {
    pairs.iter().copied().collect()
}

#[test]
fn sarif_reports_give_a_finding_per_location_with_the_levels_and_scores_they_state() {
    assert!(ok(ScanType::Sarif, fixture!("sarif/appendix_k1.sarif")).is_empty(), "one run, no results");

    let dockle = ok(ScanType::Sarif, fixture!("sarif/dockle_0_3_15.sarif"));
    assert_eq!(by_severity(&dockle), counts(&[(Severity::High, 1), (Severity::Info, 3)]), "1 error, 3 notes");
    let first = &dockle[0];
    assert_eq!(first.title, "Do not store credential in ENVIRONMENT vars/files", "rule CIS-DI-0010's short text");
    assert!(first.description.contains("Suspicious ENV key found : DD_ADMIN_PASSWORD"), "{}", first.description);
    assert_eq!(
        first.references.as_deref(),
        Some("https://github.com/goodwithtech/dockle/blob/master/CHECKPOINT.md#CIS-DI-0010")
    );
    assert_eq!((first.file_path.as_deref(), first.line), (None, None), "Dockle results have no locations");

    let codeql = ok(ScanType::Sarif, fixture!("sarif/codeQL-output.sarif"));
    assert_eq!(codeql.len(), 72);
    let expected = counts(&[(Severity::Info, 57), (Severity::High, 11), (Severity::Medium, 4)]);
    assert_eq!(by_severity(&codeql), expected, "levels from the rules' defaults");
    let empty_except = &codeql[0];
    assert_eq!(empty_except.title, "Empty except");
    assert_eq!((empty_except.file_path.as_deref(), empty_except.line), (Some("good/db_init.py"), Some(39)));
    assert_eq!(
        empty_except.unique_id_from_tool.as_deref(),
        Some("primaryLocationLineHash:9cbc869fbfffeb60:1|primaryLocationStartColumnFingerprint:0")
    );
    assert_eq!(empty_except.cwe, Some(390), "py/empty-except's tag external/cwe/cwe-390");
    let xss: Vec<_> = codeql.iter().filter(|f| f.cwe == Some(79)).collect();
    assert_eq!(xss.len(), 2, "py/reflective-xss (cwe-079 first) has two results");

    let semgrep = ok(ScanType::Sarif, fixture!("sarif/issue_10191.json"));
    let expected = counts(&[(Severity::Critical, 34), (Severity::High, 1), (Severity::Medium, 42)]);
    assert_eq!(by_severity(&semgrep), expected, "security-severity words win over levels");

    assert_eq!(ok(ScanType::Sarif, fixture!("sarif/mobsfscan.json")).len(), 18, "9 results, 18 locations");

    let suppressed = ok(ScanType::Sarif, fixture!("sarif/suppression_test.sarif"));
    let inactive = suppressed.iter().filter(|f| f.active == Some(false)).count();
    assert_eq!((suppressed.len(), inactive), (5, 3), "3 of 5 results carry suppressions");
}

#[test]
fn trivy_reports_of_every_schema_give_vulnerabilities_misconfigurations_secrets_and_licences() {
    assert!(ok(ScanType::Trivy, fixture!("trivy/scheme_2_no_vuln.json")).is_empty());

    let legacy = ok(ScanType::Trivy, fixture!("trivy/legacy_many_vulns.json"));
    let expected = counts(&[(Severity::Low, 65), (Severity::High, 18), (Severity::Medium, 9), (Severity::Info, 1)]);
    assert_eq!(by_severity(&legacy), expected, "UNKNOWN is Info");
    let apt = &legacy[0];
    assert_eq!(apt.title, "CVE-2011-3374 apt 1.8.2.2");
    assert_eq!((apt.cwe, apt.vulnerability_ids.as_slice()), (Some(347), ["CVE-2011-3374".to_owned()].as_slice()));
    assert_eq!((apt.component_name.as_deref(), apt.component_version.as_deref()), (Some("apt"), Some("1.8.2.2")));

    let mixed = ok(ScanType::Trivy, fixture!("trivy/misconfigurations_and_secrets.json"));
    let titles: Vec<&str> = mixed.iter().map(|f| f.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "CVE-2021-33503 urllib3 1.26.3",
            "CVE-2021-28363 urllib3 1.26.3",
            "DS002 - Image user should not be 'root'",
            "Secret detected in Dockerfile - GitHub Personal Access Token",
            "Secret detected in secret.txt - GitHub Personal Access Token",
        ]
    );
    assert_eq!(mixed[0].mitigation.as_deref(), Some("Upgrade urllib3 to version 1.26.5"));
    assert_eq!((mixed[0].severity, mixed[0].cwe), (Some(Severity::High), Some(400)));
    assert_eq!((mixed[3].severity, mixed[3].line), (Some(Severity::Critical), Some(24)));
    let expected = counts(&[(Severity::Critical, 2), (Severity::High, 2), (Severity::Medium, 1)]);
    assert_eq!(by_severity(&mixed), expected);

    let licences = ok(ScanType::Trivy, fixture!("trivy/license_scheme.json"));
    let expected = counts(&[(Severity::High, 7), (Severity::Medium, 1), (Severity::Low, 11)]);
    assert_eq!(by_severity(&licences), expected);

    let cluster = ok(ScanType::Trivy, fixture!("trivy/issue_10991.json"));
    let expected = counts(&[(Severity::Low, 31), (Severity::Medium, 5), (Severity::High, 1)]);
    assert_eq!(by_severity(&cluster), expected, "37 misconfigurations of 13 workloads");
    assert!(cluster[0].title.starts_with("default / Service / kubernetes: KSV116 - "), "{}", cluster[0].title);

    let sources = ok(ScanType::Trivy, fixture!("trivy/cvss_severity_source.json"));
    assert_eq!(by_severity(&sources), counts(&[(Severity::Medium, 1), (Severity::High, 1)]));
}

#[test]
fn generic_json_and_csv_keep_their_dates_flags_and_ids() {
    let json = ok(ScanType::Generic, fixture!("generic/generic_report1.json"));
    assert_eq!(json.len(), 2);
    let first = &json[0];
    assert_eq!((first.title.as_str(), first.severity), ("test title", Some(Severity::Medium)));
    assert!(first.description.contains("à qu'il est beau"), "non-ASCII kept: {}", first.description);
    assert_eq!((first.cwe, first.date), (Some(261), chrono::NaiveDate::from_ymd_opt(2021, 1, 6)));
    assert_eq!(first.vulnerability_ids, ["CVE-2020-36234"]);
    assert_eq!(first.unique_id_from_tool.as_deref(), Some("3287f2d0-554f-491b-8516-3c349ead8ee5"));
    assert_eq!((json[1].active, json[1].verified), (Some(true), Some(false)));

    let rows = ok(ScanType::Generic, fixture!("generic/generic_report1.csv"));
    assert_eq!(rows.len(), 1, "5 rows of the same title, severity and description are one finding");
    assert_eq!(rows[0].endpoints.len(), 5);
    assert_eq!(rows[0].date, chrono::NaiveDate::from_ymd_opt(2021, 2, 28), "day first: 28/02/2021");
    assert_eq!((rows[0].severity, rows[0].cwe), (Some(Severity::Low), Some(1)));

    let dojo = ok(ScanType::Generic, fixture!("generic/generic_csv_defect_dojo.csv"));
    assert_eq!(dojo.len(), 4);
    assert!(dojo.iter().all(|f| f.date == chrono::NaiveDate::from_ymd_opt(2018, 1, 30)), "month first");
    assert!(dojo.iter().all(|f| f.active == Some(false) && f.verified == Some(false) && f.cwe.is_none()));
    assert_eq!(dojo[1].title, "The anti-clickjacking X-Frame-Options header is not present.");

    assert_eq!(ok(ScanType::Generic, fixture!("generic/generic_report_kev_cvssv4.json")).len(), 2);
    assert_eq!(ok(ScanType::Generic, fixture!("generic/test_with_image.json")).len(), 1);
    let empty = parse(ScanType::Generic, fixture!("generic/generic_empty.json"));
    assert!(matches!(&empty, Err(ParseError::Invalid { at: Some(at), .. }) if at == "findings[0]"), "{empty:?}");
}

#[test]
fn zap_reports_give_one_finding_per_alert_with_its_instances() {
    assert!(ok(ScanType::Zap, fixture!("zap/empty_2.9.0.xml")).is_empty());

    let sample = ok(ScanType::Zap, fixture!("zap/5_zap_sample_one.xml"));
    assert_eq!(sample.len(), 2);
    assert_eq!(
        (sample[0].title.as_str(), sample[0].severity),
        ("zap1: Cookie Without Secure Flag", Some(Severity::Low))
    );
    assert!(sample[0].endpoints.contains(&"https://mainsite.com/dashboard".to_owned()), "{:?}", sample[0].endpoints);
    let instances: usize = sample.iter().map(|f| f.endpoints.len()).sum();
    assert!(instances <= 6 && instances > 0, "6 instances, repeated URLs once: {instances}");

    let first = ok(ScanType::Zap, fixture!("zap/zap-results-first-scan.xml"));
    let expected = counts(&[(Severity::Info, 4), (Severity::Low, 4), (Severity::Medium, 3), (Severity::High, 4)]);
    assert_eq!(by_severity(&first), expected, "riskcode 0:4, 1:4, 2:3, 3:4");
    assert_eq!(first.iter().filter(|f| f.cwe.is_none()).count(), 1, "one alert has no cweid");

    let second = ok(ScanType::Zap, fixture!("zap/zap-results-second-scan.xml"));
    let expected = counts(&[(Severity::Info, 5), (Severity::Low, 6), (Severity::Medium, 3), (Severity::High, 4)]);
    assert_eq!(by_severity(&second), expected);

    let plus = ok(ScanType::Zap, fixture!("zap/zap-xml-plus-format.xml"));
    assert_eq!((plus.len(), plus[0].severity), (1, Some(Severity::Medium)));

    let recent = ok(ScanType::Zap, fixture!("zap/zap_2.16.1_with_req_resp.xml"));
    assert_eq!(by_severity(&recent), counts(&[(Severity::Info, 4)]));
    assert_eq!(recent.iter().filter(|f| f.cwe.is_none()).count(), 1, "cweid -1 is no CWE");
}

#[test]
fn hashes_follow_the_formats_fields_so_a_rescan_is_recognised() {
    let first = ok(ScanType::Zap, fixture!("zap/zap-results-first-scan.xml"));
    let second = ok(ScanType::Zap, fixture!("zap/zap-results-second-scan.xml"));
    let same = first.iter().filter(|f| second.iter().any(|s| s.hash_code == f.hash_code)).count();
    assert!(same > 0 && same < first.len(), "some alerts are in both scans, not all: {same}");
    assert!(first.iter().all(|f| f.hash_code.len() == 64));
    // ZAP hashes title, CWE and severity only: another description is the same finding.
    let mut changed = first[0].clone();
    changed.description.push_str(" (seen again)");
    assert_eq!(super::hash_code(ScanType::Zap, &changed), first[0].hash_code);
    changed.title.push('!');
    assert_ne!(super::hash_code(ScanType::Zap, &changed), first[0].hash_code);
}

#[test]
fn a_report_of_another_format_or_broken_is_refused_saying_where() {
    let trivy_as_sarif = parse(ScanType::Sarif, fixture!("trivy/misconfigurations_and_secrets.json"));
    assert!(matches!(&trivy_as_sarif, Err(ParseError::Invalid { reason, .. }) if reason.contains("runs")));
    let zap_as_trivy = parse(ScanType::Trivy, fixture!("zap/5_zap_sample_one.xml"));
    assert!(matches!(&zap_as_trivy, Err(ParseError::Invalid { at: Some(at), .. }) if at.starts_with("line 1")));
    let sarif = fixture!("sarif/dockle_0_3_15.sarif");
    let truncated = parse(ScanType::Sarif, &sarif[..sarif.len() / 2]);
    assert!(matches!(&truncated, Err(ParseError::Invalid { at: Some(_), .. })), "{truncated:?}");
    let no_runs = parse(ScanType::Sarif, br#"{"version": "2.1.0", "runs": []}"#);
    assert!(matches!(&no_runs, Err(ParseError::Invalid { reason, .. }) if reason.contains("no runs")));
    let zap = fixture!("zap/5_zap_sample_one.xml");
    let cut = parse(ScanType::Zap, &zap[..zap.len() - 40]);
    assert!(matches!(&cut, Err(ParseError::Invalid { at: Some(_), .. })), "{cut:?}");
    let closed_early = b"<OWASPZAPReport><site><alerts><alertitem><alert>x</alert>";
    let early = parse(ScanType::Zap, closed_early);
    assert!(matches!(&early, Err(ParseError::Invalid { reason, .. }) if reason.contains("truncated")), "{early:?}");
    assert!(parse(ScanType::Zap, fixture!("sarif/appendix_k1.sarif")).is_err(), "JSON is no ZAP report");
    assert!(parse(ScanType::Generic, b"just some words\nand more").is_err(), "no Title/Severity header");
}

#[test]
fn xml_with_a_document_type_or_unknown_entities_is_refused() {
    let billion_laughs = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<OWASPZAPReport><site><alerts><alertitem><alert>&lol2;</alert><riskcode>1</riskcode></alertitem></alerts></site></OWASPZAPReport>"#;
    let refused = parse(ScanType::Zap, billion_laughs);
    assert!(matches!(&refused, Err(ParseError::Invalid { reason, .. }) if reason.contains("DTD")), "{refused:?}");
    let undeclared = b"<OWASPZAPReport><site><alerts><alertitem><alert>&xxe;</alert><riskcode>1</riskcode></alertitem></alerts></site></OWASPZAPReport>";
    assert!(parse(ScanType::Zap, undeclared).is_err());
    let escaped = b"<OWASPZAPReport><site><alerts><alertitem><alert>A &lt;b&gt; &amp; &#233;</alert><riskcode>3</riskcode></alertitem></alerts></site></OWASPZAPReport>";
    let read = ok(ScanType::Zap, escaped);
    assert_eq!((read[0].title.as_str(), read[0].severity), ("A <b> & é", Some(Severity::High)));
}

/// A reader that gives `bytes`, then fails: what a stream parser has handed on by then came before the end.
struct FailingAfter<'a>(&'a [u8]);

impl std::io::Read for FailingAfter<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        if self.0.is_empty() {
            return Err(std::io::Error::other("the disk went away"));
        }
        let count = buffer.len().min(self.0.len()).min(64);
        buffer[..count].copy_from_slice(&self.0[..count]);
        self.0 = &self.0[count..];
        Ok(count)
    }
}

#[test]
fn generic_json_and_zap_hand_on_findings_as_they_are_read_and_stop_when_told() {
    let entries: Vec<String> = (0..50).map(|i| format!(r#"{{"title": "finding {i}", "severity": "Low"}}"#)).collect();
    let report = format!(r#"{{"name": "nightly", "findings": [{},"#, entries.join(","));
    let reader = std::io::BufReader::with_capacity(64, FailingAfter(report.as_bytes()));
    let mut handed_on = 0;
    let failed = super::parse_each(ScanType::Generic, reader, &mut |_| {
        handed_on += 1;
        true
    });
    assert!(matches!(&failed, Err(ParseError::Invalid { reason, .. }) if reason.contains("went away")), "{failed:?}");
    assert_eq!(handed_on, 50, "every finding read before the failure was handed on, none after");

    for (scan_type, bytes) in [
        (ScanType::Generic, fixture!("generic/generic_report1.json")),
        (ScanType::Zap, fixture!("zap/zap-results-first-scan.xml")),
        (ScanType::Sarif, fixture!("sarif/codeQL-output.sarif")),
    ] {
        let mut taken = Vec::new();
        let stopped = super::parse_each(scan_type, bytes, &mut |finding| {
            taken.push(finding);
            taken.len() < 2
        });
        assert_eq!((stopped, taken.len()), (Ok(()), 2), "{scan_type:?} stops after the second");
        assert_eq!(taken, ok(scan_type, bytes)[..2], "{scan_type:?}: the same two findings as a whole parse");
    }
    let after_the_list = br#"{"findings": [], "more": 1} trailing"#;
    assert!(parse(ScanType::Generic, after_the_list).is_err(), "text after the report is refused");
    let keys_after = br#"{"findings": [{"title": "a", "severity": "High"}], "metadata": {"x": [1, 2]}}"#;
    assert_eq!(ok(ScanType::Generic, keys_after).len(), 1);
}
