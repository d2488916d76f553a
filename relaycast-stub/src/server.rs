//! The server: the router (the Relaycast API, the WebSocket, the control API and the middleware in
//! front of them), the thread and single-threaded runtime it runs on, and under the router a
//! bounded accept loop with hyper's HTTP/1 connection builder, so that stalled clients cannot hold
//! connections (and tasks) forever.
//!
//! `axum::serve` sets no header read timeout and takes any number of connections; serving each
//! connection with hyper directly does both:
//! - a client must send a whole request head within the header read timeout, counted from when
//!   the server starts waiting for it: on a new connection and after each answer on a kept-alive
//!   one, so the same timeout bounds idle keep-alive connections;
//! - a request body must arrive whole within the body read timeout (408 otherwise; see
//!   `crate::middleware`), and be at most [`MAX_BODY_BYTES`] long (413);
//! - request heads are at most [`MAX_HEADER_BYTES`] long (431 otherwise);
//! - at most `max_connections` HTTP connections are served at once; the next ones wait in the
//!   listening socket's backlog until one ends.
//!
//! A WebSocket leaves this accounting once upgraded: it lives as long as both sides keep it open
//! (the broker keeps one for its whole run), and the stand-in holds at most
//! [`crate::MAX_SOCKETS`] of them.

use std::sync::{Arc, mpsc};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};

use axum::routing::get;

use crate::config::{Config, MAX_BODY_BYTES, MAX_HEADER_BYTES};
use crate::state::Shared;
use crate::{api, control, middleware, ws};

/// How long the accept loop pauses after a failed `accept` (e.g. out of file descriptors) before
/// trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// Serves `app` on `listener` until dropped: each connection on a task of its own, with the
/// bounds of `config`.
async fn accept_loop(listener: TcpListener, app: Router, config: &Config) {
    let permits = Arc::new(Semaphore::new(config.max_connections));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_header_size(MAX_HEADER_BYTES);
    loop {
        // The semaphore is never closed; `acquire_owned` fails only then.
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(app.clone());
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        tokio::spawn(async move {
            // An error is the client's doing (a timeout, a bad request, a reset): nobody to tell.
            let _ = connection.await;
            drop(permit);
        });
    }
}

/// The whole router: the Relaycast API, the WebSocket, the control API, and the logging and fault
/// middleware in front of them.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    api::routes()
        .route("/v1/ws", get(ws::upgrade))
        .route("/v1/node/ws", get(ws::node_upgrade))
        .merge(control::routes())
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        // The middleware reads every body first, within MAX_BODY_BYTES; this only keeps extractors
        // to the same bound should a body ever reach them unread.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            middleware::intercept,
        ))
        .with_state(shared)
}

/// The server thread: a single-threaded runtime serving `app` until `stopped` fires (or the handle
/// is dropped); dropping the runtime then closes every connection.
pub(crate) fn run(
    listener: std::net::TcpListener,
    app: Router,
    config: &Config,
    stopped: oneshot::Receiver<()>,
    ready: mpsc::Sender<Result<(), std::io::Error>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        tokio::select! {
            () = accept_loop(listener, app, config) => {}
            _ = stopped => {}
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
}
