//! Where a scan import goes, named the way DefectDojo's `import-scan` names it: an engagement id, or a
//! product (and its type) and an engagement by name, created on the way with `auto_create_context`.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::domain::ProductRole;
use crate::domain::scan_type::ScanType;
use crate::entity::{engagement, product, product_type, scan_test};
use crate::error::{ServiceError, ServiceResult};
use crate::service::engagements::{self, EngagementInput};
use crate::service::products::{self, ProductInput};
use crate::service::{Actor, access, product_types};
use crate::state::AppState;

/// The engagement of an import, as the request names it.
#[derive(Debug, Clone)]
pub enum ImportTarget {
    Engagement(i32),
    /// A re-import into this test.
    Test(i32),
    Named {
        product_name: String,
        engagement_name: Option<String>,
        product_type_name: Option<String>,
        /// Create what does not exist yet (the product needs a superuser).
        auto_create_context: bool,
    },
}

/// The engagement an import goes to (created when asked to and missing), checked for the actor's
/// `Writer` role; `NOT_FOUND` for what the actor may not view.
pub async fn engagement_of(state: &AppState, actor: &Actor, target: &ImportTarget) -> ServiceResult<engagement::Model> {
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
            let name = engagement_name.clone().unwrap_or_else(|| "Imports".to_owned());
            let existing = engagement::Entity::find()
                .filter(engagement::Column::ProductId.eq(product.id))
                .filter(engagement::Column::Name.eq(name.as_str()))
                .order_by_desc(engagement::Column::Id)
                .one(&state.db)
                .await?;
            match existing {
                Some(found) => Some(found),
                None if *auto_create_context || engagement_name.is_none() => {
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

async fn test_of(state: &AppState, id: i32) -> ServiceResult<scan_test::Model> {
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
