//! Per-request batch loaders, so a page of findings costs one query for their products, not one each.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;

use crate::domain::{ProductId, UserId};
use crate::entity::{product, user};
use crate::service::{products, users};
use crate::state::AppState;

/// A loader of `$model`s by id through the service function `$by_ids(db, ids)`.
macro_rules! by_id_loader {
    ($(#[$doc:meta])* $name:ident: $id:ty => $model:ty = $by_ids:path) => {
        $(#[$doc])*
        pub struct $name(pub AppState);

        impl Loader<$id> for $name {
            type Value = $model;
            type Error = String;

            async fn load(&self, keys: &[$id]) -> Result<HashMap<$id, Self::Value>, Self::Error> {
                let rows = $by_ids(&self.0.db, keys).await.map_err(|e| e.public_message())?;
                Ok(rows.into_iter().map(|row| (row.id, row)).collect())
            }
        }
    };
}

by_id_loader!(
    /// Products by id.
    ProductLoader: ProductId => product::Model = products::by_ids
);
by_id_loader!(
    /// Users by id.
    UserLoader: UserId => user::Model = users::by_ids

);
