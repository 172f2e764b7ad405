//! Scan imports through GraphQL: `importScan` and `reimportScan` take the report as an `Upload` (a
//! multipart request, as the GraphQL multipart request spec sends it; `http.rs` spools the file to disk)
//! and do what the REST `import-scan` and `reimport-scan` do.

use async_graphql::{Context, ID, InputObject, Object, Result, Upload};

use super::context::{ContextExt, parse_opt_id};
use super::types::enums::{ScanType, Severity};
use super::types::{Date, ScanImport};
use crate::domain::tags::Tags;
use crate::error::ServiceError;
use crate::service::scan_context::TargetFields;
use crate::service::scan_import::{self, ImportRequest};

/// A scanner report and where it goes: an engagement by id, or a product (and engagement) by name.
#[derive(InputObject)]
pub struct ImportScanInput {
    pub scan_type: ScanType,
    /// The report file (a multipart upload).
    pub file: Upload,
    pub engagement_id: Option<ID>,
    /// The product's exact name, when no engagement id is given.
    pub product_name: Option<String>,
    /// With `productName`: the engagement's name (default `Imports`).
    pub engagement_name: Option<String>,
    /// With `autoCreateContext`: the type of a product to create.
    pub product_type_name: Option<String>,
    /// Create the named product (superusers), its type and the engagement when missing. Default false.
    pub auto_create_context: Option<bool>,
    /// The scan's date, default today (UTC): new findings' date, from which their SLA runs.
    pub scan_date: Option<Date>,
    /// Leave out findings below this severity (default INFO: keep all).
    pub minimum_severity: Option<Severity>,
    pub active: Option<bool>,
    pub verified: Option<bool>,
    /// Mitigate the findings the report no longer lists (default false on import, true on re-import).
    pub close_old_findings: Option<bool>,
    pub test_title: Option<String>,
    /// Tags for the test (each may list several, comma-separated); omitted on a re-import keeps the test's.
    pub tags: Option<Vec<String>>,
}

impl ImportScanInput {
    fn request(self, ctx: &Context<'_>, reimport: bool, test: Option<&ID>) -> Result<ImportRequest> {
        let fields = TargetFields {
            test: parse_opt_id(test)?,
            engagement: parse_opt_id(self.engagement_id.as_ref())?,
            product_name: self.product_name,
            engagement_name: self.engagement_name,
            product_type_name: self.product_type_name,
            auto_create_context: self.auto_create_context.unwrap_or(false),
        };
        let target = fields
            .target(reimport)
            .ok_or_else(|| ServiceError::bad_input("name where the scan goes: testId, engagementId or productName"))?;
        // An explicit empty list clears the test's tags; an omitted one keeps them.
        let tags = self.tags.as_ref().map(|tags| Tags::parse(tags.iter().map(String::as_str))).transpose()?;
        let upload = self.file.value(ctx).map_err(|err| ServiceError::bad_input(format!("file: {err}")))?;
        Ok(ImportRequest {
            scan_type: self.scan_type.into(),
            file: upload.content,
            target,
            scan_date: self.scan_date.map(|d| d.0),
            minimum_severity: self.minimum_severity.map_or(crate::domain::Severity::Info, Into::into),
            active: self.active,
            verified: self.verified,
            close_old_findings: self.close_old_findings,
            test_title: self.test_title,
            tags,
            bytes_read: std::sync::Arc::default(),
        })
    }
}

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Imports a scanner report as a new test of the engagement (product writers): findings already open
    /// in the product are not created again. One transaction: a bad file changes nothing.
    async fn import_scan(&self, ctx: &Context<'_>, input: ImportScanInput) -> Result<ScanImport> {
        let request = input.request(ctx, false, None)?;
        Ok(ScanImport(scan_import::import(ctx.state()?, ctx.actor()?, request).await?))
    }

    /// Re-imports a report into a test (`testId`, else the engagement's latest of this scan type): listed
    /// findings keep their date, returning ones are reactivated, new ones created, missing ones mitigated.
    async fn reimport_scan(
        &self,
        ctx: &Context<'_>,
        input: ImportScanInput,
        test_id: Option<ID>,
    ) -> Result<ScanImport> {
        let request = input.request(ctx, true, test_id.as_ref())?;
        Ok(ScanImport(scan_import::reimport(ctx.state()?, ctx.actor()?, request).await?))
    }
}
