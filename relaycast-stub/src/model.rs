//! The in-memory model: workspaces with their key, agents with their token, channels with members
//! and messages, DM conversations with participants and messages, fleet nodes (in `nodes`) with
//! their token and bound agents; each operation the HTTP API and
//! the control API perform on it, with Relaycast's error codes; and (in `json`) the JSON shapes
//! Relaycast answers with.
//!
//! Not modelled: threads, reactions, read receipts (unread counts are always 0), files, webhooks,
//! group DMs, presence, rate limits, idempotency keys.
//!
//! Bounded, since anyone on 127.0.0.1 can create things: at most [`MAX_WORKSPACES`] workspaces,
//! and in each at most [`MAX_AGENTS`] agents, [`MAX_CHANNELS`] channels, [`MAX_CONVERSATIONS`]
//! conversations and [`MAX_NODES`](nodes::MAX_NODES) nodes (one more answers 507
//! `limit_exceeded`); a channel or conversation keeps its newest [`MAX_MESSAGES`] messages.

use serde_json::{Map, Value, json};

use crate::ids;
use crate::wire::ApiError;

mod json;
mod nodes;

pub(crate) use json::{agent_json, message_json, registered_json};
pub(crate) use nodes::Enrol;

/// Most workspaces the stand-in holds.
pub(crate) const MAX_WORKSPACES: usize = 1024;

/// Most agents a workspace holds.
pub(crate) const MAX_AGENTS: usize = 4096;

/// Most channels a workspace holds.
pub(crate) const MAX_CHANNELS: usize = 1024;

/// Most DM conversations a workspace holds.
pub(crate) const MAX_CONVERSATIONS: usize = 4096;

/// Most messages a channel or conversation keeps (the newest; history answers give at most 100).
pub(crate) const MAX_MESSAGES: usize = 1000;

/// Appends `message` to `messages`, dropping the oldest beyond [`MAX_MESSAGES`].
fn keep(messages: &mut Vec<Message>, message: Message) {
    if messages.len() >= MAX_MESSAGES {
        let excess = messages.len() + 1 - MAX_MESSAGES;
        messages.drain(..excess);
    }
    messages.push(message);
}

/// 507 when `len` things already reach `max`.
fn room(len: usize, max: usize, what: &str) -> Result<(), ApiError> {
    if len >= max {
        return Err(ApiError::limit(format!(
            "the stand-in holds at most {max} {what}"
        )));
    }
    Ok(())
}

/// The CLIs `POST /v1/agents/spawn` accepts, as Relaycast does.
pub(crate) const SPAWN_CLIS: [&str; 5] = ["claude", "codex", "gemini", "aider", "goose"];

/// Every workspace, in creation order.
#[derive(Debug, Default)]
pub(crate) struct Model {
    pub(crate) workspaces: Vec<Workspace>,
}

/// A workspace and everything in it.
#[derive(Debug)]
pub(crate) struct Workspace {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) api_key: String,
    pub(crate) created_at: String,
    /// `PUT /v1/workspace/stream`'s last value; the stream is on when unset.
    pub(crate) stream_override: Option<bool>,
    pub(crate) agents: Vec<Agent>,
    pub(crate) channels: Vec<Channel>,
    pub(crate) conversations: Vec<Conversation>,
    /// Enrolled fleet nodes (9.x brokers enrol one).
    pub(crate) nodes: Vec<nodes::Node>,
}

/// A registered agent.
#[derive(Debug)]
pub(crate) struct Agent {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) token: String,
    pub(crate) status: String,
    pub(crate) persona: Option<String>,
    pub(crate) metadata: Map<String, Value>,
    pub(crate) created_at: String,
    pub(crate) last_seen: String,
}

/// A channel, its members (agent ids) and its messages.
#[derive(Debug)]
pub(crate) struct Channel {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) topic: Option<String>,
    pub(crate) metadata: Map<String, Value>,
    pub(crate) created_by: Option<String>,
    pub(crate) created_at: String,
    pub(crate) members: Vec<String>,
    pub(crate) messages: Vec<Message>,
}

/// A two-party DM conversation: participants (agent ids) and messages.
#[derive(Debug)]
pub(crate) struct Conversation {
    pub(crate) id: String,
    pub(crate) participants: Vec<String>,
    pub(crate) created_at: String,
    pub(crate) messages: Vec<Message>,
}

