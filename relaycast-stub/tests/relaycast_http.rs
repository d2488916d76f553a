//! The stand-in Relaycast's Relaycast API over HTTP: every endpoint (success, credential
//! failures, 404/409) and bad requests. Faults, logs, the control API and connection bounds are in
//! `relaycast_control.rs`.

mod common;

use common::{Api, assert_error};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn workspaces_agents_and_the_stream_setting() {
    let api = Api::start();
    let (status, ws) = api
        .post("/v1/workspaces", None, json!({"name": "relay-1234abcd"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(ws["ok"], json!(true));
    let data = &ws["data"];
    assert!(
        data["workspace_id"]
            .as_str()
            .expect("id")
            .starts_with("ws_")
    );
    let rk = data["api_key"].as_str().expect("key");
    assert!(rk.starts_with("rk_live_"), "{rk}");
    assert!(
        data["created_at"]
            .as_str()
            .expect("created_at")
            .ends_with('Z')
    );
    assert_error(
        &api.post("/v1/workspaces", None, json!({"name": "relay-1234abcd"}))
            .await,
        StatusCode::CONFLICT,
        "workspace_already_exists",
    );

    let (status, agent) = api
        .post(
            "/v1/agents",
            Some(rk),
            json!({"name": "lead", "type": "human"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let agent = &agent["data"];
    assert!(agent["id"].as_str().expect("id").starts_with("agt_"));
    assert_eq!(agent["name"], json!("lead"));
    assert_eq!(agent["status"], json!("online"));
    assert!(
        agent["token"]
            .as_str()
            .expect("token")
            .starts_with("at_live_")
    );
    assert_error(
        &api.post("/v1/agents", Some(rk), json!({"name": "lead"}))
            .await,
        StatusCode::CONFLICT,
        "agent_already_exists",
    );
    let (status, agents) = api.get("/v1/agents", Some(rk)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(agents["data"][0]["type"], json!("human"));

    let (status, stream) = api
        .call(
            Method::PUT,
            "/v1/workspace/stream",
            Some(rk),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        stream["data"],
        json!({"enabled": true, "default_enabled": true, "override": true})
    );
    let (_, stream) = api
        .call(
            Method::PUT,
            "/v1/workspace/stream",
            Some(rk),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(stream["data"]["enabled"], json!(false));
    let (status, stream) = api.get("/v1/workspace/stream", Some(rk)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stream["data"]["override"], json!(false));
}

#[tokio::test]
async fn credentials_are_checked() {
    let api = Api::start();
    let (rk, at) = api.boot().await;
    let body = json!({"name": "x"});
    for (token, code) in [
        (None, "unauthorized"),
        (Some(at.as_str()), "unauthorized"),
        (
            Some("rk_live_00000000000000000000000000000000"),
            "unauthorized",
        ),
    ] {
        assert_error(
            &api.post("/v1/agents", token, body.clone()).await,
            StatusCode::UNAUTHORIZED,
            code,
        );
    }
    for (token, code) in [
        (None, "unauthorized"),
        (Some(rk.as_str()), "unauthorized"),
        (
            Some("at_live_00000000000000000000000000000000"),
            "agent_token_invalid",
        ),
    ] {
        assert_error(
            &api.post("/v1/channels", token, json!({"name": "c"})).await,
            StatusCode::UNAUTHORIZED,
            code,
        );
    }
    let (status, _) = api
        .client
        .get(format!("{}/v1/agents", api.rc.base_url()))
        .header("Authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .map(|r| (r.status(), ()))
        .expect("answered");
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(
        &api.get("/v1/dm/conversations/all", Some(&at)).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_error(
        &api.get("/v1/dm/conversations", Some(&rk)).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
}

#[tokio::test]
async fn channels_join_and_messages() {
    let api = Api::start();
    let (rk, at) = api.boot().await;
    // Registered before #general exists, so not auto-joined to it.
    let bob = api.rc.register_agent(None, "bob").expect("bob");
    let (status, channel) = api
        .post(
            "/v1/channels",
            Some(&at),
            json!({"name": "general", "topic": "General discussion"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let c = &channel["data"];
    assert!(c["id"].as_str().expect("id").starts_with("ch_"));
    for (field, value) in [
        ("name", json!("general")),
        ("channel_type", json!(0)),
        ("topic", json!("General discussion")),
        ("metadata", json!({})),
        ("created_by", json!("lead")),
        ("is_archived", json!(false)),
        ("member_count", json!(1)),
    ] {
        assert_eq!(c[field], value, "{field}");
    }
    assert_eq!(c["workspace_id"], api.rc.state()["workspaces"][0]["id"]);
    assert_error(
        &api.post("/v1/channels", Some(&at), json!({"name": "general"}))
            .await,
        StatusCode::CONFLICT,
        "channel_already_exists",
    );

    let (status, join) = api
        .call(Method::POST, "/v1/channels/general/join", Some(&at), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        join["data"],
        json!({"channel": "general", "agent": "lead", "already_member": true})
    );
    let (_, join) = api
        .call(
            Method::POST,
            "/v1/channels/general/join",
            Some(&bob.token),
            None,
        )
        .await;
    assert_eq!(join["data"]["already_member"], json!(false));
    assert_error(
        &api.call(Method::POST, "/v1/channels/nope/join", Some(&at), None)
            .await,
        StatusCode::NOT_FOUND,
        "channel_not_found",
    );

    let (status, message) = api
        .post(
            "/v1/channels/general/messages",
            Some(&at),
            json!({"text": "hi channel"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let m = &message["data"];
    assert!(m["id"].as_str().expect("id").starts_with("msg_"));
    assert_eq!(m["agent_name"], json!("lead"));
    assert_eq!(m["text"], json!("hi channel"));
    assert_eq!(m["attachments"], json!([]));
    assert_eq!(m["reply_count"], json!(0));
    assert_error(
        &api.post(
            "/v1/channels/nope/messages",
            Some(&at),
            json!({"text": "x"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "channel_not_found",
    );
    let (status, history) = api.get("/v1/channels/general/messages", Some(&rk)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history["data"][0]["id"], m["id"]);
    let (_, channels) = api.get("/v1/channels", Some(&at)).await;
    assert_eq!(channels["data"][0]["member_count"], json!(2));
}

#[tokio::test]
async fn spawn_release_and_rotate() {
    let api = Api::start();
    let (rk, _) = api.boot().await;
    let spawn = json!({"name": "w1", "cli": "claude", "task": "relay worker session for w1"});
    let (status, first) = api.post("/v1/agents/spawn", Some(&rk), spawn.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    let d = &first["data"];
    assert_eq!(d["already_existed"], json!(false));
    assert_eq!(d["cli"], json!("claude"));
    assert_eq!(d["channel"], Value::Null);
    assert_eq!(d["status"], json!("online"));
    let old_token = d["token"].as_str().expect("token").to_owned();
    let (status, again) = api.post("/v1/agents/spawn", Some(&rk), spawn).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["data"]["already_existed"], json!(true));
    assert_eq!(again["data"]["id"], d["id"]);
    assert_ne!(again["data"]["token"].as_str(), Some(old_token.as_str()));
    assert_error(
        &api.get("/v1/dm/conversations", Some(&old_token)).await,
        StatusCode::UNAUTHORIZED,
        "agent_token_invalid",
    );
    let message = assert_error(
        &api.post(
            "/v1/agents/spawn",
            Some(&rk),
            json!({"name": "w2", "cli": "cat", "task": "t"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert!(message.contains("claude"), "{message}");

    let (status, released) = api
        .post("/v1/agents/release", Some(&rk), json!({"name": "w1"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        released["data"],
        json!({"name": "w1", "released": true, "deleted": false, "reason": null})
    );
    assert_error(
        &api.post("/v1/agents/release", Some(&rk), json!({"name": "ghost"}))
            .await,
        StatusCode::NOT_FOUND,
        "agent_not_found",
    );
    let (status, rotated) = api
        .call(Method::POST, "/v1/agents/w1/rotate-token", Some(&rk), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        rotated["data"]["token"]
            .as_str()
            .expect("token")
            .starts_with("at_")
    );
    let (_, deleted) = api
        .post(
            "/v1/agents/release",
            Some(&rk),
            json!({"name": "w1", "delete_agent": true}),
        )
        .await;
    assert_eq!(deleted["data"]["deleted"], json!(true));
    assert_error(
        &api.call(Method::POST, "/v1/agents/w1/rotate-token", Some(&rk), None)
            .await,
        StatusCode::NOT_FOUND,
        "agent_not_found",
    );
}

#[tokio::test]
async fn dms_and_conversations() {
    let api = Api::start();
    let (rk, at) = api.boot().await;
    let message = assert_error(
        &api.post(
            "/v1/dm",
            Some(&at),
            json!({"to": "ghost", "text": "hi ghost"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "agent_not_found",
    );
    assert_eq!(message, "Agent 'ghost' not found");
    let alice = api.rc.register_agent(None, "alice").expect("alice");
    let (status, dm) = api
        .post(
            "/v1/dm",
            Some(&at),
            json!({"to": "alice", "text": "hi alice"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let d = &dm["data"];
    assert!(
        d["conversation_id"]
            .as_str()
            .expect("id")
            .starts_with("dm_")
    );
    assert_eq!(
        d["from_agent_id"],
        api.rc.state()["workspaces"][0]["agents"][0]["id"]
    );
    assert_eq!(d["to"], json!("alice"));
    assert_eq!(d["text"], json!("hi alice"));

    let (status, mine) = api.get("/v1/dm/conversations", Some(&alice.token)).await;
    assert_eq!(status, StatusCode::OK);
    let convo = &mine["data"][0];
    assert_eq!(convo["id"], d["conversation_id"]);
    assert_eq!(convo["type"], json!("dm"));
    assert_eq!(convo["participants"], json!(["lead", "alice"]));
    assert_eq!(convo["unread_count"], json!(0));
    assert_eq!(convo["last_message"]["text"], json!("hi alice"));

    let (status, all) = api.get("/v1/dm/conversations/all", Some(&rk)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["data"][0]["participants"], json!(["lead", "alice"]));
    assert_eq!(all["data"][0]["message_count"], json!(1));

    let id = d["conversation_id"].as_str().expect("id");
    let (status, messages) = api
        .get(&format!("/v1/dm/{id}/messages"), Some(&alice.token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(messages["data"][0]["agent_name"], json!("lead"));
    let (status, messages) = api
        .get(&format!("/v1/dm/conversations/{id}/messages"), Some(&rk))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(messages["data"][0]["text"], json!("hi alice"));
    let carol = api.rc.register_agent(None, "carol").expect("carol");
    assert_error(
        &api.get(&format!("/v1/dm/{id}/messages"), Some(&carol.token))
            .await,
        StatusCode::NOT_FOUND,
        "conversation_not_found",
    );
    assert_error(
        &api.get("/v1/dm/conversations/dm_nope/messages", Some(&rk))
            .await,
        StatusCode::NOT_FOUND,
        "conversation_not_found",
    );
}

#[tokio::test]
async fn bad_requests_get_the_error_envelope() {
    let api = Api::start();
    let (_, at) = api.boot().await;
    let response = api
        .client
        .post(format!("{}/v1/workspaces", api.rc.base_url()))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], json!("invalid_json"));
    assert_error(
        &api.post("/v1/dm", Some(&at), json!({"text": "no recipient"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert_error(
        &api.post("/v1/dm", Some(&at), json!({"to": 5, "text": "x"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert_error(
        &api.get("/v1/nope", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &api.call(Method::DELETE, "/v1/workspaces", None, None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
}
