//! Where a scan import goes, named the way DefectDojo's `import-scan` names it: an engagement id, or a
//! product (and its type) and an engagement by name, created on the way with `auto_create_context`.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::domain::scan_type::ScanType;
use crate::domain::{EngagementId, ProductRole, TestId};
use crate::entity::{engagement, product, product_type, scan_test};
use crate::error::{ServiceError, ServiceResult};
use crate::service::engagements::{self, EngagementInput};
use crate::service::products::{self, ProductInput};
use crate::service::{Actor, access, product_types};
use crate::state::AppState;

/// The engagement of an import, as the request names it.
#[derive(Debug, Clone)]
pub enum ImportTarget {
    Engagement(EngagementId),
    /// A re-import into this test.
    Test(TestId),
    Named {
        product_name: String,
        engagement_name: Option<String>,
        product_type_name: Option<String>,
        /// Create what does not exist yet (the product needs a superuser).
        auto_create_context: bool,
    },
}

/// DefectDojo's fields that say where a report goes, as a request gives them.
#[derive(Debug, Clone, Default)]
pub struct TargetFields {
    /// Only a re-import names a test.
    pub test: Option<TestId>,
    pub engagement: Option<EngagementId>,

    pub product_name: Option<String>,
    pub engagement_name: Option<String>,
    pub product_type_name: Option<String>,
    pub auto_create_context: bool,
}

impl TargetFields {
    /// The target the fields name: the test (re-import), else the engagement, else the product by name;
    /// `None` when they name none (`reimport` says which fields the request could have used).
    #[must_use]
    pub fn target(self, reimport: bool) -> Option<ImportTarget> {
        if let Some(test) = self.test.filter(|_| reimport) {
            return Some(ImportTarget::Test(test));
        }
        if let Some(engagement) = self.engagement {
            return Some(ImportTarget::Engagement(engagement));
        }
        Some(ImportTarget::Named {
            product_name: self.product_name?,
            engagement_name: self.engagement_name,
            product_type_name: self.product_type_name,
            auto_create_context: self.auto_create_context,
        })
    }

    /// What a request naming no target is told.
    #[must_use]
    pub fn missing(reimport: bool) -> &'static str {
        if reimport {
            "name where the scan goes: test, engagement or product_name"
        } else {
            "name where the scan goes: engagement or product_name"
        }
    }
}

/// The engagement of imports that name a product but no engagement.
const DEFAULT_ENGAGEMENT: &str = "Imports";

/// The engagement an import goes to (created when asked to and missing), checked for the actor's
/// `Writer` role; `NOT_FOUND` for what the actor may not view. `before_creating` runs once, just before the
/// first thing would be created (the import reads its file through there, so a bad file creates nothing).
pub async fn engagement_of(
    state: &AppState,
    actor: &Actor,
    target: &ImportTarget,
    before_creating: impl AsyncFnOnce() -> ServiceResult<()>,
) -> ServiceResult<engagement::Model> {
    let mut before_creating = Some(before_creating);
    let mut about_to_create = async || match before_creating.take() {
        Some(check) => check().await,
        None => Ok(()),
    };
    let found = match target {
        ImportTarget::Engagement(id) => engagement::Entity::find_by_id(*id).one(&state.db).await?,
        ImportTarget::Test(id) => {
            let test = test_of(state, *id).await?;
            engagement::Entity::find_by_id(test.engagement_id).one(&state.db).await?
        }
        ImportTarget::Named { product_name, engagement_name, product_type_name, auto_create_context } => {
            // A product the actor may not view reads as one that does not exist.
            let no_product = || {
                ServiceError::bad_input(format!(
                    "there is no product {product_name:?} you can import into (auto_create_context creates it)"
                ))
            };
            let named = product::Entity::find().filter(product::Column::Name.eq(product_name)).one(&state.db).await?;
            let product = match named {
                Some(product) => product,
                None if *auto_create_context => {
                    about_to_create().await?;
                    create_product(state, actor, product_name, product_type_name.as_deref()).await?
                }
                None => return Err(no_product()),
            };
            match access::require_role(&state.db, actor, product.id, ProductRole::Writer).await {
                Err(ServiceError::NotFound(_)) => return Err(no_product()),
                other => {
                    other?;
                }
            }
            let name = engagement_name.clone().unwrap_or_else(|| DEFAULT_ENGAGEMENT.to_owned());
            let existing = engagement::Entity::find()
                .filter(engagement::Column::ProductId.eq(product.id))
                .filter(engagement::Column::Name.eq(name.as_str()))
                .order_by_desc(engagement::Column::Id)
                .one(&state.db)
                .await?;
            match existing {
                Some(found) => Some(found),
                None if *auto_create_context || engagement_name.is_none() => {
                    about_to_create().await?;
                    let input = EngagementInput {
                        product_id: Some(product.id),
                        name: Some(name),
                        ..EngagementInput::default()
                    };
                    Some(engagements::create(state, actor, input).await?)
                }
                None => {
                    return Err(ServiceError::bad_input(format!(
                        "there is no engagement {name:?} in {product_name:?} (auto_create_context creates it)"
                    )));
                }
            }
        }
    };
    let engagement = found.ok_or_else(|| ServiceError::not_found("engagement"))?;
    access::require_role(&state.db, actor, engagement.product_id, ProductRole::Writer).await?;
    Ok(engagement)
}

async fn test_of(state: &AppState, id: TestId) -> ServiceResult<scan_test::Model> {
    scan_test::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| ServiceError::not_found("test"))
}

/// The test a re-import goes to: the named one, else the engagement's latest of this scan type (with this
/// title, when one is given); `None` when there is none yet (the re-import then imports).
pub async fn reimport_test(
    state: &AppState,
    target: &ImportTarget,
    engagement: &engagement::Model,
    scan_type: ScanType,
    title: Option<&str>,
) -> ServiceResult<Option<scan_test::Model>> {
    if let ImportTarget::Test(id) = target {
        let test = test_of(state, *id).await?;
        if test.scan_type != scan_type {
            return Err(ServiceError::bad_input(format!(
                "test {id} holds {} findings, not {}",
                test.scan_type.as_str(),
                scan_type.as_str()
            )));
        }
        return Ok(Some(test));
    }
    let mut latest = scan_test::Entity::find()
        .filter(scan_test::Column::EngagementId.eq(engagement.id))
        .filter(scan_test::Column::ScanType.eq(scan_type));
    if let Some(title) = title {
        latest = latest.filter(scan_test::Column::Title.eq(title));
    }
    Ok(latest.order_by_desc(scan_test::Column::Id).one(&state.db).await?)
}

async fn create_product(
    state: &AppState,
    actor: &Actor,
    name: &str,
    type_name: Option<&str>,
) -> ServiceResult<product::Model> {
    let type_name = type_name.ok_or_else(|| {
        ServiceError::bad_input("product_type_name is required to create the product (auto_create_context)")
    })?;
    let existing_type =
        product_type::Entity::find().filter(product_type::Column::Name.eq(type_name)).one(&state.db).await?;
    let product_type = match existing_type {
        Some(found) => found,
        None => product_types::create(state, actor, type_name, None).await?,
    };
    let input =
        ProductInput { name: Some(name.to_owned()), product_type_id: Some(product_type.id), ..ProductInput::default() };
    products::create(state, actor, input).await
}
