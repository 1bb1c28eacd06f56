//! Webhook delivery: what goes over the wire.
//!
//! [`sign`] signs a delivery the Standard Webhooks way; [`HttpWebhookSender`] sends it,
//! resolving the target's host at delivery time and refusing every address inside the
//! network ([`todo_domain::webhook::forbidden_address`]) unless the host is one the
//! operator allowed. Which events go where, in which order and how often they are tried
//! again is the application's (it drives the [`todo_application::ports::WebhookSender`]
//! port this crate implements).

mod sender;
mod sign;

pub use sender::{HttpWebhookSender, SenderSettings};
pub use sign::{RandomSecrets, SecretError, generate_secret, sign};
