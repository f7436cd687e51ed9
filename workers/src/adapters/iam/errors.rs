//! How an AWS SDK error reads for the adapter: the IAM error codes that are worth retrying,
//! that are final and that mean throttling, a hint for the common permission and credential
//! failures, and the `classify`/`error`/`found` helpers (and `user_items!` for the paginated
//! listings) every call goes through.

use super::objects::{ABSENT, REVOKED};
use super::IamTarget;
use crate::adapters::{RevokeResult, TargetError};
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use revoke_shared::retry::{classify_http_status, ErrorClass};

/// How an SDK error reads for the adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The named entity (user, key, group, profile, device) does not exist.
    NoSuchEntity,
    Class(ErrorClass),
}

/// Error codes IAM (and STS/the SDK) answer that are worth retrying.
const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "ServiceFailure",
    "ServiceFailureException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalError",
    "RequestTimeout",
    "RequestTimeoutException",
    "EntityTemporarilyUnmodifiable",
    "ConcurrentModification",
    "PriorRequestNotComplete",
    "IDPCommunicationError",
];

/// Error codes that will not get better by retrying.
const PERMANENT_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "ExpiredToken",
    "ExpiredTokenException",
    "OptInRequired",
    "ValidationError",
    "ValidationException",
    "InvalidInput",
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "MissingParameter",
    "MalformedQueryString",
    "InvalidAction",
    "LimitExceeded",
    "UnmodifiableEntity",
    "DeleteConflict",
];

/// AWS's "slow down" answers: a rate limit, not an outage. AWS sends no `Retry-After`, so the
/// gate (when configured) slows down adaptively. The SDK's own list is
/// `aws_runtime::retries::classifiers::THROTTLING_ERRORS` (aws-runtime 1.x): public, but
/// aws-runtime is not a direct dependency (neither aws-sdk-iam nor aws-config re-exports it),
/// and it is wider (other services' codes, and `PriorRequestNotComplete`, which IAM answers
/// while a change settles and is kept transient here). These are the IAM codes from it.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
];

/// Whether a service error is throttling (by its code, else an HTTP 429).
pub fn is_throttling(code: Option<&str>, status: Option<u16>) -> bool {
    match code {
        Some(c) if THROTTLING_CODES.contains(&c) => true,
        _ => status == Some(429),
    }
}

/// Classifies a service error by its code, else by its HTTP status.
pub fn classify_error(code: Option<&str>, status: Option<u16>) -> Failure {
    match code {
        Some("NoSuchEntity") => Failure::NoSuchEntity,
        Some(c) if TRANSIENT_CODES.contains(&c) => Failure::Class(ErrorClass::Transient),
        Some(c) if PERMANENT_CODES.contains(&c) => Failure::Class(ErrorClass::Permanent),
        _ => Failure::Class(status.map_or(ErrorClass::Transient, classify_http_status)),
    }
}

/// What to check next, by error code.
pub(super) fn hint(code: &str) -> &'static str {
    match code {
        "AccessDenied" | "AccessDeniedException" => {
            " (check the revoker's IAM policy allows this action on this user)"
        }
        "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "UnrecognizedClientException"
        | "IncompleteSignature"
        | "MissingAuthenticationToken"
        | "ExpiredToken"
        | "ExpiredTokenException" => {
            " (check the credentials named by access_key_id_*/secret_access_key_* or the default chain)"
        }
        _ => "",
    }
}

impl IamTarget {
    /// Classifies an SDK error: Ok(()) for NoSuchEntity, else the target error to return.
    fn classify<E>(&self, doing: &str, e: SdkError<E>) -> Result<(), TargetError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let failure = match &e {
            SdkError::ServiceError(_) => {
                classify_error(e.code(), e.raw_response().map(|r| r.status().as_u16()))
            }
            SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
                Failure::Class(ErrorClass::Transient)
            }
            SdkError::DispatchFailure(d) if d.is_user() => Failure::Class(ErrorClass::Permanent),
            SdkError::DispatchFailure(_) => Failure::Class(ErrorClass::Transient),
            _ => Failure::Class(ErrorClass::Permanent),
        };
        let msg = match &e {
            SdkError::ServiceError(_) => {
                let code = e.code().unwrap_or("error");
                format!(
                    "{doing} on IAM {}: {code} (HTTP {}): {}{}",
                    self.instance,
                    e.raw_response().map_or(0, |r| r.status().as_u16()),
                    e.message().unwrap_or_default(),
                    hint(code)
                )
            }
            _ => format!(
                "{doing} on IAM {}: {} (check endpoint_url, the network and timeout_ms)",
                self.instance,
                DisplayErrorContext(&e)
            ),
        };
        let throttled = matches!(e, SdkError::ServiceError(_))
            && is_throttling(e.code(), e.raw_response().map(|r| r.status().as_u16()));
        Err(match failure {
            Failure::NoSuchEntity => return Ok(()),
            _ if throttled => TargetError::rate_limited(msg, None),
            Failure::Class(ErrorClass::Transient) => TargetError::Transient(msg),
            Failure::Class(ErrorClass::Permanent) => TargetError::Permanent(msg),
            Failure::Class(ErrorClass::Ambiguous) => TargetError::Ambiguous(msg),
        })
    }

    /// An SDK error as a target error, NoSuchEntity included (Permanent: the caller expected it).
    pub(super) fn error<E>(&self, doing: &str, e: SdkError<E>) -> TargetError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match self.classify(doing, e) {
            Err(t) => t,
            Ok(()) => {
                TargetError::Permanent(format!("{doing} on IAM {}: NoSuchEntity", self.instance))
            }
        }
    }

    /// Ok(Some(v)) on success, Ok(None) for NoSuchEntity, else the classified error.
    pub(super) fn found<T, E>(
        &self,
        doing: &str,
        r: Result<T, SdkError<E>>,
    ) -> Result<Option<T>, TargetError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e) => self.classify(doing, e).map(|()| None),
        }
    }

    /// `found` for a call that removes something: revoked now, or already absent when IAM
    /// answers that there is no such entity.
    pub(super) fn removed<T, E>(
        &self,
        doing: &str,
        r: Result<T, SdkError<E>>,
    ) -> Result<RevokeResult, TargetError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        Ok(match self.found(doing, r)? {
            Some(_) => REVOKED,
            None => ABSENT,
        })
    }
}

/// `found` over every item of a paginated `List*` call on one user: `Ok(None)` when the user does
/// not exist. A macro because the SDK's operations and paginators share no trait to be generic
/// over; only the operation's name differs from one listing to the next.
macro_rules! user_items {
    ($target:expr, $operation:ident, $user:expr, $doing:expr) => {{
        let items = $target
            .client
            .$operation()
            .user_name($user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await;
        $target.found($doing, items)
    }};
}
pub(super) use user_items;
