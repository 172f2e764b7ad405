//! `POST /api/v2/import-scan/` and `/api/v2/reimport-scan/`: DefectDojo's multipart form (`scan_type`,
//! `file`, `engagement` or `product_name` + `engagement_name` [+ `product_type_name`,
//! `auto_create_context`], `test` for a re-import, `scan_date`, `minimum_severity`, `active`, `verified`,
//! `close_old_findings`, `test_title`, `tags`), answered with DefectDojo's shape (`test`, `engagement`,
//! `product`, `statistics`). A bad field is a 400 naming it, as DRF does.

use axum::Json;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde_json::{Value, json};

use super::{RestError, actor};
use crate::domain::scan_type::ScanType;
use crate::domain::tags::Tags;
use crate::domain::{EntityId, Severity};
use crate::service::scan_context::TargetFields;
use crate::service::scan_import::{self, ImportOutcome, ImportRequest};
use crate::state::AppState;

/// The largest form accepted: the report's limit (`Limits::max_report_bytes`) and room for the text fields
/// and part headers. A larger upload is refused with 413 as it streams in.
#[must_use]
pub fn form_limit(max_report_bytes: usize) -> usize {
    max_report_bytes.saturating_add(FORM_FIELDS_ROOM)
}
const FORM_FIELDS_ROOM: usize = 64 * 1024;

fn bad(field: &str, message: impl Into<String>) -> RestError {
    RestError(StatusCode::BAD_REQUEST, json!({ field: [message.into()] }))
}

/// The form's fields: the file (spooled to an unnamed temporary file, so a large report is never held in
/// memory) and every text field by name.
struct Form {
    file: Option<(std::fs::File, u64)>,
    fields: std::collections::HashMap<String, String>,
    /// `tags` may come more than once (`-F tags=a -F tags=b`), each value possibly comma-separated.
    tags: Vec<String>,
}

/// Writes an uploaded file's parts to a temporary file as they arrive; returns it with its length.
async fn spool(
    mut field: axum::extract::multipart::Field<'_>,
    max_report_bytes: usize,
) -> Result<(std::fs::File, u64), RestError> {
    use tokio::io::AsyncWriteExt;
    let unwritable = |err: std::io::Error| {
        tracing::error!(error = %err, "an upload could not be written to a temporary file");
        RestError(StatusCode::INTERNAL_SERVER_ERROR, json!({ "detail": "the upload could not be stored" }))
    };
    let mut file = tokio::fs::File::from_std(tempfile::tempfile().map_err(unwritable)?);
    let mut length = 0_u64;
    let read_error = |err: axum::extract::multipart::MultipartError| {
        multipart_error(&err.body_text(), err.status(), max_report_bytes)
    };
    while let Some(chunk) = field.chunk().await.map_err(read_error)? {
        file.write_all(&chunk).await.map_err(unwritable)?;
        length += chunk.len() as u64;
        if length > max_report_bytes as u64 {
            return Err(multipart_error("", StatusCode::PAYLOAD_TOO_LARGE, max_report_bytes));
        }
    }
    file.flush().await.map_err(unwritable)?;
    Ok((file.into_std().await, length))
}

async fn read_form(mut multipart: Multipart, max_report_bytes: usize) -> Result<Form, RestError> {
    let mut form = Form { file: None, fields: std::collections::HashMap::new(), tags: Vec::new() };
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) => return Err(multipart_error(&err.body_text(), err.status(), max_report_bytes)),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            form.file = Some(spool(field, max_report_bytes).await?);
        } else {
            let bytes =
                field.bytes().await.map_err(|err| multipart_error(&err.body_text(), err.status(), max_report_bytes))?;
            let text = String::from_utf8(bytes.to_vec()).map_err(|_| bad(&name, "is not UTF-8 text"))?;
            if name == "tags" {
                form.tags.push(text);
            } else {
                form.fields.insert(name, text.trim().to_owned());
            }
        }
    }
    Ok(form)
}

fn multipart_error(text: &str, status: StatusCode, max_report_bytes: usize) -> RestError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        let limit = crate::config::mebibytes(max_report_bytes);
        return RestError(status, json!({ "detail": format!("the upload is over the limit of {limit} MiB") }));
    }
    RestError(StatusCode::BAD_REQUEST, json!({ "detail": format!("not a readable multipart form: {text}") }))
}