/// A channel or DM message.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) id: String,
    pub(crate) agent_id: String,
    pub(crate) agent_name: String,
    pub(crate) text: String,
    pub(crate) created_at: String,
}

/// `POST /v1/agents/spawn`'s request.
#[derive(Debug, Default)]
pub(crate) struct Spawn {
    pub(crate) name: String,
    pub(crate) cli: String,
    pub(crate) task: String,
    pub(crate) channel: Option<String>,
    pub(crate) persona: Option<String>,
    pub(crate) metadata: Option<Map<String, Value>>,
}

/// A channel name without its optional leading `#`.
pub(crate) fn channel_name(raw: &str) -> &str {
    raw.trim().trim_start_matches('#')
}

impl Model {
    /// The workspace whose key is `key`.
    pub(crate) fn workspace_by_key(&self, key: &str) -> Option<usize> {
        self.workspaces.iter().position(|w| w.api_key == key)
    }

    /// The workspace `credential` belongs to: the one whose key it is, else the one of the agent
    /// whose token it is.
    pub(crate) fn workspace_of(&self, credential: &str) -> Option<usize> {
        self.workspace_by_key(credential).or_else(|| {
            self.agent_by_token(credential)
                .map(|(workspace, _)| workspace)
        })
    }

    /// The workspace and agent whose token is `token`.
    pub(crate) fn agent_by_token(&self, token: &str) -> Option<(usize, usize)> {
        self.workspaces.iter().enumerate().find_map(|(w, ws)| {
            ws.agents
                .iter()
                .position(|a| a.token == token)
                .map(|a| (w, a))
        })
    }

    /// The workspace with id `id`, or the most recently created one when `id` is `None`.
    pub(crate) fn workspace_index(&self, id: Option<&str>) -> Result<usize, ApiError> {
        match id {
            Some(id) => self
                .workspaces
                .iter()
                .position(|w| w.id == id)
                .ok_or_else(|| {
                    ApiError::not_found(
                        "workspace_not_found",
                        format!("Workspace '{id}' not found"),
                    )
                }),
            None => self.workspaces.len().checked_sub(1).ok_or_else(|| {
                ApiError::not_found("workspace_not_found", "no workspace has been created yet")
            }),
        }
    }

    /// `POST /v1/workspaces`: a new workspace named `name` (409 `workspace_already_exists` when
    /// taken).
    pub(crate) fn create_workspace(&mut self, name: &str) -> Result<usize, ApiError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(ApiError::invalid("name is required"));
        }
        if self.workspaces.iter().any(|w| w.name == name) {
            return Err(ApiError::conflict(
                "workspace_already_exists",
                format!("Workspace '{name}' already exists"),
            ));
        }
        room(self.workspaces.len(), MAX_WORKSPACES, "workspaces")?;
        self.workspaces.push(Workspace {
            id: ids::id("ws_"),
            name: name.to_owned(),
            api_key: ids::secret("rk_live_"),
            created_at: ids::now(),
            stream_override: None,
            agents: Vec::new(),
            channels: Vec::new(),
            conversations: Vec::new(),
            nodes: Vec::new(),
        });
        Ok(self.workspaces.len() - 1)
    }
}

impl Workspace {
    /// Whether workspace-key WebSockets get the workspace's events.
    pub(crate) fn stream_enabled(&self) -> bool {
        self.stream_override.unwrap_or(true)
    }

    /// The agent named `name`.
    pub(crate) fn agent_by_name(&self, name: &str) -> Option<usize> {
        self.agents.iter().position(|a| a.name == name)
    }

    /// The agent with id `id`.
    pub(crate) fn agent_by_id(&self, id: &str) -> Option<&Agent> {
        self.agents.iter().find(|a| a.id == id)
    }

    /// The channel named `name` (with or without `#`).
    pub(crate) fn channel_by_name(&self, name: &str) -> Option<usize> {
        let name = channel_name(name);
        self.channels.iter().position(|c| c.name == name)
    }

    fn require_agent(&self, name: &str) -> Result<usize, ApiError> {
        self.agent_by_name(name)
            .ok_or_else(|| agent_not_found(name))
    }

    fn require_channel(&self, name: &str) -> Result<usize, ApiError> {
        self.channel_by_name(name).ok_or_else(|| {
            ApiError::not_found(
                "channel_not_found",
                format!("Channel '{}' not found", channel_name(name)),
            )
        })
    }

