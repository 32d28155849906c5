//! Notifications: what is worth telling a person, and the request that tells
//! them. The workflow decides when ([`crate::workflow`] queues a [`Notice`]
//! once per cause and sends it as `Command::Notify`); this module builds the
//! notice and its request, for the workflow and for the sweeps that run
//! beside it ([`sweep_missed`]).
//!
//! A notice is sent to `NOTIFY_URL` as Slack's incoming-webhook body
//! (`NOTIFY_FORMAT=slack`, the default) or as a plain JSON event
//! (`NOTIFY_FORMAT=json`). With `NOTIFY_SECRET`, every body is signed: the
//! header `X-Invalidator-Signature: t=<unix seconds>,v1=<hex>` holds the
//! HMAC-SHA256, keyed by the secret's UTF-8 bytes, of `<t>.<body>`.

mod message;
mod notice;

pub use message::{request, sign, SIGNATURE_HEADER};
pub use notice::{dead_lettered, sweep_missed, Kind, Notice, PATHS_SHOWN};