impl Form {
    fn text(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str).filter(|t| !t.is_empty())
    }

    fn flag(&self, name: &str) -> Result<Option<bool>, RestError> {
        match self.text(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(None),
            Some("true" | "1" | "yes" | "on") => Ok(Some(true)),
            Some("false" | "0" | "no" | "off") => Ok(Some(false)),
            Some(other) => Err(bad(name, format!("{other:?} is not a boolean: use true or false"))),
        }
    }

    fn id<I: EntityId>(&self, name: &str) -> Result<Option<I>, RestError> {
        self.text(name)
            .map(|t| {
                t.parse::<i32>()
                    .ok()
                    .filter(|id| *id > 0)
                    .map(I::new)
                    .ok_or_else(|| bad(name, format!("{t:?} is not an id")))
            })
            .transpose()
    }

    fn request(self, reimport: bool) -> Result<ImportRequest, RestError> {
        let scan_type_text = self.text("scan_type").ok_or_else(|| bad("scan_type", "This field is required."))?;
        let scan_type: ScanType = scan_type_text.parse().map_err(|_| {
            bad("scan_type", format!("{scan_type_text:?} is not a supported scan type: one of {}", ScanType::names()))
        })?;
        let fields = TargetFields {
            test: self.id("test")?,
            engagement: self.id("engagement")?,
            product_name: self.text("product_name").map(str::to_owned),
            engagement_name: self.text("engagement_name").map(str::to_owned),
            product_type_name: self.text("product_type_name").map(str::to_owned),
            auto_create_context: self.flag("auto_create_context")?.unwrap_or(false),
        };
        let target = fields.target(reimport).ok_or_else(|| bad("engagement", TargetFields::missing(reimport)))?;
        let scan_date = self
            .text("scan_date")
            .map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| bad("scan_date", format!("{d:?} is not a date (YYYY-MM-DD)")))
            })
            .transpose()?;
        let minimum_severity = self
            .text("minimum_severity")
            .map(|s| s.parse::<Severity>().map_err(|_| bad("minimum_severity", format!("{s:?} is not a severity"))))
            .transpose()?
            .unwrap_or(Severity::Info);
        let (active, verified, close_old_findings) =
            (self.flag("active")?, self.flag("verified")?, self.flag("close_old_findings")?);
        let test_title = self.text("test_title").map(str::to_owned);
        let tags = Tags::given(self.tags.iter().map(String::as_str)).map_err(|err| bad("tags", err.0))?;
        let file = self.file.filter(|(_, length)| *length > 0).ok_or_else(|| bad("file", "No file was submitted."))?.0;
        Ok(ImportRequest {
            scan_type,
            file,
            target,
            scan_date,
            minimum_severity,
            active,
            verified,
            close_old_findings,
            test_title,
            tags,
            bytes_read: std::sync::Arc::default(),
        })
    }
}

fn answer(outcome: &ImportOutcome) -> Value {
    let stats = &outcome.statistics;
    let total = |n: usize| json!({ "total": n });
    json!({
        "scan_type": outcome.test.scan_type.as_str(),
        "scan_date": outcome.test.scan_date.to_string(),
        "tags": outcome.test.tags.as_slice(),
        "test": outcome.test.id,
        "test_id": outcome.test.id,
        "engagement": outcome.engagement.id,
        "engagement_id": outcome.engagement.id,
        "product": outcome.engagement.product_id,
        "product_id": outcome.engagement.product_id,
        "statistics": {
            "delta": {
                "created": total(stats.created),
                "closed": total(stats.closed),
                "reactivated": total(stats.reactivated),
                "untouched": total(stats.untouched),
            }
        },
    })
}

async fn handle(
    state: AppState,
    headers: HeaderMap,
    multipart: Multipart,
    reimport: bool,
) -> Result<Response, RestError> {
    let actor = actor(&state, &headers).await?;
    let request = read_form(multipart, state.config.limits.max_report_bytes).await?.request(reimport)?;
    let outcome = if reimport {
        scan_import::reimport(&state, &actor, request).await?
    } else {
        scan_import::import(&state, &actor, request).await?
    };
    Ok((StatusCode::CREATED, Json(answer(&outcome))).into_response())
}

/// `POST /api/v2/import-scan/`.
pub async fn import_scan(
    State(state): State<AppState>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, RestError> {
    handle(state, headers, multipart, false).await
}

/// `POST /api/v2/reimport-scan/`.
pub async fn reimport_scan(
    State(state): State<AppState>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, RestError> {
    handle(state, headers, multipart, true).await
}
