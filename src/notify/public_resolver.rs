//! With `SLAWATCH_WEBHOOK_DENY_PRIVATE=true`, outgoing requests resolve host names through this resolver,
//! which drops private, loopback and link-local addresses (`domain::outbound::is_private`), so a webhook
//! named by a host that points inside the network (or at the cloud's metadata service) cannot be called.
//! Addresses written in the URL itself are refused before sending (`webhooks` and `notify::webhook`).

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::outbound::is_private;

/// The system resolver, minus private addresses.
#[derive(Debug, Default, Clone, Copy)]
pub struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<_> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<_> = found.into_iter().filter(|address| !is_private(address.ip())).collect();
            if public.is_empty() {
                let refused = format!("{host} resolves only to private addresses (SLAWATCH_WEBHOOK_DENY_PRIVATE)");
                return Err(refused.into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_name_that_resolves_only_to_loopback_is_refused() {
        let name: Name = "localhost".parse().expect("a name");
        let refused = PublicOnlyResolver.resolve(name).await.err().expect("refused");
        assert!(refused.to_string().contains("private"), "{refused}");
    }
}
