//! A pool of logged-in sessions on one token.
//!
//! A PKCS#11 session runs one operation at a time, and cryptoki's `Session`
//! is `Send` but not `Sync`, so concurrent signers each borrow a session of
//! their own. Sessions are opened lazily up to the pool size; a caller that
//! finds them all busy waits for one to come back.
//!
//! Two failures are repaired, each by retrying the operation once:
//! - a session the token has forgotten (`CKR_SESSION_HANDLE_INVALID`,
//!   `CKR_SESSION_CLOSED`, e.g. after the token was reset) is discarded and
//!   replaced by a fresh one;
//! - a session that is no longer logged in (someone in this process called
//!   `C_Logout`, which logs out every session on the token) is logged in
//!   again.
//!
//! Both need the PIN after `Token::open`, so the pool keeps it, zeroized on
//! drop, for exactly that purpose.

use std::fmt;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CryptokiError, RvError};
use cryptoki::session::{Session, SessionState, UserType};
use cryptoki::slot::Slot;

use crate::error::{TokenError, is_rv, pkcs11_err, rv_name};
use crate::pin::Pin;

/// Logged-in sessions on one token, shared by a `Token` and its signers.
pub(crate) struct SessionPool {
    pkcs11: Pkcs11,
    slot: Slot,
    token_label: String,
    pin: Pin,
    capacity: usize,
    state: Mutex<PoolState>,
    returned: Condvar,
}

struct PoolState {
    idle: Vec<Session>,
    /// Sessions open, idle or lent out.
    open: usize,
}

impl fmt::Debug for SessionPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionPool")
            .field("token_label", &self.token_label)
            .field("slot", &self.slot.id())
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl SessionPool {
    /// Opens the first session and logs in, so that a wrong PIN or a
    /// missing token is reported when the token is opened, not at the first
    /// signature.
    pub(crate) fn new(
        pkcs11: Pkcs11,
        slot: Slot,
        token_label: String,
        pin: Pin,
        capacity: usize,
    ) -> Result<SessionPool, TokenError> {
        let pool = SessionPool {
            pkcs11,
            slot,
            token_label,
            pin,
            capacity: capacity.max(1),
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            returned: Condvar::new(),
        };
        let first = pool.open_session()?;
        {
            let mut state = pool.lock();
            state.idle.push(first);
            state.open = 1;
        }
        Ok(pool)
    }

    /// The token's slot (for messages).
    pub(crate) fn slot(&self) -> Slot {
        self.slot
    }

    /// The token's label.
    pub(crate) fn token_label(&self) -> &str {
        &self.token_label
    }

    /// Runs `op` on a pooled session and maps its failure to
    /// [`TokenError::Pkcs11`] naming `operation`.
    pub(crate) fn with_session<T>(
        &self,
        operation: &'static str,
        op: impl FnMut(&Session) -> Result<T, CryptokiError>,
    ) -> Result<T, TokenError> {
        self.try_with_session(op)?.map_err(pkcs11_err(operation))
    }

    /// Runs `op` on a pooled session. The outer error means no session could
    /// be had; the inner result is the operation's own, for callers that
    /// look at the return code.
    ///
    /// `op` must not use the pool itself: with every session lent out it
    /// would wait for itself.
    pub(crate) fn try_with_session<T>(
        &self,
        mut op: impl FnMut(&Session) -> Result<T, CryptokiError>,
    ) -> Result<Result<T, CryptokiError>, TokenError> {
        let mut lease = self.acquire()?;
        let result = op(lease.session()?);
        let Err(e) = &result else {
            return Ok(result);
        };
        if is_lost_session(e) {
            tracing::warn!(
                token = %self.token_label,
                rv = %rv_name(e),
                "PKCS#11 session lost; retrying on a new session"
            );
            lease.discard();
            let lease = self.acquire()?;
            return Ok(op(lease.session()?));
        }
        // Failures are rare; only then is the login state worth a call.
        let session = lease.session()?;
        if !is_logged_in(session) {
            tracing::warn!(
                token = %self.token_label,
                rv = %rv_name(e),
                "token logged out; logging in again and retrying"
            );
            self.login(session)?;
            return Ok(op(session));
        }
        Ok(result)
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Borrows an idle session, opens a new one while under capacity, or
    /// waits for one to be returned.
    fn acquire(&self) -> Result<Lease<'_>, TokenError> {
        let mut state = self.lock();
        loop {
            if let Some(session) = state.idle.pop() {
                return Ok(Lease {
                    pool: self,
                    session: Some(session),
                });
            }
            if state.open < self.capacity {
                state.open += 1;
                drop(state);
                return match self.open_session() {
                    Ok(session) => Ok(Lease {
                        pool: self,
                        session: Some(session),
                    }),
                    Err(e) => {
                        self.forget_one();
                        Err(e)
                    }
                };
            }
            state = self
                .returned
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Counts a session as closed and lets a waiter open a new one.
    fn forget_one(&self) {
        let mut state = self.lock();
        state.open = state.open.saturating_sub(1);
        drop(state);
        self.returned.notify_one();
    }

    /// Opens a read-write session (key generation and object creation need
    /// one) and logs the user in. Login state is per token and per process:
    /// once any session is logged in, every new one is too and `C_Login`
    /// answers `CKR_USER_ALREADY_LOGGED_IN`, which is success here.
    fn open_session(&self) -> Result<Session, TokenError> {
        let session = self
            .pkcs11
            .open_rw_session(self.slot)
            .map_err(pkcs11_err("C_OpenSession"))?;
        self.login(&session)?;
        Ok(session)
    }

    fn login(&self, session: &Session) -> Result<(), TokenError> {
        match session.login(UserType::User, Some(&self.pin.auth_pin())) {
            Ok(()) => Ok(()),
            Err(e) if is_rv(&e, RvError::UserAlreadyLoggedIn) => Ok(()),
            Err(e) => Err(TokenError::Login {
                label: self.token_label.clone(),
                rv: rv_name(&e),
            }),
        }
    }
}

/// Whether `session` is logged in as the user. If the token cannot say,
/// assume it is: the caller then reports the original failure.
fn is_logged_in(session: &Session) -> bool {
    session.get_session_info().map_or(true, |info| {
        matches!(
            info.session_state(),
            SessionState::RoUser | SessionState::RwUser
        )
    })
}

/// Whether the session itself is gone (as opposed to the operation failing).
fn is_lost_session(e: &CryptokiError) -> bool {
    is_rv(e, RvError::SessionHandleInvalid) || is_rv(e, RvError::SessionClosed)
}

/// A session lent out of the pool; it goes back on drop.
struct Lease<'a> {
    pool: &'a SessionPool,
    session: Option<Session>,
}

impl Lease<'_> {
    fn session(&self) -> Result<&Session, TokenError> {
        // Always `Some` until `discard`, which consumes the lease's use.
        self.session.as_ref().ok_or(TokenError::Pkcs11 {
            operation: "session pool",
            rv: "session already discarded".to_owned(),
        })
    }

    /// Drops the session instead of returning it to the pool.
    fn discard(&mut self) {
        if let Some(session) = self.session.take() {
            // Closing a handle the token no longer knows fails; cryptoki
            // logs that and nothing else is to be done.
            drop(session);
            self.pool.forget_one();
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            self.pool.lock().idle.push(session);
            self.pool.returned.notify_one();
        }
    }
}
