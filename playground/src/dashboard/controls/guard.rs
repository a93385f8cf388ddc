//! Who may use the controls.
//!
//! A burst or a shutdown is not something a stranger on the conference Wi-Fi
//! should be able to start. So [`guard`] lets a request through only if it
//! comes from this machine (a loopback address), or, when the server was
//! started with `--control-token T`, if it carries that token (header
//! `X-Control-Token`, or the cookie `POST /controls/unlock` sets), from
//! anywhere, this machine included. And never from another web site's page:
//! a browser on this machine would otherwise carry such a site's form post
//! to 127.0.0.1 as a loopback request.
//!
//! Nor through DNS rebinding. A page on `evil.example` can make its own name
//! resolve to 127.0.0.1 a moment after it loaded; its script then talks to
//! this server from a loopback address, as a page of the same origin, with
//! `Host: evil.example:3000` and a matching `Origin`. So without a token the
//! request must also be *addressed* to this machine: `Host` must be
//! `localhost`, `127.0.0.1` or `[::1]`, with the port the server listens on.

use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, FromRequestParts, Request, State};
use axum::http::header::{HOST, ORIGIN};
use axum::http::request::Parts;
use axum::http::uri::Authority;
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::Controls;
use super::forms::{Answer, Asker, Done, unreadable};
use crate::AppState;
use crate::edges::error::AppError;

const TOKEN_COOKIE: &str = "control_token";
const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

impl Controls {
    /// What the controls will do for this client, for the page to explain.
    pub fn access(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Access {
        match self.token.get() {
            Some(token) if supplied_token(headers).is_some_and(|t| same(&t, token)) => {
                Access::Unlocked
            }
            Some(_) => Access::NeedsToken,
            None if !peer.is_some_and(is_loopback) => Access::LocalOnly,
            None if !self.addressed_locally(headers) => Access::LoopbackNameOnly,
            None => Access::Local,
        }
    }

    // ANCHOR: admit
    /// Lets a control request through, or says why not.
    fn admit(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Result<(), AppError> {
        if is_cross_site(headers) {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                "cross_site_request",
                "This control request came from another web site's page, so it was refused. \
                 Use the dashboard itself.",
            ));
        }
        match (self.token.get(), supplied_token(headers)) {
            (Some(token), Some(supplied)) if same(&supplied, token) => Ok(()),
            (Some(_), Some(_)) => Err(AppError::new(
                StatusCode::FORBIDDEN,
                "control_token_wrong",
                "That is not the control token this server was started with \
                 (--control-token). Enter it again above the controls.",
            )),
            (Some(_), None) => Err(AppError::new(
                StatusCode::FORBIDDEN,
                "control_token_required",
                "The controls need the token this server was started with \
                 (--control-token). Enter it above the controls, then try again.",
            )),
            (None, _) if !peer.is_some_and(is_loopback) => Err(AppError::new(
                StatusCode::FORBIDDEN,
                "controls_local_only",
                "The controls only answer from this machine (a browser on the computer \
                 running the playground). To allow others, start the playground with \
                 --control-token T, then enter the token on the page.",
            )),
            (None, _) if !self.addressed_locally(headers) => Err(AppError::new(
                StatusCode::FORBIDDEN,
                "controls_host_not_local",
                format!(
                    "This control request was addressed to {:?}, not to this \
                     machine by a loopback name, so it was refused: a web page \
                     can reach this server under a name of its own. Open the \
                     dashboard at http://{}/.",
                    header(headers, HOST).unwrap_or_default(),
                    self.local_authority(),
                ),
            )),
            (None, _) => Ok(()),
        }
    }
    // ANCHOR_END: admit

    /// True if `Host` names this machine by a loopback name or address, with
    /// the port this server listens on: `localhost:3000`, `127.0.0.1:3000`,
    /// `[::1]:3000`. (A server that does not know its port, as in router
    /// tests, checks the name only.)
    fn addressed_locally(&self, headers: &HeaderMap) -> bool {
        let Some(authority) = header(headers, HOST).and_then(|h| h.parse::<Authority>().ok())
        else {
            return false;
        };
        let name = authority.host();
        let address = name.trim_start_matches('[').trim_end_matches(']');
        let loopback = name.eq_ignore_ascii_case("localhost")
            || address
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.to_canonical().is_loopback());
        // No port in `Host` means the scheme's default, 80 for http.
        let port = authority.port_u16().unwrap_or(80);
        loopback
            && self
                .listening_on
                .get()
                .is_none_or(|addr| addr.port() == port)
    }

    /// Where to open the dashboard so that the controls answer.
    fn local_authority(&self) -> String {
        match self.listening_on.get() {
            Some(addr) => format!("127.0.0.1:{}", addr.port()),
            None => "127.0.0.1".to_owned(),
        }
    }
}

/// What a client may do with the controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// On this machine, no token configured: the controls work.
    Local,
    /// Elsewhere, no token configured: refused.
    LocalOnly,
    /// On this machine, but the page was opened under another name than
    /// `localhost`, `127.0.0.1` or `[::1]` (or another port): refused.
    LoopbackNameOnly,
    /// A token is configured and this client has not given it.
    NeedsToken,
    /// A token is configured and this client has given it.
    Unlocked,
}

