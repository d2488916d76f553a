//! The JSON shapes Relaycast answers with: workspaces, agents, channels, conversations and
//! messages as the API and the control API give them.

use serde_json::{Value, json};

use super::{Agent, Conversation, Message, Workspace};

impl Workspace {
    /// The `POST /v1/workspaces` answer.
    pub(crate) fn created_json(&self) -> Value {
        json!({"workspace_id": self.id, "api_key": self.api_key, "created_at": self.created_at})
    }

    /// The `/v1/workspace/stream` answer.
    pub(crate) fn stream_json(&self) -> Value {
        json!({"enabled": self.stream_enabled(), "default_enabled": true, "override": self.stream_override})
    }

    /// A channel object.
    pub(crate) fn channel_json(&self, c: usize) -> Value {
        let c = &self.channels[c];
        json!({
            "id": c.id,
            "workspace_id": self.id,
            "name": c.name,
            "channel_type": 0,
            "topic": c.topic,
            "metadata": c.metadata,
            "created_by": c.created_by,
            "created_at": c.created_at,
            "is_archived": false,
            "member_count": c.members.len(),
        })
    }

    /// An entry of `GET /v1/dm/conversations`.
    pub(crate) fn conversation_summary_json(&self, c: &Conversation) -> Value {
        json!({
            "id": c.id,
            "type": "dm",
            "name": null,
            "participants": self.participant_names(c),
            "last_message": c.messages.last().map(last_message_json),
            "unread_count": 0,
            "message_count": c.messages.len(),
            "created_at": c.created_at,
        })
    }

    /// An entry of `GET /v1/dm/conversations/all`.
    pub(crate) fn workspace_conversation_json(&self, c: &Conversation) -> Value {
        json!({
            "id": c.id,
            "type": "dm",
            "participants": self.participant_names(c),
            "last_message": c.messages.last().map(last_message_json),
            "message_count": c.messages.len(),
            "created_at": c.created_at,
        })
    }

    /// The whole workspace, for the control API.
    pub(crate) fn snapshot_json(&self) -> Value {
        let agents: Vec<Value> = self
            .agents
            .iter()
            .map(|a| {
                let mut v = agent_json(a);
                if let Some(obj) = v.as_object_mut() {
                    obj.insert("token".to_owned(), json!(a.token));
                }
                v
            })
            .collect();
        let channels: Vec<Value> = (0..self.channels.len())
            .map(|c| {
                let mut v = self.channel_json(c);
                let channel = &self.channels[c];
                if let Some(obj) = v.as_object_mut() {
                    let members: Vec<&str> = channel
                        .members
                        .iter()
                        .filter_map(|id| self.agent_by_id(id).map(|a| a.name.as_str()))
                        .collect();
                    obj.insert("members".to_owned(), json!(members));
                    let messages: Vec<Value> = channel.messages.iter().map(message_json).collect();
                    obj.insert("messages".to_owned(), json!(messages));
                }
                v
            })
            .collect();
        let conversations: Vec<Value> = self
            .conversations
            .iter()
            .map(|c| {
                let mut v = self.workspace_conversation_json(c);
                if let Some(obj) = v.as_object_mut() {
                    let messages: Vec<Value> = c.messages.iter().map(message_json).collect();
                    obj.insert("messages".to_owned(), json!(messages));
                }
                v
            })
            .collect();
        let nodes: Vec<Value> = (0..self.nodes.len())
            .map(|n| {
                let mut v = self.node_json(n);
                let node = &self.nodes[n];
                if let Some(obj) = v.as_object_mut() {
                    obj.insert("token".to_owned(), json!(node.token));
                    let agents: Vec<&str> = node.agents.keys().map(String::as_str).collect();
                    obj.insert("agents".to_owned(), json!(agents));
                }
                v
            })
            .collect();
        json!({
            "id": self.id,
            "name": self.name,
            "api_key": self.api_key,
            "created_at": self.created_at,
            "stream": self.stream_json(),
            "agents": agents,
            "channels": channels,
            "conversations": conversations,
            "nodes": nodes,
        })
    }
}

/// An agent as `GET /v1/agents` lists it.
pub(crate) fn agent_json(a: &Agent) -> Value {
    json!({
        "id": a.id,
        "name": a.name,
        "type": a.kind,
        "status": a.status,
        "persona": a.persona,
        "metadata": a.metadata,
        "created_at": a.created_at,
        "last_seen": a.last_seen,
    })
}

/// The `POST /v1/agents` answer (the only time the token is shown, besides spawn and rotate).
pub(crate) fn registered_json(a: &Agent) -> Value {
    json!({"id": a.id, "name": a.name, "token": a.token, "status": a.status, "created_at": a.created_at})
}

/// A message with its metadata, as channel and DM histories and `POST .../messages` give it.
pub(crate) fn message_json(m: &Message) -> Value {
    json!({
        "id": m.id,
        "agent_name": m.agent_name,
        "agent_id": m.agent_id,
        "text": m.text,
        "blocks": null,
        "metadata": {},
        "attachments": [],
        "created_at": m.created_at,
        "reply_count": 0,
        "reactions": [],
        "read_by_count": 0,
    })
}

fn last_message_json(m: &Message) -> Value {
    json!({"text": m.text, "agent_name": m.agent_name, "created_at": m.created_at})
}
