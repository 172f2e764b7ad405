//! `ScanTest` and `ScanImport`: one import of a scanner report (DefectDojo's *test*) and what it changed.

use async_graphql::{ID, Object, SimpleObject};

use super::enums::ScanType;
use super::{Date, Engagement};
use crate::domain::import_statistics::ImportStatistics;
use crate::entity::scan_test;
use crate::service::scan_import::ImportOutcome;

pub struct ScanTest(pub scan_test::Model);

/// The findings of one scanner's reports in an engagement: created by an import, updated by re-imports.
#[Object]
impl ScanTest {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
    async fn tags(&self) -> &[String] {
        self.0.tags.as_slice()
    }
    async fn scan_type(&self) -> ScanType {
        self.0.scan_type.into()
    }
    /// The date of the latest report imported into it.
    async fn scan_date(&self) -> Date {
        Date(self.0.scan_date)
    }
}

/// How many findings an import created, closed, reactivated and left untouched.
#[derive(SimpleObject)]
#[graphql(name = "ImportStatistics")]
pub struct Statistics {
    pub created: usize,
    pub closed: usize,
    pub reactivated: usize,
    pub untouched: usize,
}

pub struct ScanImport(pub ImportOutcome);

/// What an import or re-import did: its test, the engagement, and the counts.
#[Object]
impl ScanImport {
    async fn test(&self) -> ScanTest {
        ScanTest(self.0.test.clone())
    }
    async fn engagement(&self) -> Engagement {
        Engagement(self.0.engagement.clone())
    }
    async fn statistics(&self) -> Statistics {
        let ImportStatistics { created, closed, reactivated, untouched } = self.0.statistics.clone();
        Statistics { created, closed, reactivated, untouched }
    }
}
