//! Per-request batch loaders, so a page of findings costs one query for their products, not one each.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;

use crate::entity::{product, user};
use crate::service::{products, users};
use crate::state::AppState;

/// Products by id.
pub struct ProductLoader(pub AppState);

impl Loader<i32> for ProductLoader {
    type Value = product::Model;
    type Error = String;

    async fn load(&self, keys: &[i32]) -> Result<HashMap<i32, Self::Value>, Self::Error> {
        let rows = products::by_ids(&self.0.db, keys).await.map_err(|e| e.public_message())?;
        Ok(rows.into_iter().map(|p| (p.id, p)).collect())
    }
}

/// Users by id.
pub struct UserLoader(pub AppState);

impl Loader<i32> for UserLoader {
    type Value = user::Model;
    type Error = String;

    async fn load(&self, keys: &[i32]) -> Result<HashMap<i32, Self::Value>, Self::Error> {
        let rows = users::by_ids(&self.0.db, keys).await.map_err(|e| e.public_message())?;
        Ok(rows.into_iter().map(|u| (u.id, u)).collect())
    }
}