    fn join_general(&mut self, agent_id: &str) {
        if let Some(general) = self.channel_by_name("general") {
            let members = &mut self.channels[general].members;
            if !members.iter().any(|m| m == agent_id) {
                members.push(agent_id.to_owned());
            }
        }
    }

    /// `POST /v1/agents`: registers `name` (409 `agent_already_exists` when taken), joining
    /// `#general` when it exists.
    pub(crate) fn register_agent(
        &mut self,
        name: &str,
        kind: Option<&str>,
        persona: Option<String>,
        metadata: Option<Map<String, Value>>,
    ) -> Result<usize, ApiError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(ApiError::invalid("name is required"));
        }
        if self.agent_by_name(name).is_some() {
            return Err(ApiError::conflict(
                "agent_already_exists",
                format!("Agent '{name}' already exists in this workspace"),
            ));
        }
        room(self.agents.len(), MAX_AGENTS, "agents per workspace")?;
        let now = ids::now();
        let agent = Agent {
            id: ids::id("agt_"),
            name: name.to_owned(),
            kind: kind.unwrap_or("agent").to_owned(),
            token: ids::secret("at_live_"),
            status: "online".to_owned(),
            persona,
            metadata: metadata.unwrap_or_default(),
            created_at: now.clone(),
            last_seen: now,
        };
        let id = agent.id.clone();
        self.agents.push(agent);
        self.join_general(&id);
        Ok(self.agents.len() - 1)
    }

    /// `POST /v1/agents/spawn`: registers the agent, or gives an existing one a new token and marks
    /// it online. Returns the agent, whether it existed, and the channel it joined.
    pub(crate) fn spawn_agent(
        &mut self,
        spawn: Spawn,
    ) -> Result<(usize, bool, Option<String>), ApiError> {
        for (field, value) in [
            ("name", &spawn.name),
            ("cli", &spawn.cli),
            ("task", &spawn.task),
        ] {
            if value.trim().is_empty() {
                return Err(ApiError::invalid(format!("{field} is required")));
            }
        }
        if !SPAWN_CLIS.contains(&spawn.cli.as_str()) {
            return Err(ApiError::invalid(format!(
                "cli must be one of: {}",
                SPAWN_CLIS.join(", ")
            )));
        }
        let spawn_meta = json!({"cli": spawn.cli, "task": spawn.task, "spawned_at": ids::now()});
        let (index, existed) = match self.agent_by_name(&spawn.name) {
            Some(index) => {
                let agent = &mut self.agents[index];
                agent.token = ids::secret("at_live_");
                agent.status = "online".to_owned();
                agent.last_seen = ids::now();
                if spawn.persona.is_some() {
                    agent.persona = spawn.persona;
                }
                agent.metadata.extend(spawn.metadata.unwrap_or_default());
                agent.metadata.insert("cli".to_owned(), json!(spawn.cli));
                agent.metadata.insert("spawn".to_owned(), spawn_meta);
                (index, true)
            }
            None => {
                let mut metadata = spawn.metadata.unwrap_or_default();
                metadata.insert("cli".to_owned(), json!(spawn.cli));
                metadata.insert("spawn".to_owned(), spawn_meta);
                let index =
                    self.register_agent(&spawn.name, Some("agent"), spawn.persona, Some(metadata))?;
                (index, false)
            }
        };
        let mut joined = None;
        if let Some(channel) = spawn.channel.as_deref()
            && let Some(c) = self.channel_by_name(channel)
        {
            let agent_id = self.agents[index].id.clone();
            let channel = &mut self.channels[c];
            if !channel.members.contains(&agent_id) {
                channel.members.push(agent_id);
            }
            joined = Some(channel.name.clone());
        }
        Ok((index, existed, joined))
    }

    /// `POST /v1/agents/release`: marks the agent offline, or deletes it (and its memberships).
    pub(crate) fn release_agent(
        &mut self,
        name: &str,
        reason: Option<String>,
        delete: bool,
    ) -> Result<Value, ApiError> {
        let index = self.require_agent(name)?;
        if delete {
            let agent = self.agents.remove(index);
            for channel in &mut self.channels {
                channel.members.retain(|m| *m != agent.id);
            }
            for node in &mut self.nodes {
                node.agents.remove(&agent.name);
            }
        } else {
            let agent = &mut self.agents[index];
            agent.status = "offline".to_owned();
            agent.metadata.remove("spawn");
            agent.metadata.remove("cli");
            agent.metadata.insert(
                "release".to_owned(),
                json!({"reason": reason, "released_at": ids::now()}),
            );
        }
        Ok(json!({"name": name, "released": true, "deleted": delete, "reason": reason}))
    }

    /// `POST /v1/agents/{name}/rotate-token`: a new token for the agent.
    pub(crate) fn rotate_token(&mut self, name: &str) -> Result<Value, ApiError> {
        let index = self.require_agent(name)?;
        let agent = &mut self.agents[index];
        agent.token = ids::secret("at_live_");
        Ok(json!({"name": agent.name, "token": agent.token}))
    }

    /// `POST /v1/channels`: a channel created by `creator` (who becomes its first member); 409
    /// `channel_already_exists` when the name is taken.
    pub(crate) fn create_channel(
        &mut self,
        creator: usize,
        name: &str,
        topic: Option<String>,
        metadata: Option<Map<String, Value>>,
    ) -> Result<usize, ApiError> {
        let name = channel_name(name);
        if name.is_empty() {
            return Err(ApiError::invalid("name is required"));
        }
        if self.channel_by_name(name).is_some() {
            return Err(ApiError::conflict(
                "channel_already_exists",
                format!("Channel '{name}' already exists"),
            ));
        }
        room(self.channels.len(), MAX_CHANNELS, "channels per workspace")?;
        let creator = &self.agents[creator];
        self.channels.push(Channel {
            id: ids::id("ch_"),
            name: name.to_owned(),
            topic,
            metadata: metadata.unwrap_or_default(),
            created_by: Some(creator.name.clone()),
            created_at: ids::now(),
            members: vec![creator.id.clone()],
            messages: Vec::new(),
        });
        Ok(self.channels.len() - 1)
    }

    /// `POST /v1/channels/{name}/join`: returns the channel's index and whether the agent already
    /// was a member.
    pub(crate) fn join_channel(
        &mut self,
        agent: usize,
        name: &str,
    ) -> Result<(usize, bool), ApiError> {
        let c = self.require_channel(name)?;
        let agent_id = self.agents[agent].id.clone();
        let members = &mut self.channels[c].members;
        let already = members.contains(&agent_id);
        if !already {
            members.push(agent_id);
        }
        Ok((c, already))
    }

    /// `POST /v1/channels/{name}/messages`: stores a message from `agent` (members and non-members
    /// alike may post).
    pub(crate) fn post_message(
        &mut self,
        agent: usize,
        channel: &str,
        text: &str,
    ) -> Result<(usize, Message), ApiError> {
        if text.is_empty() {
            return Err(ApiError::invalid("text is required"));
        }
        let c = self.require_channel(channel)?;
        let message = self.new_message(agent, text);
        keep(&mut self.channels[c].messages, message.clone());
        Ok((c, message))
    }

    /// `POST /v1/dm`: stores a DM from `from` to the agent named `to` in their conversation (made
    /// on first use); 404 `agent_not_found` for an unknown recipient.
    pub(crate) fn send_dm(
        &mut self,
        from: usize,
        to: &str,
        text: &str,
    ) -> Result<(usize, Message), ApiError> {
        if to.trim().is_empty() {
            return Err(ApiError::invalid("\"to\" agent name is required"));
        }
        if text.is_empty() {
            return Err(ApiError::invalid("text is required"));
        }
        let to = self.require_agent(to)?;
        if to == from {
            return Err(ApiError::invalid("cannot send a DM to yourself"));
        }
        let (a, b) = (self.agents[from].id.clone(), self.agents[to].id.clone());
        let conversation = match self.conversations.iter().position(|c| {
            c.participants.len() == 2 && c.participants.contains(&a) && c.participants.contains(&b)
        }) {
            Some(c) => c,
            None => {
                room(
                    self.conversations.len(),
                    MAX_CONVERSATIONS,
                    "conversations per workspace",
                )?;
                self.conversations.push(Conversation {
                    id: ids::id("dm_"),
                    participants: vec![a, b],
                    created_at: ids::now(),
                    messages: Vec::new(),
                });
                self.conversations.len() - 1
            }
        };
        let message = self.new_message(from, text);
        keep(
            &mut self.conversations[conversation].messages,
            message.clone(),
        );
        Ok((conversation, message))
    }

    fn new_message(&self, agent: usize, text: &str) -> Message {
        let agent = &self.agents[agent];
        Message {
            id: ids::id("msg_"),
            agent_id: agent.id.clone(),
            agent_name: agent.name.clone(),
            text: text.to_owned(),
            created_at: ids::now(),
        }
    }

    /// The conversation with id `id`.
    pub(crate) fn conversation(&self, id: &str) -> Result<&Conversation, ApiError> {
        self.conversations
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| {
                ApiError::not_found(
                    "conversation_not_found",
                    format!("Conversation '{id}' not found"),
                )
            })
    }

    /// Participant names of a conversation (ids of deleted agents are left out).
    pub(crate) fn participant_names(&self, conversation: &Conversation) -> Vec<String> {
        conversation
            .participants
            .iter()
            .filter_map(|id| self.agent_by_id(id).map(|a| a.name.clone()))
            .collect()
    }
}

