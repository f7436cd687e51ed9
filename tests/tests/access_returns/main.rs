//! Access that comes back after a case closed, on the real broker and the real peers.
//!
//! - `verify`: a small fleet (the directory as OpenLDAP `ldap` + Keycloak `sso`, SaaS as
//!   scim2-server) closes two leavers' cases; the test then re-enables one of them BY HAND at
//!   each peer (its own LDAP, SCIM and Keycloak admin clients) and runs the `revoke verify`
//!   binary: the finding records name exactly the re-enabled objects, never the other leaver's,
//!   the exit code and the table say so, a second run publishes the same finding ids.
//! - `reprovisioned`: the test re-provisions the first leaver BY HAND under new ids (two new LDAP
//!   groups at slapd, a new SCIM group at scim2-server), beside a look-alike bystander: `revoke
//!   verify`'s discovery reports exactly those (NEW, exit 3, the same ids twice), never the
//!   bystander's, and a discovery that fails is "could not read" (exit 4).
//! - `watch`: the sign-in watch with a test target whose sign-in log the test writes: a sign-in
//!   after the removal is reported once, a case outside the window is not asked, a target that
//!   errors does not stop the others.
//! - `watch_keycloak`: the same at the real Keycloak (a password sign-in after re-enabling the
//!   user by hand), once its adapter reads the login events.
//!
//! The peer tests need the README's test command (it starts Kafka and the peers).

#[path = "../peers/mod.rs"]
mod peers;

mod fleet;
mod reprovisioned;
mod scheduled;
mod verify;
mod watch;
mod watch_keycloak;
