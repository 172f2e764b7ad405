//! Per-request batch loaders, so a page of engagements or products costs one query for their users, not one
//! each. (Products are not loaded so: every product is kept, `service::products::kept`.)

use std::collections::HashMap;

use async_graphql::dataloader::Loader;

use crate::domain::UserId;
use crate::entity::user;
use crate::service::users;
use crate::state::AppState;

/// Users by id.
pub struct UserLoader(pub AppState);

impl Loader<UserId> for UserLoader {
    type Value = user::Model;
    type Error = String;

    async fn load(&self, keys: &[UserId]) -> Result<HashMap<UserId, Self::Value>, Self::Error> {
        let rows = users::by_ids(&self.0.db, keys).await.map_err(|e| e.public_message())?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}
