//! `users.token_generation`: a session token carries the generation it was issued under, and a password
//! change, a deactivation or `logout` moves the generation on, so every session token issued before stops
//! working at once (JWTs cannot be recalled one by one).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::integer;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("users").add_column(integer("token_generation").default(0)).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("users").drop_column("token_generation").to_owned()).await
    }
}
