//! `dolphin serve --exchange-url`: the OB stream service (`dolphin_live::run_ob_stream`, B §16.2;
//! docs/LIVE.md §2) handed to the supervisor's `ob_stream` slot as a task. The glue lives here
//! because this crate composes `services` and `live`, which do not depend on each other.

use std::path::Path;
use std::sync::Arc;

use dolphin_services::ObTask;
use tokio_util::sync::CancellationToken;

/// The task for `exchange_url` (REST base; the websocket is the same host) and `symbols`
/// (empty: the config's, else every trading perpetual the exchange lists), with the service
/// settings of `config` (YAML of `ObStreamConfig`) when given.
pub async fn ob_task(
    exchange_url: &str,
    symbols: &[String],
    config: Option<&Path>,
) -> anyhow::Result<ObTask> {
    let mut cfg = crate::cmd_ob_stream::load_config(config)?;
    cfg.rest_url = exchange_url.trim_end_matches('/').to_string();
    cfg.ws_url = crate::cmd_ob_stream::ws_of(&cfg.rest_url)?;
    if !symbols.is_empty() {
        cfg.symbols = symbols.iter().map(|s| s.trim().to_uppercase()).collect();
    }
    if cfg.symbols.is_empty() {
        cfg.symbols = crate::cmd_ob_stream::listed_symbols(&cfg.rest_url).await?;
    }
    cfg.validate()
        .map_err(|e| anyhow::anyhow!("OB stream config: {e}"))?;
    let describe = format!(
        "OB stream from {} ({}; {})",
        cfg.rest_url,
        cfg.symbols.join(","),
        cfg.depth_stream
    );
    let cfg = Arc::new(cfg);
    Ok(ObTask {
        describe,
        start: Arc::new(move |memory, mut stop| {
            let cfg = (*cfg).clone();
            Box::pin(async move {
                let token = CancellationToken::new();
                let cancel = token.clone();
                tokio::spawn(async move {
                    // Stop asked for, or the slot (the sender) gone.
                    let _ = stop.wait_for(|s| *s).await;
                    cancel.cancel();
                });
                match dolphin_live::run_ob_stream(cfg, memory, token).await {
                    Ok(h) => Ok(format!(
                        "stopped: {} messages, {} dicts, {} reconnects, {} gaps",
                        h.messages, h.published, h.reconnects, h.gaps
                    )),
                    Err(e) => Err(e.to_string()),
                }
            })
        }),
    })
}