/// 404 `agent_not_found` for `name`.
pub(crate) fn agent_not_found(name: &str) -> ApiError {
    ApiError::not_found("agent_not_found", format!("Agent '{name}' not found"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> Workspace {
        let mut model = Model::default();
        let w = model.create_workspace("w").expect("workspace");
        model.workspaces.remove(w)
    }

    #[test]
    fn duplicate_names_conflict() {
        let mut model = Model::default();
        model.create_workspace("a").expect("first");
        let err = model.create_workspace("a").expect_err("second");
        assert_eq!(err.code, "workspace_already_exists");
        let mut ws = workspace();
        ws.register_agent("lead", Some("human"), None, None)
            .expect("lead");
        let err = ws
            .register_agent("lead", None, None, None)
            .expect_err("dup");
        assert_eq!(err.code, "agent_already_exists");
        assert_eq!(err.status.as_u16(), 409);
    }

    #[test]
    fn spawn_rotates_the_token_of_an_existing_agent() {
        let mut ws = workspace();
        let spawn = || Spawn {
            name: "w1".into(),
            cli: "claude".into(),
            task: "t".into(),
            ..Spawn::default()
        };
        let (a, existed, _) = ws.spawn_agent(spawn()).expect("spawn");
        assert!(!existed);
        let token = ws.agents[a].token.clone();
        let (b, existed, _) = ws.spawn_agent(spawn()).expect("respawn");
        assert!(existed);
        assert_eq!(a, b);
        assert_ne!(ws.agents[b].token, token);
        let err = ws
            .spawn_agent(Spawn {
                cli: "cat".into(),
                ..spawn()
            })
            .expect_err("cat");
        assert_eq!(err.code, "invalid_request");
    }

    #[test]
    fn threads_keep_their_newest_messages_and_workspaces_are_bounded() {
        let mut ws = workspace();
        let a = ws.register_agent("a", None, None, None).expect("a");
        ws.register_agent("b", None, None, None).expect("b");
        for n in 0..MAX_MESSAGES + 5 {
            ws.send_dm(a, "b", &n.to_string()).expect("dm");
        }
        let messages = &ws.conversations[0].messages;
        assert_eq!(messages.len(), MAX_MESSAGES);
        assert_eq!(messages[0].text, "5");
        let mut model = Model::default();
        for n in 0..MAX_WORKSPACES {
            model
                .create_workspace(&n.to_string())
                .expect("within the bound");
        }
        let err = model.create_workspace("one more").expect_err("beyond");
        assert_eq!(
            (err.status.as_u16(), err.code.as_str()),
            (507, "limit_exceeded")
        );
    }

    #[test]
    fn dms_share_one_conversation_per_pair() {
        let mut ws = workspace();
        let a = ws.register_agent("a", None, None, None).expect("a");
        let b = ws.register_agent("b", None, None, None).expect("b");
        let (c1, _) = ws.send_dm(a, "b", "hi").expect("dm");
        let (c2, _) = ws.send_dm(b, "a", "hi back").expect("dm back");
        assert_eq!(c1, c2);
        assert_eq!(ws.conversations[c1].messages.len(), 2);
        assert_eq!(
            ws.send_dm(a, "ghost", "x").expect_err("ghost").code,
            "agent_not_found"
        );
    }
}