impl Access {
    pub fn allowed(self) -> bool {
        matches!(self, Access::Local | Access::Unlocked)
    }

    pub fn needs_token(self) -> bool {
        matches!(self, Access::NeedsToken | Access::Unlocked)
    }

    /// The sentence the page shows above the controls.
    pub fn explanation(self) -> &'static str {
        match self {
            Access::Local => "Controls answer only from this machine.",
            Access::LocalOnly => {
                "Controls only answer from this machine. To allow others, start the \
                 playground with --control-token T, then enter the token here."
            }
            Access::LoopbackNameOnly => {
                "Controls answer only when this page is opened at localhost, 127.0.0.1 \
                 or [::1], on the port the playground listens on."
            }
            Access::NeedsToken => {
                "This playground was started with --control-token: enter the token to \
                 use the controls."
            }
            Access::Unlocked => "Controls unlocked with the control token.",
        }
    }
}

/// Refuses control requests [`Controls::admit`] does not let through.
pub async fn guard(
    State(state): State<AppState>,
    asker: Asker,
    Peer(peer): Peer,
    request: Request,
    next: Next,
) -> Response {
    match state.controls.admit(request.headers(), peer) {
        Ok(()) => next.run(request).await,
        Err(refused) => Answer::new(asker, Err(refused)).into_response(),
    }
}

/// `POST /controls/unlock`: checks the token and keeps it in a cookie, so
/// that the forms (which work without JavaScript) carry it from then on.
/// Outside the guard: it is how a client gets past it.
pub async fn unlock(
    State(state): State<AppState>,
    asker: Asker,
    form: Result<Form<UnlockForm>, FormRejection>,
) -> Response {
    let checked = form.map_err(unreadable).and_then(|Form(form)| {
        let Some(token) = state.controls.token.get() else {
            return Err(AppError::new(
                StatusCode::BAD_REQUEST,
                "no_control_token",
                "This playground was started without --control-token: the controls \
                 answer from this machine without one.",
            ));
        };
        let given = form.token.unwrap_or_default();
        if !same(given.trim(), token) {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                "control_token_wrong",
                "That is not the control token this server was started with \
                 (--control-token).",
            ));
        }
        Ok(token.clone())
    });
    let mut jar = CookieJar::new();
    if let Ok(token) = &checked {
        // HttpOnly: scripts cannot read it. SameSite=Strict: another site's
        // page cannot make the browser send it.
        let cookie = Cookie::build((TOKEN_COOKIE, token.clone()))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict);
        jar = jar.add(cookie);
    }
    let result = checked.map(|_| Done::ok("Controls unlocked."));
    (jar, Answer::new(asker, result)).into_response()
}

#[derive(Debug, Deserialize)]
pub struct UnlockForm {
    token: Option<String>,
}

/// The client's address, when the server knows it (it does when served with
/// `into_make_service_with_connect_info`; router tests add `MockConnectInfo`).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // `ConnectInfo` also reads `MockConnectInfo`; missing, it is rejected,
        // and an unknown client is treated as not on this machine.
        let peer = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .ok()
            .map(|ConnectInfo(addr)| addr);
        Ok(Peer(peer))
    }
}

fn is_loopback(addr: SocketAddr) -> bool {
    // An IPv6 socket sees IPv4 clients as ::ffff:127.0.0.1.
    addr.ip().to_canonical().is_loopback()
}

/// True if a browser says the request comes from another site's page.
fn is_cross_site(headers: &HeaderMap) -> bool {
    if header(headers, SEC_FETCH_SITE) == Some("cross-site") {
        return true;
    }
    match (header(headers, ORIGIN), header(headers, HOST)) {
        // Browsers send Origin with every form POST; compare its host with ours.
        (Some(origin), Some(host)) => {
            let origin_host = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            origin_host != Some(host)
        }
        (Some(_), None) => true,
        // No Origin: not a browser's cross-site form (curl, tests, old browsers).
        (None, _) => false,
    }
}

/// A header's value, if it is there and readable as text.
fn header(headers: &HeaderMap, name: HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The token a request carries: the header, else the cookie.
fn supplied_token(headers: &HeaderMap) -> Option<String> {
    if let Some(header) = headers.get("x-control-token") {
        return header.to_str().ok().map(|t| t.trim().to_owned());
    }
    let jar = CookieJar::from_headers(headers);
    jar.get(TOKEN_COOKIE).map(|c| c.value().trim().to_owned())
}

/// Compares in time that does not depend on where the first difference is,
/// so the token cannot be guessed a character at a time.
fn same(given: &str, token: &str) -> bool {
    given.as_bytes().ct_eq(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_includes_ipv4_mapped_ipv6() {
        assert!(is_loopback("127.0.0.1:1".parse().unwrap()));
        assert!(is_loopback("[::1]:1".parse().unwrap()));
        assert!(is_loopback("[::ffff:127.0.0.1]:1".parse().unwrap()));
        assert!(!is_loopback("203.0.113.7:1".parse().unwrap()));
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same("trainer-2024", "trainer-2024"));
        assert!(!same("trainer-2025", "trainer-2024"));
        assert!(!same("trainer", "trainer-2024"));
        assert!(!same("", "trainer-2024"));
    }
}
